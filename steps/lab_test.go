package steps_test

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/gcp/sim/clock"
	"github.com/beyond-lab/beyond/gcp/sim/simtest"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/service"
	"github.com/beyond-lab/beyond/steps"
	"google.golang.org/protobuf/proto"
)

// simLab is a runner on a fresh simulator, with the events it emitted.
type simLab struct {
	sim    *sim.Sim
	clock  *clock.Adjustable // the simulator's time
	cloud  *gcp.Cloud
	vars   steps.Vars
	store  steps.Store
	mu     sync.Mutex
	events []steps.Event
	onEmit func(steps.Event)
	probe  steps.ProbeConfig // zero: the replay's default
}

func newLab(t *testing.T) *simLab { return newLabWith(t, sim.Options{}) }

// newLabUnder is newLab on a simulator under cond.
func newLabUnder(t *testing.T, cond sim.Conditions) *simLab {
	return newLabWith(t, sim.Options{Conditions: &cond})
}

// newLabWith is newLab on a simulator with opts (its clock is the lab's).
func newLabWith(t *testing.T, opts sim.Options) *simLab {
	t.Helper()
	clk := clock.NewAdjustable()
	opts.Clock = clk
	s := simtest.Start(t, opts)
	vars := steps.DefaultVars()
	vars.Project = "beyond-steps-test"
	vars.Image = lab.HelloImage
	cloud := simtest.Connect(t, s, vars.Project)
	return &simLab{sim: s, clock: clk, cloud: cloud, vars: vars, store: steps.Store{Dir: t.TempDir()}}
}

func (l *simLab) runner(t *testing.T) *steps.Runner {
	t.Helper()
	r, err := steps.New(l.cloud, l.vars, steps.Options{Store: l.store, Probe: l.probe, Emit: func(e steps.Event) {
		l.mu.Lock()
		l.events = append(l.events, e)
		hook := l.onEmit
		l.mu.Unlock()
		if e.Kind == steps.EventProgress && e.Step == "restore" {
			// Restoring waits for the load balancer to end region A's
			// ejection (baseEjectionTime × times ejected): simulated time,
			// so move the simulator's clock past it instead of waiting.
			l.clock.Advance(time.Minute)
		}
		if hook != nil {
			hook(e)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (l *simLab) take() []steps.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	ev := l.events
	l.events = nil
	return ev
}

// dids returns, per step, what Do said it did.
func dids(events []steps.Event) map[string]string {
	out := map[string]string{}
	for _, e := range events {
		if e.Kind == steps.EventDid {
			out[e.Step] = e.Text
		}
	}
	return out
}

func failures(events []steps.Event) []string {
	var out []string
	for _, e := range events {
		if e.Kind == steps.EventDone && e.Status != steps.StatusPassed {
			out = append(out, e.Step+": "+string(e.Status)+": "+errString(e.Err))
		}
	}
	return out
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestReplayPassesAndSecondReplayAdopts(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	r := l.runner(t)
	sum, err := r.Run(ctx, steps.Range{To: steps.GlobalIP})
	if err != nil {
		t.Fatal(err)
	}
	events := l.take()
	if !sum.OK() || sum.Failed != 0 || sum.Passed == 0 {
		t.Fatalf("first replay: %+v; failures: %v", sum, failures(events))
	}
	sel, _ := r.Select(steps.Range{To: steps.GlobalIP})
	if sum.Passed != len(sel) {
		t.Errorf("passed %d of %d steps", sum.Passed, len(sel))
	}
	for _, s := range sel {
		if s.ID == steps.Cleanup {
			t.Error("a full replay must not include cleanup unless asked")
		}
	}
	if ip := r.Outputs().GlobalIP; ip == "" {
		t.Error("no global IP noted")
	}

	// A second replay, fresh (not resuming), must adopt everything.
	r2 := l.runner(t)
	sum, err = r2.Run(ctx, steps.Range{To: steps.GlobalIP})
	if err != nil {
		t.Fatal(err)
	}
	events = l.take()
	if !sum.OK() {
		t.Fatalf("second replay: %+v; failures: %v", sum, failures(events))
	}
	for id, did := range dids(events) {
		switch id {
		case steps.Project, steps.EnableAPIs, steps.GlobalIP, steps.ConfirmAI, steps.BuildImage:
			continue // nothing to adopt
		}
		if !strings.Contains(did, "Adopted") {
			t.Errorf("second replay, step %s did %q; want it adopted", id, did)
		}
	}
}

func TestCleanupLeavesNothing(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	r := l.runner(t)
	if sum, _ := r.Run(ctx, steps.Range{To: steps.GlobalIP}); !sum.OK() {
		t.Fatalf("replay failed: %v", failures(l.take()))
	}
	st, err := r.RunStep(ctx, steps.Cleanup)
	if err != nil || st != steps.StatusPassed {
		t.Fatalf("cleanup: %v %v; %v", st, err, failures(l.take()))
	}
	did := dids(l.take())[steps.Cleanup]
	for _, want := range []string{"forwarding rule gemini-global-ip", "backend service global-backend", "NEG neg-us-central1", "Cloud Run service gemini-service (europe-west1)"} {
		if !strings.Contains(did, want) {
			t.Errorf("cleanup said %q; want it to name %q", did, want)
		}
	}
	// Independently of the step's own check, nothing of the lab is left.
	for _, probe := range []error{
		func() error { _, err := l.cloud.GetForwardingRule(ctx, l.vars.Rule); return err }(),
		func() error { _, err := l.cloud.GetBackendService(ctx, l.vars.Backend); return err }(),
		func() error { _, err := l.cloud.GetNEG(ctx, l.vars.RegionB, l.vars.NEGB); return err }(),
		func() error { _, err := l.cloud.GetService(ctx, l.vars.RegionA, l.vars.Service); return err }(),
	} {
		if !gcp.IsNotFound(probe) {
			t.Errorf("after cleanup, got %v; want not found", probe)
		}
	}
	// Cleanup again is idempotent.
	st, err = r.RunStep(ctx, steps.Cleanup)
	if err != nil || st != steps.StatusPassed {
		t.Fatalf("second cleanup: %v %v", st, err)
	}
	if did := dids(l.take())[steps.Cleanup]; !strings.Contains(did, "Nothing to delete") {
		t.Errorf("second cleanup did %q", did)
	}
}

func TestInterruptedReplayResumes(t *testing.T) {
	l := newLab(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l.onEmit = func(e steps.Event) {
		if e.Kind == steps.EventStarted && e.Step == steps.BackendService {
			cancel()
		}
	}
	r := l.runner(t)
	sum, err := r.Run(ctx, steps.Range{To: steps.GlobalIP})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Canceled || sum.OK() {
		t.Fatalf("interrupted run: %+v", sum)
	}
	saved := r.Saved()
	if saved.Steps[steps.NEGB].Status != steps.StatusPassed {
		t.Errorf("neg-b saved as %q", saved.Steps[steps.NEGB].Status)
	}
	if _, ok := saved.Steps[steps.BackendService]; ok {
		t.Error("the canceled step must not be saved as done")
	}
	l.take()

	l.onEmit = nil
	r2 := l.runner(t) // a new process would load the same store
	sum, err = r2.Run(context.Background(), steps.Range{To: steps.GlobalIP, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	events := l.take()
	if !sum.OK() {
		t.Fatalf("resumed run: %+v: %v", sum, failures(events))
	}
	did := dids(events)
	if _, ran := did[steps.NEGA]; ran {
		t.Error("resume ran neg-a again instead of re-checking it")
	}
	if _, ran := did[steps.BackendService]; !ran {
		t.Error("resume did not run backend-service")
	}
	checked := 0
	for _, e := range events {
		if e.Kind == steps.EventChecked && e.Step == steps.NEGA && e.Status == steps.StatusPassed {
			checked++
		}
	}
	if checked != 1 {
		t.Errorf("neg-a was re-checked %d times, want 1", checked)
	}
}

func TestResumeRechecksRatherThanTrusts(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	r := l.runner(t)
	if sum, _ := r.Run(ctx, steps.Range{To: steps.NEGB}); !sum.OK() {
		t.Fatalf("run: %v", failures(l.take()))
	}
	// Someone deletes NEG B behind the lab's back.
	if _, err := l.cloud.DeleteNEG(ctx, l.vars.RegionB, l.vars.NEGB, nil); err != nil {
		t.Fatal(err)
	}
	l.take()
	r2 := l.runner(t)
	if sum, _ := r2.Run(ctx, steps.Range{To: steps.NEGB, Resume: true}); !sum.OK() {
		t.Fatalf("resume: %v", failures(l.take()))
	}
	if did := dids(l.take())[steps.NEGB]; !strings.Contains(did, "Created") {
		t.Errorf("neg-b on resume did %q; want it created again", did)
	}
}

func TestClassicBackendIsExplainedNotClobbered(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	r := l.runner(t)
	if sum, _ := r.Run(ctx, steps.Range{To: steps.NEGB}); !sum.OK() {
		t.Fatalf("run: %v", failures(l.take()))
	}
	// The workshop's command: a classic EXTERNAL backend service.
	err := l.cloud.CreateBackendService(ctx, &computepb.BackendService{Name: proto.String(l.vars.Backend)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.take()
	st, err := r.RunStep(ctx, steps.BackendService)
	if err != nil || st != steps.StatusFailed {
		t.Fatalf("backend-service over a classic one: %v %v", st, err)
	}
	var done steps.Event
	for _, e := range l.take() {
		if e.Kind == steps.EventDone {
			done = e
		}
	}
	if !strings.Contains(errString(done.Err), "EXTERNAL") || !strings.Contains(done.Fix, "delete") {
		t.Errorf("explanation %q, fix %q", errString(done.Err), done.Fix)
	}
	bs, err := l.cloud.GetBackendService(ctx, l.vars.Backend)
	if err != nil || bs.GetLoadBalancingScheme() != "EXTERNAL" {
		t.Errorf("the classic backend service was changed: %v %v", bs.GetLoadBalancingScheme(), err)
	}
}

func TestDisabledAPIErrorSaysHowToEnable(t *testing.T) {
	l := newLab(t)
	r := l.runner(t)
	st, err := r.RunStep(context.Background(), steps.NEGA)
	if err != nil || st != steps.StatusFailed {
		t.Fatalf("neg-a before enabling: %v %v", st, err)
	}
	var done steps.Event
	for _, e := range l.take() {
		if e.Kind == steps.EventDone {
			done = e
		}
	}
	var ge *gcp.Error
	if !errors.As(done.Err, &ge) || ge.Kind != gcp.KindAPIDisabled {
		t.Fatalf("error %v is not an API-disabled gcp.Error", done.Err)
	}
	if !strings.Contains(done.Fix, "gcloud services enable compute.googleapis.com") || !strings.Contains(done.Fix, "Enable the APIs") {
		t.Errorf("fix %q does not say how to enable the API", done.Fix)
	}
}

func TestSelect(t *testing.T) {
	l := newLab(t)
	r := l.runner(t)
	sel, err := r.Select(steps.Range{From: steps.NEGA, To: steps.NEGB})
	if err != nil || len(sel) != 2 || sel[0].ID != steps.NEGA || sel[1].ID != steps.NEGB {
		t.Fatalf("select: %v %v", sel, err)
	}
	if _, err := r.Select(steps.Range{From: "nope"}); err == nil || !strings.Contains(err.Error(), "no step \"nope\"") {
		t.Errorf("unknown step: %v", err)
	}
	if _, err := r.Select(steps.Range{From: steps.NEGB, To: steps.NEGA}); err == nil {
		t.Error("reversed range accepted")
	}
	sel, _ = r.Select(steps.Range{From: steps.Cleanup, To: steps.Cleanup})
	if len(sel) != 1 {
		t.Errorf("naming cleanup selects it: %v", sel)
	}
}

func TestConfirmAIShowsRequestAnswerAndTokens(t *testing.T) {
	l := newLab(t)
	r := l.runner(t)
	st, err := r.RunStep(context.Background(), steps.ConfirmAI)
	events := l.take()
	if err != nil || st != steps.StatusPassed {
		t.Fatalf("confirm-ai: %v %v: %v", st, err, failures(events))
	}
	all := strings.Join(progressOf(events, steps.ConfirmAI), "\n")
	for _, want := range []string{"generateContent", "thinkingLevel", "responseMimeType", "responseSchema"} {
		if !strings.Contains(all, want) {
			t.Errorf("the request shown lacks %q:\n%s", want, all)
		}
	}
	did := dids(events)[steps.ConfirmAI]
	for _, want := range []string{"Decided where each region's service calls " + l.vars.Model, "sentiment positive", "SIMULATED", "tokens:", "answered by " + l.vars.Model} {
		if !strings.Contains(did, want) {
			t.Errorf("confirm-ai did %q; want %q in it", did, want)
		}
	}
	if strings.Contains(all+did, "simulator-token") {
		t.Error("the token sent to Gemini reached an event")
	}
}

// confirmAI runs confirm-ai with model (for the lab's own service, not
// the hello image) and returns its events and runner.
func confirmAI(t *testing.T, l *simLab, model string) (steps.Status, []steps.Event, *steps.Runner) {
	t.Helper()
	l.vars.Model, l.vars.Image = model, ""
	r := l.runner(t)
	st, _ := r.RunStep(context.Background(), steps.ConfirmAI)
	return st, l.take(), r
}

// Where each region's service calls the model is decided from Google's
// answers, per region: the region itself where the model is served there,
// else global, with the trade-off said; the deploys pass the decision on.
func TestConfirmAIDecidesWhereTheModelIsCalled(t *testing.T) {
	for _, tc := range []struct {
		model        string
		location     map[string]string // region → location
		tradeOffSaid bool
	}{
		{"gemini-2.5-flash-lite", map[string]string{"us-central1": "us-central1", "europe-west1": "europe-west1"}, false},
		{"gemini-3.5-flash", map[string]string{"us-central1": "global", "europe-west1": "global"}, true}, // multi-region and global only
		{"gemini-3.8-flash", map[string]string{"us-central1": "global", "europe-west1": "global"}, true},
	} {
		l := newLab(t)
		st, events, r := confirmAI(t, l, tc.model)
		if st != steps.StatusPassed {
			t.Fatalf("%s: %v: %v", tc.model, st, failures(events))
		}
		did := dids(events)[steps.ConfirmAI]
		for region, loc := range tc.location {
			if !strings.Contains(did, region+" → "+loc) {
				t.Errorf("%s: did lacks %s → %s:\n%s", tc.model, region, loc, did)
			}
		}
		if got := strings.Contains(did, "regional failover does not cover it"); got != tc.tradeOffSaid {
			t.Errorf("%s: trade-off said: %t, want %t:\n%s", tc.model, got, tc.tradeOffSaid, did)
		}
		var decided *steps.ModelPlacement
		n := 0
		for _, e := range events {
			if e.Kind == steps.EventDecided {
				decided = e.Placement
				n++
			}
		}
		if decided == nil || decided.Model != tc.model || !maps.Equal(decided.Locations, tc.location) {
			t.Errorf("%s: decided event %+v, want %v", tc.model, decided, tc.location)
		}
		// Do and Check each ask Google; the decision is announced once.
		if n != 1 {
			t.Errorf("%s: %d decided events in one run of the step; want 1", tc.model, n)
		}
		// The check alone (beyond check, a resume) announces it too.
		if sum, err := r.Run(context.Background(), steps.Range{From: steps.ConfirmAI, To: steps.ConfirmAI, CheckOnly: true}); err != nil || !sum.OK() {
			t.Fatalf("%s: check only: %+v %v", tc.model, sum, err)
		}
		n = 0
		for _, e := range l.take() {
			if e.Kind == steps.EventDecided && e.Placement.Model == tc.model && maps.Equal(e.Placement.Locations, tc.location) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d decided events from the check alone; want 1", tc.model, n)
		}
		progress := strings.Join(progressOf(events, steps.ConfirmAI), "\n")
		if tc.tradeOffSaid && !strings.Contains(progress, tc.model+" at us-central1: not served (Google answered 404)") {
			t.Errorf("%s: Google's regional answer not reported:\n%s", tc.model, progress)
		}
		// The deploy's command carries the decision to the service.
		cmd := r.Command(steps.DeployB)
		if want := "GOOGLE_CLOUD_LOCATION=" + tc.location["europe-west1"]; !strings.Contains(cmd, want) {
			t.Errorf("%s: deploy-b command lacks %s:\n%s", tc.model, want, cmd)
		}
	}
}

// With a Gemini API key the local check goes through the Gemini API, which
// forwards a deprecated model: the step reports the model that answered,
// and where the deploys call the model is still Vertex AI's answer. The
// learner's key never reaches the simulator or an event.
func TestConfirmAIWithAKeyReportsTheModelThatAnswered(t *testing.T) {
	const key = "AIzaSy-learners-own-key-0123456789"
	l := newLab(t)
	l.vars.Model = "gemini-3.5-flash"
	r, err := steps.New(l.cloud, l.vars, steps.Options{Store: l.store, GeminiKey: key, Emit: func(e steps.Event) {
		l.mu.Lock()
		l.events = append(l.events, e)
		l.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := r.RunStep(context.Background(), steps.ConfirmAI)
	events := l.take()
	if st != steps.StatusPassed {
		t.Fatalf("confirm-ai: %v: %v", st, failures(events))
	}
	did := dids(events)[steps.ConfirmAI]
	for _, want := range []string{"answered by gemini-3.6-flash", "asked for gemini-3.5-flash: Google forwarded the request", "us-central1 → global"} {
		if !strings.Contains(did, want) {
			t.Errorf("did lacks %q:\n%s", want, did)
		}
	}
	for _, e := range events {
		if strings.Contains(e.Text+e.Command+e.Fix, key) {
			t.Fatalf("the learner's key reached an event: %+v", e)
		}
	}
}

// A model served nowhere is caught before anything is deployed: confirm-ai
// quotes Google's answers, names the replacement and lists what Google
// serves.
func TestConfirmAIRetiredModel(t *testing.T) {
	l := newLab(t)
	st, events, _ := confirmAI(t, l, "gemini-2.5-flash")
	if st != steps.StatusFailed {
		t.Fatalf("confirm-ai with a retired model: %v, want failed", st)
	}
	msg := strings.Join(failures(events), "\n")
	for _, want := range []string{
		"gemini-2.5-flash is not served where the lab's services would call it",
		"at us-central1: 404 \"Publisher Model",
		"at global: 404 \"Publisher Model",
		"retired it on",
		"Google names gemini-3.8-flash or gemini-3.5-flash-lite as its replacement",
		"Google lists these Gemini models: ",
		"--model " + service.DefaultModel,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure lacks %q:\n%s", want, msg)
		}
	}
}

// The command shown is short: one countTokens per location, as the lab
// asks.
func TestConfirmAICommandIsShort(t *testing.T) {
	l := newLab(t)
	var cmd string
	for _, st := range steps.Lab() {
		if st.ID == steps.ConfirmAI {
			cmd = st.Command(&steps.Session{Cloud: l.cloud, Vars: l.vars})
		}
	}
	for _, want := range []string{"for loc in us-central1 europe-west1 global", ":countTokens", "models/" + l.vars.Model, "beyond --step confirm-ai"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("command lacks %q:\n%s", want, cmd)
		}
	}
	if n := strings.Count(cmd, "\n") + 1; n > 10 {
		t.Errorf("command is %d lines long, want at most 10:\n%s", n, cmd)
	}
}

func progressOf(events []steps.Event, step string) []string {
	var out []string
	for _, e := range events {
		if e.Kind == steps.EventProgress && e.Step == step {
			out = append(out, e.Text)
		}
	}
	return out
}

// failoverOf returns the failover event of a run.
func failoverOf(t *testing.T, events []steps.Event) *steps.FailoverReport {
	t.Helper()
	for _, e := range events {
		if e.Kind == steps.EventFailover {
			return e.Failover
		}
	}
	t.Fatal("no failover event")
	return nil
}

func samplesOf(events []steps.Event, step string) []steps.Sample {
	var out []steps.Sample
	for _, e := range events {
		if e.Kind == steps.EventSample && e.Step == step {
			out = append(out, *e.Sample)
		}
	}
	return out
}

// TestFullLabWithTheServiceFailsOverAndBack runs the whole lab as the
// default replay does: the Gemini service built from this checkout, broken
// with its outage switch, behind outlier detection and the retry policy.
func TestFullLabWithTheServiceFailsOverAndBack(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the service image")
	}
	withServiceImage(t)
	faults := sim.NewFaults(1, 0)
	l := newLabWith(t, sim.Options{Faults: faults})
	l.vars.Image = ""
	l.onEmit = func(e steps.Event) {
		if e.Kind == steps.EventDone && e.Step == steps.Curl {
			// From here on Gemini refuses every call: the failover probes
			// must not call it, or its 429s would count as region failures.
			faults.Add(sim.Fault{Method: "gemini.generateContent", Status: 429})
		}
	}
	r := l.runner(t)
	sum, err := r.Run(context.Background(), steps.Range{Optional: true})
	events := l.take()
	if err != nil || !sum.OK() {
		t.Fatalf("full lab: %+v %v: %v", sum, err, failures(events))
	}
	// confirm-ai's two local checks, one call of each deployed service at
	// its own URL, then the curl step's run of 10 and its check; the ~100
	// failover probes asked GET /health instead.
	if want := 2 + 2 + 10 + 1; sum.ModelCalls < want || sum.ModelCalls > want+3 {
		t.Errorf("the lab made %d Gemini calls; want %d (a few more if a region answered an error first)", sum.ModelCalls, want)
	}
	if !strings.Contains(dids(events)[steps.Curl], "Gemini calls made by the lab so far") {
		t.Errorf("curl did %q; want the count of Gemini calls", dids(events)[steps.Curl])
	}
	f := failoverOf(t, events)
	if f.Method != "outage-switch" || f.Before != "us-central1" || f.After != "europe-west1" {
		t.Errorf("failover %+v; want outage-switch from us-central1 to europe-west1", f)
	}
	// Each of the simulator's front ends lets a request or so fail before
	// it ejects region A (a retry can meet the failing region again), and
	// the report says when and for how long.
	if f.FailedRequests < 1 || f.FailedRequests > 10 {
		t.Errorf("%d requests failed during the break; want a few (each front end ejects on its own)", f.FailedRequests)
	}
	if f.FirstFailureSeconds < 0 || f.FailingSeconds < 0 || f.FailingSeconds > 3 {
		t.Errorf("failures from +%.2f s for %.2f s; want a short burst after the break", f.FirstFailureSeconds, f.FailingSeconds)
	}
	// The front ends get t=0 (EventBreak) and every sample: from them they
	// count the report's first failure from the same instant.
	var breakAt time.Time
	var seen []steps.Sample
	for _, e := range events {
		switch {
		case e.Kind == steps.EventBreak && breakAt.IsZero():
			breakAt = e.At
		case e.Kind == steps.EventSample && !breakAt.IsZero() && (e.Step == steps.BreakRegion || e.Step == steps.Failover):
			seen = append(seen, *e.Sample)
		}
	}
	if got := steps.MeasureFailover(seen, breakAt); breakAt.IsZero() || got.FailedRequests != f.FailedRequests || got.FirstFailureSeconds != f.FirstFailureSeconds {
		t.Errorf("from the events (break at %v): %d failed from +%.3f s; the step reported %d from +%.3f s",
			breakAt, got.FailedRequests, got.FirstFailureSeconds, f.FailedRequests, f.FirstFailureSeconds)
	}
	if did := dids(events)["failover"]; !strings.Contains(did, "what clients saw: ") || !strings.Contains(did, "requests failed") && !strings.Contains(did, "1 of ") {
		t.Errorf("failover did %q; want what clients saw", did)
	}
	if f.Requests < 10 || f.Rate != 20 {
		t.Errorf("failover measured %d requests at %v/s", f.Requests, f.Rate)
	}
	// Both signals, side by side from the same run: outlier detection
	// moved the traffic after errors; service health then read region A
	// unhealthy (the new revision's first probe does not count, then three
	// failures a second apart) and kept it out.
	if len(f.Signals) != 2 {
		t.Fatalf("failover signals %+v; want outlier detection and service health", f.Signals)
	}
	od, sh := f.Signals[0], f.Signals[1]
	if od.Signal != steps.SignalOutlier || !od.Observed || od.ActedSeconds < 0 || od.FailedBefore < 1 {
		t.Errorf("outlier detection: %+v; want it to act after failed requests", od)
	}
	if sh.Signal != steps.SignalHealth || !sh.Observed || sh.ActedSeconds < 2 || sh.ServedByBrokenAfter != 0 || sh.FailedAfter != 0 || sh.Instances != 1 || sh.Passing != 0 {
		t.Errorf("service health: %+v; want region A read unhealthy (0 of 1 passing) a few seconds after the break, and no request served or failed there after", sh)
	}
	if did := dids(events)["failover"]; !strings.Contains(did, "service-health: acted") {
		t.Errorf("failover did %q; want service health's line", did)
	}
	// The workshop's break moved nothing: every answer still came from region A.
	for _, sm := range samplesOf(events, steps.BreakWorkshop) {
		if sm.Status != 200 || sm.Region != "us-central1" {
			t.Errorf("during the workshop's break: %+v", sm)
			break
		}
	}
	// After restore, traffic is back in region A.
	back := samplesOf(events, steps.Restore)
	if len(back) == 0 || back[len(back)-1].Region != "us-central1" {
		t.Errorf("after restore the last answer came from %+v", back[len(back)-1:])
	}
	if dids(events)[steps.Cleanup] == "" {
		t.Error("cleanup did not run")
	}
}

// TestFullLabWithHelloDetachesTheNEG uses the workshop's hello image, which
// has no outage switch: the lab detaches region A's NEG instead.
func TestFullLabWithHelloDetachesTheNEG(t *testing.T) {
	parallel(t) // a replay on its own simulator: seconds of waiting on probes, little CPU
	l := newLab(t)
	r := l.runner(t)
	sum, err := r.Run(context.Background(), steps.Range{})
	events := l.take()
	if err != nil || !sum.OK() {
		t.Fatalf("full lab: %+v %v: %v", sum, err, failures(events))
	}
	f := failoverOf(t, events)
	if f.Method != "detach-neg" || f.Before != "us-central1" || f.After != "europe-west1" || f.FailedRequests != 0 {
		t.Errorf("failover %+v", f)
	}
	if did := dids(events)[steps.Curl]; !strings.Contains(did, "It's running!") {
		t.Errorf("curl did %q; want the hello sample's answer", did)
	}
	// The workshop's broken update stays in region A's template until the
	// restore puts back the image region A ran before it.
	if svc, err := l.cloud.GetService(context.Background(), l.vars.RegionA, l.vars.Service); err != nil || svc.Image != lab.HelloImage || !svc.Ready {
		t.Errorf("region A after the restore: %+v, %v; want it ready on %s", svc, err, lab.HelloImage)
	}

	// A resume after the restore keeps the break steps as passed: it neither
	// checks them (their checks look for the break the restore undid) nor
	// runs them (region A would be broken again), and the measurement of
	// the failover stays as it was.
	rec, err := l.store.LoadRecord("simulator", l.vars.Project)
	if err != nil || len(rec.Samples) == 0 {
		t.Fatalf("the failover's record before the resume: %d samples, %v", len(rec.Samples), err)
	}
	sum, err = l.runner(t).Run(context.Background(), steps.Range{To: steps.Restore, Resume: true})
	events = l.take()
	if err != nil || !sum.OK() {
		t.Fatalf("resume after the restore: %+v %v: %v", sum, err, failures(events))
	}
	kept := map[string]int{}
	for _, e := range events {
		switch {
		case e.Kind == steps.EventKept && e.Status == steps.StatusPassed && strings.Contains(e.Text, "break region A again"):
			kept[e.Step]++
		case (e.Kind == steps.EventStarted || e.Kind == steps.EventDid || e.Kind == steps.EventBreak) && (e.Step == steps.BreakWorkshop || e.Step == steps.BreakRegion || e.Step == steps.Failover):
			t.Errorf("the resume started %s (%s)", e.Step, e.Kind)
		case e.Kind == steps.EventDid:
			t.Errorf("the resume did %s again: %q", e.Step, e.Text)
		}
	}
	if want := map[string]int{steps.BreakWorkshop: 1, steps.BreakRegion: 1, steps.Failover: 1}; !maps.Equal(kept, want) {
		t.Errorf("kept %v; want %v", kept, want)
	}
	if !slices.ContainsFunc(events, func(e steps.Event) bool {
		return e.Kind == steps.EventChecked && e.Step == steps.Restore && e.Status == steps.StatusPassed
	}) {
		t.Error("the resume did not check the restore")
	}
	after, err := l.store.LoadRecord("simulator", l.vars.Project)
	if err != nil || !reflect.DeepEqual(after, rec) {
		t.Errorf("the failover's record changed on the resume: %d samples before, %d after (%v)", len(rec.Samples), len(after.Samples), err)
	}

	// The same progress on a new, empty simulator (each process's embedded
	// one starts so): the resume builds the lab again, the load balancer's
	// front end included, and so verifies it again, breaks and all.
	fresh := newLab(t)
	fresh.store = l.store
	sum, err = fresh.runner(t).Run(context.Background(), steps.Range{To: steps.Restore, Resume: true})
	events = fresh.take()
	if err != nil || !sum.OK() {
		t.Fatalf("resume on a new simulator: %+v %v: %v", sum, err, failures(events))
	}
	if slices.ContainsFunc(events, func(e steps.Event) bool { return e.Kind == steps.EventKept }) {
		t.Error("a resume that built the load balancer again kept the earlier verification's breaks")
	}
	if !slices.ContainsFunc(events, func(e steps.Event) bool {
		return e.Kind == steps.EventDid && e.Step == steps.BreakRegion && e.Err == nil
	}) {
		t.Error("the resume on a new simulator did not break region A of the rebuilt lab")
	}
	// It broke region A again, so it measures that failover again, rather
	// than passing the failover step on its check: the record is this run's.
	if !slices.ContainsFunc(events, func(e steps.Event) bool { return e.Kind == steps.EventFailover }) {
		t.Error("the resume on a new simulator broke region A again but did not measure the failover")
	}
	if again, err := l.store.LoadRecord("simulator", l.vars.Project); err != nil || len(again.Failovers) != 1 || reflect.DeepEqual(again, rec) {
		t.Errorf("the record after the rebuilt lab's failover: %d failovers, the same as before: %t (%v); want the new measurement", len(again.Failovers), reflect.DeepEqual(again, rec), err)
	}
}

// TestAddBackendRereadsAfterAChange: a 412 conditionNotMet on the write
// back (someone changed the backend service since it was read) makes the
// step read it again and write once more, instead of failing.
func TestAddBackendRereadsAfterAChange(t *testing.T) {
	l := newLabWith(t, sim.Options{Faults: sim.NewFaults(1, 0, sim.Fault{Method: "compute.backendServices.update", Status: 412, Times: 1})})
	r := l.runner(t)
	ctx := context.Background()
	if sum, _ := r.Run(ctx, steps.Range{To: steps.BackendA}); !sum.OK() {
		t.Fatalf("run to %s: %v", steps.BackendA, failures(l.take()))
	}
	reread := false
	for _, e := range l.take() {
		if e.Kind == steps.EventProgress && e.Step == steps.BackendA && strings.Contains(e.Text, "changed since it was read") {
			reread = true
		}
	}
	if !reread {
		t.Error("the 412 was not met by reading the backend service again")
	}
	bs, err := l.cloud.GetBackendService(ctx, l.vars.Backend)
	if err != nil || len(bs.GetBackends()) != 1 {
		t.Errorf("backend service after the retry: %d backends, %v; want exactly 1", len(bs.GetBackends()), err)
	}
}

// TestSavedHTTPSAddressIsAHintNotAFact: progress saved from a lab whose
// plain HTTP redirected to HTTPS names its HTTPS address; a lab where no
// HTTPS serves (a new simulator, each process starts one empty; or a lab
// cleaned up) must probe plain HTTP, not wait five minutes on a name
// nothing serves.
func TestSavedHTTPSAddressIsAHintNotAFact(t *testing.T) {
	parallel(t)
	l := newLab(t)
	stale := "https://api." + l.vars.Project + ".example"
	if err := l.store.Save(steps.Saved{Target: "simulator", Project: l.vars.Project, Steps: map[string]steps.SavedState{},
		Outputs: steps.Outputs{HTTPSURL: stale}}); err != nil {
		t.Fatal(err)
	}
	sum, err := l.runner(t).Run(context.Background(), steps.Range{To: steps.Curl})
	events := l.take()
	if err != nil || !sum.OK() {
		t.Fatalf("run to curl with a stale HTTPS address saved: %+v %v: %v", sum, err, failures(events))
	}
	saved, err := l.store.Load("simulator", l.vars.Project)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Outputs.HTTPSURL != "" || !strings.HasPrefix(saved.Outputs.GlobalURL, "http://") {
		t.Errorf("saved outputs: HTTPS %q, global %q; want the stale HTTPS address forgotten and plain HTTP probed", saved.Outputs.HTTPSURL, saved.Outputs.GlobalURL)
	}
}
