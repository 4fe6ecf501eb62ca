package probe

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// at returns the time ms milliseconds after t0.
func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func ok(ms int, region string, latency time.Duration) Sample {
	return Sample{At: at(ms), Status: 200, Region: region, Latency: latency}
}

func fail(ms, status int) Sample {
	return Sample{At: at(ms), Status: status, Latency: time.Millisecond}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestAnalyzeFailoverWithErrors(t *testing.T) {
	const us, eu = "us-central1", "europe-west1"
	// 20 requests a second: 4 from us, the break at 200 ms, 3 failures
	// (one a transport error), one more from us, then europe to the end.
	samples := []Sample{
		ok(0, us, 10*time.Millisecond),
		ok(50, us, 20*time.Millisecond),
		ok(100, us, 30*time.Millisecond),
		ok(150, us, 40*time.Millisecond),
		fail(200, 503),
		fail(250, 503),
		{At: at(300), Err: "connection refused", Latency: time.Millisecond},
		ok(350, us, 50*time.Millisecond),
		ok(400, eu, 100*time.Millisecond),
		ok(450, eu, 110*time.Millisecond),
		ok(500, eu, 120*time.Millisecond),
		ok(550, eu, 130*time.Millisecond),
	}
	// Shuffled input: Analyze orders by send time.
	samples[0], samples[11] = samples[11], samples[0]
	samples[3], samples[7] = samples[7], samples[3]

	r := Analyze(samples, at(200))
	if r.Requests != 12 || r.Failed != 3 {
		t.Errorf("Requests, Failed = %d, %d; want 12, 3", r.Requests, r.Failed)
	}
	if !near(r.Share[us], 5.0/12) || !near(r.Share[eu], 4.0/12) || len(r.Share) != 2 {
		t.Errorf("Share = %v; want us 5/12, eu 4/12", r.Share)
	}
	if r.Before != us || r.After != eu || !r.Settled {
		t.Errorf("Before, After, Settled = %q, %q, %v; want %q, %q, true", r.Before, r.After, r.Settled, us, eu)
	}
	// Disturbed by the failure at 200 ms; settled on europe from 400 ms.
	if !near(r.RerouteSeconds, 0.2) {
		t.Errorf("RerouteSeconds = %v; want 0.2", r.RerouteSeconds)
	}
	if !r.FirstFailure.Equal(at(200)) || !r.LastFailure.Equal(at(300)) {
		t.Errorf("failures from %v to %v; want 200 ms to 300 ms", r.FirstFailure.Sub(t0), r.LastFailure.Sub(t0))
	}
	// Latencies of the 11 answered requests, sorted: 1 1 10 20 30 40 50 100
	// 110 120 130 ms. Nearest rank: p50 is the 6th, p95 the 11th.
	if r.P50 != 40*time.Millisecond || r.P95 != 130*time.Millisecond {
		t.Errorf("P50, P95 = %v, %v; want 40ms, 130ms", r.P50, r.P95)
	}
}

func TestAnalyzeRetriesHideTheOutage(t *testing.T) {
	const us, eu = "us-central1", "europe-west1"
	samples := []Sample{ok(0, us, 1), ok(50, us, 1), ok(100, eu, 1), ok(150, eu, 1)}
	r := Analyze(samples, at(100))
	if r.Failed != 0 || r.Before != us || r.After != eu || r.RerouteSeconds != 0 || !r.Settled {
		t.Errorf("got %+v; want no failures, us → eu, reroute 0, settled", r)
	}
	if !r.FirstFailure.IsZero() {
		t.Errorf("FirstFailure = %v; want zero", r.FirstFailure)
	}
}

func TestAnalyzeNoFailover(t *testing.T) {
	const us = "us-central1"
	// Classic load balancer: the failing region keeps its traffic.
	samples := []Sample{ok(0, us, 1), ok(50, us, 1), fail(100, 503), fail(150, 503)}
	r := Analyze(samples, at(100))
	if r.Settled || r.RerouteSeconds != -1 || r.After != us || r.Before != us || r.Failed != 2 {
		t.Errorf("got %+v; want unsettled, reroute -1, us before and after, 2 failed", r)
	}
	if !near(r.Share[us], 0.5) {
		t.Errorf("Share[us] = %v; want 0.5", r.Share[us])
	}
}

func TestAnalyzeRecoveryInPlace(t *testing.T) {
	const us = "us-central1"
	// The region fails and recovers: the settling time is the outage.
	samples := []Sample{ok(0, us, 1), fail(100, 502), fail(200, 502), ok(300, us, 1), ok(400, us, 1)}
	r := Analyze(samples, at(50))
	if r.Before != us || r.After != us || !near(r.RerouteSeconds, 0.2) {
		t.Errorf("got %+v; want us → us in 0.2 s", r)
	}
}

func TestAnalyzeUndisturbed(t *testing.T) {
	samples := []Sample{ok(0, "a", 1), ok(100, "a", 1), ok(200, "a", 1)}
	r := Analyze(samples, at(100))
	if r.RerouteSeconds != 0 || r.Before != "a" || r.After != "a" {
		t.Errorf("got %+v; want a → a, reroute 0", r)
	}
}

func TestAnalyzeZeroBreak(t *testing.T) {
	// No break: Before is empty and the first answer disturbs; the run
	// settles on b at 200 ms.
	samples := []Sample{ok(0, "a", 1), ok(100, "a", 1), ok(200, "b", 1), ok(300, "b", 1)}
	r := Analyze(samples, time.Time{})
	if r.Before != "" || r.After != "b" || !near(r.RerouteSeconds, 0.2) {
		t.Errorf("got %+v; want Before empty, After b, reroute 0.2", r)
	}
}

func TestAnalyzeUnknownRegionAndEmpty(t *testing.T) {
	r := Analyze(nil, t0)
	if r.Requests != 0 || r.Settled || r.RerouteSeconds != -1 || r.P50 != 0 {
		t.Errorf("Analyze(nil) = %+v; want empty, unsettled", r)
	}
	r = Analyze([]Sample{ok(0, "", 1), ok(10, "", 1)}, t0)
	if r.Share[UnknownRegion] != 1 || r.After != UnknownRegion {
		t.Errorf("got %+v; want everything under %q", r, UnknownRegion)
	}
}

func TestAnalyzeTieGoesToFirstName(t *testing.T) {
	samples := []Sample{ok(0, "b", 1), ok(10, "a", 1), ok(100, "a", 1)}
	if r := Analyze(samples, at(50)); r.Before != "a" {
		t.Errorf("Before = %q; want a (tie broken by name)", r.Before)
	}
}
