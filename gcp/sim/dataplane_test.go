package sim

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/iam/apiv1/iampb"
	run "cloud.google.com/go/run/apiv2"
	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/beyond-lab/beyond/gcp/sim/clock"
	"github.com/beyond-lab/beyond/lab"
	"google.golang.org/protobuf/proto"
)

// waitDataPlane waits until cond holds, re-checking at every change of the
// data plane.
func waitDataPlane(t testing.TB, s *Sim, what string, cond func() bool) {
	t.Helper()
	ctx := dpCtx(t)
	dp := s.dataPlaneOf()
	for {
		ch := dp.changes()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
	}
}

// waitServing waits until revision (a full or short name) serves service.
func waitServing(t testing.TB, s *Sim, region, service, revision string) *instance {
	t.Helper()
	var inst *instance
	waitDataPlane(t, s, service+" in "+region+" serving "+revision, func() bool {
		inst = s.dataPlaneOf().instanceFor(testProject, region, service)
		return inst != nil && (inst.rr.RevisionName == revision || inst.rr.Revision == revision)
	})
	return inst
}

// makePublic grants roles/run.invoker to allUsers, as --allow-unauthenticated.
func makePublic(t testing.TB, rc *run.ServicesClient, name string) {
	t.Helper()
	_, err := rc.SetIamPolicy(dpCtx(t), &iampb.SetIamPolicyRequest{Resource: name, Policy: &iampb.Policy{
		Bindings: []*iampb.Binding{{Role: "roles/run.invoker", Members: []string{"allUsers"}}},
	}})
	if err != nil {
		t.Fatalf("SetIamPolicy(%s): %v", name, err)
	}
}

// chainOpts shape the lab's load balancer.
type chainOpts struct {
	scheme  string // EXTERNAL or EXTERNAL_MANAGED
	outlier bool   // outlier detection, consecutive 5xx enforced
	retry   bool   // URL map retry policy
	sim     Options
	// shape changes every service the rig deploys (a readiness probe,
	// minimum instances).
	shape func(*runpb.Service)
}

// lab is the lab's deployment: the hello image in two regions behind one
// global load balancer.
type labRig struct {
	s        *Sim
	rc       *run.ServicesClient
	c        *computeClients
	clk      *clock.Adjustable         // the simulator's clock
	services map[string]*runpb.Service // by region
	shape    func(*runpb.Service)      // chainOpts.shape
	addr     string                    // where the load balancer listens
	ip       string                    // the forwarding rule's IP address
}

const (
	labService = "gemini-service"
	labRegionA = "us-central1"
	labRegionB = "europe-west1"
)

func startLab(t testing.TB, o chainOpts) *labRig {
	t.Helper()
	clk, ok := o.sim.Clock.(*clock.Adjustable)
	if !ok {
		clk = clock.NewAdjustable()
		o.sim.Clock = clk
	}
	s := startSim(t, o.sim)
	s.mu.Lock()
	p, err := s.projectLocked(testProject)
	if err == nil {
		p.enabled[APICompute], p.enabled[APIRun] = true, true
	}
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	ctx := dpCtx(t)
	rc := newRunClient(t, s)
	c := newComputeClients(t, s)
	l := &labRig{s: s, rc: rc, c: c, clk: clk, services: map[string]*runpb.Service{}, shape: o.shape}
	for _, region := range []string{labRegionA, labRegionB} {
		want := helloService(lab.HelloImage)
		if l.shape != nil {
			l.shape(want)
		}
		op, err := rc.CreateService(ctx, &runpb.CreateServiceRequest{Parent: parent(testProject, region), ServiceId: labService, Service: want})
		if err != nil {
			t.Fatalf("CreateService: %v", err)
		}
		svc, err := op.Wait(ctx)
		if err != nil {
			t.Fatalf("CreateService.Wait: %v", err)
		}
		makePublic(t, l.rc, svc.GetName())
		l.services[region] = svc
	}
	op, err := insertNEG(ctx, c, labRegionA, "neg-a", labService)
	dpWait(t, op, err)
	op, err = insertNEG(ctx, c, labRegionB, "neg-b", labService)
	dpWait(t, op, err)
	bs := &computepb.BackendService{
		Name:                proto.String("web-backend"),
		LoadBalancingScheme: proto.String(o.scheme),
		Backends:            []*computepb.Backend{{Group: proto.String(negAURL)}, {Group: proto.String(negBURL)}},
	}
	if o.outlier {
		bs.OutlierDetection = &computepb.OutlierDetection{EnforcingConsecutiveErrors: proto.Int32(100)}
	}
	op, err = insertBackendService(ctx, c, bs)
	dpWait(t, op, err)
	um := &computepb.UrlMap{Name: proto.String("web-map"), DefaultService: proto.String(bsURL)}
	if o.retry {
		um.DefaultRouteAction = &computepb.HttpRouteAction{RetryPolicy: &computepb.HttpRetryPolicy{
			NumRetries:      proto.Uint32(1),
			RetryConditions: []string{"5xx", "gateway-error", "connect-failure"},
		}}
	}
	op, err = c.maps.Insert(ctx, &computepb.InsertUrlMapRequest{Project: testProject, UrlMapResource: um})
	dpWait(t, op, err)
	op, err = insertProxy(ctx, c, "web-proxy", mapURL)
	dpWait(t, op, err)
	op, err = insertRule(ctx, c, "web-rule", o.scheme, proxyURL)
	dpWait(t, op, err)
	fr, err := c.rules.Get(ctx, &computepb.GetGlobalForwardingRuleRequest{Project: testProject, ForwardingRule: "web-rule"})
	if err != nil {
		t.Fatal(err)
	}
	l.ip = fr.GetIPAddress()
	waitDataPlane(t, s, "the load balancer's listener", func() bool {
		l.addr, _ = s.FrontendAddr(testProject, l.ip, 80)
		return l.addr != ""
	})
	for region, svc := range l.services {
		waitServing(t, s, region, labService, svc.GetLatestReadyRevision())
	}
	return l
}

// dpCtx is a context that ends with the test, or after 60 s.
func dpCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dpWait waits for a Compute operation, failing the test if it fails.
func dpWait(t testing.TB, op *compute.Operation, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if err := op.Wait(dpCtx(t)); err != nil {
		t.Fatalf("operation %s: %v", op.Name(), err)
	}
}

// setOutage deploys a new revision in region with BEYOND_OUTAGE set (or
// not) and waits until it serves.
func (l *labRig) setOutage(t testing.TB, region string, on bool) {
	t.Helper()
	svc := helloServiceNamed(l.services[region].GetName(), lab.HelloImage)
	if on {
		svc = helloServiceNamed(l.services[region].GetName(), lab.HelloImage, "BEYOND_OUTAGE", "1")
	}
	if l.shape != nil {
		l.shape(svc)
	}
	op, err := l.rc.UpdateService(dpCtx(t), &runpb.UpdateServiceRequest{Service: svc})
	if err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	got, err := op.Wait(dpCtx(t))
	if err != nil {
		t.Fatalf("UpdateService.Wait: %v", err)
	}
	l.services[region] = got
	waitServing(t, l.s, region, labService, got.GetLatestReadyRevision())
}

// dpAnswer is one response, with the region read from the hello sample's JSON.
type dpAnswer struct {
	status int
	region string
	header http.Header
	body   string
}

var dpHTTP = &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}

// get asks url, from client location loc ("" for the default).
func dpGet(t testing.TB, url, loc string, hdr ...string) dpAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if loc != "" {
		req.Header.Set(lab.ClientLocationHeader, loc)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := dpHTTP.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := dpAnswer{status: resp.StatusCode, header: resp.Header, body: string(b)}
	var v struct{ Region string }
	if json.Unmarshal(b, &v) == nil {
		a.region = v.Region
	}
	return a
}

func TestInstanceHelloThroughServiceURL(t *testing.T) {
	s := startSim(t, Options{})
	enableAPIs(t, s, testProject, APIRun)
	rc := newRunClient(t, s)
	svc := deploy(t, rc, testProject, labRegionB, "hello", helloService(lab.HelloImage))
	url, ok := s.ServiceURL(testProject, labRegionB, "hello")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("ServiceURL = %q, %v; want http://127.0.0.1:PORT", url, ok)
	}
	// Cloud Run's uri reads the front the data plane gave the service; a
	// validate-only preview gets no listener.
	read, err := rc.GetService(testCtx(t), &runpb.GetServiceRequest{Name: svc.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	preview, err := rc.CreateService(testCtx(t), &runpb.CreateServiceRequest{
		Parent: "projects/" + testProject + "/locations/" + labRegionB, ServiceId: "preview",
		Service: helloService(lab.HelloImage), ValidateOnly: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	previewSvc, err := preview.Wait(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	_, previewOK := s.ServiceURL(testProject, labRegionB, "preview")
	if read.GetUri() != url || previewOK || strings.HasPrefix(previewSvc.GetUri(), "http://") {
		t.Errorf("uri = %q, preview %v %q; want %q, no front for the preview", read.GetUri(), previewOK, previewSvc.GetUri(), url)
	}
	inst := waitServing(t, s, labRegionB, "hello", svc.GetLatestReadyRevision())
	if inst.kind != "hello" {
		t.Errorf("instance kind %q, want hello", inst.kind)
	}

	// Not public yet: Cloud Run refuses unauthenticated calls.
	if a := dpGet(t, url, ""); a.status != http.StatusForbidden || !strings.Contains(a.body, "Error: Forbidden") {
		t.Errorf("private service answered %d %q; want 403 Error: Forbidden", a.status, a.body)
	}
	if a := dpGet(t, url, "", "Authorization", "Bearer token"); a.status != http.StatusOK {
		t.Errorf("with a token: %d; want 200", a.status)
	}
	makePublic(t, rc, svc.GetName())
	waitDataPlane(t, s, "the service to be public", func() bool { return inst.access.Load().public })

	rev := inst.rr.Revision
	page := dpGet(t, url, "")
	for _, want := range []string{"It's running!", "<code>" + rev + "</code>", "<code>hello</code>", "<code>" + labRegionB + "</code>", "<code>" + testProject + "</code>"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("page lacks %q:\n%s", want, page.body)
		}
	}
	if ct := page.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("page Content-Type %q", ct)
	}
	js := dpGet(t, url+"/?format=json", "")
	var v map[string]string
	if err := json.Unmarshal([]byte(js.body), &v); err != nil {
		t.Fatalf("?format=json: %v: %s", err, js.body)
	}
	if v["region"] != labRegionB || v["revision"] != rev || v["service"] != "hello" || v["project"] != testProject || v["message"] != "It's running!" {
		t.Errorf("?format=json = %v", v)
	}
	txt := dpGet(t, url, "", "Accept", "text/plain")
	if want := "It's running! service=hello revision=" + rev + " region=" + labRegionB; !strings.HasPrefix(txt.body, want) {
		t.Errorf("Accept: text/plain = %q, want %q...", txt.body, want)
	}

	// A new revision: same URL, new answer; the outage switch answers 503.
	got, err := update(t, rc, helloServiceNamed(svc.GetName(), lab.HelloImage, "BEYOND_OUTAGE", "1"))
	if err != nil {
		t.Fatal(err)
	}
	waitServing(t, s, labRegionB, "hello", got.GetLatestReadyRevision())
	if again, _ := s.ServiceURL(testProject, labRegionB, "hello"); again != url {
		t.Errorf("URL changed with the revision: %s → %s", url, again)
	}
	if a := dpGet(t, url, ""); a.status != http.StatusServiceUnavailable || a.region != labRegionB {
		t.Errorf("outage revision answered %d region %q; want 503 from %s", a.status, a.region, labRegionB)
	}

	// Deleted: no URL, and the old one no longer answers.
	op, err := rc.DeleteService(testCtx(t), &runpb.DeleteServiceRequest{Name: svc.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Wait(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	waitDataPlane(t, s, "the instance to stop", func() bool { return s.dataPlaneOf().instanceFor(testProject, labRegionB, "hello") == nil })
	if _, ok := s.ServiceURL(testProject, labRegionB, "hello"); ok {
		t.Error("ServiceURL of a deleted service is ok")
	}
	host := strings.TrimPrefix(url, "http://")
	waitDataPlane(t, s, "the front to close", func() bool {
		conn, err := net.DialTimeout("tcp", host, time.Second)
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
}

func TestHelloFormats(t *testing.T) {
	h := helloHandler(helloInfo{Project: "p", Region: "r", Service: "s", Revision: "s-00001-abc"})
	for _, c := range []struct{ target, accept, want string }{
		{"/", "", "<h1>It's running!</h1>"},
		{"/any/path", "text/html,application/json", "It's running!"},
		{"/?format=text", "application/json", "It's running! service=s revision=s-00001-abc region=r project=p\n"},
		{"/", "application/json", `"region":"r"`},
		{"/?format=json", "", `"revision":"s-00001-abc"`},
		{"/robots.txt", "", "Disallow: /"},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://x"+c.target, nil)
		if c.accept != "" {
			req.Header.Set("Accept", c.accept)
		}
		w := newDPRecorder()
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK || !strings.Contains(w.body.String(), c.want) {
			t.Errorf("%s (Accept %q) = %d %q; want 200 containing %q", c.target, c.accept, w.status, w.body.String(), c.want)
		}
	}
	out := helloHandler(helloInfo{Region: "r", Revision: "v", Outage: true})
	w := newDPRecorder()
	out.ServeHTTP(w, dpRequest("/"))
	if w.status != http.StatusServiceUnavailable || !strings.Contains(w.body.String(), "BEYOND_OUTAGE") {
		t.Errorf("outage = %d %q", w.status, w.body.String())
	}
	for _, v := range []string{"1", "true", "TRUE"} {
		if !outageOn(map[string]string{"BEYOND_OUTAGE": v}) {
			t.Errorf("BEYOND_OUTAGE=%s is not an outage", v)
		}
	}
	if outageOn(map[string]string{"BEYOND_OUTAGE": "0"}) || outageOn(nil) {
		t.Error("an outage without BEYOND_OUTAGE=1")
	}
}

// dpRecorder is the least of httptest.ResponseRecorder, to keep the test
// file's imports to what it uses.
type dpRecorder struct {
	h      http.Header
	status int
	body   strings.Builder
}

func newDPRecorder() *dpRecorder { return &dpRecorder{h: http.Header{}} }

func (r *dpRecorder) Header() http.Header { return r.h }

func (r *dpRecorder) Write(b []byte) (int, error) { r.WriteHeader(200); return r.body.Write(b) }

func (r *dpRecorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}

func dpRequest(target string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, "http://x"+target, nil)
	return req
}
