package tui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/beyond-lab/beyond/steps"
)

// feed sends n samples, every gap from start, all with the same answer.
func (h *harness) feed(start time.Time, n int, gap time.Duration, s steps.Sample) time.Time {
	h.t.Helper()
	at := start
	for range n {
		at = at.Add(gap)
		s.At = at
		h.send(eventMsg{steps.Event{Kind: steps.EventSample, Sample: &s, At: at}})
	}
	return at
}

// TestFailoverPanel drives the live panel with samples and the break and
// restore keys, in NO_COLOR mode where the strip is letters.
func TestFailoverPanel(t *testing.T) {
	lab := newFakeLab()
	lab.outputs.GlobalIP = "203.0.113.7"
	h := fakeHarness(t, lab, Options{NoColor: true})
	h.send(tea.WindowSizeMsg{Width: 100, Height: 40})
	h.press("enter")
	for h.m.current().id != steps.Curl {
		h.press("n")
	}
	if !h.m.showFailover {
		t.Fatal("the panel is hidden on the curl step")
	}
	h.contains("Live 203.0.113.7 · w starts probing", "no requests yet")

	h.press("w")
	h.until("Watch to be called", func() bool {
		lab.state.Lock()
		defer lab.state.Unlock()
		return lab.watches == 1
	})
	h.contains("probing, w stops", "watching the global IP")

	a := steps.Sample{Status: 200, Region: "us-central1", Latency: 10 * time.Millisecond}
	b := steps.Sample{Status: 200, Region: "europe-west1", Latency: 100 * time.Millisecond}
	bad := steps.Sample{Status: 503, Region: "us-central1", Latency: 5 * time.Millisecond}
	t0 := lab.now()
	at := h.feed(t0, 40, 50*time.Millisecond, a)
	h.contains("20.0 req/s · 40 sent · 0 failed", "A us-central1 100% · B europe-west1 0% · failed 0%", "p50 10 ms · p95 10 ms")

	lab.setClock(at)
	h.press("b")
	h.idle()
	if got := lab.callLog(); len(got) != 1 || got[0] != "run break-region" {
		t.Fatalf("b called %v", got)
	}
	at = h.feed(at, 3, 100*time.Millisecond, bad)
	at = h.feed(at, 37, 100*time.Millisecond, b)
	h.contains(
		"80 sent · 3 failed",
		"AAAxxxBBB",
		"A us-central1 50% · B europe-west1 46% · failed 4%",
		"p50 10 ms · p95 100 ms",
		"break: Break region A for real",
		"+0.1s first error: 503 from us-central1",
		"+0.4s first answer from europe-west1",
		"+0.3s last request to region A so far (3 errors)",
	)

	lab.setClock(at)
	h.press("u")
	h.idle()
	h.contains("+0.3s region A ejected after 3 errors, none since", "restore: Restore region A")
	h.feed(at, 5, 100*time.Millisecond, a)
	h.contains("+0.1s region A serving again")

	// The report counts from the break, as the timeline does (the fake
	// lab sends no EventBreak: the break step's start stands in for it),
	// so its first failure is the first error above, at +0.1s.
	h.send(eventMsg{steps.Event{Kind: steps.EventFailover, At: at, Failover: &steps.FailoverReport{Requests: 80, FailedRequests: 3, RerouteSeconds: 0.3, FirstFailureSeconds: 0.1, FailingSeconds: 0.2}}})
	h.contains("measured: rerouted in 0.3 s, 3/80 failed", "clients saw failures from +0.1s for 0.2s")

	h.press("m")
	h.until("the client to move", func() bool { return strings.Contains(h.screen(), "client moved to europe-west1") })
	lab.state.Lock()
	client := lab.client
	lab.state.Unlock()
	if client != "europe-west1" {
		t.Errorf("SetClientLocation got %q", client)
	}
	h.contains("client europe-west1")
	h.until("Watch to start again from the new place", func() bool {
		lab.state.Lock()
		defer lab.state.Unlock()
		return lab.watches == 2
	})
	h.send(movedMsg{to: 2, err: errors.New(`"asia-east1" is not a region the lab knows`)})
	h.contains("The client stays where it was", "client europe-west1")

	h.press("w")
	h.until("watching to stop", func() bool { return h.m.watch == nil })
	h.contains("stopped watching", "w starts probing")

	// At 80x24 the panel still fits, with the prose above it.
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.contains("Live 203.0.113.7", "recent BBBB", "BAAAAA", "q quit")
}

// TestFailoverPanelColour draws the strip in colour, one block a request.
func TestFailoverPanelColour(t *testing.T) {
	f := newFailover(steps.DefaultVars())
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for i, s := range []steps.Sample{{Status: 200, Region: "us-central1"}, {Status: 503, Region: "us-central1"}, {Status: 0, Err: "connection refused"}, {Status: 200, Region: "europe-west1"}, {Status: 200, Region: "asia-east1"}} {
		s.At = t0.Add(time.Duration(i) * time.Second)
		f.add(s)
	}
	got := stripANSI(f.strip(10, panelView{}, NewStyles(false)))
	if got != "█xx██" {
		t.Errorf("colour strip %q, want █xx██", got)
	}
	got = f.strip(10, panelView{letters: true}, NewStyles(true))
	if got != "AxxBo" {
		t.Errorf("letter strip %q, want AxxBo", got)
	}
	st := f.stats(0)
	if st.a != 1 || st.b != 1 || st.other != 1 || st.fails != 2 {
		t.Errorf("stats %+v", st)
	}
	if got := sparkline([]time.Duration{0, time.Millisecond, 2 * time.Millisecond, 9 * time.Millisecond}); got != " ▁▁█" {
		t.Errorf("sparkline %q", got)
	}
}

// TestFailoverPanelCountsRateLimitsApart: a 429 (Cloud Armor's rate
// limit) is counted on its own, not as a failure of a region.
func TestFailoverPanelCountsRateLimitsApart(t *testing.T) {
	f := newFailover(steps.DefaultVars())
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i, s := range []steps.Sample{{Status: 200, Region: "us-central1"}, {Status: 429}, {Status: 429}, {Status: 503, Region: "us-central1"}} {
		s.At = t0.Add(time.Duration(i) * time.Second)
		f.add(s)
	}
	if f.total != 4 || f.failed != 1 || f.limited != 2 {
		t.Errorf("total %d, failed %d, limited %d; want 4, 1, 2", f.total, f.failed, f.limited)
	}
	if st := f.stats(0); st.fails != 1 || st.a != 1 {
		t.Errorf("stats %+v; want one failure, one answer from A", st)
	}
	lines := f.view(panelView{width: 80, height: 6, canWatch: true}, NewStyles(true))
	if !strings.Contains(strings.Join(lines, "\n"), "1 failed · 2 limited (429)") {
		t.Errorf("panel:\n%s\nwant the 429s counted apart", strings.Join(lines, "\n"))
	}
}

// TestWatchError shows why watching stopped.
func TestWatchError(t *testing.T) {
	h := fakeHarness(t, newFakeLab(), Options{})
	h.press("enter", "w")
	id := h.m.watch.id
	h.send(watchDoneMsg{id: id, err: errors.New("no global IP yet: run step 'Read the global IP'")})
	h.contains("Watching stopped: no global IP yet")
}

// TestFailoverPanelShowsServiceHealth: each region's service health, with
// the instances passing their readiness probe, beside the share; a change
// of state goes on the timeline, and the measured signals after the report.
func TestFailoverPanelShowsServiceHealth(t *testing.T) {
	lab := newFakeLab()
	lab.outputs.GlobalIP = "203.0.113.7"
	h := fakeHarness(t, lab, Options{NoColor: true})
	h.send(tea.WindowSizeMsg{Width: 100, Height: 40})
	h.press("enter")
	for h.m.current().id != steps.Curl {
		h.press("n")
	}
	a := steps.Sample{Status: 200, Region: "us-central1", Latency: 10 * time.Millisecond}
	t0 := lab.now()
	at := h.feed(t0, 10, 50*time.Millisecond, a)
	health := func(at time.Time, stateA string, passingA int) {
		h.send(eventMsg{steps.Event{Kind: steps.EventHealth, At: at, Health: []steps.RegionHealth{
			{Region: "us-central1", State: stateA, Passing: passingA, Instances: 1},
			{Region: "europe-west1", State: "healthy", Passing: 1, Instances: 1},
		}}})
	}
	health(at, "healthy", 1)
	h.contains("health A healthy 1/1 · B healthy 1/1")
	health(at.Add(time.Second), "unhealthy", 0)
	h.contains("health A unhealthy 0/1 · B healthy 1/1", "us-central1 service health: healthy → unhealthy")
	h.send(eventMsg{steps.Event{Kind: steps.EventFailover, At: at.Add(2 * time.Second), Failover: &steps.FailoverReport{
		Requests: 40, FailedRequests: 3, RerouteSeconds: 0.4, Rate: 20,
		Signals: []steps.SignalReport{
			{Signal: steps.SignalOutlier, Observed: true, ActedSeconds: 0.4, FailedBefore: 3},
			{Signal: steps.SignalHealth, Observed: true, ActedSeconds: 4.2},
		}}}})
	h.contains("outlier-detection: acted at +0.4 s, 3 failed before, 0 after", "service-health: acted at +4.2 s, 0 failed before, 0 after")
}

// TestFailoverPanelCountsFromTheBreakAsTheStepDoes: the panel's timeline
// and the failover step's report count from one instant, the break being
// sent (EventBreak), not the break step's start: for the same samples, the
// panel's first error is the report's first failure.
func TestFailoverPanelCountsFromTheBreakAsTheStepDoes(t *testing.T) {
	f := newFailover(steps.DefaultVars())
	brk := &steps.Step{ID: steps.BreakRegion, Breaks: true}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	breakAt := t0.Add(1200 * time.Millisecond) // after the step's baseline
	var samples []steps.Sample
	at := t0
	add := func(n int, s steps.Sample) {
		for range n {
			at = at.Add(50 * time.Millisecond)
			s.At = at
			samples = append(samples, s)
		}
	}
	add(30, steps.Sample{Status: 200, Region: "us-central1"})  // the baseline, and the rollout
	add(4, steps.Sample{Status: 503, Region: "us-central1"})   // the break in effect
	add(40, steps.Sample{Status: 200, Region: "europe-west1"}) // moved
	// One failure arrives late, though it was sent before the others.
	late := samples[30]
	samples = append(samples[:30:30], samples[31:]...)
	samples = append(samples, late)

	f.step(steps.Event{Kind: steps.EventStarted, Step: brk.ID, Title: "Break region A", At: t0}, brk)
	for i, s := range samples {
		if s.At.After(breakAt) && (i == 0 || !samples[i-1].At.After(breakAt)) {
			f.step(steps.Event{Kind: steps.EventBreak, Step: brk.ID, At: breakAt}, brk)
		}
		f.add(s)
	}
	report := steps.MeasureFailover(samples, breakAt)
	if report.FailedRequests != 4 {
		t.Fatalf("the step measured %d failures, want 4", report.FailedRequests)
	}
	p := f.phase
	if p == nil || p.firstErr.IsZero() {
		t.Fatalf("the panel saw no first error: %+v", f.marks)
	}
	if got := p.firstErr.Sub(p.start).Seconds(); got != report.FirstFailureSeconds {
		t.Errorf("the panel's first error is at +%.3f s, the step's first failure at %.3f s: two origins", got, report.FirstFailureSeconds)
	}

	f.step(steps.Event{Kind: steps.EventFailover, At: at, Failover: &report}, nil)
	var firstErr, sawFrom string
	n := 0
	for _, m := range f.marks {
		if off, ok := strings.CutSuffix(strings.Fields(m.text)[0], "s"); ok && strings.Contains(m.text, " first error:") {
			firstErr = off
			n++
		}
		if _, rest, ok := strings.Cut(m.text, "clients saw failures from "); ok {
			sawFrom = strings.TrimSuffix(strings.Fields(rest)[0], "s")
		}
	}
	if n != 1 || firstErr == "" || firstErr != sawFrom {
		t.Errorf("timeline: %d first-error lines, first error at %q, the report's failures from %q; want one line, the same offset\n%+v", n, firstErr, sawFrom, f.marks)
	}
	if want := fmt.Sprintf("+%.1f", report.FirstFailureSeconds); firstErr != want {
		t.Errorf("first error at %s, want %s", firstErr, want)
	}
}
