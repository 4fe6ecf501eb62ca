package steps_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/steps"
)

// TestAwaitTypedStep: the learner types a step; the lab checks until it
// holds, shows the check's reason and fix while it waits, and records the
// step as done by the learner.
func TestAwaitTypedStep(t *testing.T) {
	l := newLab(t)
	r := l.runner(t)
	ctx := context.Background()
	if sum, _ := r.Run(ctx, steps.Range{To: steps.DeployB}); !sum.OK() {
		t.Fatalf("run to %s: %+v %v", steps.DeployB, sum, failures(l.take()))
	}
	l.take()

	// The learner creates NEG A by hand after the first failed check, as
	// gcloud would in a second terminal.
	var once sync.Once
	typed := make(chan error, 1)
	l.mu.Lock()
	l.onEmit = func(e steps.Event) {
		if e.Kind == steps.EventWaiting {
			once.Do(func() {
				go func() {
					typed <- l.cloud.CreateServerlessNEG(ctx, l.vars.RegionA, l.vars.NEGA, l.vars.Service, nil)
				}()
			})
		}
	}
	l.mu.Unlock()
	st, err := r.Await(ctx, steps.NEGA, 10*time.Millisecond)
	if err != nil || st != steps.StatusPassed {
		t.Fatalf("Await = %s, %v; want passed", st, err)
	}
	if err := <-typed; err != nil {
		t.Fatalf("creating the NEG by hand: %v", err)
	}
	events := l.take()
	var sawReason, sawWaiting, sawDid bool
	var done steps.Event
	for _, e := range events {
		switch e.Kind {
		case steps.EventChecked:
			if e.Status == steps.StatusFailed && e.Err != nil && e.Fix != "" {
				sawReason = true
				if !strings.Contains(e.Fix, "second terminal") {
					t.Errorf("fix while typing = %q, want it to say to run the command in the second terminal", e.Fix)
				}
			}
		case steps.EventWaiting:
			sawWaiting = sawWaiting || !e.Next.IsZero()
		case steps.EventDid:
			sawDid = true
		case steps.EventDone:
			done = e
		}
	}
	if !sawReason || !sawWaiting {
		t.Errorf("while waiting: failed check with reason and fix %v, waiting with next time %v; want both", sawReason, sawWaiting)
	}
	if sawDid {
		t.Error("the lab ran Do on a step the learner typed")
	}
	if done.Status != steps.StatusPassed || done.By != steps.ByLearner {
		t.Errorf("done event = %s by %q, want passed by learner", done.Status, done.By)
	}
	if got := r.Saved().Steps[steps.NEGA]; got.Status != steps.StatusPassed || got.By != steps.ByLearner {
		t.Errorf("saved %s = %+v, want passed by learner", steps.NEGA, got)
	}
	if got := r.Saved().Steps[steps.DeployA]; got.By != steps.ByLab {
		t.Errorf("saved %s by %q, want by lab", steps.DeployA, got.By)
	}

	// Leaving typing mode cancels the wait; nothing is recorded as passed.
	ctx2, cancel := context.WithCancel(ctx)
	l.mu.Lock()
	l.onEmit = func(e steps.Event) {
		if e.Kind == steps.EventWaiting {
			cancel()
		}
	}
	l.mu.Unlock()
	if st, err := r.Await(ctx2, steps.NEGB, 10*time.Millisecond); err != nil || st != steps.StatusCanceled {
		t.Errorf("Await after leaving typing mode = %s, %v; want canceled", st, err)
	}
	if got := r.Saved().Steps[steps.NEGB]; got.Status == steps.StatusPassed {
		t.Errorf("saved %s = %+v after a canceled wait", steps.NEGB, got)
	}
	if _, err := r.Await(ctx, "no-such-step", time.Millisecond); err == nil {
		t.Error("Await of an unknown step did not fail")
	}
}

// TestCheckOnly runs only the checks: nothing is created, every step is
// reported, and the run fails while any check fails.
func TestCheckOnly(t *testing.T) {
	l := newLab(t)
	r := l.runner(t)
	ctx := context.Background()
	if sum, _ := r.Run(ctx, steps.Range{To: steps.EnableAPIs}); !sum.OK() {
		t.Fatalf("run to %s: %+v", steps.EnableAPIs, sum)
	}
	l.take()
	sum, err := r.Run(ctx, steps.Range{CheckOnly: true, To: steps.URLMap})
	if err != nil {
		t.Fatal(err)
	}
	events := l.take()
	checked := map[string]steps.Status{}
	for _, e := range events {
		if e.Kind == steps.EventDid {
			t.Errorf("check-only ran Do of %s", e.Step)
		}
		if e.Kind == steps.EventDone {
			checked[e.Step] = e.Status
		}
	}
	if checked[steps.EnableAPIs] != steps.StatusPassed || checked[steps.NEGA] != steps.StatusFailed || checked[steps.URLMap] != steps.StatusFailed {
		t.Errorf("check-only statuses = %v; want enable-apis passed, neg-a and url-map failed", checked)
	}
	if sum.OK() || sum.Failed == 0 || sum.Passed == 0 || sum.Skipped != 0 {
		t.Errorf("check-only summary = %+v; want passes, failures, nothing skipped, not OK", sum)
	}
	if _, err := l.cloud.GetNEG(ctx, l.vars.RegionA, l.vars.NEGA); err == nil || !strings.Contains(strings.ToLower(err.Error()), "not") {
		t.Errorf("NEG A after check-only: %v; want it not to exist", err)
	}
}
