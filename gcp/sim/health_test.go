package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
)

// withHealth gives every service the lab's readiness probe (the hello page,
// every second, two failures) and min minimum instances.
func withHealth(min int32) func(*runpb.Service) {
	return func(svc *runpb.Service) {
		c := svc.Template.Containers[0]
		c.ReadinessProbe = &runpb.Probe{PeriodSeconds: 1, FailureThreshold: 2,
			ProbeType: &runpb.Probe_HttpGet{HttpGet: &runpb.HTTPGetAction{Path: "/"}}}
		svc.Scaling = &runpb.ServiceScaling{MinInstanceCount: min}
	}
}

// waitHealth moves the simulator's clock a probe period at a time until
// region's health is state.
func waitHealth(t *testing.T, l *labRig, region, state string) RegionHealth {
	t.Helper()
	var h RegionHealth
	dpWaitFor(t, region+" "+state, func() bool {
		h = l.s.RegionHealth(testProject, region, labService)
		if h.State == state {
			return true
		}
		advanceProbe(t, l, region)
		return false
	})
	return h
}

// advanceProbe moves the clock one probe period and waits until region's
// instance has run that probe.
func advanceProbe(t *testing.T, l *labRig, region string) {
	t.Helper()
	inst := l.s.dataPlaneOf().instanceFor(testProject, region, labService)
	if inst == nil || inst.ready == nil {
		l.clk.Advance(time.Second)
		return
	}
	probes := func() int { inst.ready.mu.Lock(); defer inst.ready.mu.Unlock(); return inst.ready.probes }
	before := probes()
	l.clk.Advance(time.Second)
	dpWaitFor(t, "a readiness probe in "+region, func() bool { return probes() > before })
}

func lbGet(t *testing.T, l *labRig) dpAnswer {
	t.Helper()
	return dpGet(t, "http://"+l.addr+"/?format=json", labRegionA)
}

// Without outlier detection, only service health can move traffic: the
// unhealthy region gets none, and it comes back once healthy.
func TestServiceHealthFailsOverAndBack(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED", shape: withHealth(1)})
	h := waitHealth(t, l, labRegionA, HealthHealthy)
	if h.Passing != 1 || h.Instances != 1 {
		t.Errorf("healthy region: %d of %d instances pass; want 1 of 1", h.Passing, h.Instances)
	}
	waitHealth(t, l, labRegionB, HealthHealthy)
	if a := lbGet(t, l); a.status != 200 || a.region != labRegionA {
		t.Fatalf("before the break: %d from %q; want 200 from %s", a.status, a.region, labRegionA)
	}

	l.setOutage(t, labRegionA, true)
	// The new revision's instance: its first probe does not count.
	// (Real time also runs the probes: judge only if this was the first.)
	advanceProbe(t, l, labRegionA)
	inst := l.s.dataPlaneOf().instanceFor(testProject, labRegionA, labService)
	inst.ready.mu.Lock()
	probes := inst.ready.probes
	inst.ready.mu.Unlock()
	if h := l.s.RegionHealth(testProject, labRegionA, labService); probes == 1 && (h.State != HealthUnknown || !strings.Contains(h.Reason, "first one does not count")) {
		t.Errorf("after a new instance's first probe: %+v; want unknown, its first probe not counted", h)
	}
	h = waitHealth(t, l, labRegionA, HealthUnhealthy)
	if h.Passing != 0 || !strings.Contains(h.Reason, "under 60%") {
		t.Errorf("unhealthy region: %+v", h)
	}
	for range 20 {
		if a := lbGet(t, l); a.status != 200 || a.region != labRegionB {
			t.Fatalf("region A unhealthy: %d from %q; want every answer 200 from %s", a.status, a.region, labRegionB)
		}
	}

	l.setOutage(t, labRegionA, false)
	waitHealth(t, l, labRegionA, HealthHealthy)
	if a := lbGet(t, l); a.status != 200 || a.region != labRegionA {
		t.Fatalf("recovered (no failback time): %d from %q; want 200 from %s", a.status, a.region, labRegionA)
	}
}

// Google: "Failovers require at least two services from different regions.
// Otherwise, if one service fails, the error message no healthy upstream is
// displayed."
func TestServiceHealthNoHealthyUpstream(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED", shape: withHealth(1)})
	l.setOutage(t, labRegionA, true)
	l.setOutage(t, labRegionB, true)
	waitHealth(t, l, labRegionA, HealthUnhealthy)
	waitHealth(t, l, labRegionB, HealthUnhealthy)
	a := lbGet(t, l)
	if a.status != http.StatusServiceUnavailable || a.body != "no healthy upstream" {
		t.Fatalf("every region unhealthy: %d %q; want 503 \"no healthy upstream\"", a.status, a.body)
	}
}

// Without a minimum instance Cloud Run computes no health: the failing
// region keeps its traffic (no outlier detection here either).
func TestServiceHealthUnknownWithoutMinInstance(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED", shape: withHealth(0)})
	l.setOutage(t, labRegionA, true)
	for range 5 {
		l.clk.Advance(time.Second)
	}
	h := l.s.RegionHealth(testProject, labRegionA, labService)
	if h.State != HealthUnknown || !strings.Contains(h.Reason, "minimum instance") {
		t.Fatalf("no minimum instance: %+v; want unknown, saying why", h)
	}
	if a := lbGet(t, l); a.status != http.StatusServiceUnavailable || a.region != labRegionA {
		t.Fatalf("no health, no outlier detection: %d from %q; want region A's own 503", a.status, a.region)
	}
}

// A deleted service is not reported unhealthy.
func TestServiceHealthDeletedServiceIsNotUnhealthy(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED", shape: withHealth(1)})
	waitHealth(t, l, labRegionA, HealthHealthy)
	op, err := l.rc.DeleteService(dpCtx(t), &runpb.DeleteServiceRequest{Name: l.services[labRegionA].GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Wait(dpCtx(t)); err != nil {
		t.Fatal(err)
	}
	dpWaitFor(t, "the deleted service's instance to stop", func() bool { return l.s.dataPlaneOf().instanceFor(testProject, labRegionA, labService) == nil })
	for range 5 {
		l.clk.Advance(time.Second)
	}
	if h := l.s.RegionHealth(testProject, labRegionA, labService); h.State != HealthUnknown {
		t.Fatalf("deleted service: %+v; want unknown, not unhealthy", h)
	}
}

// Traffic returns to a recovered region gradually.
func TestServiceHealthGradualFailback(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED", shape: withHealth(1),
		sim: Options{Profile: Profile{Name: "test", HealthFailback: 100 * time.Second}}})
	l.setOutage(t, labRegionA, true)
	waitHealth(t, l, labRegionA, HealthUnhealthy)
	l.setOutage(t, labRegionA, false)
	h := waitHealth(t, l, labRegionA, HealthHealthy)
	l.clk.Advance(50*time.Second - l.s.now().Sub(h.Since))
	fromA := 0
	for range 100 {
		if a := lbGet(t, l); a.region == labRegionA {
			fromA++
		}
	}
	if fromA < 30 || fromA > 70 {
		t.Errorf("half-way through failback, %d of 100 requests went to region A; want about half", fromA)
	}
	l.clk.Advance(60 * time.Second)
	for range 10 {
		if a := lbGet(t, l); a.region != labRegionA {
			t.Fatalf("after failback: answer from %q; want %s", a.region, labRegionA)
		}
	}
}

// The health endpoint beside the Compute API answers the lab's panel.
func TestServiceHealthEndpoint(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED", shape: withHealth(1)})
	waitHealth(t, l, labRegionA, HealthHealthy)
	resp, err := http.Get(l.s.Endpoints().Compute + "/beyond/v1/health?project=" + testProject + "&region=" + labRegionA + "&service=" + labService)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h RegionHealth
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &h); err != nil || h.State != HealthHealthy || h.Passing != 1 {
		t.Fatalf("GET /beyond/v1/health: %s (%v); want healthy, 1 passing", b, err)
	}
}

// Knative v1 carries readinessProbe (what `gcloud alpha run deploy
// --readiness-probe` sends) and minScale; both reach the v2 service and the
// data plane, and read back on v1.
func TestServiceHealthOverKnative(t *testing.T) {
	s := startSim(t, Options{})
	enableAPIs(t, s, testProject, APIRun)
	const host = "us-central1-run.googleapis.com"
	const base = "/apis/serving.knative.dev/v1/namespaces/" + testProject
	body := strings.Replace(gcloudCreateBody, `"run.googleapis.com/startup-cpu-boost": "True"`,
		`"run.googleapis.com/startup-cpu-boost": "True", "autoscaling.knative.dev/minScale": "1"`, 1)
	body = strings.Replace(body, `"env": [{"name": "GREETING", "value": "hi"}]`,
		`"env": [{"name": "GREETING", "value": "hi"}], "readinessProbe": {"httpGet": {"path": "/"}, "periodSeconds": 1, "failureThreshold": 2, "successThreshold": 1}`, 1)
	var created knService
	if code, raw := knCall(t, s, "POST", host, base+"/services", body, &created); code != 200 {
		t.Fatalf("create: %d %s", code, raw)
	}
	var svc knService
	if code, raw := knCall(t, s, "GET", host, base+"/services/hello", nil, &svc); code != 200 {
		t.Fatalf("get: %d %s", code, raw)
	}
	p := svc.Spec.Template.Spec.Containers[0].ReadinessProbe
	if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/" || p.PeriodSeconds != 1 || p.FailureThreshold != 2 || p.TimeoutSeconds != 1 {
		t.Errorf("readinessProbe read back %+v; want httpGet / every 1 s, threshold 2, timeout 1 (the default)", p)
	}
	if got := svc.Spec.Template.Metadata.Annotations[knAnnMinScale]; got != "1" {
		t.Errorf("minScale read back %q; want 1", got)
	}
	s.mu.Lock()
	var rr *ReadyRevision
	for _, r := range s.readyRevisionsLocked() {
		if r.Service == "hello" {
			rr = &r
		}
	}
	s.mu.Unlock()
	if rr == nil || rr.Readiness.GetHttpGet().GetPath() != "/" || rr.MinInstances != 1 {
		t.Fatalf("the data plane's revision: %+v; want the probe and one minimum instance", rr)
	}
}

// BenchmarkLBWithServiceHealth is BenchmarkLBOverhead's "lb" case with
// service health on both regions: what reading each region's health costs
// a request.
func BenchmarkLBWithServiceHealth(b *testing.B) {
	l := startLab(b, chainOpts{scheme: "EXTERNAL_MANAGED", outlier: true, retry: true, shape: withHealth(1)})
	client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 8}}
	url := "http://" + l.addr + "/?format=json"
	for b.Loop() {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// An unhealthy region keeps its traffic for HealthPropagation (inferred:
// the load balancer learns of it), then gets none.
func TestServiceHealthPropagation(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED", shape: withHealth(1),
		sim: Options{Profile: Profile{Name: "test", HealthPropagation: 10 * time.Second}}})
	l.setOutage(t, labRegionA, true)
	h := waitHealth(t, l, labRegionA, HealthUnhealthy)
	if l.s.now().Sub(h.Since) < 10*time.Second {
		if a := lbGet(t, l); a.region != labRegionA {
			t.Errorf("unhealthy for less than the propagation: answer from %q; want region A still", a.region)
		}
	}
	l.clk.Advance(10 * time.Second)
	if a := lbGet(t, l); a.status != 200 || a.region != labRegionB {
		t.Errorf("after the propagation: %d from %q; want 200 from %s", a.status, a.region, labRegionB)
	}
}
