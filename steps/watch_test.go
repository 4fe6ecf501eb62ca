package steps_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/steps"
)

// TestWatchStartsWhileAStepRuns: a front end's watch (the TUI's `w`) probes
// at once, even while a step holds the runner. It used to wait for the step
// to end, because Watch took the runner's lock.
func TestWatchStartsWhileAStepRuns(t *testing.T) {
	l := newLab(t)
	r := l.runner(t)
	defer r.Close()
	if sum, _ := r.Run(context.Background(), steps.Range{To: steps.Curl}); !sum.OK() {
		t.Fatalf("lab up to curl: %v", failures(l.take()))
	}
	l.take()
	sampled := make(chan struct{}, 1)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	watchedDuringStep := false
	l.hook(func(e steps.Event) {
		switch {
		case e.Kind == steps.EventSample && e.Step == "":
			select {
			case sampled <- struct{}{}:
			default:
			}
		case e.Kind == steps.EventStarted && e.Step == steps.GlobalIP:
			// The step holds the runner from here until it is done: the
			// watch must sample before this hook returns.
			go r.Watch(ctx)
			select {
			case <-sampled:
				watchedDuringStep = true
			case <-time.After(15 * time.Second): // a bound on a failure, not a wait for success
			}
		}
	})
	if st, err := r.RunStep(context.Background(), steps.GlobalIP); err != nil || st != steps.StatusPassed {
		t.Fatalf("global-ip: %v %v", st, err)
	}
	if !watchedDuringStep {
		t.Error("Watch sent nothing while the step ran: it waited for the step to end")
	}
}

// TestWatchAndBreakShareOneProber: breaking region A while watching (the
// TUI's `w`, then `b`) must not start a second prober: the requests keep the
// set rate. It used to send twice the rate (the panel said 40/s at 20).
func TestWatchAndBreakShareOneProber(t *testing.T) {
	l := newLab(t)
	r := l.runner(t)
	defer r.Close()
	if sum, _ := r.Run(context.Background(), steps.Range{To: steps.Curl}); !sum.OK() {
		t.Fatalf("lab up to curl: %v", failures(l.take()))
	}
	l.take()
	watching := make(chan struct{})
	var once sync.Once
	l.hook(func(e steps.Event) {
		if e.Kind == steps.EventSample {
			once.Do(func() { close(watching) })
		}
	})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Watch(ctx) }()
	<-watching // `w` is on, then `b`
	if st, err := r.RunStep(context.Background(), steps.BreakRegion); err != nil || st != steps.StatusPassed {
		t.Fatalf("break-region: %v %v: %v", st, err, failures(l.take()))
	}
	stop()
	<-done
	var first, last time.Time
	var samples int
	for _, e := range l.take() {
		if e.Kind == steps.EventStarted && e.Step == steps.BreakRegion {
			first = e.At
		}
		if e.Kind == steps.EventDone && e.Step == steps.BreakRegion {
			last = e.At
		}
		if e.Kind == steps.EventSample && !first.IsZero() && last.IsZero() {
			samples++
		}
	}
	elapsed := last.Sub(first).Seconds()
	rate := steps.DefaultProbe().Rate
	// One prober sends at most rate a second (and one at once); two would
	// send twice that.
	if limit := rate*elapsed*1.3 + 2; float64(samples) > limit || samples == 0 {
		t.Errorf("%d samples in the %.1f s of break-region at %v/s: want at most %.0f, from one prober", samples, elapsed, rate, limit)
	}
}
