// Package lab holds the facts about the lab that several packages need: the
// regions it may use, Google's rules for resource names, the images it
// deploys, the names of the headers and environment variables that the
// lab, its service and the simulator share, and the catalogue of Gemini
// models (models.json). Each fact is written here once.
//
// It imports nothing of this module, so every package may import it.
package lab

import (
	"slices"
	"strings"
)

// Regions are the Google Cloud regions the lab may use: those where Cloud
// Run serves (Google's list of Cloud Run locations; each also offers
// serverless NEGs and Artifact Registry). The simulator refuses every other
// region, and its latency table places each of these.
var Regions = []string{
	"africa-south1",
	"asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3",
	"asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2",
	"australia-southeast1", "australia-southeast2",
	"europe-central2", "europe-north1", "europe-north2", "europe-southwest1",
	"europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6",
	"europe-west8", "europe-west9", "europe-west10", "europe-west12",
	"me-central1", "me-central2", "me-west1",
	"northamerica-northeast1", "northamerica-northeast2", "northamerica-south1",
	"southamerica-east1", "southamerica-west1",
	"us-central1", "us-east1", "us-east4", "us-east5", "us-south1",
	"us-west1", "us-west2", "us-west3", "us-west4",
}

// IsRegion reports whether r is one of Regions.
func IsRegion(r string) bool { return slices.Contains(Regions, r) }

// Images the lab knows by name.
const (
	// HelloImage is Google's hello sample, the image the workshop deploys.
	HelloImage = "us-docker.pkg.dev/cloudrun/container/hello"
	// BrokenImage is Google's sample that never starts, the image the
	// workshop's failover test deploys.
	BrokenImage = "gcr.io/cloudrun/service-broken"
)

// ServiceCommand is the hidden subcommand that runs beyond as the lab's
// Gemini service: the image the lab builds holds a copy of beyond and starts
// it as `beyond gemini-service`, so that no source tree is needed to build it.
const ServiceCommand = "gemini-service"

// OutageEnv is the environment variable of the service's outage switch: a
// revision with OutageEnv=1 starts normally and answers 503 to everything,
// a regional outage the load balancer can see.
const OutageEnv = "BEYOND_OUTAGE"

// UnreadyValue is the outage switch's other position: with OutageEnv set
// to it, the revision serves every request but its readiness endpoint
// (ReadyPath) answers 503, a failure only Cloud Run service health sees.
const UnreadyValue = "unready"

// Unready reports whether value, the value of OutageEnv, is UnreadyValue.
func Unready(value string) bool { return strings.EqualFold(strings.TrimSpace(value), UnreadyValue) }

// Outage reports whether value, the value of OutageEnv, turns the outage
// switch on: "1" or "true" in any case, spaces ignored.
func Outage(value string) bool {
	v := strings.TrimSpace(value)
	return v == "1" || strings.EqualFold(v, "true")
}

// Headers the lab's prober, service and simulator share.
const (
	// ClientLocationHeader names the region a request to the global IP comes
	// from. The simulator's load balancer routes by it; Google ignores
	// headers it does not know, so the prober may always send it.
	ClientLocationHeader = "X-Beyond-Client-Location"
	// ServedRegionHeader and ServedRevisionHeader name the region and the
	// revision that answered; the lab's service sets both on every response.
	ServedRegionHeader   = "X-Served-Region"
	ServedRevisionHeader = "X-Served-Revision"
)

// HealthPath is the service's cheap page: it names the region and revision
// that answered and never calls the model, so the failover probes use it.
// Not /healthz: Cloud Run's front end keeps paths such as /healthz for
// itself and answers them with its own 404.
const HealthPath = "/health"

// ReadyPath is the service's readiness endpoint, the path of the readiness
// probe the lab deploys for Cloud Run service health. It never calls the
// model: it answers from what recent requests saw.
const ReadyPath = "/ready"
