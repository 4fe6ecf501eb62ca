package sim

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"

	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/probe"
)

func TestLBNearestRegion(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED"})
	url := "http://" + l.addr + "/?format=json"
	for _, c := range []struct{ client, want string }{
		{"", labRegionA}, // the simulator's default client location
		{labRegionA, labRegionA},
		{labRegionB, labRegionB},
		{"us-west1", labRegionA},
		{"europe-west4", labRegionB},
		{"asia-south1", labRegionB},  // Mumbai is nearer Belgium than Iowa
		{"not-a-region", labRegionA}, // ignored: the default applies
	} {
		a := dpGet(t, url, c.client)
		if a.status != http.StatusOK || a.region != c.want {
			t.Errorf("client in %q: %d from %q; want 200 from %s (%s)", c.client, a.status, a.region, c.want, a.body)
		}
		if via := a.header.Get("Via"); via != "1.1 google" {
			t.Errorf("Via = %q; want 1.1 google", via)
		}
	}
	if err := l.s.SetClientLocation("europe-west2"); err != nil {
		t.Fatal(err)
	}
	if a := dpGet(t, url, ""); a.region != labRegionB {
		t.Errorf("default client in europe-west2: answered from %q; want %s", a.region, labRegionB)
	}
	if err := l.s.SetClientLocation("mars-north1"); err == nil {
		t.Error("SetClientLocation accepted an unknown region")
	}
}

func TestLBHeaders(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED"})
	// Stand an echoing instance in for region A's.
	var mu sync.Mutex
	var seen http.Header
	var host string
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen, host = r.Header.Clone(), r.Host
		mu.Unlock()
		w.Header().Set("X-Served-Region", "echo-region")
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "dropped")
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte("short and stout"))
	}))
	defer echo.Close()
	dp := l.s.dataPlaneOf()
	dp.mu.Lock()
	sr := dp.services[testProject+"/"+labRegionA+"/"+labService]
	fake := dp.newInstance(sr.current.rr)
	fake.addr = strings.TrimPrefix(echo.URL, "http://")
	fake.access.Store(sr.current.access.Load())
	sr.current = fake
	dp.mu.Unlock()

	a := dpGet(t, "http://"+l.addr+"/path?q=1", labRegionA, "X-Forwarded-For", "203.0.113.9", "Connection", "X-Secret", "X-Secret", "hop")
	if a.status != http.StatusTeapot || a.body != "short and stout" || a.header.Get("X-Served-Region") != "echo-region" {
		t.Errorf("answer = %d %q %v; want the backend's 418, body and headers", a.status, a.body, a.header)
	}
	if a.header.Get("X-Hop") != "" || a.header.Get("Via") != "1.1 google" {
		t.Errorf("response headers %v: want hop-by-hop dropped, Via added", a.header)
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := seen.Get("X-Forwarded-For"), "203.0.113.9,127.0.0.1,"+l.ip; got != want {
		t.Errorf("X-Forwarded-For = %q; want %q", got, want)
	}
	if seen.Get("Via") != "1.1 google" || seen.Get("X-Forwarded-Proto") != "http" || seen.Get("X-Secret") != "" {
		t.Errorf("request headers %v: want Via, X-Forwarded-Proto, hop-by-hop dropped", seen)
	}
	if tc := seen.Get("X-Cloud-Trace-Context"); !strings.Contains(tc, "/") || len(tc) < 34 {
		t.Errorf("X-Cloud-Trace-Context = %q", tc)
	}
	if seen.Get(lab.ClientLocationHeader) != labRegionA {
		t.Errorf("the client location header was not passed on: %v", seen)
	}
	if host != l.addr {
		t.Errorf("Host = %q; want the client's %q", host, l.addr)
	}
}

// probeLB runs a probe against the lab's load balancer from client
// location loc until stop is called, and returns what it saw.
func probeLB(t testing.TB, l *labRig, loc string) (samples func() []probe.Sample, stop func(), next func(n int)) {
	t.Helper()
	return probeLBAt(t, l, loc, 200)
}

// probeLBAt is probeLB at rate requests a second.
func probeLBAt(t testing.TB, l *labRig, loc string, rate float64) (samples func() []probe.Sample, stop func(), next func(n int)) {
	t.Helper()
	var mu sync.Mutex
	var got []probe.Sample
	tick := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := probe.Run(ctx, probe.Config{
			URL:    "http://" + l.addr + "/?format=json",
			Rate:   rate,
			Header: http.Header{lab.ClientLocationHeader: {loc}},
			Client: dpHTTP,
		}, func(s probe.Sample) {
			mu.Lock()
			got = append(got, s)
			mu.Unlock()
			select {
			case tick <- struct{}{}:
			default:
			}
		})
		if err != nil {
			t.Error(err)
		}
	}()
	samples = func() []probe.Sample {
		mu.Lock()
		defer mu.Unlock()
		return append([]probe.Sample(nil), got...)
	}
	stop = func() { cancel(); <-done }
	// next waits for n more samples than there are now.
	next = func(n int) {
		t.Helper()
		want := len(samples()) + n
		deadline := time.After(20 * time.Second)
		for len(samples()) < want {
			select {
			case <-tick:
			case <-deadline:
				t.Fatalf("the probe took more than 20 s for %d samples", n)
			}
		}
	}
	t.Cleanup(func() { cancel(); <-done })
	return samples, stop, next
}

func TestLBFailoverWithOutlierDetectionAndRetries(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED", outlier: true, retry: true})
	samples, stop, next := probeLB(t, l, labRegionA)
	next(10)
	dp := l.s.dataPlaneOf()
	dp.mu.Lock()
	lb := dp.lbs[lbKey(testProject, l.ip, 80)]
	dp.mu.Unlock()

	breakAt := time.Now()
	l.setOutage(t, labRegionA, true)
	// Every front end ejects us-central1 on its own, after failures of its
	// own: a retry goes to us-central1 again until then.
	dpWaitFor(t, "us-central1 to be ejected by every front end", func() bool { next(1); return lb.ejected(labRegionA, "neg-a") == gfeCount })
	ejected := len(samples())
	next(10)

	// Restored, but ejected for baseEjectionTime (30 s) × 1.
	l.setOutage(t, labRegionA, false)
	next(10)
	if lb.ejected(labRegionA, "neg-a") != gfeCount {
		t.Fatal("us-central1 came back before its ejection time passed")
	}
	restored := len(samples())
	l.clk.Advance(30 * time.Second)
	dpWaitFor(t, "traffic back in us-central1", func() bool {
		next(1)
		s := samples()
		return s[len(s)-1].Region == labRegionA
	})
	next(10)
	stop()

	all := samples()
	r := probe.Analyze(all, breakAt)
	// With one retry and three consecutive gateway failures to eject, each
	// front end lets one request fail: the failing region answered both its
	// attempts. (More if requests overlapped.)
	if r.Failed < gfeCount || r.Failed > 3*gfeCount {
		t.Errorf("%d of %d requests failed; want about %d, one per front end", r.Failed, r.Requests, gfeCount)
	}
	for _, s := range all[ejected:] {
		if s.Failed() {
			t.Fatalf("a request failed after every front end had ejected us-central1: %+v", s)
		}
	}
	if r.Before != labRegionA || r.After != labRegionA {
		t.Errorf("Before, After = %q, %q; want %s, %s", r.Before, r.After, labRegionA, labRegionA)
	}
	for _, s := range all[ejected:restored] {
		if s.Region != labRegionB {
			t.Fatalf("while us-central1 was ejected, a request was answered from %q", s.Region)
		}
	}
}

// Envoy's default: a retry is balanced like a first attempt, so it meets the
// failing region again until outlier detection ejects it, and each front
// end ejects on its own. Sequential requests make the count exact.
func TestLBRetryCanHitTheFailingRegionAgain(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED", outlier: true, retry: true})
	l.setOutage(t, labRegionA, true)
	url := "http://" + l.addr + "/?format=json"
	// Front ends take requests in turn. On each, the first request fails
	// twice in us-central1 (attempt and retry: two gateway failures); the
	// second fails once more, which ejects us-central1 at once, and its
	// retry is answered by europe-west1.
	for i := range gfeCount {
		if a := dpGet(t, url, labRegionA); a.status != http.StatusServiceUnavailable || a.region != labRegionA {
			t.Fatalf("request %d: %d from %q; want 503 from %s (its retry hit the failing region again)", i, a.status, a.region, labRegionA)
		}
	}
	for i := range 2 * gfeCount {
		if a := dpGet(t, url, labRegionA); a.status != http.StatusOK || a.region != labRegionB {
			t.Fatalf("request %d after the first round: %d from %q; want 200 from %s", gfeCount+i, a.status, a.region, labRegionB)
		}
	}
	dp := l.s.dataPlaneOf()
	dp.mu.Lock()
	lb := dp.lbs[lbKey(testProject, l.ip, 80)]
	dp.mu.Unlock()
	if n := lb.ejected(labRegionA, "neg-a"); n != gfeCount {
		t.Errorf("%d front ends ejected us-central1; want all %d", n, gfeCount)
	}
}

func TestLBClassicDoesNotFailOver(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL"})
	samples, stop, next := probeLB(t, l, labRegionA)
	next(5)
	breakAt := time.Now()
	l.setOutage(t, labRegionA, true)
	applied := time.Now()
	n := len(samples())
	l.clk.Advance(time.Minute)
	next(30)
	stop()
	var after []probe.Sample
	for _, s := range samples()[n:] {
		// A probe sent before the outage took effect may land after it.
		if !s.At.Before(applied) {
			after = append(after, s)
		}
	}
	for _, s := range after {
		if s.Status != http.StatusServiceUnavailable || s.Region != labRegionA {
			t.Fatalf("after the outage a request got %d from %q; want 503 from %s (no failover on classic)", s.Status, s.Region, labRegionA)
		}
	}
	r := probe.Analyze(samples(), breakAt)
	if r.Settled || r.Share[labRegionB] != 0 || r.Failed < len(after) {
		t.Errorf("report %+v: want unsettled, nothing from %s, at least %d failed", r, labRegionB, len(after))
	}
}

func TestLBManagedWithoutRetriesFailsOverAfterErrors(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED", outlier: true})
	l.setOutage(t, labRegionA, true)
	url := "http://" + l.addr + "/?format=json"
	// Three gateway failures in a row on each front end eject the region
	// there, at once.
	for i := 0; i < 3*gfeCount; i++ {
		if a := dpGet(t, url, labRegionA); a.status != http.StatusServiceUnavailable || a.region != labRegionA {
			t.Fatalf("request %d: %d from %q; want 503 from %s", i, a.status, a.region, labRegionA)
		}
	}
	for i := range gfeCount {
		if a := dpGet(t, url, labRegionA); a.status != http.StatusOK || a.region != labRegionB {
			t.Fatalf("after ejection, request %d: %d from %q; want 200 from %s", i, a.status, a.region, labRegionB)
		}
	}
}

func TestLBRetryConnectFailure(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED", retry: true})
	// Region A's service is deleted: its NEG finds no endpoint.
	op, err := l.rc.DeleteService(testCtx(t), &runpb.DeleteServiceRequest{Name: l.services[labRegionA].GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Wait(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	waitDataPlane(t, l.s, "region A to stop", func() bool {
		return l.s.dataPlaneOf().instanceFor(testProject, labRegionA, labService) == nil
	})
	// Without outlier detection nothing takes region A out of rotation: the
	// retry is balanced like the first attempt and meets the same failure.
	if a := dpGet(t, "http://"+l.addr+"/?format=json", labRegionA); a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, "upstream connect error") {
		t.Errorf("got %d %q; want 503 upstream connect error (the retry went to the same region)", a.status, a.body)
	}
}

func TestLBPropagation(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED", sim: Options{Profile: Profile{Propagation: 5 * time.Minute}}})
	url := "http://" + l.addr + "/"
	a := dpGet(t, url, "")
	if a.status != http.StatusNotFound || !strings.Contains(a.body, "Error: Not Found") || !strings.Contains(a.body, "The requested URL <code>/</code> was not found on this server.") {
		t.Errorf("before propagation: %d %q; want Google's 404 page", a.status, a.body)
	}
	if f := frontendsAnswer(t, l, "80"); f.Serving || f.Address != l.addr {
		t.Errorf("frontends endpoint before propagation = %+v", f)
	}
	l.clk.Advance(5 * time.Minute)
	if a := dpGet(t, url, ""); a.status != http.StatusOK || !strings.Contains(a.body, "It's running!") {
		t.Errorf("after propagation: %d %q", a.status, a.body)
	}
	if f := frontendsAnswer(t, l, ""); !f.Serving || f.Address != l.addr {
		t.Errorf("frontends endpoint after propagation = %+v", f)
	}
}

type frontendsReply struct {
	Address string
	Serving bool
	Error   struct {
		Code    int
		Message string
	}
}

func frontendsAnswer(t *testing.T, l *labRig, port string) frontendsReply {
	t.Helper()
	url := l.s.Endpoints().Compute + "/beyond/v1/frontends?project=" + testProject + "&ip=" + l.ip
	if port != "" {
		url += "&port=" + port
	}
	a := dpGet(t, url, "")
	var f frontendsReply
	if err := json.Unmarshal([]byte(a.body), &f); err != nil || a.status != http.StatusOK {
		t.Fatalf("GET %s = %d %q (%v)", url, a.status, a.body, err)
	}
	return f
}

func TestFrontendEndpoint(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL"})
	if addr, ok := l.s.FrontendAddr(testProject, l.ip, 80); !ok || addr != l.addr {
		t.Errorf("FrontendAddr = %q, %v", addr, ok)
	}
	if _, ok := l.s.FrontendAddr(testProject, l.ip, 8080); ok {
		t.Error("FrontendAddr found a rule on port 8080")
	}
	if f := frontendsAnswer(t, l, "80"); !f.Serving || f.Address != l.addr {
		t.Errorf("frontends = %+v", f)
	}
	base := l.s.Endpoints().Compute + "/beyond/v1/frontends"
	for q, want := range map[string]int{
		"":                        http.StatusBadRequest,
		"?project=" + testProject: http.StatusBadRequest,
		"?project=" + testProject + "&ip=x&port=99999": http.StatusBadRequest,
		"?project=" + testProject + "&ip=127.9.9.9":    http.StatusNotFound,
	} {
		if a := dpGet(t, base+q, ""); a.status != want || !strings.Contains(a.body, `"message"`) {
			t.Errorf("GET frontends%s = %d %q; want %d with a message", q, a.status, a.body, want)
		}
	}
}

func TestLBOutlierMaxEjection(t *testing.T) {
	svc := &FrontendService{Name: "bs", Backends: []FrontendBackend{{NEG: "a", Region: labRegionA}, {NEG: "b", Region: labRegionB}}}
	od := &FrontendOutlier{ConsecutiveErrors: 5, EnforcingConsecutiveErrors: 0, ConsecutiveGatewayFailure: 3,
		EnforcingConsecutiveGatewayFailure: 100, Interval: time.Second, BaseEjectionTime: 30 * time.Second, MaxEjectionPercent: 50}
	var o outliers
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o.route(t0, svc, od, []int{0, 1})
	fail := &attempt{status: http.StatusBadGateway}
	for range 3 {
		o.record(t0, svc, od, svc.Backends[0], fail)
		o.record(t0, svc, od, svc.Backends[1], fail)
	}
	// a reached the threshold first and was ejected at once; b reached it
	// too, but 50% of two backends is one.
	if got := o.route(t0, svc, od, []int{0, 1}); len(got) != 1 || got[0] != 1 {
		t.Fatalf("routes to %v; want [1] (a ejected, b kept by maxEjectionPercent)", got)
	}
	if !o.ejected(labRegionA, "a") || o.ejected(labRegionB, "b") {
		t.Fatal("want a ejected, b not")
	}
	// 500s do not count as gateway failures, and consecutiveErrors is not
	// enforced by default.
	for range 10 {
		o.record(t0, svc, od, svc.Backends[1], &attempt{status: http.StatusInternalServerError})
	}
	if o.ejected(labRegionB, "b") {
		t.Fatal("b ejected by 500s that nothing enforces")
	}
	// Back after baseEjectionTime × 1, at a sweep.
	if got := o.route(t0.Add(29*time.Second), svc, od, []int{0, 1}); len(got) != 1 {
		t.Fatalf("at 29 s routes to %v; want a still ejected", got)
	}
	if got := o.route(t0.Add(31*time.Second), svc, od, []int{0, 1}); len(got) != 2 {
		t.Fatalf("at 31 s routes to %v; want both", got)
	}
	// Ejected again: for twice as long.
	t1 := t0.Add(32 * time.Second)
	for range 3 {
		o.record(t1, svc, od, svc.Backends[0], &attempt{connect: true})
	}
	if got := o.route(t1.Add(59*time.Second), svc, od, []int{0, 1}); len(got) != 1 {
		t.Fatalf("59 s into the second ejection routes to %v; want a still ejected", got)
	}
	if got := o.route(t1.Add(61*time.Second), svc, od, []int{0, 1}); len(got) != 2 {
		t.Fatalf("61 s into the second ejection routes to %v; want both", got)
	}
}

func TestLBRetryConditions(t *testing.T) {
	for _, c := range []struct {
		a     attempt
		conds string
		want  bool
	}{
		{attempt{status: 500}, "5xx", true},
		{attempt{status: 500}, "gateway-error", false},
		{attempt{status: 503}, "gateway-error", true},
		{attempt{connect: true, status: 503}, "connect-failure", true},
		{attempt{status: 503}, "connect-failure", false},
		{attempt{reset: true, status: 503}, "5xx", true},
		{attempt{timeout: true, status: 504}, "reset", true},
		{attempt{status: 409}, "retriable-4xx", true},
		{attempt{status: 404}, "retriable-4xx,5xx", false},
		{attempt{status: 200}, "5xx,gateway-error,connect-failure", false},
		{attempt{status: 503}, "", false},
	} {
		var conds []string
		if c.conds != "" {
			conds = strings.Split(c.conds, ",")
		}
		if got := c.a.retryable(conds); got != c.want {
			t.Errorf("%+v with %q: retryable = %v; want %v", c.a, c.conds, got, c.want)
		}
	}
}

func TestLBLatencyTable(t *testing.T) {
	for _, r := range lab.Regions {
		if !KnownRegion(r) {
			t.Errorf("Cloud Run region %s has no site in the latency table", r)
		}
	}
	for pair := range rttMeasured {
		if !KnownRegion(pair[0]) || !KnownRegion(pair[1]) {
			t.Errorf("measured pair %v names an unknown region", pair)
		}
	}
	rtt := func(a, b string) time.Duration {
		d, ok := RegionRTT(a, b)
		if !ok {
			t.Fatalf("RegionRTT(%s, %s) unknown", a, b)
		}
		if d2, _ := RegionRTT(b, a); d2 != d {
			t.Errorf("RegionRTT is not symmetric for %s, %s", a, b)
		}
		return d
	}
	if d := rtt(labRegionA, labRegionB); d < 80*time.Millisecond || d > 130*time.Millisecond {
		t.Errorf("us-central1 ↔ europe-west1 = %v; want about 100 ms", d)
	}
	if rtt(labRegionA, labRegionA) != time.Millisecond {
		t.Error("within a region is not 1 ms")
	}
	if rtt("europe-west2", labRegionB) >= rtt("europe-west2", labRegionA) {
		t.Error("London is not nearer Belgium than Iowa")
	}
	if d := rtt("asia-northeast1", "australia-southeast1"); d < 80*time.Millisecond || d > 160*time.Millisecond {
		t.Errorf("Tokyo ↔ Sydney (estimated) = %v; want about 115 ms", d)
	}
	if _, ok := RegionRTT("mars-north1", labRegionA); ok {
		t.Error("an unknown region has a round-trip time")
	}
}

// waitFor retries cond, which itself waits for progress (a probe sample),
// until it holds.
func dpWaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: gave up after 20 s", what)
		}
	}
}

func TestLBBadRequests(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED", retry: true})
	// A body over Cloud Run's 32 MiB is refused before it is read.
	req, _ := http.NewRequest(http.MethodPost, "http://"+l.addr+"/", strings.NewReader("x"))
	req.ContentLength = maxLBBody + 1
	req.Body = io.NopCloser(io.LimitReader(zeros{}, maxLBBody+1))
	resp, err := dpHTTP.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized body: %d; want 413", resp.StatusCode)
		}
	}
	// Garbage on the wire gets an answer, and the listener keeps serving.
	for _, raw := range []string{
		"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
		"NOT HTTP AT ALL\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
		"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		conn, err := net.Dial("tcp", l.addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(conn, raw)
		line, _ := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if !strings.HasPrefix(line, "HTTP/1.1 ") {
			t.Errorf("%q: answered %q", raw, line)
		}
	}
	if a := dpGet(t, "http://"+l.addr+"/?format=json", ""); a.status != http.StatusOK {
		t.Errorf("after bad requests: %d", a.status)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestLBFlap: under Conditions.LBFlap a new load balancer, once it first
// serves, answers 200, 404 and 502 on and off until the flap time is over.
func TestLBFlap(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED", sim: Options{
		Profile:    Profile{Propagation: time.Minute},
		Conditions: &Conditions{LBFlap: 30 * time.Second},
	}})
	url := "http://" + l.addr + "/"
	l.clk.Advance(time.Minute + flapPeriod/2) // the middle of the first phase
	var got []int
	for range 6 {
		got = append(got, dpGet(t, url, "").status)
		l.clk.Advance(flapPeriod)
	}
	want := []int{200, 404, 502, 200, 404, 502}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("while flapping, a second apart: %v; want %v", got, want)
	}
	l.clk.Advance(30 * time.Second)
	for range 5 {
		if a := dpGet(t, url, ""); a.status != http.StatusOK {
			t.Fatalf("after the flap time: %d %q", a.status, a.body)
		}
		l.clk.Advance(flapPeriod / 2)
	}
}

// TestLBClientGoneIsNoBackendError: a client that gives up on its request
// (a probe's burst ending, curl's timeout, Ctrl-C) resets the attempt in
// flight, which says nothing of the backend. Envoy counts upstream
// failures against a host, not a downstream reset, so however many clients
// leave, the region they were routed to is not ejected.
func TestLBClientGoneIsNoBackendError(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED", outlier: true, retry: true})
	dp := l.s.dataPlaneOf()
	dp.mu.Lock()
	lb := dp.lbs[lbKey(testProject, l.ip, 80)]
	dp.mu.Unlock()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for range 5 * gfeCount {
		req := httptest.NewRequestWithContext(gone, http.MethodGet, "http://"+l.addr+"/?format=json", nil)
		req.Header.Set(lab.ClientLocationHeader, labRegionA)
		lb.ServeHTTP(httptest.NewRecorder(), req)
	}
	if n := lb.ejected(labRegionA, "neg-a"); n != 0 {
		t.Errorf("%d front ends ejected us-central1 after clients that left; want none", n)
	}
	for i := range gfeCount {
		if a := dpGet(t, "http://"+l.addr+"/?format=json", labRegionA); a.status != http.StatusOK || a.region != labRegionA {
			t.Fatalf("request %d after the clients that left: %d from %q; want 200 from %s", i, a.status, a.region, labRegionA)
		}
	}
}
