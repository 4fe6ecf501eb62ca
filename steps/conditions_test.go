package steps_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/steps"
)

// Each test here switches on one condition that breaks a real run
// (gcp/sim.Conditions) and shows how the lab handles it.

// TestAPIPropagationIsWaitedOut: for 90 s after the enable operation is
// done the APIs still answer SERVICE_DISABLED. The lab waits, with
// progress, until each answers, and the steps after it never see the
// window. The simulator's clock is moved instead of waiting.
func TestAPIPropagationIsWaitedOut(t *testing.T) {
	l := newLabUnder(t, sim.Conditions{APIPropagation: 90 * time.Second})
	waiting := 0
	l.onEmit = func(e steps.Event) {
		if e.Kind == steps.EventProgress && e.Step == steps.EnableAPIs && strings.Contains(e.Text, "waiting for") {
			waiting++
			if waiting == 3 { // seen waiting a few times: let simulated time pass
				l.clock.Advance(91 * time.Second)
			}
		}
	}
	r := l.runner(t)
	sum, err := r.Run(context.Background(), steps.Range{From: steps.Project, To: steps.NEGA})
	events := l.take()
	if err != nil || !sum.OK() {
		t.Fatalf("run: %+v %v: %v", sum, err, failures(events))
	}
	if waiting < 3 {
		t.Errorf("the lab showed %d progress lines while waiting; want it to wait, with progress", waiting)
	}
	did := dids(events)[steps.EnableAPIs]
	if !strings.Contains(did, "answered SERVICE_DISABLED for") {
		t.Errorf("enable-apis did %q; want it to say it waited for the APIs to answer", did)
	}
}

// TestAPIPropagationCheckSaysWait: the check of a step done by hand (typing
// mode) in the window says the API is enabled but not answering yet.
func TestAPIPropagationCheckSaysWait(t *testing.T) {
	l := newLabUnder(t, sim.Conditions{APIPropagation: time.Hour})
	ctx := context.Background()
	if err := l.cloud.EnableAPIs(ctx, []string{"run.googleapis.com", "compute.googleapis.com", "artifactregistry.googleapis.com", "aiplatform.googleapis.com"}, nil); err != nil {
		t.Fatal(err)
	}
	r := l.runner(t)
	sum, _ := r.Run(ctx, steps.Range{From: steps.EnableAPIs, To: steps.EnableAPIs, CheckOnly: true})
	events := l.take()
	if sum.OK() {
		t.Fatal("the check passed while the APIs answered SERVICE_DISABLED")
	}
	if got := strings.Join(failures(events), "\n"); !strings.Contains(got, "still answers SERVICE_DISABLED") {
		t.Errorf("check failed with %q; want it to say the API is enabled but not answering yet", got)
	}
}
