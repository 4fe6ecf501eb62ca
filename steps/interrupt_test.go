package steps_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
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
//
// The steps are taken in stretches (interruptStretches), each on its own
// simulator and run at the same time as the others: a stretch starts from
// the lab replayed, uninterrupted, up to its first step, and counts what
// the lab created at its end. Every resume re-checks every step before it,
// and the failover part's checks probe for a second or more, so one
// simulator taking all the steps in turn spent minutes mostly waiting.
func TestInterruptEveryStep(t *testing.T) {
	ids := func() []string {
		var out []string
		for _, s := range steps.Lab() {
			out = append(out, s.ID)
		}
		return out
	}()
	for _, mode := range []string{"at start", "mid-step"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel() // each stretch on its own simulator; most of the time is waiting on probes
			var mu sync.Mutex
			interrupted := map[string]bool{}
			t.Run("stretches", func(t *testing.T) {
				for i, first := range interruptStretches {
					end := len(ids)
					if i+1 < len(interruptStretches) {
						end = slices.Index(ids, interruptStretches[i+1])
					}
					start := slices.Index(ids, first)
					t.Run("from "+first, func(t *testing.T) {
						parallel(t)
						got := interruptEach(t, mode, ids[:start], ids[start:end], end == len(ids))
						mu.Lock()
						maps.Copy(interrupted, got)
						mu.Unlock()
					})
				}
			})
			if t.Failed() {
				return
			}
			var missed []string
			for _, id := range ids {
				if noticed, ran := interrupted[id]; ran && !noticed {
					missed = append(missed, id)
				}
			}
			// A step that finishes before the interrupt is noticed (no
			// call after it, as in "project") is fine; most must stop.
			// (Over the steps of the stretches run: -run may pick some.)
			if len(missed) > len(interrupted)/3 {
				t.Errorf("only %d of %d steps noticed the interrupt; not: %v", len(interrupted)-len(missed), len(interrupted), missed)
			}
		})
	}
}

// interruptStretches are the first steps of TestInterruptEveryStep's
// stretches: Parts 1 to 3, the failover part, production practice, HTTPS
// up to the certificate map, then its front end and cleanup. (After the
// failover part, every resume sits through its checks again.)
var interruptStretches = []string{steps.ConfirmAI, steps.Curl, steps.Ingress, steps.StaticIP, steps.HTTPSFrontend}

// labCount is what the lab creates up to Part 4, once each.
var labCount = map[string]int{"Cloud Run service": 2, "network endpoint group": 2, "backend service": 1, "URL map": 1, "target HTTP proxy": 1, "forwarding rule": 1, "repository": 1, "service account": 1}

// interruptEach replays the steps before on a simulator of its own, then
// interrupts each of the steps in mode and resumes, and reports which
// noticed the interrupt. last says the stretch ends the lab (with cleanup).
func interruptEach(t *testing.T, mode string, before, stretch []string, last bool) map[string]bool {
	l := newLab(t)
	if len(before) > 0 {
		r := l.runner(t)
		sum, err := r.Run(context.Background(), steps.Range{To: before[len(before)-1]})
		r.Close()
		if events := l.take(); err != nil || !sum.OK() {
			t.Fatalf("replay up to %s: %+v %v: %v", before[len(before)-1], sum, err, failures(events))
		}
	}
	interrupted := map[string]bool{}
	for _, id := range stretch {
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
		if id == steps.GlobalIP || id == steps.Restore {
			// The lab is whole: everything it creates, once.
			checkCount(t, l, labCount)
		}
		if id == steps.HTTPSCheck {
			// Part 5 adds its own, once: the redirect map, the rule on
			// 443 and the rest.
			checkCount(t, l, map[string]int{"Cloud Run service": 2, "network endpoint group": 2, "backend service": 1, "URL map": 2, "target HTTP proxy": 1, "forwarding rule": 2, "repository": 1, "service account": 1,
				"global address": 1, "target HTTPS proxy": 1, "DNS zone": 1, "DNS authorization": 1, "certificate": 1, "certificate map": 1})
		}
	}
	switch {
	case last:
		checkCount(t, l, map[string]int{})
	case stretch[len(stretch)-1] == steps.MaxInstances:
		// Production practice creates nothing the count knows of (its
		// security policy is not counted): the lab of Part 4, once.
		checkCount(t, l, labCount)
	}
	return interrupted
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
