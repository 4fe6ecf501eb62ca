package steps_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/beyond-lab/beyond/gcp/sim/simtest"
	"github.com/beyond-lab/beyond/steps"
)

// TestInterruptEveryStep interrupts the whole lab at every step in turn, as
// Ctrl-C would, and resumes it, as running beyond again does: first when the
// step starts, then in the middle of it (at its first progress line, or when
// its Do is done and its check about to run). It must end with every step
// passed, and with what the lab creates, counted through the API, exactly
// once: nothing duplicated, nothing leaked. Cleanup, interrupted and
// resumed the same way, must then leave nothing.
func TestInterruptEveryStep(t *testing.T) {
	for _, mode := range []string{"at start", "mid-step"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel() // each on its own simulator; most of the time is waiting on probes
			l := newLab(t)
			ids := func() []string {
				var out []string
				for _, s := range steps.Lab() {
					out = append(out, s.ID)
				}
				return out
			}()
			interrupted := map[string]bool{}
			for _, id := range ids {
				ctx, cancel := context.WithCancel(context.Background())
				l.hook(func(e steps.Event) {
					if e.Step != id {
						return
					}
					switch {
					case mode == "at start" && e.Kind == steps.EventStarted,
						mode == "mid-step" && (e.Kind == steps.EventProgress || e.Kind == steps.EventDid):
						cancel()
					}
				})
				rg := steps.Range{Resume: true, To: id}
				if id == steps.Cleanup {
					rg = steps.Range{From: id, To: id}
				}
				r := l.runner(t)
				sum, err := r.Run(ctx, rg)
				r.Close() // the process ends: its probing with it
				cancel()
				events := l.take()
				if err != nil {
					t.Fatal(err)
				}
				if fails := failures(events); sum.Failed > 0 {
					t.Fatalf("interrupting %s: %v", id, fails)
				}
				interrupted[id] = sum.Canceled
				// Run again, as a learner would: it must finish the step.
				l.hook(nil)
				r = l.runner(t)
				sum, err = r.Run(context.Background(), rg)
				r.Close()
				events = l.take()
				if err != nil || !sum.OK() {
					t.Fatalf("resuming after %s was interrupted: %+v %v: %v", id, sum, err, failures(events))
				}
				if id == steps.Restore {
					// The lab is whole: everything it creates, once.
					checkCount(t, l, map[string]int{"Cloud Run service": 2, "network endpoint group": 2, "backend service": 1, "URL map": 1, "target HTTP proxy": 1, "forwarding rule": 1, "repository": 1, "service account": 1})
				}
				if id == steps.HTTPSCheck {
					// Part 5 adds its own, once: the redirect map, the rule on
					// 443 and the rest.
					checkCount(t, l, map[string]int{"Cloud Run service": 2, "network endpoint group": 2, "backend service": 1, "URL map": 2, "target HTTP proxy": 1, "forwarding rule": 2, "repository": 1, "service account": 1,
						"global address": 1, "target HTTPS proxy": 1, "DNS zone": 1, "DNS authorization": 1, "certificate": 1, "certificate map": 1})
				}
			}
			checkCount(t, l, map[string]int{})
			var missed []string
			for _, id := range ids {
				if !interrupted[id] {
					missed = append(missed, id)
				}
			}
			// A step that finishes before the interrupt is noticed (no
			// call after it, as in "project") is fine; most must stop.
			if len(missed) > len(ids)/3 {
				t.Errorf("only %d of %d steps noticed the interrupt; not: %v", len(ids)-len(missed), len(ids), missed)
			}
		})
	}
}

// checkCount counts what the lab created, through the API, against want.
func checkCount(t *testing.T, l *simLab, want map[string]int) {
	t.Helper()
	got, err := simtest.Count(context.Background(), l.sim.Endpoints(), l.vars.Project)
	if err != nil {
		t.Fatal(err)
	}
	var diffs []string
	for _, kind := range slices.Sorted(func(yield func(string) bool) {
		seen := map[string]bool{}
		for k := range got {
			if !seen[k] && !yield(k) {
				return
			}
			seen[k] = true
		}
		for k := range want {
			if !seen[k] && !yield(k) {
				return
			}
			seen[k] = true
		}
	}) {
		if len(got[kind]) != want[kind] {
			diffs = append(diffs, fmt.Sprintf("%s: %d %v, want %d", kind, len(got[kind]), got[kind], want[kind]))
		}
	}
	if len(diffs) > 0 {
		t.Errorf("resources through the API:\n%s", strings.Join(diffs, "\n"))
	}
}

// hook sets what runs on every event, from here on.
func (l *simLab) hook(f func(steps.Event)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.onEmit = f
}
