package steps

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

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

// healthEvery is how often the feed reads service health while it probes.
const healthEvery = 250 * time.Millisecond

// pollHealth reads service health every healthEvery while the prober of
// generation gen runs, emitting EventHealth and handing it to subscribers.
// It ends at once where health cannot be read.
func (f *feed) pollHealth(ctx context.Context, gen int) {
	if f.health == nil {
		return
	}
	t := time.NewTicker(healthEvery)
	defer t.Stop()
	for {
		hs := f.health(ctx)
		if hs == nil {
			return
		}
		at := time.Now()
		f.mu.Lock()
		if gen != f.gen {
			f.mu.Unlock()
			return
		}
		fns := make([]func([]RegionHealth, time.Time), 0, len(f.healthSubs))
		for _, fn := range f.healthSubs {
			fns = append(fns, fn)
		}
		f.mu.Unlock()
		if f.emit != nil {
			f.emit(Event{Kind: EventHealth, Health: hs, At: at})
		}
		for _, fn := range fns {
			fn(hs, at)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// onHealth hands fn every reading of service health until leave.
func (f *feed) onHealth(fn func([]RegionHealth, time.Time)) (leave func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.healthSubs == nil {
		f.healthSubs = map[int]func([]RegionHealth, time.Time){}
	}
	id := f.next
	f.next++
	f.healthSubs[id] = fn
	return func() {
		f.mu.Lock()
		delete(f.healthSubs, id)
		f.mu.Unlock()
	}
}

// healthReading is one reading of both regions' service health.
type healthReading struct {
	at      time.Time
	regions []RegionHealth
}

func (w *watcher) addHealth(hs []RegionHealth, at time.Time) {
	w.mu.Lock()
	w.health = append(w.health, healthReading{at: at, regions: hs})
	w.mu.Unlock()
}

// stateOf is region's state in a reading, or "".
func (r healthReading) stateOf(region string) RegionHealth {
	for _, h := range r.regions {
		if h.Region == region {
			return h
		}
	}
	return RegionHealth{}
}

// Failover signals.
const (
	SignalOutlier = "outlier-detection" // passive: the load balancer ejects a region after errors clients saw
	SignalHealth  = "service-health"    // active: readiness probes roll up per region; unhealthy gets no traffic
)

// SignalReport is what one failover signal did in the failover run, and what
// clients saw around it. Every number is measured in that run.
type SignalReport struct {
	Signal string `json:"signal"`
	// Observed is false where the lab cannot see this signal act: service
	// health on Google (no API the lab can read); its numbers are then 0.
	Observed bool `json:"observed"`
	// ActedSeconds is when, after the break, the signal took the broken
	// region out: for outlier detection, when the survivor first answered
	// after requests had failed (it ejects on errors clients saw); for
	// service health, when the region was first read unhealthy (read every
	// healthEvery). -1: it did not act in the run.
	ActedSeconds float64 `json:"acted_seconds"`
	// FailedBefore counts requests that failed before the signal acted;
	// FailedAfter those sent after it acted; ServedByBrokenAfter the
	// answers the broken region still gave after it acted.
	FailedBefore        int `json:"failed_before"`
	FailedAfter         int `json:"failed_after"`
	ServedByBrokenAfter int `json:"served_by_broken_after"`
	// Passing and Instances: the broken region's instances passing their
	// readiness probe at the end of the run (service health only).
	Passing   int    `json:"passing,omitempty"`
	Instances int    `json:"instances,omitempty"`
	Note      string `json:"note,omitempty"`
}

// Describe says what the signal did, in a line.
func (r SignalReport) Describe() string {
	switch {
	case !r.Observed:
		return r.Signal + ": not observable here. " + r.Note
	case r.ActedSeconds < 0:
		return r.Signal + ": did not act in this run. " + r.Note
	}
	return fmt.Sprintf("%s: acted %.2f s after the break; %d requests failed before, %d after; the broken region answered %d after",
		r.Signal, r.ActedSeconds, r.FailedBefore, r.FailedAfter, r.ServedByBrokenAfter)
}

// signals measures both failover signals over one run's samples and health
// readings.
func signals(samples []Sample, health []healthReading, breakAt time.Time, broken, survivor string) []SignalReport {
	samples = slices.Clone(samples)
	slices.SortStableFunc(samples, func(a, b Sample) int { return a.At.Compare(b.At) })
	unhealthyAt := time.Time{}
	var last RegionHealth
	for _, r := range health {
		last = r.stateOf(broken)
		if unhealthyAt.IsZero() && !r.at.Before(breakAt) && last.State == "unhealthy" {
			unhealthyAt = r.at
		}
	}
	// Traffic moved when the survivor first answered after the break.
	var movedAt time.Time
	failedBeforeMove := 0
	for _, sm := range samples {
		if sm.At.Before(breakAt) {
			continue
		}
		if !sm.Failed() && sm.Region == survivor {
			movedAt = sm.At
			break
		}
		if sm.Failed() {
			failedBeforeMove++
		}
	}

	// Outlier detection acts on errors clients saw: it moved the traffic
	// if requests failed before it moved and service health had not yet
	// marked the region unhealthy.
	od := SignalReport{Signal: SignalOutlier, Observed: true, ActedSeconds: -1}
	switch {
	case movedAt.IsZero():
		od.Note = "traffic never moved in this run"
	case failedBeforeMove == 0:
		od.Note = "no request failed before traffic moved: it had no errors to count"
	case !unhealthyAt.IsZero() && unhealthyAt.Before(movedAt):
		od.Note = "service health moved the traffic first"
	default:
		od.ActedSeconds = seconds(movedAt.Sub(breakAt))
		od.FailedBefore = failedBeforeMove
		od.Note = "ejected the region after the errors clients saw"
		tally(&od, samples, movedAt, broken)
	}

	sh := SignalReport{Signal: SignalHealth, ActedSeconds: -1, Passing: last.Passing, Instances: last.Instances}
	switch {
	case len(health) == 0:
		sh.Note = "the lab cannot read Cloud Run service health on Google: compare what clients saw"
		return []SignalReport{od, sh}
	case unhealthyAt.IsZero():
		sh.Observed = true
		sh.Note = "the broken region was never read unhealthy: " + orWhy(last)
		return []SignalReport{od, sh}
	}
	sh.Observed = true
	sh.ActedSeconds = seconds(unhealthyAt.Sub(breakAt))
	for _, sm := range samples {
		if !sm.At.Before(breakAt) && sm.At.Before(unhealthyAt) && sm.Failed() {
			sh.FailedBefore++
		}
	}
	sh.Note = "kept the region out while its readiness probe failed"
	tally(&sh, samples, unhealthyAt, broken)
	return []SignalReport{od, sh}
}

// tally counts, after at, the failed requests and the broken region's answers.
func tally(r *SignalReport, samples []Sample, at time.Time, broken string) {
	if at.IsZero() {
		return
	}
	for _, sm := range samples {
		if !sm.At.After(at) {
			continue
		}
		switch {
		case sm.Failed():
			r.FailedAfter++
		case sm.Region == broken:
			r.ServedByBrokenAfter++
		}
	}
}

func orWhy(h RegionHealth) string {
	if h.Reason != "" {
		return h.State + " (" + h.Reason + ")"
	}
	return h.State
}

// awaitUnhealthy waits, where service health can be read, until w has read
// the broken region unhealthy or patience runs out: the failover step
// measures both signals, and on an outage that fails every request service
// health is the slower to act.
func (s *Session) awaitUnhealthy(ctx context.Context, w *watcher, patience time.Duration) {
	if svc, err := s.Cloud.GetService(ctx, s.broken(), s.Vars.Service); err == nil {
		if fault := s.healthFault(svc); fault != "" {
			s.Progress("not waiting for service health: " + fault)
			return
		}
	}
	start := time.Now()
	var said time.Time
	for time.Since(start) < patience && ctx.Err() == nil {
		w.mu.Lock()
		read, unhealthy := len(w.health) > 0, false
		for _, r := range w.health {
			if !r.at.Before(w.breakAt) && r.stateOf(s.broken()).State == "unhealthy" {
				unhealthy = true
			}
		}
		w.mu.Unlock()
		if unhealthy || (!read && time.Since(start) > time.Second) {
			return // unhealthy, or service health cannot be read here
		}
		if time.Since(said) >= time.Second {
			s.Progress(fmt.Sprintf("waiting for Cloud Run service health to mark %s unhealthy (%s so far)", s.broken(), time.Since(start).Round(time.Second)))
			said = time.Now()
		}
		select {
		case <-ctx.Done():
		case <-time.After(pollEvery(s)):
		}
	}
}

// healthPatience bounds the wait for service health: the lab's probe fails
// three times a second apart, after a new instance's first probe, which does
// not count; then the load balancer needs to learn it.
func healthPatience(s *Session) time.Duration {
	if s.Cloud.Simulated() {
		return 20 * time.Second
	}
	return time.Minute
}

// upstreamFault explains the load balancer's "no healthy upstream": with
// Cloud Run service health, no region behind the backend service is
// healthy. Google documents it for a single region: failover needs two.
func upstreamFault(sm Sample, body string) error {
	if sm.Status != http.StatusServiceUnavailable || !strings.Contains(body, "no healthy upstream") {
		return nil
	}
	return failf("the load balancer answered 503 \"no healthy upstream\": Cloud Run service health reports no region behind the backend service as healthy",
		"Service health fails over only between two or more regions: make sure both NEGs are backends (steps '"+titleOf(BackendA)+"' and '"+titleOf(BackendB)+"') and that a region's readiness probe passes (restore it)")
}

// seconds is d in seconds, to the millisecond.
func seconds(d time.Duration) float64 { return d.Round(time.Millisecond).Seconds() }

// How break-region breaks the lab's own service (ProbeConfig.BreakBy).
const (
	BreakByErrors    = "errors"
	BreakByReadiness = "readiness"
)

// HealthSetting is whether a region's service has what Cloud Run service
// health needs: a readiness probe and at least one minimum instance.
type HealthSetting struct {
	Region string `json:"region"`
	// Readiness describes the probe ("/ready every 1 s, threshold 3"), or
	// is empty when the service has none.
	Readiness    string `json:"readiness_probe,omitempty"`
	MinInstances int32  `json:"min_instances"`
	OK           bool   `json:"ok"`
}

func (h HealthSetting) String() string {
	probe := "no readiness probe"
	if h.Readiness != "" {
		probe = "readiness " + h.Readiness
	}
	return fmt.Sprintf("%s %s, %d min instance", h.Region, probe, h.MinInstances)
}

// healthSettings reads, for each region where the service exists, its
// readiness probe and minimum instances (from the sweep's snapshot: no
// extra call).
func (s *Session) healthSettings(ctx context.Context) []HealthSetting {
	var out []HealthSetting
	for _, region := range []string{s.Vars.RegionA, s.Vars.RegionB} {
		svc, err := s.Cloud.GetService(ctx, region, s.Vars.Service)
		if err != nil {
			continue
		}
		h := HealthSetting{Region: region, MinInstances: svc.MinInstances}
		if r := svc.Readiness; r != nil {
			h.Readiness = fmt.Sprintf("%s every %d s, threshold %d", r.Path, r.PeriodSeconds, r.FailureThreshold)
		}
		h.OK = h.Readiness != "" && h.MinInstances >= minInstances
		out = append(out, h)
	}
	return out
}
