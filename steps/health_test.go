package steps_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/steps"
)

// checkError runs a step's check and returns its failure, or "" if it passed.
func checkError(t *testing.T, l *simLab, r *steps.Runner, id string) string {
	t.Helper()
	st, err := r.CheckStep(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range l.take() {
		if e.Kind == steps.EventDone && e.Step == id && st != steps.StatusPassed {
			return errString(e.Err) + " | fix: " + e.Fix
		}
	}
	return ""
}

// The deploy checks read back the readiness probe and the minimum instance
// that Cloud Run service health needs, and `beyond check` (a sweep) says
// which one a region lacks.
func TestDeployCheckSaysWhatServiceHealthLacks(t *testing.T) {
	l := newLab(t)
	r := l.runner(t)
	ctx := context.Background()
	if sum, err := r.Run(ctx, steps.Range{To: steps.BuildImage}); err != nil || !sum.OK() {
		t.Fatalf("up to build-image: %+v %v %v", sum, err, failures(l.take()))
	}
	l.take()
	spec := gcp.ServiceSpec{Region: l.vars.RegionA, Name: l.vars.Service, Image: lab.HelloImage,
		ServiceAccount: l.vars.ServiceAccount + "@" + l.vars.Project + ".iam.gserviceaccount.com"}
	if _, _, err := l.cloud.DeployService(ctx, spec, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := l.cloud.AllowUnauthenticated(ctx, spec.Region, spec.Name); err != nil {
		t.Fatal(err)
	}
	if got := checkError(t, l, r, steps.DeployA); !strings.Contains(got, "has no readiness probe") {
		t.Errorf("deploy-a without a readiness probe: %q; want it named", got)
	}
	var report steps.Report
	steps.SweepAll(ctx, []steps.Target{{Cloud: l.cloud, Vars: l.vars}}, 1, steps.DefaultProbe(), func(_ int, rep steps.Report) { report = rep })
	for _, c := range report.Steps {
		if c.ID == steps.DeployA && (c.State == steps.CheckPassed || !strings.Contains(c.Reason, "no readiness probe")) {
			t.Errorf("sweep: deploy-a %s %q; want it not passed, for want of a readiness probe", c.State, c.Reason)
		}
	}
	if len(report.Health) != 1 || report.Health[0].Region != l.vars.RegionA || report.Health[0].OK || report.Health[0].Readiness != "" {
		t.Errorf("sweep: service health %+v; want region A alone, without a readiness probe", report.Health)
	}

	spec.Readiness = &gcp.Readiness{Path: "/", PeriodSeconds: 1, FailureThreshold: 3, TimeoutSeconds: 1}
	if _, _, err := l.cloud.DeployService(ctx, spec, nil); err != nil {
		t.Fatal(err)
	}
	if got := checkError(t, l, r, steps.DeployA); !strings.Contains(got, "no minimum instance") {
		t.Errorf("deploy-a without a minimum instance: %q; want it named", got)
	}
	if st, _ := r.RunStep(ctx, steps.DeployA); st != steps.StatusPassed {
		t.Fatalf("deploy-a: %s %v", st, failures(l.take()))
	}
	var checked string
	for _, e := range l.take() {
		if e.Kind == steps.EventChecked && e.Step == steps.DeployA {
			checked = e.Text
		}
	}
	if !strings.Contains(checked, "readiness probe / every 1 s, 1 minimum instance") {
		t.Errorf("deploy-a's check: %q; want the probe and the minimum instance read back", checked)
	}
	steps.SweepAll(ctx, []steps.Target{{Cloud: l.cloud, Vars: l.vars}}, 1, steps.DefaultProbe(), func(_ int, rep steps.Report) { report = rep })
	if len(report.Health) != 1 || !report.Health[0].OK || report.Health[0].String() != "us-central1 readiness / every 1 s, threshold 3, 1 min instance" {
		t.Errorf("sweep after deploy-a: service health %+v; want region A with both", report.Health)
	}
}

// Google: with one region, a failing service gives "no healthy upstream".
// The lab says what it means and what to do.
func TestOneRegionGivesNoHealthyUpstream(t *testing.T) {
	parallel(t)
	l := newLab(t)
	r := l.runner(t)
	ctx := context.Background()
	if sum, err := r.Run(ctx, steps.Range{To: steps.Curl}); err != nil || !sum.OK() {
		t.Fatalf("up to curl: %+v %v %v", sum, err, failures(l.take()))
	}
	// Region B's NEG leaves the backend service; region A fails.
	bs, err := l.cloud.GetBackendService(ctx, l.vars.Backend)
	if err != nil {
		t.Fatal(err)
	}
	var keep []*computepb.Backend
	for _, b := range bs.GetBackends() {
		if !strings.Contains(b.GetGroup(), l.vars.NEGB) {
			keep = append(keep, b)
		}
	}
	bs.Backends = keep
	if err := l.cloud.UpdateBackendService(ctx, bs, nil); err != nil {
		t.Fatal(err)
	}
	spec := gcp.ServiceSpec{Region: l.vars.RegionA, Name: l.vars.Service, Image: lab.HelloImage, Env: map[string]string{lab.OutageEnv: "1"}}
	if _, _, err := l.cloud.DeployService(ctx, spec, nil); err != nil {
		t.Fatal(err)
	}
	waitUnhealthy(t, l, l.vars.RegionA)
	l.take()
	got := checkError(t, l, r, steps.Curl)
	if !strings.Contains(got, `"no healthy upstream"`) || !strings.Contains(got, "two or more regions") {
		t.Errorf("curl's check with one unhealthy region: %q; want no healthy upstream explained", got)
	}
}

// waitUnhealthy moves the simulator's clock a probe period at a time until
// region's service health is unhealthy (bounded).
func waitUnhealthy(t *testing.T, l *simLab, region string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for l.sim.RegionHealth(l.vars.Project, region, l.vars.Service).State != sim.HealthUnhealthy {
		if time.Now().After(deadline) {
			t.Fatalf("%s never turned unhealthy: %+v", region, l.sim.RegionHealth(l.vars.Project, region, l.vars.Service))
		}
		l.clock.Advance(time.Second)
		// The probe runs in the simulator's goroutine; its verdict is not
		// an event the simulator publishes, so look again shortly.
		<-time.After(20 * time.Millisecond)
	}
}

// The deploy command the lab shows, `gcloud alpha run deploy ...
// --readiness-probe ... --min-instances 1`, typed with the real gcloud
// against the simulator: accepted, `gcloud run services describe` shows the
// probe and the minimum instance, and the lab's check passes over it.
func TestServiceHealthDeployWithGcloud(t *testing.T) {
	withGcloud(t)
	l := newLab(t)
	tm := newTerminal(t, l.sim, l.vars.Project)
	if !tm.runREST {
		t.Skip("the simulator does not serve Cloud Run REST to gcloud")
	}
	r := l.runner(t)
	ctx := context.Background()
	if sum, err := r.Run(ctx, steps.Range{To: steps.BuildImage}); err != nil || !sum.OK() {
		t.Fatalf("up to build-image: %+v %v %v", sum, err, failures(l.take()))
	}
	cmd := r.Command(steps.DeployA)
	if !strings.HasPrefix(cmd, "gcloud alpha run deploy ") || !strings.Contains(cmd, "--readiness-probe httpGet.path=/,") || !strings.Contains(cmd, "--min-instances 1") {
		t.Fatalf("deploy-a shows %q; want gcloud alpha with the readiness probe and one minimum instance", cmd)
	}
	tm.must(cmd)
	out := tm.must("gcloud run services describe " + l.vars.Service + " --region " + l.vars.RegionA + " --format=json")
	var svc struct {
		Spec struct {
			Template struct {
				Metadata struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
				Spec struct {
					Containers []struct {
						ReadinessProbe *struct {
							PeriodSeconds    int `json:"periodSeconds"`
							FailureThreshold int `json:"failureThreshold"`
							HTTPGet          struct {
								Path string `json:"path"`
							} `json:"httpGet"`
						} `json:"readinessProbe"`
					} `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(out), &svc); err != nil {
		t.Fatalf("describe: %v\n%s", err, out)
	}
	cs := svc.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].ReadinessProbe == nil || cs[0].ReadinessProbe.HTTPGet.Path != "/" || cs[0].ReadinessProbe.PeriodSeconds != 1 || cs[0].ReadinessProbe.FailureThreshold != 3 {
		t.Errorf("describe shows containers %+v; want the readiness probe on / every 1 s, threshold 3\n%s", cs, out)
	}
	if got := svc.Spec.Template.Metadata.Annotations["autoscaling.knative.dev/minScale"]; got != "1" {
		t.Errorf("describe shows minScale %q; want 1", got)
	}
	if st, _ := r.CheckStep(ctx, steps.DeployA); st != steps.StatusPassed {
		t.Errorf("deploy-a's check over gcloud's deploy: %s %v", st, failures(l.take()))
	}
}

// Broken the way only health notices (--break-by readiness: the service
// serves, its readiness probe fails), a replay fails over by service health
// alone: no request fails, and outlier detection, with no errors to count,
// does not act.
func TestReadinessBreakFailsOverByServiceHealth(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the service image")
	}
	withServiceImage(t)
	l := newLab(t)
	l.vars.Image = ""
	l.probe = steps.ProbeConfig{Rate: 20, ClientLocation: "us-central1", BreakBy: steps.BreakByReadiness}
	r := l.runner(t)
	if !strings.Contains(r.Command(steps.BreakRegion), lab.OutageEnv+"="+lab.UnreadyValue) {
		t.Errorf("break-region shows %q; want the readiness-only switch", r.Command(steps.BreakRegion))
	}
	sum, err := r.Run(context.Background(), steps.Range{To: steps.Restore})
	events := l.take()
	if err != nil || !sum.OK() {
		t.Fatalf("lab: %+v %v: %v", sum, err, failures(events))
	}
	f := failoverOf(t, events)
	if f.Method != "unready-switch" || f.After != l.vars.RegionB || f.FailedRequests != 0 {
		t.Errorf("failover %+v; want the unready switch, traffic to %s, no failed request", f, l.vars.RegionB)
	}
	if len(f.Signals) != 2 {
		t.Fatalf("signals %+v", f.Signals)
	}
	od, sh := f.Signals[0], f.Signals[1]
	if od.ActedSeconds != -1 || !strings.Contains(od.Note, "no request failed") {
		t.Errorf("outlier detection: %+v; want it not to act, for want of errors", od)
	}
	if !sh.Observed || sh.ActedSeconds <= 0 || sh.FailedBefore != 0 || sh.FailedAfter != 0 {
		t.Errorf("service health: %+v; want it to act, with no request failed", sh)
	}
}

// A deleted service is not reported unhealthy (Google's limitation): the
// region's health reads unknown, and the failover the lab measures is
// outlier detection's, after errors.
func TestDeletedServiceIsNotUnhealthy(t *testing.T) {
	parallel(t)
	l := newLab(t)
	r := l.runner(t)
	ctx := context.Background()
	if sum, err := r.Run(ctx, steps.Range{To: steps.Curl}); err != nil || !sum.OK() {
		t.Fatalf("up to curl: %+v %v %v", sum, err, failures(l.take()))
	}
	if _, err := l.cloud.DeleteService(ctx, l.vars.RegionA, l.vars.Service, nil); err != nil {
		t.Fatal(err)
	}
	l.take()
	if st, _ := r.RunStep(ctx, steps.Failover); st != steps.StatusPassed {
		t.Fatalf("failover after deleting region A's service: %s %v", st, failures(l.take()))
	}
	f := failoverOf(t, l.take())
	if len(f.Signals) != 2 {
		t.Fatalf("signals %+v", f.Signals)
	}
	od, sh := f.Signals[0], f.Signals[1]
	if od.ActedSeconds < 0 || od.FailedBefore < 1 {
		t.Errorf("outlier detection: %+v; want it to move traffic after the errors", od)
	}
	if !sh.Observed || sh.ActedSeconds != -1 || !strings.Contains(sh.Note, "deleted service is not reported unhealthy") {
		t.Errorf("service health: %+v; want it never unhealthy, saying a deleted service is not reported so", sh)
	}
}
