package lab

import (
	"errors"
	"sort"
)

// Endpoints locate a simulator: the addresses a client needs to reach each
// of its APIs. The zero value means Google itself.
type Endpoints struct {
	Run              string // host:port, gRPC, plaintext: Cloud Run Admin v2
	Compute          string // http://host:port, Compute Engine v1 REST base URL
	ServiceUsage     string // host:port, gRPC, plaintext
	ArtifactRegistry string // host:port, gRPC, plaintext
	Registry         string // host:port of the OCI registry (plain HTTP)
	Gemini           string // http://host:port, the generateContent endpoint
	Metadata         string // host:port of the metadata server
	DNS              string // host:port of the DNS server answering Cloud DNS's public zones (UDP and TCP)
}

// endpointEnv names the environment variable of each endpoint: what
// `beyond sim` prints and the lab reads back.
var endpointEnv = []struct {
	name  string
	field func(*Endpoints) *string
}{
	{"BEYOND_RUN_ENDPOINT", func(e *Endpoints) *string { return &e.Run }},
	{"BEYOND_COMPUTE_ENDPOINT", func(e *Endpoints) *string { return &e.Compute }},
	{"BEYOND_SERVICEUSAGE_ENDPOINT", func(e *Endpoints) *string { return &e.ServiceUsage }},
	{"BEYOND_ARTIFACTREGISTRY_ENDPOINT", func(e *Endpoints) *string { return &e.ArtifactRegistry }},
	{"BEYOND_REGISTRY_ENDPOINT", func(e *Endpoints) *string { return &e.Registry }},
	{"BEYOND_GEMINI_ENDPOINT", func(e *Endpoints) *string { return &e.Gemini }},
	{"BEYOND_METADATA_ENDPOINT", func(e *Endpoints) *string { return &e.Metadata }},
	{"BEYOND_DNS_ENDPOINT", func(e *Endpoints) *string { return &e.DNS }},
}

// IsZero reports whether e names no simulator, i.e. Google itself.
func (e Endpoints) IsZero() bool { return e == Endpoints{} }

// Env returns the endpoints that are set as sorted NAME=VALUE pairs, the
// lines `beyond sim` prints and EndpointsFromEnv reads back.
func (e Endpoints) Env() []string {
	var out []string
	for _, n := range endpointEnv {
		if v := *n.field(&e); v != "" {
			out = append(out, n.name+"="+v)
		}
	}
	sort.Strings(out)
	return out
}

// EndpointsFromEnv reads a running simulator's endpoints from the
// environment through getenv. It reports false when none is set. When some
// are set, the three APIs every step needs must all be; Artifact Registry
// defaults to the Cloud Run endpoint, which serves it too.
func EndpointsFromEnv(getenv func(string) string) (Endpoints, bool, error) {
	var e Endpoints
	set := false
	for _, n := range endpointEnv {
		if v := getenv(n.name); v != "" {
			*n.field(&e) = v
			set = true
		}
	}
	if !set {
		return Endpoints{}, false, nil
	}
	if e.Run == "" || e.Compute == "" || e.ServiceUsage == "" {
		return Endpoints{}, false, errors.New("BEYOND_RUN_ENDPOINT, BEYOND_COMPUTE_ENDPOINT and BEYOND_SERVICEUSAGE_ENDPOINT must all be set to attach to a running simulator: paste every line `beyond sim` printed")
	}
	if e.ArtifactRegistry == "" {
		e.ArtifactRegistry = e.Run
	}
	return e, true, nil
}
