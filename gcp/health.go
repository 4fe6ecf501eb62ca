package gcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// RegionHealth is the Cloud Run service health of a service in one region:
// healthy when 60% or more of its instances pass their readiness probe.
type RegionHealth struct {
	State     string `json:"state"` // "healthy", "unhealthy" or "unknown"
	Passing   int    `json:"passing"`
	Instances int    `json:"instances"`
	Reason    string `json:"reason,omitempty"`
}

// ErrHealthNotReadable says the lab cannot read service health where it runs.
var ErrHealthNotReadable = fmt.Errorf("Cloud Run service health is not readable through the APIs the lab uses on Google: the lab measures what clients see instead")

// RegionHealth reads a service's health in region. Only the simulator
// answers it (GET /beyond/v1/health beside its Compute API); on Google it
// returns ErrHealthNotReadable, and the lab measures what clients see.
func (c *Cloud) RegionHealth(ctx context.Context, region, service string) (RegionHealth, error) {
	if !c.Simulated() {
		return RegionHealth{}, ErrHealthNotReadable
	}
	q := url.Values{"project": {c.Project}, "region": {region}, "service": {service}}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Endpoints.Compute+"/beyond/v1/health?"+q.Encode(), nil)
	if err != nil {
		return RegionHealth{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return RegionHealth{}, fmt.Errorf("ask the simulator for the health of %s in %s: %w", service, region, err)
	}
	defer resp.Body.Close()
	var h RegionHealth
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<16)).Decode(&h); err != nil || resp.StatusCode != http.StatusOK {
		return RegionHealth{}, fmt.Errorf("ask the simulator for the health of %s in %s: %s: %v", service, region, resp.Status, err)
	}
	return h, nil
}
