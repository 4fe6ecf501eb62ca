package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
)

// Cloud Run service health (Preview; run/docs/configuring/configure-service-health):
//
//   - every instance runs its container's readiness probe, every
//     periodSeconds on the simulator's clock; failureThreshold failures in a
//     row make it not ready, Profile.ReadySuccesses successes in a row ready
//     again (the v2 Probe message carries no successThreshold); a new
//     instance's first probe does not count;
//   - a region's service is healthy when 60% or more of its counted
//     instances pass, unhealthy below; its health is unknown without a
//     readiness probe, without at least one minimum instance (service or
//     revision level), behind a NEG with a tag, or when the service is gone:
//     a deleted service is not reported unhealthy;
//   - the global external Application Load Balancer stops sending a region
//     traffic once it has been unhealthy for Profile.HealthPropagation,
//     answers 503 "no healthy upstream" when no backend is left, and returns
//     traffic to a recovered region gradually, over Profile.HealthFailback.
//
// The simulator runs one instance per region, so a region passes or fails
// as a whole (1 of 1); the 60% rule is applied all the same.

// Health states of a region, as the lab shows them.
const (
	HealthUnknown   = "unknown"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// healthyShare is the share of passing instances that makes a region healthy.
const healthyShare = 60

// RegionHealth is the service health of a Cloud Run service in one region.
type RegionHealth struct {
	State     string    `json:"state"`     // HealthHealthy, HealthUnhealthy or HealthUnknown
	Passing   int       `json:"passing"`   // instances whose readiness probe passes
	Instances int       `json:"instances"` // instances counted
	Reason    string    `json:"reason,omitempty"`
	Since     time.Time `json:"since,omitzero"` // when State last changed
	// recovered: healthy again after being unhealthy, so the load
	// balancer restores its traffic gradually.
	recovered bool
}

// readiness is one instance's readiness probe and what it found.
type readiness struct {
	path             string
	period, timeout  time.Duration
	failure, success int

	mu      sync.Mutex
	probes  int  // probes done so far
	ready   bool // passing, once counted
	fails   int  // consecutive failures
	passes  int  // consecutive successes
	stopped bool
	timer   interface{ Stop() bool }
}

// newReadiness reads an HTTP readiness probe; nil for none or another kind
// (TCP and gRPC readiness probes are not simulated).
func newReadiness(p *runpb.Probe, successes int) *readiness {
	g := p.GetHttpGet()
	if g == nil {
		return nil
	}
	r := &readiness{
		path:    g.GetPath(),
		period:  time.Duration(max(p.GetPeriodSeconds(), 1)) * time.Second,
		timeout: time.Duration(max(p.GetTimeoutSeconds(), 1)) * time.Second,
		failure: int(max(p.GetFailureThreshold(), 1)),
		success: max(successes, 1),
		ready:   true, // its startup probe passed: it serves
	}
	if r.path == "" {
		r.path = "/"
	}
	return r
}

// counted reports whether the instance counts towards its region's health,
// and whether it passes.
func (r *readiness) counted() (counted, passing bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.probes > 1, r.ready
}

// startReadiness probes inst on the simulator's clock until it stops.
func (dp *dataPlane) startReadiness(inst *instance) {
	r := inst.ready
	if r == nil || inst.addr == "" {
		return
	}
	var tick func()
	tick = func() {
		r.mu.Lock()
		if r.stopped {
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		ok := dp.probeOnce(inst.addr, r)
		r.mu.Lock()
		if r.stopped {
			r.mu.Unlock()
			return
		}
		r.probes++
		changed := false
		if r.probes > 1 { // a new instance's first probe does not count
			if ok {
				r.passes, r.fails = r.passes+1, 0
				if !r.ready && r.passes >= r.success {
					r.ready, changed = true, true
				}
			} else {
				r.fails, r.passes = r.fails+1, 0
				if r.ready && r.fails >= r.failure {
					r.ready, changed = false, true
				}
			}
		}
		first := r.probes == 2
		r.timer = dp.s.clock.AfterFunc(r.period, tick)
		r.mu.Unlock()
		if changed || first {
			dp.healthChanged()
		}
	}
	r.mu.Lock()
	r.timer = dp.s.clock.AfterFunc(r.period, tick)
	r.mu.Unlock()
}

// stop ends the probes.
func (r *readiness) stop() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.timer != nil {
		r.timer.Stop()
	}
}

// probeOnce sends one readiness probe: a 2xx or 3xx within the timeout
// passes, as Cloud Run's HTTP probes do.
func (dp *dataPlane) probeOnce(addr string, r *readiness) bool {
	ctx, cancel := context.WithTimeout(dp.ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+r.path, nil)
	if err != nil {
		return false
	}
	req.Header.Set("User-Agent", "GoogleHC/1.0")
	resp, err := dp.tr.RoundTrip(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

// healthChanged recomputes every region's health and wakes the waiting.
func (dp *dataPlane) healthChanged() {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	now := dp.s.now()
	for _, sr := range dp.services {
		sr.refreshHealthLocked(now)
	}
	dp.changedLocked()
}

// refreshHealthLocked recomputes the region's health, noting when it
// changed and whether it recovers from unhealthy (through unknown, as a new
// revision's instance is until its probes count). Call with dp.mu held.
func (sr *serviceRun) refreshHealthLocked(now time.Time) {
	old := sr.health
	h := sr.computeHealth()
	h.Since, h.recovered = old.Since, old.recovered
	if h.State != old.State {
		h.Since = now
		switch {
		case old.State == HealthUnhealthy:
			sr.recovering = true
		case h.State == HealthUnhealthy:
			sr.recovering = false
		}
		h.recovered = h.State == HealthHealthy && sr.recovering
		if h.State == HealthHealthy {
			sr.recovering = false
		}
	}
	sr.health = h
}

// computeHealth is the region's health from its instance's probes.
func (sr *serviceRun) computeHealth() RegionHealth {
	inst := sr.current
	switch {
	case inst == nil:
		return RegionHealth{State: HealthUnknown, Reason: "no instance serves"}
	case inst.rr.Readiness == nil:
		return RegionHealth{State: HealthUnknown, Reason: "the revision has no readiness probe"}
	case inst.rr.MinInstances < 1:
		return RegionHealth{State: HealthUnknown, Reason: "no minimum instance: Cloud Run computes service health only with at least one"}
	case inst.ready == nil:
		return RegionHealth{State: HealthUnknown, Reason: "only HTTP readiness probes are simulated"}
	}
	counted, passing := inst.ready.counted()
	if !counted {
		return RegionHealth{State: HealthUnknown, Reason: "no readiness probe counted yet (a new instance's first one does not count)"}
	}
	h := RegionHealth{Instances: 1}
	if passing {
		h.Passing = 1
	}
	if h.Passing*100 >= healthyShare*h.Instances {
		h.State = HealthHealthy
	} else {
		h.State = HealthUnhealthy
		h.Reason = fmt.Sprintf("%d of %d instances pass their readiness probe (%s), under 60%%", h.Passing, h.Instances, inst.ready.path)
	}
	return h
}

// RegionHealth returns the service health of a Cloud Run service in a
// region, as the load balancer sees it. A service that does not exist (or
// was deleted) is unknown, never unhealthy.
func (s *Sim) RegionHealth(project, region, service string) RegionHealth {
	dp := s.dataPlaneOf()
	if dp == nil {
		return RegionHealth{State: HealthUnknown, Reason: "the data plane is not running"}
	}
	return dp.health(project, region, service)
}

func (dp *dataPlane) health(project, region, service string) RegionHealth {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	sr := dp.services[project+"/"+region+"/"+service]
	if sr == nil {
		return RegionHealth{State: HealthUnknown, Reason: "no such service in " + region + " (a deleted service is not reported unhealthy)"}
	}
	if sr.health.State == "" {
		return sr.computeHealth()
	}
	return sr.health
}

// healthRoute removes from order the backends whose region's service is
// unhealthy (for long enough that the load balancer knows), and holds back
// part of the traffic of one that recovered less than HealthFailback ago.
// It returns nil if every backend is unhealthy: no healthy upstream.
func (l *lb) healthRoute(f *Frontend, svc *FrontendService, order []int, now time.Time) []int {
	prof := l.dp.s.opts.Profile
	var kept, held []int
	for _, i := range order {
		b := svc.Backends[i]
		if b.CloudRun == "" || b.Tag != "" { // service health needs a plain Cloud Run NEG
			kept = append(kept, i)
			continue
		}
		h := l.dp.health(f.Project, b.Region, b.CloudRun)
		switch {
		case h.State == HealthUnhealthy && !now.Before(h.Since.Add(prof.HealthPropagation)):
			continue
		case h.State == HealthHealthy && h.recovered && prof.HealthFailback > 0 && now.Sub(h.Since) < prof.HealthFailback:
			// Failback: a share of requests that grows with the time
			// since it recovered, chosen in turn so tests are repeatable.
			share := uint64(now.Sub(h.Since) * 1000 / prof.HealthFailback)
			if l.failback.Add(1)*617%1000 >= share { // 617: spreads turns over 0-999
				held = append(held, i)
				continue
			}
		}
		kept = append(kept, i)
	}
	if len(kept) == 0 {
		return held // a recovering region is better than none
	}
	return kept
}

// noHealthyUpstream is the Envoy-based load balancer's answer when every
// backend is unhealthy: the words Google's service health page quotes.
func noHealthyUpstream(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Add("Via", "1.1 google")
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprint(w, "no healthy upstream")
}

// serveHealth serves, beside the Compute API,
//
//	GET /beyond/v1/health?project=P&region=R&service=S
//	→ {"state": "healthy", "passing": 1, "instances": 1, ...}
//
// Google shows service health in its console; the simulator answers the
// lab's live panel here.
func (s *Sim) serveHealth(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	project, region, service := q.Get("project"), q.Get("region"), q.Get("service")
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if project == "" || region == "" || service == "" {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": 400,
			"message": "give project, region and service, e.g. /beyond/v1/health?project=my-proj&region=us-central1&service=gemini-service"}})
		return
	}
	json.NewEncoder(w).Encode(s.RegionHealth(project, region, service))
}
