package steps

import (
	"context"
	"fmt"

	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/lab"
)

// Cloud Run service health (Preview on 2026-12-01): every instance runs a
// readiness probe, Cloud Run rolls them up per region (healthy when 60% or
// more pass), and the global load balancer sends an unhealthy region no
// traffic. It needs a minimum instance in each region, so the deploy steps
// set both.

// minInstances is the lab's minimum instances per region: the one Cloud Run
// needs to compute service health. It is an idle instance that bills.
const minInstances = 1

// readiness is the probe the deploy steps set: the service's /ready (which
// never calls the model), every second, unready after three failures; the
// hello sample (--image) has no such page, so its own page.
func (s *Session) readiness() *gcp.Readiness {
	path := lab.ReadyPath
	if s.customImage() {
		path = "/"
	}
	return &gcp.Readiness{Path: path, PeriodSeconds: 1, FailureThreshold: 3, TimeoutSeconds: 1}
}

// readinessFlag is gcloud's --readiness-probe value for r (alpha track only).
func readinessFlag(r *gcp.Readiness) string {
	return fmt.Sprintf("httpGet.path=%s,periodSeconds=%d,failureThreshold=%d,timeoutSeconds=%d", r.Path, r.PeriodSeconds, r.FailureThreshold, r.TimeoutSeconds)
}

// healthFault says what service health lacks on svc, or "".
func (s *Session) healthFault(svc *gcp.Service) string {
	want := s.readiness()
	switch {
	case svc.Readiness == nil:
		return fmt.Sprintf("service %s in %s has no readiness probe, so Cloud Run computes no service health there and the load balancer can only fail over on errors clients already saw", svc.Name, svc.Region)
	case !svc.Readiness.Covers(want):
		return fmt.Sprintf("service %s in %s probes readiness at %s every %d s (failure threshold %d); the lab's probe is %s every %d s (threshold %d)",
			svc.Name, svc.Region, svc.Readiness.Path, svc.Readiness.PeriodSeconds, svc.Readiness.FailureThreshold, want.Path, want.PeriodSeconds, want.FailureThreshold)
	case svc.MinInstances < minInstances:
		return fmt.Sprintf("service %s in %s has no minimum instance: Cloud Run computes service health only with at least %d per region", svc.Name, svc.Region, minInstances)
	}
	return ""
}

// describeHealth says how service health is set on svc, for a check.
func describeHealth(svc *gcp.Service) string {
	return fmt.Sprintf("readiness probe %s every %d s, %d minimum instance", svc.Readiness.Path, svc.Readiness.PeriodSeconds, svc.MinInstances)
}

// RegionHealth is one region's Cloud Run service health as the failover
// panel shows it beside the region's share of answers.
type RegionHealth struct {
	Region    string `json:"region"`
	State     string `json:"state"` // healthy, unhealthy, unknown; "" where it cannot be read
	Passing   int    `json:"passing"`
	Instances int    `json:"instances"`
	Reason    string `json:"reason,omitempty"`
}

// regionHealth reads both regions' service health; nil where the lab cannot
// read it (on Google).
func (s *Session) regionHealth(ctx context.Context) []RegionHealth {
	var out []RegionHealth
	for _, region := range []string{s.Vars.RegionA, s.Vars.RegionB} {
		h, err := s.Cloud.RegionHealth(ctx, region, s.Vars.Service)
		if err != nil {
			return nil
		}
		out = append(out, RegionHealth{Region: region, State: h.State, Passing: h.Passing, Instances: h.Instances, Reason: h.Reason})
	}
	return out
}
