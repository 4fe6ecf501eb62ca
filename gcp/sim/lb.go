package sim

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
)

// The global external Application Load Balancer of every global forwarding
// rule: a listener at the rule's address that routes as Google's does.
//
//   - It serves only once Profile.Propagation has passed since the rule was
//     made; until then it answers 404 with Google's plain "Error: Not Found"
//     page, as a new load balancer does while it provisions. Under
//     Conditions.LBFlap it then flaps for a while (404, 502, 200, on and
//     off).
//   - A request goes to the nearest region with a usable backend, nearest by
//     round-trip time (latency.go) from the client's location: the
//     simulator's default, or the request's X-Beyond-Client-Location.
//   - A classic EXTERNAL backend service neither ejects nor retries: a
//     failing region keeps its traffic.
//   - An EXTERNAL_MANAGED one applies the backend service's outlierDetection
//     per serverless NEG and the URL map's defaultRouteAction.retryPolicy, as
//     Envoy (which Google's global external ALB is built on) does by
//     default: a backend is ejected inline, the moment its consecutive
//     errors reach the threshold, and returned at the interval's sweeps; a
//     retry is balanced like a first attempt, so it goes to the nearest
//     region that is not ejected: the failing one again, until it is
//     ejected. URL maps expose no "other host" retry predicate, and Google
//     documents when a request is retried, not where.
//   - Each rule is served by several Google front ends (gfeCount), each with
//     its own outlier detection state, and requests are spread over them in
//     turn (deterministically). A failing region is therefore ejected by
//     each front end on its own, after errors of its own: clients see a few
//     failures at the start of an outage even with retries.
//
// Requests carry Via: 1.1 google, X-Forwarded-For: CLIENT,LB-IP,
// X-Forwarded-Proto and X-Cloud-Trace-Context; responses pass through with
// Via added.

// Bounds of what the load balancer carries: Cloud Run's HTTP/1 request and
// response size limit.
const (
	maxLBBody     = 32 << 20
	maxLBResponse = 32 << 20
)

// lb is one forwarding rule's load balancer.
type lb struct {
	dp     *dataPlane
	key    string // PROJECT/IP/PORT
	ruleID uint64
	addr   string // host:port it listens on
	srv    *http.Server
	cfg    atomic.Pointer[Frontend]
	gfes   [gfeCount]outliers // each front end's own outlier detection
	turn   atomic.Uint64      // which front end takes the next request
	armor  armorState         // Cloud Armor's rate-limit counters (armor.go)
	// failback counts requests that may go to a region recovering its
	// service health (health.go).
	failback atomic.Uint64
}

// gfeCount is how many Google front ends serve one forwarding rule for a
// client: a small fixed number, so that tests are deterministic.
const gfeCount = 3

// gfe picks the front end of the next request, in turn.
func (l *lb) gfe() *outliers { return &l.gfes[(l.turn.Add(1)-1)%gfeCount] }

// ejected reports how many of the front ends have ejected backend NEG neg
// of region.
func (l *lb) ejected(region, neg string) int {
	n := 0
	for i := range l.gfes {
		if l.gfes[i].ejected(region, neg) {
			n++
		}
	}
	return n
}

// reconcileLBsLocked opens a listener for every global forwarding rule and
// closes those of rules that are gone. Call with dp.mu held.
func (dp *dataPlane) reconcileLBsLocked(frontends []Frontend) {
	want := map[string]bool{}
	for i := range frontends {
		f := frontends[i]
		if f.IP == "" || f.Port <= 0 {
			continue
		}
		key := lbKey(f.Project, f.IP, f.Port)
		want[key] = true
		l := dp.lbs[key]
		if l != nil && l.ruleID != f.RuleID { // deleted and made again
			l.close()
			l = nil
		}
		if l == nil {
			var err error
			if l, err = dp.newLB(key, f); err != nil {
				dp.log.Warn("no listener for forwarding rule", "project", f.Project, "rule", f.Rule, "reason", err.Error())
				continue
			}
			dp.lbs[key] = l
		}
		l.cfg.Store(&f)
	}
	for key, l := range dp.lbs {
		if !want[key] {
			l.close()
			delete(dp.lbs, key)
		}
	}
	dp.changedLocked()
}

func lbKey(project, ip string, port int) string {
	return project + "/" + ip + "/" + strconv.Itoa(port)
}

// newLB listens for forwarding rule f: at its address and port if it can
// (port 80 needs privilege), else at its address on a free port, else (a
// loopback address other than the simulator's host cannot be bound, as on
// macOS) at the simulator's host (Options.Host) on a free port.
func (dp *dataPlane) newLB(key string, f Frontend) (*lb, error) {
	var lis net.Listener
	var errs []error
	fallback := net.JoinHostPort(dp.host, "0")
	for _, addr := range []string{
		net.JoinHostPort(f.IP, strconv.Itoa(f.Port)),
		net.JoinHostPort(f.IP, "0"),
		fallback,
	} {
		if ip, err := netip.ParseAddr(f.IP); err != nil || !ip.IsLoopback() {
			if addr != fallback {
				continue // only ever listen on loopback
			}
		}
		var err error
		if lis, err = net.Listen("tcp", addr); err == nil {
			break
		}
		errs = append(errs, err)
	}
	if lis == nil {
		return nil, errors.Join(errs...)
	}
	l := &lb{dp: dp, key: key, ruleID: f.RuleID, addr: lis.Addr().String()}
	l.cfg.Store(&f)
	if f.TLS() {
		lis = tls.NewListener(lis, &tls.Config{GetCertificate: l.certificate, MinVersion: tls.VersionTLS12})
	}
	l.srv = &http.Server{Handler: l, ReadHeaderTimeout: 10 * time.Second, ErrorLog: discardLog}
	go l.srv.Serve(lis)
	dp.log.Info("load balancer listening", "project", f.Project, "rule", f.Rule, "ip", f.IP, "port", f.Port, "addr", l.addr)
	return l, nil
}

func (l *lb) close() { l.srv.Close() }

// certificate is what an HTTPS load balancer presents for the client's
// server name: the ACTIVE certificate its map holds for that host. With
// none, the handshake fails, as Google's does while a certificate
// provisions (or for a host the map does not name).
func (l *lb) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	f := l.cfg.Load()
	s := l.dp.s
	s.mu.Lock()
	name, domains := s.servingCertLocked(f.Project, f.CertMap, hello.ServerName)
	s.mu.Unlock()
	if name == "" {
		return nil, fmt.Errorf("no ACTIVE certificate in map %s for %q", f.CertMap, hello.ServerName)
	}
	return s.ca.leaf(name, domains)
}

// redirect answers with a URL map's defaultUrlRedirect, with the short HTML
// body Google's front ends send.
func redirect(w http.ResponseWriter, r *http.Request, rd *FrontendRedirect) {
	scheme := "http"
	if r.TLS != nil || rd.HTTPS {
		scheme = "https"
	}
	host, path := r.Host, r.URL.Path
	if h, _, err := net.SplitHostPort(host); err == nil && scheme == "https" && r.TLS == nil {
		host = h // the port of plain HTTP does not carry over to HTTPS
	}
	if rd.Host != "" {
		host = rd.Host
	}
	if rd.Path != "" {
		path = rd.Path
	}
	loc := scheme + "://" + host + path
	if !rd.StripQuery && r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	text := http.StatusText(rd.Code)
	if rd.Code == http.StatusMovedPermanently {
		text = "Moved"
	}
	w.Header().Set("Location", loc)
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(rd.Code)
	fmt.Fprintf(w, "<HTML><HEAD><meta http-equiv=\"content-type\" content=\"text/html;charset=utf-8\">\n<TITLE>%d %s</TITLE></HEAD><BODY>\n<H1>%d %s</H1>\nThe document has moved\n<A HREF=\"%s\">here</A>.\r\n</BODY></HTML>\r\n", rd.Code, text, rd.Code, text, loc)
}

// serving reports whether the load balancer routes: its rule has
// propagated and its URL map leads to a backend service with backends.
func (l *lb) serving(f *Frontend, now time.Time) bool {
	if p := l.dp.s.opts.Profile.Propagation; p > 0 && now.Before(f.Created.Add(p)) {
		return false
	}
	return f.Redirect != nil || (f.Service != nil && len(f.Service.Backends) > 0)
}

// flapPeriod is how long each phase of a flapping load balancer lasts.
const flapPeriod = time.Second

// flap is the error a load balancer whose configuration is still spreading
// answers instead of routing (Conditions.LBFlap), or 0. For LBFlap after it
// first serves, Google's front ends disagree: some route, some answer 404 as
// if the map did not exist yet, some 502. The simulator cycles through the
// three a second each on its clock, so that one 200 proves nothing but a
// run of answers over a few seconds does.
func (l *lb) flap(f *Frontend, now time.Time) int {
	d := l.dp.s.cond.LBFlap
	since := now.Sub(f.Created.Add(l.dp.s.opts.Profile.Propagation))
	if d <= 0 || since < 0 || since >= d {
		return 0
	}
	switch (since / flapPeriod) % 3 {
	case 1:
		return http.StatusNotFound
	case 2:
		return http.StatusBadGateway
	}
	return 0
}

func (l *lb) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := l.cfg.Load()
	now := l.dp.s.now()
	if p := l.dp.s.opts.Profile.Propagation; p > 0 && now.Before(f.Created.Add(p)) {
		googleError(w, r, http.StatusNotFound) // still provisioning
		return
	}
	if status := l.flap(f, now); status != 0 {
		googleError(w, r, status) // configuration still spreading
		return
	}
	if f.Redirect != nil {
		redirect(w, r, f.Redirect)
		return
	}
	svc := f.Service
	if svc == nil || len(svc.Backends) == 0 {
		googleError(w, r, http.StatusBadGateway)
		return
	}
	if svc.Armor != nil {
		v := l.armor.evaluate(svc.Armor, r, now)
		if v.previewed != "" {
			l.dp.log.Debug("cloud armor preview: not enforced", "policy", svc.Armor.Name, "would", v.previewed, "client", r.RemoteAddr)
		}
		if v.status != 0 {
			w.Header().Add("Via", "1.1 google")
			googleError(w, r, v.status)
			return
		}
	}
	if r.ContentLength > maxLBBody {
		googleError(w, r, http.StatusRequestEntityTooLarge)
		return
	}
	// The body is kept whole so that a retry can send it again.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxLBBody+1))
	if err != nil {
		googleError(w, r, http.StatusBadRequest)
		return
	}
	if len(body) > maxLBBody {
		googleError(w, r, http.StatusRequestEntityTooLarge)
		return
	}

	client := l.dp.clientLocationFor(r)
	managed := strings.EqualFold(svc.Scheme, "EXTERNAL_MANAGED")
	byRTT := nearest(svc.Backends, client)
	var od *FrontendOutlier
	if managed {
		od = svc.Outlier
	}
	gfe := l.gfe()
	attempts, perTry, conds := 1, time.Duration(0), []string(nil)
	if managed && f.Retry != nil {
		attempts += max(f.Retry.NumRetries, 0)
		perTry, conds = f.Retry.PerTryTimeout, f.Retry.Conditions
	}
	trace := r.Header.Get("X-Cloud-Trace-Context")
	if trace == "" {
		trace = newTraceContext()
	}
	for a := 0; ; a++ {
		// Every attempt, retries included, is balanced afresh: the nearest
		// backend this front end has not ejected.
		// Service health first: an unhealthy region gets nothing, and with
		// no healthy region left the answer is Envoy's own.
		order := l.healthRoute(f, svc, byRTT, l.dp.s.now())
		if len(order) == 0 {
			noHealthyUpstream(w)
			return
		}
		if od != nil {
			order = gfe.route(l.dp.s.now(), svc, od, order)
		}
		i := order[0]
		res := l.try(r, f, svc.Backends[i], body, perTry, client, trace)
		if r.Context().Err() != nil {
			// The client left, resetting the attempt in flight: that says
			// nothing of the backend (Envoy counts a host's own failures,
			// not a downstream reset), and no one waits for an answer.
			res.discard()
			return
		}
		if od != nil {
			gfe.record(l.dp.s.now(), svc, od, svc.Backends[i], res)
		}
		if a+1 < attempts && r.Context().Err() == nil && res.retryable(conds) {
			res.discard()
			continue
		}
		res.write(w, r, managed)
		return
	}
}

// nearest orders backends by round-trip time from the client's region,
// keeping the backend service's order among equals; regions the simulator
// does not know come last.
func nearest(backends []FrontendBackend, client string) []int {
	order := make([]int, len(backends))
	rtt := make([]time.Duration, len(backends))
	for i, b := range backends {
		order[i] = i
		d, ok := RegionRTT(client, b.Region)
		if !ok {
			d = time.Hour
		}
		rtt[i] = d
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rtt[a], rtt[b]) })
	return order
}

// attempt is the outcome of sending a request to one backend.
type attempt struct {
	resp    *http.Response
	cancel  context.CancelFunc
	status  int    // the response's status, or the one answered for an error
	local   int    // a page answered by Cloud Run itself (403, 404), or 0
	connect bool   // no connection could be made
	reset   bool   // the connection failed before a response
	timeout bool   // perTryTimeout passed
	reason  string // why, for an error
}

// failed reports whether no response came.
func (a *attempt) failed() bool { return a.connect || a.reset || a.timeout }

// gatewayFailure is what outlier detection's consecutiveGatewayFailure
// counts: 502, 503, 504, and no response.
func (a *attempt) gatewayFailure() bool {
	return a.failed() || a.status == http.StatusBadGateway || a.status == http.StatusServiceUnavailable || a.status == http.StatusGatewayTimeout
}

// serverError is what consecutiveErrors counts: any 5xx, and no response.
func (a *attempt) serverError() bool { return a.failed() || a.status >= 500 }

// retryable reports whether a retry policy with conditions conds retries a.
func (a *attempt) retryable(conds []string) bool {
	for _, c := range conds {
		switch c {
		case "5xx":
			if a.serverError() {
				return true
			}
		case "gateway-error":
			if a.gatewayFailure() {
				return true
			}
		case "connect-failure":
			if a.connect {
				return true
			}
		case "reset":
			if a.reset || a.timeout {
				return true
			}
		case "retriable-4xx":
			if a.status == http.StatusConflict {
				return true
			}
		case "refused-stream":
			// An HTTP/2 REFUSED_STREAM: instances here speak HTTP/1.1.
		}
	}
	return false
}

func (a *attempt) discard() {
	if a.resp != nil {
		io.Copy(io.Discard, io.LimitReader(a.resp.Body, 64<<10))
		a.resp.Body.Close()
	}
	if a.cancel != nil {
		a.cancel()
	}
}

// write answers the client with a.
func (a *attempt) write(w http.ResponseWriter, r *http.Request, managed bool) {
	defer a.discard()
	h := w.Header()
	h.Add("Via", "1.1 google")
	switch {
	case a.resp != nil:
		copyHeader(h, a.resp.Header)
		w.WriteHeader(a.resp.StatusCode)
		io.Copy(w, io.LimitReader(a.resp.Body, maxLBResponse))
	case a.local != 0:
		googleError(w, r, a.local)
	case managed:
		// The Envoy-based load balancer's own words.
		h.Set("Content-Type", "text/plain")
		w.WriteHeader(a.status)
		if a.timeout {
			fmt.Fprint(w, "upstream request timeout")
		} else {
			fmt.Fprintf(w, "upstream connect error or disconnect/reset before headers. reset reason: %s", a.reason)
		}
	default:
		googleError(w, r, a.status)
	}
}

// try sends the request to backend b: to the instance serving its Cloud
// Run service. A request that meets an instance just replaced by a newer
// revision goes to the newer one, as Cloud Run's own routing does: a
// revision rollout is not an outage.
func (l *lb) try(r *http.Request, f *Frontend, b FrontendBackend, body []byte, perTry time.Duration, client, trace string) *attempt {
	inst := l.dp.awaitInstance(r.Context(), f.Project, b.Region, b.CloudRun)
	a := l.tryInstance(r, f, b, inst, body, perTry, client, trace)
	if a.connect || a.reset {
		if now := l.dp.awaitInstance(r.Context(), f.Project, b.Region, b.CloudRun); now != nil && now != inst {
			if a.cancel != nil {
				a.cancel()
			}
			return l.tryInstance(r, f, b, now, body, perTry, client, trace)
		}
	}
	return a
}

// tryInstance sends the request to one instance of backend b.
func (l *lb) tryInstance(r *http.Request, f *Frontend, b FrontendBackend, inst *instance, body []byte, perTry time.Duration, client, trace string) *attempt {
	if inst == nil || inst.addr == "" {
		// No such service, or nothing serves it: on Google the NEG's
		// requests find no endpoint.
		return &attempt{connect: true, status: http.StatusServiceUnavailable, reason: "connection failure"}
	}
	access := inst.access.Load()
	switch {
	case access.ingress == runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_ONLY:
		return &attempt{status: http.StatusNotFound, local: http.StatusNotFound}
	case !access.public && r.Header.Get("Authorization") == "":
		return &attempt{status: http.StatusForbidden, local: http.StatusForbidden}
	}
	if l.dp.s.opts.Profile.NetworkLatency {
		if d, ok := RegionRTT(client, b.Region); ok {
			dpSleep(r.Context(), d)
		}
	}
	ctx, cancel := r.Context(), context.CancelFunc(func() {})
	if perTry > 0 {
		ctx, cancel = context.WithTimeout(ctx, perTry)
	}
	out, err := http.NewRequestWithContext(ctx, r.Method, "http://"+inst.addr+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		cancel()
		return &attempt{status: http.StatusBadRequest, local: http.StatusBadRequest}
	}
	copyHeader(out.Header, r.Header)
	out.Host = r.Host
	clientIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	xff := clientIP + "," + f.IP
	if prior := strings.Join(r.Header.Values("X-Forwarded-For"), ","); prior != "" {
		xff = prior + "," + xff
	}
	out.Header.Set("X-Forwarded-For", xff)
	out.Header.Set("X-Forwarded-Proto", "http")
	out.Header.Add("Via", "1.1 google")
	out.Header.Set("X-Cloud-Trace-Context", trace)
	resp, err := l.dp.tr.RoundTrip(out)
	if err != nil {
		a := &attempt{cancel: cancel, status: http.StatusServiceUnavailable}
		var op *net.OpError
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded) && r.Context().Err() == nil:
			a.timeout, a.status, a.reason = true, http.StatusGatewayTimeout, "timeout"
		case errors.As(err, &op) && op.Op == "dial":
			a.connect, a.reason = true, "connection failure"
		default:
			a.reset, a.reason = true, "connection termination"
		}
		if !strings.EqualFold(f.Service.Scheme, "EXTERNAL_MANAGED") && !a.timeout {
			a.status = http.StatusBadGateway
		}
		return a
	}
	return &attempt{resp: resp, cancel: cancel, status: resp.StatusCode}
}

// hopHeaders are the hop-by-hop headers a proxy does not forward.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// copyHeader adds src's end-to-end headers to dst.
func copyHeader(dst, src http.Header) {
	drop := map[string]bool{}
	for _, h := range hopHeaders {
		drop[h] = true
	}
	for _, v := range src.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			drop[http.CanonicalHeaderKey(strings.TrimSpace(name))] = true
		}
	}
	for k, vs := range src {
		if drop[k] {
			continue
		}
		for _, v := range vs {
			dst.Add(k, v)
		}
	}
}

// newTraceContext makes an X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1.
func newTraceContext() string {
	var b [24]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:16]) + "/" + strconv.FormatUint(binary.BigEndian.Uint64(b[16:])>>1, 10) + ";o=1"
}

// outliers is one front end's outlier detection state, per backend
// (serverless NEG). Like each of Google's front ends, it ejects on its own.
type outliers struct {
	mu        sync.Mutex
	settings  FrontendOutlier
	service   string
	lastSweep time.Time
	negs      map[string]*negHealth
}

// negHealth is what outlier detection knows of one backend.
type negHealth struct {
	errors, gateway int // consecutive 5xx, consecutive gateway failures
	ejected         bool
	ejectedAt       time.Time
	times           int // how many times it was ejected
}

func negKey(b FrontendBackend) string { return b.Region + "/" + b.NEG }

// route sweeps if an interval has passed, then removes ejected backends
// from order; if every backend is ejected it routes to them all, as Envoy
// does in panic.
func (o *outliers) route(now time.Time, svc *FrontendService, od *FrontendOutlier, order []int) []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.negs == nil || o.service != svc.Name || o.settings != *od {
		o.negs, o.service, o.settings, o.lastSweep = map[string]*negHealth{}, svc.Name, *od, now
	}
	interval := od.Interval
	if interval <= 0 {
		interval = time.Second
	}
	if now.Sub(o.lastSweep) >= interval {
		o.sweepLocked(now, svc, od)
		o.lastSweep = now
	}
	var kept []int
	for _, i := range order {
		if h := o.negs[negKey(svc.Backends[i])]; h == nil || !h.ejected {
			kept = append(kept, i)
		}
	}
	if len(kept) == 0 {
		return order
	}
	return kept
}

// sweepLocked returns backends whose ejection time has passed. Ejection
// itself happens inline, in record, as Envoy ejects on consecutive errors
// ("ejection either runs inline, for example in the case of consecutive
// 5xx, or at a specified interval": Envoy's outlier detection docs).
func (o *outliers) sweepLocked(now time.Time, svc *FrontendService, od *FrontendOutlier) {
	for _, h := range o.negs {
		if h.ejected && !now.Before(h.ejectedAt.Add(od.BaseEjectionTime*time.Duration(h.times))) {
			h.ejected, h.errors, h.gateway = false, 0, 0
		}
	}
}

// ejectLocked ejects h if a threshold is reached and enforced, unless
// maxEjectionPercent of the backends are ejected already.
func (o *outliers) ejectLocked(now time.Time, svc *FrontendService, od *FrontendOutlier, h *negHealth) {
	byErrors := od.ConsecutiveErrors > 0 && h.errors >= od.ConsecutiveErrors && enforce(od.EnforcingConsecutiveErrors)
	byGateway := od.ConsecutiveGatewayFailure > 0 && h.gateway >= od.ConsecutiveGatewayFailure && enforce(od.EnforcingConsecutiveGatewayFailure)
	if h.ejected || !(byErrors || byGateway) {
		return
	}
	ejected := 0
	for _, other := range o.negs {
		if other.ejected {
			ejected++
		}
	}
	limit := len(svc.Backends) * od.MaxEjectionPercent / 100
	if limit == 0 && od.MaxEjectionPercent > 0 {
		limit = 1 // Envoy ejects at least one host whatever the percentage
	}
	if ejected >= limit {
		return
	}
	h.ejected, h.ejectedAt, h.errors, h.gateway = true, now, 0, 0
	h.times++
}

// enforce rolls the enforcing percentage.
func enforce(percent int) bool {
	return percent >= 100 || (percent > 0 && mathrand.IntN(100) < percent)
}

// record counts a's outcome against backend b, and ejects b at once when it
// reaches a threshold.
func (o *outliers) record(now time.Time, svc *FrontendService, od *FrontendOutlier, b FrontendBackend, a *attempt) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.negs == nil {
		return
	}
	h := o.negs[negKey(b)]
	if h == nil {
		h = &negHealth{}
		o.negs[negKey(b)] = h
	}
	if a.serverError() {
		h.errors++
	} else {
		h.errors = 0
	}
	if a.gatewayFailure() {
		h.gateway++
	} else {
		h.gateway = 0
	}
	o.ejectLocked(now, svc, od, h)
}

// ejected reports whether backend NEG neg in region is ejected now.
func (o *outliers) ejected(region, neg string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	h := o.negs[region+"/"+neg]
	return h != nil && h.ejected
}

// FrontendAddr returns where the load balancer of a global forwarding rule
// listens, host:port: the rule's own IP address and port when the host lets
// the simulator bind them, else a free port on that address or on
// 127.0.0.1. ok is false if no rule of project has that address and port.
func (s *Sim) FrontendAddr(project, ip string, port int) (hostport string, ok bool) {
	dp := s.dataPlaneOf()
	if dp == nil {
		return "", false
	}
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if l := dp.lbs[lbKey(project, ip, port)]; l != nil {
		return l.addr, true
	}
	return "", false
}

// serveFrontends serves, beside the Compute API,
//
//	GET /beyond/v1/frontends?project=P&ip=IP&port=80
//	→ {"address": "host:port", "serving": true}
//
// so that a process that reached the simulator over the network (the lab
// under `beyond sim`) can find where a forwarding rule's IP really listens.
func (s *Sim) serveFrontends(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	project, ip, portStr := q.Get("project"), q.Get("ip"), q.Get("port")
	fail := func(code int, msg string) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
	}
	if project == "" || ip == "" {
		fail(http.StatusBadRequest, "give project and ip, e.g. /beyond/v1/frontends?project=my-proj&ip=127.20.0.1&port=80")
		return
	}
	port := 80
	if portStr != "" {
		n, err := strconv.Atoi(portStr)
		if err != nil || n < 1 || n > 65535 {
			fail(http.StatusBadRequest, fmt.Sprintf("port %q is not a port number (1-65535)", portStr))
			return
		}
		port = n
	}
	dp := s.dataPlaneOf()
	var l *lb
	if dp != nil {
		dp.mu.Lock()
		l = dp.lbs[lbKey(project, ip, port)]
		dp.mu.Unlock()
	}
	if l == nil {
		fail(http.StatusNotFound, fmt.Sprintf("no global forwarding rule of project %s listens on %s:%d (yet): create one, or wait for its operation", project, ip, port))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(map[string]any{"address": l.addr, "serving": l.serving(l.cfg.Load(), dp.s.now())})
}
