package steps_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	run "cloud.google.com/go/run/apiv2"
	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/steps"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// productionLab is a lab on the simulator replayed through the production
// part (cleanup left out), with every step passed.
func productionLab(t *testing.T) (*simLab, *steps.Runner) {
	t.Helper()
	l := newLab(t)
	r := l.runner(t)
	sum, err := r.Run(context.Background(), steps.Range{})
	if events := l.take(); err != nil || !sum.OK() {
		t.Fatalf("replay: %+v %v: %v", sum, err, failures(events))
	}
	return l, r
}

// checkFails runs one step's check and wants it to fail saying want.
func checkFails(t *testing.T, l *simLab, r *steps.Runner, id, want string) {
	t.Helper()
	st, err := r.CheckStep(context.Background(), id)
	events := l.take()
	if st != steps.StatusFailed {
		t.Errorf("%s's check: %s (%v); want it to fail", id, st, err)
		return
	}
	if got := strings.Join(failures(events), " | "); !strings.Contains(got, want) {
		t.Errorf("%s's check failed with %q; want it to say %q", id, got, want)
	}
}

func checkHolds(t *testing.T, l *simLab, r *steps.Runner, id string) string {
	t.Helper()
	st, err := r.CheckStep(context.Background(), id)
	events := l.take()
	if st != steps.StatusPassed {
		t.Fatalf("%s's check: %s (%v): %v", id, st, err, failures(events))
	}
	for _, e := range events {
		if e.Kind == steps.EventChecked && e.Step == id {
			return e.Text
		}
	}
	return ""
}

// TestIngressRefusesTheServicesOwnURL: after the ingress step the services'
// own URLs refuse a request with Google's 404 while the global IP answers;
// ingress back to all makes the check fail.
func TestIngressRefusesTheServicesOwnURL(t *testing.T) {
	parallel(t)
	l, r := productionLab(t)
	ctx := context.Background()
	for _, region := range []string{l.vars.RegionA, l.vars.RegionB} {
		svc, err := l.cloud.GetService(ctx, region, l.vars.Service)
		if err != nil {
			t.Fatal(err)
		}
		if svc.URI != "" || !svc.DefaultURLDisabled || !svc.LBOnly() {
			t.Errorf("%s: URI %q, default URL disabled %v, ingress %s; want no URL, LB only", region, svc.URI, svc.DefaultURLDisabled, svc.Ingress)
		}
		// The data plane's front for the service is the run.app URL.
		front, ok := l.sim.ServiceURL(l.vars.Project, region, l.vars.Service)
		if !ok {
			t.Fatalf("no front for %s", region)
		}
		resp, err := http.Get(front + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s's own URL answered %d; want 404", region, resp.StatusCode)
		}
	}
	text := checkHolds(t, l, r, steps.Ingress)
	if !strings.Contains(text, "global IP answers 200") {
		t.Errorf("ingress check said %q", text)
	}

	// A redeploy (the failover part's break and restore) keeps the ingress.
	img := l.vars.Image
	if _, _, err := l.cloud.DeployService(ctx, gcp.ServiceSpec{Region: l.vars.RegionA, Name: l.vars.Service, Image: img, Env: map[string]string{"REDEPLOY": "1"}}, nil); err != nil {
		t.Fatal(err)
	}
	checkHolds(t, l, r, steps.Ingress)

	// Ingress back to all, by hand, in region B.
	rc, err := run.NewServicesClient(ctx, option.WithEndpoint(l.sim.Endpoints().Run), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	name := "projects/" + l.vars.Project + "/locations/" + l.vars.RegionB + "/services/" + l.vars.Service
	svc, err := rc.GetService(ctx, &runpb.GetServiceRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	svc.Ingress = runpb.IngressTraffic_INGRESS_TRAFFIC_ALL
	svc.DefaultUriDisabled = false
	op, err := rc.UpdateService(ctx, &runpb.UpdateServiceRequest{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	checkFails(t, l, r, steps.Ingress, "has ingress ALL")

	// With the default URL back but ingress restricted, the check calls the
	// URL and wants Google's refusal.
	svc, _ = rc.GetService(ctx, &runpb.GetServiceRequest{Name: name})
	svc.Ingress = runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER
	if op, err = rc.UpdateService(ctx, &runpb.UpdateServiceRequest{Service: svc}); err == nil {
		_, err = op.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	text = checkHolds(t, l, r, steps.Ingress)
	if !strings.Contains(text, "europe-west1: its own URL answered 404") {
		t.Errorf("ingress check said %q; want region B's URL refused", text)
	}

	// Internal only: the load balancer is refused too.
	svc, _ = rc.GetService(ctx, &runpb.GetServiceRequest{Name: name})
	svc.Ingress = runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_ONLY
	if op, err = rc.UpdateService(ctx, &runpb.UpdateServiceRequest{Service: svc}); err == nil {
		_, err = op.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	checkFails(t, l, r, steps.Ingress, "refuses the external load balancer too")
}

// TestArmorRateLimitsPerClient: enforced, the rule lets one client's
// threshold through and refuses the rest with 429 while a second client
// gets in; detached, or in preview, the enforce check fails.
func TestArmorRateLimitsPerClient(t *testing.T) {
	parallel(t)
	l, r := productionLab(t)
	ctx := context.Background()
	text := checkHolds(t, l, r, steps.ArmorEnforce)
	if !strings.Contains(text, "25 requests to /v1/check: 20 got through, 5 got 429") || !strings.Contains(text, "a second client, at the same moment, was let through (200, not 429)") {
		t.Errorf("enforce check said %q", text)
	}

	// Back in preview: logged, not enforced.
	if err := l.cloud.SetSecurityPolicyRulePreview(ctx, l.vars.SecurityPolicy, 1000, true, nil); err != nil {
		t.Fatal(err)
	}
	checkFails(t, l, r, steps.ArmorEnforce, "is in preview")
	text = checkHolds(t, l, r, steps.ArmorPreview)
	if !strings.Contains(text, "were all let through") {
		t.Errorf("preview check said %q", text)
	}

	// Detached from the backend service: the load balancer applies nothing.
	if err := l.cloud.SetSecurityPolicyRulePreview(ctx, l.vars.SecurityPolicy, 1000, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := l.cloud.SetBackendSecurityPolicy(ctx, l.vars.Backend, "", nil); err != nil {
		t.Fatal(err)
	}
	checkFails(t, l, r, steps.ArmorEnforce, "is not attached to backend service")
	checkFails(t, l, r, steps.ArmorPreview, "is not attached to backend service")

	// Running the step again puts it back.
	if st, err := r.RunStep(ctx, steps.ArmorEnforce); st != steps.StatusPassed {
		t.Fatalf("enforce again: %s %v: %v", st, err, failures(l.take()))
	}
}

// TestFailoverHoldsWithProtectionsOn: the failover part, run again after
// the production part, still passes (its probes ask /health, which the rate
// limit does not match), and the protections still hold after it.
func TestFailoverHoldsWithProtectionsOn(t *testing.T) {
	parallel(t)
	l, r := productionLab(t)
	failoverAgain(t, l, r)
}

// TestFailoverHoldsWithProtectionsOnWithTheService is the same with the
// lab's own service, whose break and restore redeploy region A (the
// outage switch): the redeploys keep the closed ingress and the ceiling.
func TestFailoverHoldsWithProtectionsOnWithTheService(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the service image")
	}
	withServiceImage(t)
	l := newLab(t)
	l.vars.Image = ""
	r := l.runner(t)
	if sum, err := r.Run(context.Background(), steps.Range{}); err != nil || !sum.OK() {
		t.Fatalf("replay: %+v %v: %v", sum, err, failures(l.take()))
	}
	failoverAgain(t, l, r)
}

func failoverAgain(t *testing.T, l *simLab, r *steps.Runner) {
	t.Helper()
	ctx := context.Background()
	sum, err := r.Run(ctx, steps.Range{From: steps.BreakWorkshop, To: steps.Restore})
	if events := l.take(); err != nil || !sum.OK() {
		t.Fatalf("failover again: %+v %v: %v", sum, err, failures(events))
	}
	for _, id := range []string{steps.Ingress, steps.ArmorEnforce, steps.MaxInstances} {
		checkHolds(t, l, r, id)
	}
}

// TestMaxInstancesCheckFailsAboveTheCeiling: back to Cloud Run's default
// of 100, the check fails.
func TestMaxInstancesCheckFailsAboveTheCeiling(t *testing.T) {
	parallel(t)
	l, r := productionLab(t)
	if _, err := l.cloud.SetMaxInstances(context.Background(), l.vars.RegionB, l.vars.Service, 100, nil); err != nil {
		t.Fatal(err)
	}
	checkFails(t, l, r, steps.MaxInstances, "may scale to 100 instances")
}

// TestCleanupDetachesThePolicy: cleanup detaches the policy before it
// deletes it (Google refuses otherwise) and leaves nothing.
func TestCleanupDetachesThePolicy(t *testing.T) {
	parallel(t)
	l, r := productionLab(t)
	ctx := context.Background()
	if st, err := r.RunStep(ctx, steps.Cleanup); st != steps.StatusPassed {
		t.Fatalf("cleanup: %s %v: %v", st, err, failures(l.take()))
	}
	if did := dids(l.take())[steps.Cleanup]; !strings.Contains(did, "Cloud Armor security policy gemini-rate-limit") {
		t.Errorf("cleanup did %q", did)
	}
	if _, err := l.cloud.GetSecurityPolicy(ctx, l.vars.SecurityPolicy); !gcp.IsNotFound(err) {
		t.Errorf("after cleanup the policy: %v", err)
	}
}

// productionPart is the first half of Part 5: closing the services to all
// but the load balancer, Cloud Armor, the ceiling.
var productionPart = []string{steps.Ingress, steps.ArmorPreview, steps.ArmorEnforce, steps.MaxInstances}

// TestProductionCommandsRunWithGcloud runs the production part's commands,
// as displayed, with the real gcloud against the simulator, and then each
// step's check.
func TestProductionCommandsRunWithGcloud(t *testing.T) {
	withGcloud(t)
	l := newLab(t)
	tm := newTerminal(t, l.sim, l.vars.Project)
	r := l.runner(t)
	ctx := context.Background()
	if sum, err := r.Run(ctx, steps.Range{To: steps.Restore}); err != nil || !sum.OK() {
		t.Fatalf("replay to restore: %+v %v: %v", sum, err, failures(l.take()))
	}
	for _, id := range productionPart {
		cmd := r.Command(id)
		if strings.Contains(cmd, "run services") && !tm.runREST {
			t.Logf("%s: WAITING for Cloud Run REST: done by the lab, not as displayed", id)
			if st, _ := r.RunStep(ctx, id); st != steps.StatusPassed {
				t.Fatalf("%s by the lab: %s %v", id, st, failures(l.take()))
			}
			continue
		}
		tm.must(cmd)
		if st, err := r.CheckStep(ctx, id); err != nil || st != steps.StatusPassed {
			t.Errorf("%s: the check after the displayed command = %s, %v\n%s\n%v", id, st, err, cmd, failures(l.take()))
		}
	}
	// Cleanup's lines for the policy: detach, then delete.
	var lines []string
	for _, line := range strings.Split(r.Command(steps.Cleanup), "\n") {
		if strings.Contains(line, "security-polic") {
			lines = append(lines, line)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("cleanup's lines for the policy: %q; want detach and delete", lines)
	}
	tm.must(strings.Join(lines, "\n"))
	if _, err := l.cloud.GetSecurityPolicy(ctx, l.vars.SecurityPolicy); !gcp.IsNotFound(err) {
		t.Errorf("after cleanup's gcloud lines, the policy: %v", err)
	}
}

// TestProductionReplayAdopts: a second, fresh replay of the production part
// adopts what the first made.
func TestProductionReplayAdopts(t *testing.T) {
	parallel(t)
	l, _ := productionLab(t)
	r := l.runner(t)
	sum, err := r.Run(context.Background(), steps.Range{From: steps.Ingress, To: steps.MaxInstances})
	events := l.take()
	if err != nil || !sum.OK() || sum.Passed != 4 {
		t.Fatalf("second replay: %+v %v: %v", sum, err, failures(events))
	}
	for id, did := range dids(events) {
		if !strings.Contains(did, "Adopted") {
			t.Errorf("second replay, step %s did %q; want it adopted", id, did)
		}
	}
	// A deploy step run again adopts the service and keeps it closed.
	if st, err := r.RunStep(context.Background(), steps.DeployB); st != steps.StatusPassed {
		t.Fatalf("deploy-b again: %s %v: %v", st, err, failures(l.take()))
	}
	if did := dids(l.take())[steps.DeployB]; !strings.Contains(did, "Adopted") || !strings.Contains(did, "no URL of its own") {
		t.Errorf("deploy-b again did %q", did)
	}
	checkHolds(t, l, r, steps.Ingress)
}

// TestSweepJudgesTheProductionPart: the board shows the production part;
// a sweep reads configuration only (no burst), and a policy detached behind
// the learner's back fails its steps while the later ceiling holds.
func TestSweepJudgesTheProductionPart(t *testing.T) {
	parallel(t)
	room := newClassRoom(t, "attendee-prod")
	room.replay(t, 0, "", "")
	rep := room.sweep(0)
	if !rep.Holds() {
		passedThrough(t, rep, "")
	}
	got := map[string]steps.StepCheck{}
	for _, c := range rep.Steps {
		got[c.ID] = c
	}
	if r := got[steps.ArmorEnforce].Reason; !strings.Contains(r, "a sweep sends no burst") {
		t.Errorf("armor-enforce on the board: %q; want the configuration read, no burst", r)
	}
	tg := room.targets[0]
	if err := tg.Cloud.SetBackendSecurityPolicy(context.Background(), tg.Vars.Backend, "", nil); err != nil {
		t.Fatal(err)
	}
	rep = room.sweep(0)
	for _, c := range rep.Steps {
		got[c.ID] = c
	}
	for _, id := range []string{steps.ArmorPreview, steps.ArmorEnforce} {
		if c := got[id]; c.State != steps.CheckFailed || !strings.Contains(c.Reason, "not attached") {
			t.Errorf("%s after the detach: %+v; want failed, not attached", id, c)
		}
	}
	if got[steps.MaxInstances].State != steps.CheckPassed || got[steps.Ingress].State != steps.CheckPassed {
		t.Errorf("ingress %s, max-instances %s; want both passed", got[steps.Ingress].State, got[steps.MaxInstances].State)
	}
}
