package steps

import "time"

// Sample is one request to the global IP.
type Sample struct {
	At       time.Time
	Status   int    // HTTP status; 0 when the request failed outright
	Region   string // the region that served it, from the response
	Revision string
	Latency  time.Duration
	Err      string
}

// FailoverReport measures one failover.
type FailoverReport struct {
	Method         string  `json:"method"`
	Requests       int     `json:"requests"`
	FailedRequests int     `json:"failed_requests"`
	RerouteSeconds float64 `json:"reroute_seconds"`
	Before         string  `json:"before"`
	After          string  `json:"after"`
	Rate           float64 `json:"rate"`
}

// ProbeConfig sets how the failover steps probe the global IP.
type ProbeConfig struct {
	Rate           float64 // requests per second
	ClientLocation string  // where the simulated client stands (a region)
}

// DefaultProbe is the replay's rate and location.
func DefaultProbe() ProbeConfig { return ProbeConfig{Rate: 20, ClientLocation: "us-central1"} }
