package sim

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/beyond-lab/beyond/lab"
)

// The data plane makes the simulated resources answer for real:
//
//   - every Cloud Run service's latest ready revision runs as an instance
//     that serves HTTP on loopback (instances.go): the hello sample built in
//     (hello.go), an image from the simulator's registry as a child process,
//     or, where that cannot run, the lab's service in-process;
//   - every service has a front listener, stable across revisions, that
//     routes to its current instance as the service's URL does on Google;
//   - every global forwarding rule gets a listener that routes like the
//     global external Application Load Balancer (lb.go).
//
// It reconciles with the simulator's state on every change (Sim.Changes).

// DefaultClientLocation is where the simulated client sits unless told.
const DefaultClientLocation = "us-central1"

// dataPlane is one simulator's data plane. It follows the core: it reads
// what should serve under s.mu, lets go, and then opens listeners and starts
// instances. It owns the fronts of Cloud Run services and tells the core
// each service's URL once its front listens.
type dataPlane struct {
	s    *Sim
	log  *slog.Logger
	host string          // the loopback address its listeners bind (Options.Host)
	tr   *http.Transport // to instances: loopback, many idle connections

	ctx      context.Context // ends at Close; cancels instance starts
	cancel   context.CancelFunc
	loopDone chan struct{}
	work     sync.WaitGroup // instance starts and stops in flight

	// reconcileMu serializes reconciling; it guards fronts. Taken before
	// s.mu and before dp.mu, never while holding either.
	reconcileMu sync.Mutex
	fronts      map[string]*front // by PROJECT/REGION/SERVICE

	mu             sync.Mutex
	closed         bool
	grace          time.Duration // SIGTERM to SIGKILL
	startTimeout   time.Duration // how long a process may take to listen
	clientLocation string
	services       map[string]*serviceRun // by PROJECT/REGION/SERVICE
	staged         map[string]*startup    // instances of revisions still deploying, by revision name (startup.go)
	lbs            map[string]*lb         // by PROJECT/IP/PORT
	change         chan struct{}          // closed and replaced when what serves changes
	images         *imageCache
}

// serviceRun is what runs for one Cloud Run service.
type serviceRun struct {
	project, region, service string
	current                  *instance // serves the service's traffic
	next                     *instance // starting; replaces current once up
	front                    *front
	health                   RegionHealth // service health (health.go)
	recovering               bool         // was unhealthy, not yet healthy again
}

// dataPlaneOf returns s's data plane, or nil before Start.
func (s *Sim) dataPlaneOf() *dataPlane { return s.dp }

// newDataPlane makes s's data plane, not yet running.
func newDataPlane(s *Sim) *dataPlane {
	ctx, cancel := context.WithCancel(context.Background())
	dp := &dataPlane{
		s:              s,
		log:            s.log.With("component", "dataplane"),
		host:           s.opts.Host,
		ctx:            ctx,
		cancel:         cancel,
		loopDone:       make(chan struct{}),
		grace:          10 * time.Second, // Cloud Run's SIGTERM-to-SIGKILL
		startTimeout:   30 * time.Second,
		clientLocation: DefaultClientLocation,
		fronts:         map[string]*front{},
		services:       map[string]*serviceRun{},
		staged:         map[string]*startup{},
		lbs:            map[string]*lb{},
		change:         make(chan struct{}),
		tr: &http.Transport{
			Proxy:               nil, // loopback only: never through a proxy
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConns:        512,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
	dp.images = newImageCache(dp)
	return dp
}

// startDataPlane starts reconciling instances and listeners with the
// simulator's state, until Close.
func (s *Sim) startDataPlane() error {
	go s.dp.loop()
	s.onClose(s.dp.close)
	return nil
}

// loop reconciles on every change of state until Close.
func (dp *dataPlane) loop() {
	defer close(dp.loopDone)
	for {
		changed := dp.s.Changes() // before reading, so no change is missed
		dp.reconcile()
		select {
		case <-changed:
		case <-dp.ctx.Done():
			return
		}
	}
}

// reconcile brings fronts, instances and load balancers in line with the
// simulator's state.
func (dp *dataPlane) reconcile() {
	dp.reconcileMu.Lock()
	defer dp.reconcileMu.Unlock()
	s := dp.s
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	ready := s.readyRevisionsLocked()
	starting := s.startingRevisionsLocked()
	frontends := s.frontendsLocked()
	services := s.runServiceKeysLocked()
	s.mu.Unlock()

	// Fronts: one per service, ready or not, opened without any lock of
	// the core; then the core learns each service's URL.
	urls := dp.reconcileFronts(services)
	s.mu.Lock()
	s.setServiceURLsLocked(urls)
	s.mu.Unlock()

	dp.mu.Lock()
	defer dp.mu.Unlock()
	if dp.closed {
		return
	}
	want := map[string]bool{}
	for _, rr := range ready {
		key := rr.Project + "/" + rr.Region + "/" + rr.Service
		want[key] = true
		sr := dp.services[key]
		if sr == nil {
			sr = &serviceRun{project: rr.Project, region: rr.Region, service: rr.Service}
			dp.services[key] = sr
		}
		sr.front = dp.fronts[key]
		switch {
		case sr.current != nil && sr.current.rr.RevisionName == rr.RevisionName:
			sr.current.setAccess(rr)
			if sr.current.rr.MinInstances != rr.MinInstances {
				// Service-level scaling changes without a new revision.
				sr.current.rr.MinInstances = rr.MinInstances
				sr.refreshHealthLocked(dp.s.now())
			}
			// A newer revision came and went: keep serving. A starting
			// instance is stopped by its own start, which sees it is no
			// longer wanted.
			sr.next = nil
		case sr.next != nil && sr.next.rr.RevisionName == rr.RevisionName:
			sr.next.setAccess(rr)
		case dp.staged[rr.RevisionName].passed():
			// Its instance passed its startup probe before the revision
			// was called ready: it serves from now on.
			inst := dp.staged[rr.RevisionName].inst
			delete(dp.staged, rr.RevisionName)
			inst.rr = rr // what changed while it deployed (access, scaling)
			inst.setAccess(rr)
			sr.next = inst
			dp.promoteLocked(sr, inst)
		default:
			sr.next = dp.newInstance(rr) // a starting one stops itself
			dp.work.Add(1)
			go dp.start(sr, sr.next)
		}
		sr.publishLocked()
	}
	for key, sr := range dp.services {
		if want[key] {
			continue
		}
		// Deleted, or no revision is ready any more: nothing serves.
		dp.stopLocked(sr.current)
		sr.current, sr.next = nil, nil // a starting one stops itself
		if f := dp.fronts[key]; f != nil {
			sr.front = f
			sr.publishLocked()
		}
		delete(dp.services, key)
	}
	dp.stageLocked(starting)
	dp.reconcileLBsLocked(frontends)
}

// reconcileFronts opens a front for every service in keys that has none
// and closes those of services that are gone. It returns each service's
// URL. Call with dp.reconcileMu held, and no other lock.
func (dp *dataPlane) reconcileFronts(keys []string) map[string]string {
	urls := map[string]string{}
	keep := map[string]bool{}
	for _, key := range keys {
		keep[key] = true
		f := dp.fronts[key]
		if f == nil {
			var err error
			if f, err = dp.newFront(key); err != nil {
				dp.log.Warn("no front for Cloud Run service", "service", key, "reason", err.Error())
				continue
			}
			dp.fronts[key] = f
		}
		urls[key] = f.url
	}
	for key, f := range dp.fronts {
		if !keep[key] {
			f.close()
			delete(dp.fronts, key)
		}
	}
	return urls
}

// start runs inst, then makes it serve its service if it is still wanted.
func (dp *dataPlane) start(sr *serviceRun, inst *instance) {
	defer dp.work.Done()
	dp.startInstance(dp.ctx, inst)
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if dp.closed || sr.next != inst || dp.services[sr.project+"/"+sr.region+"/"+sr.service] != sr {
		dp.stopLocked(inst)
		return
	}
	dp.promoteLocked(sr, inst)
}

// promoteLocked makes inst, started, serve its service in place of the
// current instance. Call with dp.mu held.
func (dp *dataPlane) promoteLocked(sr *serviceRun, inst *instance) {
	old := sr.current
	sr.current, sr.next = inst, nil
	sr.publishLocked()
	dp.stopLocked(old)
	sr.refreshHealthLocked(dp.s.now())
	dp.startReadiness(inst)
	dp.changedLocked()
	dp.log.Info("instance serving", "project", sr.project, "region", sr.region, "service", sr.service,
		"revision", inst.rr.Revision, "kind", inst.kind, "addr", inst.addr)
}

// stopLocked stops inst in the background (a process gets its grace
// period). Call with dp.mu held; nil is fine.
func (dp *dataPlane) stopLocked(inst *instance) {
	if inst == nil {
		return
	}
	grace := dp.grace
	dp.work.Add(1)
	go func() {
		defer dp.work.Done()
		inst.stop(grace)
	}()
}

// publishLocked points the service's front at its current instance.
func (sr *serviceRun) publishLocked() {
	if sr.front != nil {
		sr.front.target.Store(sr.current)
	}
}

// changedLocked wakes those waiting on changes. Call with dp.mu held.
func (dp *dataPlane) changedLocked() {
	close(dp.change)
	dp.change = make(chan struct{})
}

// changes returns a channel closed at the next change of what serves: an
// instance taking over, a listener opening or closing.
func (dp *dataPlane) changes() <-chan struct{} {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	return dp.change
}

// coldStart is how long a request waits for a service's first instance to
// start: Cloud Run holds requests during a cold start rather than failing
// them, and a revision only counts as ready once its container listens.
const coldStart = 10 * time.Second

// awaitInstance returns the instance serving a Cloud Run service, waiting
// while its first instance is still starting; nil if none serves.
func (dp *dataPlane) awaitInstance(ctx context.Context, project, region, service string) *instance {
	deadline := time.NewTimer(coldStart)
	defer deadline.Stop()
	caughtUp := false
	for {
		dp.mu.Lock()
		var current, starting *instance
		if sr := dp.services[project+"/"+region+"/"+service]; sr != nil {
			current, starting = sr.current, sr.next
		}
		changed := dp.change
		dp.mu.Unlock()
		if current == nil && starting == nil && !caughtUp && dp.s.hasReadyRevision(project, region, service) {
			// The core called a revision ready a moment ago and the
			// loop has not followed yet: follow now rather than answer
			// 503 to the first request after the deploy.
			caughtUp = true
			dp.reconcile()
			continue
		}
		if current != nil || starting == nil {
			return current
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil
		case <-deadline.C:
			return nil
		}
	}
}

// instanceFor returns the instance serving a Cloud Run service, or nil.
func (dp *dataPlane) instanceFor(project, region, service string) *instance {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if sr := dp.services[project+"/"+region+"/"+service]; sr != nil {
		return sr.current
	}
	return nil
}

// close stops everything the data plane started: the loop, the listeners,
// and every instance (a process gets its grace period, then SIGKILL).
func (dp *dataPlane) close() error {
	dp.cancel()
	<-dp.loopDone
	dp.mu.Lock()
	dp.closed = true
	for _, sr := range dp.services {
		dp.stopLocked(sr.current) // a starting one stops itself: dp.closed
	}
	dp.services = map[string]*serviceRun{}
	dp.stageLocked(nil) // likewise
	lbs := dp.lbs
	dp.lbs = map[string]*lb{}
	dp.mu.Unlock()

	dp.reconcileMu.Lock() // the core is closed: no reconcile opens more
	for key, f := range dp.fronts {
		f.close()
		delete(dp.fronts, key)
	}
	dp.reconcileMu.Unlock()
	for _, l := range lbs {
		l.close()
	}
	dp.work.Wait()
	dp.images.close()
	dp.tr.CloseIdleConnections()
	return nil
}

// SetClientLocation sets the region the simulated client sits in: the load
// balancers route its requests to the nearest region with a usable backend.
// A request's X-Beyond-Client-Location header overrides it.
func (s *Sim) SetClientLocation(region string) error {
	if !KnownRegion(region) {
		return fmt.Errorf("client location %q is not a Google Cloud region the simulator knows: use one such as us-central1 or europe-west1", region)
	}
	dp := s.dataPlaneOf()
	if dp == nil {
		return errors.New("the simulator's data plane is not running: call SetClientLocation after Start")
	}
	dp.mu.Lock()
	defer dp.mu.Unlock()
	dp.clientLocation = region
	return nil
}

// ServiceURL returns the URL that reaches a Cloud Run service through the
// simulator's data plane, http://HOST:PORT (HOST is Options.Host), stable
// across revisions; false if the service does not exist. It answers 503
// while no revision of the service is ready. A service created a moment
// ago may not have its front yet: ServiceURL reconciles the data plane
// first in that case.
func (s *Sim) ServiceURL(project, region, service string) (string, bool) {
	url, exists := s.serviceURL(project, region, service)
	if url == "" && exists && s.dp != nil {
		s.dp.reconcile()
		url, _ = s.serviceURL(project, region, service)
	}
	return url, url != ""
}

// hasReadyRevision reports whether a Cloud Run service has a revision
// ready to serve.
func (s *Sim) hasReadyRevision(project, region, service string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.projects[project]; p != nil {
		rs := p.run.services[region+"/"+service]
		return rs != nil && rs.ready != nil
	}
	return false
}

// serviceURL returns the URL the data plane gave a service, and whether
// the service exists.
func (s *Sim) serviceURL(project, region, service string) (url string, exists bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", false
	}
	p := s.projects[project]
	if p == nil {
		return "", false
	}
	rs := p.run.services[region+"/"+service]
	if rs == nil {
		return "", false
	}
	return rs.url, true
}

// front is a Cloud Run service's own URL: it routes to whatever instance
// serves the service now, so it survives new revisions.
type front struct {
	dp     *dataPlane
	key    string // PROJECT/REGION/SERVICE
	url    string
	srv    *http.Server
	target atomic.Pointer[instance]
}

func (dp *dataPlane) newFront(key string) (*front, error) {
	lis, err := net.Listen("tcp", net.JoinHostPort(dp.host, "0"))
	if err != nil {
		return nil, fmt.Errorf("listen for the front of Cloud Run service %s: %w", key, err)
	}
	f := &front{dp: dp, key: key, url: "http://" + lis.Addr().String()}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second, ErrorLog: discardLog}
	go f.srv.Serve(lis)
	return f, nil
}

func (f *front) close() { f.srv.Close() }

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	inst := f.target.Load()
	if inst == nil {
		// A first instance may be starting, or just started: wait for it
		// as Cloud Run holds a request during a cold start.
		project, rest, _ := strings.Cut(f.key, "/")
		region, service, _ := strings.Cut(rest, "/")
		inst = f.dp.awaitInstance(r.Context(), project, region, service)
	}
	if inst == nil {
		googleError(w, r, http.StatusServiceUnavailable)
		return
	}
	// Reached directly, Cloud Run checks ingress and the invoker role. A
	// request from the internet that the ingress setting forbids, or to a
	// disabled default URL, gets Google's plain 404 page.
	access := inst.access.Load()
	if access.noDefault || access.ingress != runpb.IngressTraffic_INGRESS_TRAFFIC_ALL && access.ingress != runpb.IngressTraffic_INGRESS_TRAFFIC_UNSPECIFIED {
		googleError(w, r, http.StatusNotFound)
		return
	}
	if !access.public && r.Header.Get("Authorization") == "" {
		googleError(w, r, http.StatusForbidden)
		return
	}
	if dp := inst.dp; dp != nil && dp.s.opts.Profile.NetworkLatency {
		if d, ok := RegionRTT(dp.clientLocationFor(r), inst.rr.Region); ok {
			dpSleep(r.Context(), d)
		}
	}
	inst.proxy.ServeHTTP(w, r)
}

// clientLocationFor is the region a request comes from: its
// X-Beyond-Client-Location header if that names a known region, else the
// simulator's default.
func (dp *dataPlane) clientLocationFor(r *http.Request) string {
	if loc := strings.TrimSpace(r.Header.Get(lab.ClientLocationHeader)); KnownRegion(loc) {
		return loc
	}
	dp.mu.Lock()
	defer dp.mu.Unlock()
	return dp.clientLocation
}

// newInstanceProxy forwards to an instance at addr; an instance that does
// not answer makes a 503, as Cloud Run answers when a container is gone.
func (dp *dataPlane) newInstanceProxy(addr string) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = addr
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport: dp.tr,
		ErrorLog:  discardLog,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			googleError(w, r, http.StatusServiceUnavailable)
		},
	}
}

// googleError answers with the plain HTML error page Google's front ends
// serve (GFE), e.g. "Error: Server Error" for a 502.
func googleError(w http.ResponseWriter, r *http.Request, status int) {
	var title, detail string
	path := html.EscapeString(r.URL.Path)
	switch status {
	case http.StatusBadRequest:
		title, detail = "Bad Request", "Your client has issued a malformed or illegal request."
	case http.StatusForbidden:
		title, detail = "Forbidden", fmt.Sprintf("Your client does not have permission to get URL <code>%s</code> from this server.", path)
	case http.StatusNotFound:
		title, detail = "Not Found", fmt.Sprintf("The requested URL <code>%s</code> was not found on this server.", path)
	case http.StatusRequestEntityTooLarge:
		title, detail = "Request Entity Too Large", "Your client issued a request that was too large."
	case http.StatusTooManyRequests:
		// What a Cloud Armor deny(429) answers.
		title, detail = "Too Many Requests", "Your client has sent too many requests. Please try again later."
	case http.StatusServiceUnavailable:
		title, detail = "Service Unavailable", "The service you requested is not available at this time.<p>Please try again in 30 seconds."
	case http.StatusGatewayTimeout:
		title, detail = "Gateway Timeout", "The server did not answer in time.<p>Please try again in 30 seconds."
	default:
		status = http.StatusBadGateway
		title, detail = "Server Error", "The server encountered a temporary error and could not complete your request.<p>Please try again in 30 seconds."
	}
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<html><head>
<meta http-equiv="content-type" content="text/html;charset=utf-8">
<title>%d %s</title>
</head>
<body text=#000000 bgcolor=#ffffff>
<h1>Error: %s</h1>
<h2>%s</h2>
<h2></h2>
</body></html>
`, status, title, title, detail)
}

// dpSleep waits d or until ctx ends.
func dpSleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// discardLog silences net/http's own error lines (a client hanging up).
var discardLog = log.New(io.Discard, "", 0)
