package steps_test

import (
	"context"
	"errors"
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
			if waiting == 1 { // seen waiting: let simulated time pass
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
	if waiting < 1 {
		t.Errorf("the lab showed no progress line while waiting; want it to wait, with progress")
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

// TestClientNearRegionBFailsOverForReal: a learner nearest region B (Cloud
// Shell in Europe) reaches europe-west1 from the start. The curl step
// records that; the lab breaks that region, and the failover's before and
// after differ; restore waits until europe-west1 answers again.
func TestClientNearRegionBFailsOverForReal(t *testing.T) {
	parallel(t) // a replay on its own simulator: seconds of waiting on probes, little CPU
	l := newLab(t)
	l.probe = steps.ProbeConfig{Rate: 20, ClientLocation: "europe-west1"}
	r := l.runner(t)
	sum, err := r.Run(context.Background(), steps.Range{})
	events := l.take()
	if err != nil || !sum.OK() {
		t.Fatalf("run: %+v %v: %v", sum, err, failures(events))
	}
	if r.Outputs().NearRegion != "europe-west1" {
		t.Errorf("the curl step recorded %q as the nearest region; want europe-west1", r.Outputs().NearRegion)
	}
	if did := dids(events)[steps.Curl]; !strings.Contains(did, "nearest region B") {
		t.Errorf("curl did %q; want it to say the learner is nearest region B", did)
	}
	f := failoverOf(t, events)
	if f.Before != "europe-west1" || f.After != "us-central1" || f.FailedRequests != 0 {
		t.Errorf("failover %+v; want a real move from europe-west1 to us-central1", f)
	}
	if did := dids(events)[steps.BreakRegion]; !strings.Contains(did, "europe-west1") {
		t.Errorf("break-region did %q; want it to break europe-west1", did)
	}
	back := samplesOf(events, steps.Restore)
	if len(back) == 0 || back[len(back)-1].Region != "europe-west1" {
		t.Errorf("after restore the last answers came from %+v; want europe-west1 again", back[max(0, len(back)-3):])
	}
}

// TestFailoverThatMovesNothingFails: a failover whose before and after are
// the same region is no failover. Here the curl step is answered near
// us-central1, so the lab breaks region A; then the client moves near
// europe-west1 (the TUI's m key), which never reached region A: the
// failover step fails and says what to do, instead of reporting "moved from
// europe-west1 to europe-west1".
func TestFailoverThatMovesNothingFails(t *testing.T) {
	parallel(t) // a replay on its own simulator: seconds of waiting on probes, little CPU
	l := newLab(t)
	ctx := context.Background()
	r := l.runner(t)
	if sum, err := r.Run(ctx, steps.Range{To: steps.BreakWorkshop}); err != nil || !sum.OK() {
		t.Fatalf("up to the break: %+v %v: %v", sum, err, failures(l.take()))
	}
	l.take()
	r.SetClientLocation("europe-west1")
	sum, _ := r.Run(ctx, steps.Range{From: steps.BreakRegion, To: steps.Failover})
	events := l.take()
	if sum.OK() {
		t.Fatalf("the failover passed though traffic stayed in europe-west1: %q", dids(events)[steps.Failover])
	}
	if got := strings.Join(failures(events), "\n"); !strings.Contains(got, "traffic did not move: it came from europe-west1 before the break and from europe-west1 after") {
		t.Errorf("failover failed with %q; want it to say traffic did not move", got)
	}
}

// TestLBFlapNeedsARunOfSuccesses: while the load balancer's configuration
// spreads it answers 200, 404 and 502 on and off. The curl step does not
// stop at the first 200: it wants ten in a row.
func TestLBFlapNeedsARunOfSuccesses(t *testing.T) {
	parallel(t) // a replay on its own simulator: seconds of waiting on probes, little CPU
	l := newLabUnder(t, sim.Conditions{LBFlap: 8 * time.Second})
	curlSamples := 0
	l.onEmit = func(e steps.Event) {
		if e.Kind == steps.EventSample && e.Step == steps.Curl && curlSamples < 12 {
			curlSamples++
			l.clock.Advance(time.Second) // one flap phase per request
		}
	}
	r := l.runner(t)
	sum, err := r.Run(context.Background(), steps.Range{To: steps.Curl})
	events := l.take()
	if err != nil || !sum.OK() {
		t.Fatalf("run: %+v %v: %v", sum, err, failures(events))
	}
	did := dids(events)[steps.Curl]
	if !strings.Contains(did, "It flapped") || !strings.Contains(did, "10 times in a row") {
		t.Errorf("curl did %q; want ten 200s in a row after the flapping", did)
	}
	seen := samplesOf(events, steps.Curl)
	okThenBad := false
	for i := 1; i < len(seen); i++ {
		if seen[i-1].Status == 200 && (seen[i].Status == 404 || seen[i].Status == 502) {
			okThenBad = true
		}
	}
	if !okThenBad {
		t.Errorf("no 200 followed by a 404 or 502 among the curl step's answers %v: the flap was not seen", statuses(seen))
	}
}

// TestLBFlapCheckRetries: the curl step's check, run while the load
// balancer flaps, asks again until it answers 200 rather than failing on
// the first 404 or 502. Three checks a second apart start in three
// different phases of the flap, so at least one starts on an error.
func TestLBFlapCheckRetries(t *testing.T) {
	parallel(t) // a replay on its own simulator: seconds of waiting on probes, little CPU
	l := newLabUnder(t, sim.Conditions{LBFlap: time.Hour})
	ctx := context.Background()
	r := l.runner(t)
	if sum, err := r.Run(ctx, steps.Range{To: steps.GlobalIP}); err != nil || !sum.OK() {
		t.Fatalf("up to the global IP: %+v %v: %v", sum, err, failures(l.take()))
	}
	l.take()
	retried := false
	for range 3 {
		sum, err := r.Run(ctx, steps.Range{From: steps.Curl, To: steps.Curl, CheckOnly: true})
		events := l.take()
		if err != nil || !sum.OK() {
			t.Fatalf("check while flapping: %v: %v", err, failures(events))
		}
		seen := samplesOf(events, steps.Curl)
		if len(seen) > 1 && seen[0].Status != 200 && seen[len(seen)-1].Status == 200 {
			retried = true
		}
		l.clock.Advance(time.Second)
	}
	if !retried {
		t.Error("no check started on an error and retried to a 200")
	}
}

func statuses(samples []steps.Sample) []int {
	var out []int
	for _, sm := range samples {
		out = append(out, sm.Status)
	}
	return out
}

// TestDomainRestrictedSharingFallsBackToNoInvokerCheck: the organisation
// refuses allUsers. The lab never needs it: it disables the invoker IAM
// check, Google's recommended way, says so with its gcloud equivalent, and
// the whole lab passes, publicly.
func TestDomainRestrictedSharingFallsBackToNoInvokerCheck(t *testing.T) {
	parallel(t) // a replay on its own simulator: seconds of waiting on probes, little CPU
	l := newLabUnder(t, sim.Conditions{DomainRestrictedSharing: true})
	r := l.runner(t)
	sum, err := r.Run(context.Background(), steps.Range{})
	events := l.take()
	if err != nil || !sum.OK() {
		t.Fatalf("run: %+v %v: %v", sum, err, failures(events))
	}
	for _, id := range []string{steps.DeployA, steps.DeployB} {
		if did := dids(events)[id]; !strings.Contains(did, "--no-invoker-iam-check") || strings.Contains(did, "Granted roles/run.invoker to allUsers") {
			t.Errorf("%s did %q; want the invoker-check fallback with its gcloud command", id, did)
		}
	}
	if f := failoverOf(t, events); f.Before == f.After {
		t.Errorf("failover %+v", f)
	}
}

// TestAllowedIngressIsExplained: an organisation policy on ingress refuses
// the deploy; the lab names the constraint and what the load balancer needs.
func TestAllowedIngressIsExplained(t *testing.T) {
	l := newLabUnder(t, sim.Conditions{AllowedIngress: "internal"})
	r := l.runner(t)
	sum, _ := r.Run(context.Background(), steps.Range{To: steps.DeployA})
	events := l.take()
	if sum.OK() {
		t.Fatal("the deploy passed though the organisation allows internal ingress only")
	}
	got := strings.Join(failures(events), "\n")
	for _, want := range []string{steps.DeployA, "constraints/run.allowedIngress", "internal-and-cloud-load-balancing", "gcloud org-policies describe run.allowedIngress"} {
		if !strings.Contains(got, want) {
			t.Errorf("failure %q does not say %q", got, want)
		}
	}
}

// TestNoBillingStopsWithTheBillingFix: a project without billing cannot
// enable APIs. The run stops at the first step that needs billing, with
// `gcloud billing projects link`.
func TestNoBillingStopsWithTheBillingFix(t *testing.T) {
	l := newLabUnder(t, sim.Conditions{BillingOff: true})
	r := l.runner(t)
	sum, _ := r.Run(context.Background(), steps.Range{})
	events := l.take()
	if sum.OK() || sum.Failed != 1 {
		t.Fatalf("summary %+v; want one failed step", sum)
	}
	got := failures(events)
	if len(got) != 1 || !strings.HasPrefix(got[0], steps.EnableAPIs+": failed") {
		t.Fatalf("failures %v; want enable-apis to fail", got)
	}
	var fix string
	for _, e := range events {
		if e.Kind == steps.EventDone && e.Step == steps.EnableAPIs {
			fix = e.Fix + " " + errString(e.Err)
		}
	}
	if !strings.Contains(fix, "no billing account") || !strings.Contains(fix, "gcloud billing projects link beyond-steps-test --billing-account=") {
		t.Errorf("enable-apis said %q; want the billing cause and `gcloud billing projects link`", fix)
	}
}

// TestDeployedServiceThatCannotAnswerFailsTheDeploy: a service deployed
// with a model Google no longer serves starts fine but cannot answer. The
// deploy step calls it once at its own URL and fails with the service's own
// message, instead of the curl step waiting minutes and blaming the load
// balancer.
func TestDeployedServiceThatCannotAnswerFailsTheDeploy(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the service image")
	}
	withServiceImage(t)
	l := newLab(t)
	l.vars.Image = ""
	l.vars.Model = "gemini-2.5-flash" // retired: the simulator's Gemini answers 404
	r := l.runner(t)
	sum, _ := r.Run(context.Background(), steps.Range{From: steps.Project, To: steps.DeployA})
	events := l.take()
	if sum.OK() {
		t.Fatal("deploy-a passed though its service cannot answer")
	}
	got := strings.Join(failures(events), "\n")
	if !strings.Contains(got, steps.DeployA+": failed") || !strings.Contains(got, "answered") || !strings.Contains(got, "not served") {
		t.Errorf("failures %q; want deploy-a to fail with the service's own answer", got)
	}
}

// TestStoppedCurlIsNotATimeout: the learner stops the curl step while the
// load balancer still answers 404. The step ends canceled, and what it
// reports is that it was stopped, not that the global IP "did not answer
// within 5m0s", which it was never given.
func TestStoppedCurlIsNotATimeout(t *testing.T) {
	parallel(t) // a replay on its own simulator
	l := newLabUnder(t, sim.Conditions{LBFlap: time.Hour})
	r := l.runner(t)
	if sum, err := r.Run(context.Background(), steps.Range{To: steps.GlobalIP}); err != nil || !sum.OK() {
		t.Fatalf("up to the global IP: %+v %v: %v", sum, err, failures(l.take()))
	}
	l.take()
	l.clock.Advance(time.Second) // the flap's 404 phase, held: the clock stands still
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	samples := 0
	l.mu.Lock()
	l.onEmit = func(e steps.Event) {
		if e.Kind == steps.EventSample && e.Step == steps.Curl {
			if samples++; samples == 3 {
				stop()
			}
		}
	}
	l.mu.Unlock()
	st, _ := r.RunStep(ctx, steps.Curl)
	if st != steps.StatusCanceled {
		t.Fatalf("curl stopped after %d answers: %s, want canceled", samples, st)
	}
	for _, e := range l.take() {
		if e.Step != steps.Curl || e.Kind != steps.EventDid {
			continue
		}
		if !errors.Is(e.Err, context.Canceled) {
			t.Errorf("the stopped curl step reported %v; want it stopped (context.Canceled)", e.Err)
		}
	}
}
