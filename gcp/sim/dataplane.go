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

// dataPlane is one simulator's data plane.
type dataPlane struct {
	s   *Sim
	log *slog.Logger
	tr  *http.Transport // to instances: loopback, many idle connections

	ctx      context.Context // ends at Close; cancels instance starts
	cancel   context.CancelFunc
	loopDone chan struct{}
	work     sync.WaitGroup // instance starts and stops in flight

	mu             sync.Mutex
	closed         bool
	now            func() time.Time // the load balancers' clock; tests replace it
	grace          time.Duration    // SIGTERM to SIGKILL
	startTimeout   time.Duration    // how long a process may take to listen
	clientLocation string
	services       map[string]*serviceRun // by PROJECT/REGION/SERVICE
	lbs            map[string]*lb         // by PROJECT/IP/PORT
	projects       map[*project]bool      // whose fronts to close at Close
	change         chan struct{}          // closed and replaced when what serves changes
	images         *imageCache
}

// serviceRun is what runs for one Cloud Run service.
type serviceRun struct {
	project, region, service string
	current                  *instance // serves the service's traffic
	next                     *instance // starting; replaces current once up
	front                    *front
}

var dataPlanes sync.Map // *Sim → *dataPlane

// dataPlaneOf returns s's data plane, or nil before it starts.
func (s *Sim) dataPlaneOf() *dataPlane {
	if v, ok := dataPlanes.Load(s); ok {
		return v.(*dataPlane)
	}
	return nil
}

// startDataPlane starts reconciling instances and listeners with the
// simulator's state, until Close.
func (s *Sim) startDataPlane() error {
	ctx, cancel := context.WithCancel(context.Background())
	dp := &dataPlane{
		s:              s,
		log:            s.log.With("component", "dataplane"),
		ctx:            ctx,
		cancel:         cancel,
		loopDone:       make(chan struct{}),
		now:            time.Now,
		grace:          10 * time.Second, // Cloud Run's SIGTERM-to-SIGKILL
		startTimeout:   30 * time.Second,
		clientLocation: DefaultClientLocation,
		services:       map[string]*serviceRun{},
		lbs:            map[string]*lb{},
		projects:       map[*project]bool{},
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
	dataPlanes.Store(s, dp)
	s.registerFrontendsEndpoint()
	go dp.loop()
	s.onClose(dpCloser(dp.close))
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

// reconcile brings instances, fronts and load balancers in line with the
// simulator's state.
func (dp *dataPlane) reconcile() {
	s := dp.s
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	ready := s.readyRevisionsLocked()
	frontends := s.frontendsLocked()
	exists := map[string]*front{} // every service, ready or not, with its front
	var projects []*project
	for _, pid := range sortedKeys(s.projects) {
		p := s.projects[pid]
		projects = append(projects, p)
		pf := projectFrontsOf(p)
		keep := map[string]bool{}
		for key, rs := range p.run.services {
			keep[key] = true
			if f := pf.get(p, rs); f != nil {
				exists[p.id+"/"+key] = f
			}
		}
		pf.prune(keep)
	}
	s.mu.Unlock()

	dp.mu.Lock()
	defer dp.mu.Unlock()
	if dp.closed {
		return
	}
	for _, p := range projects {
		dp.projects[p] = true
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
		sr.front = exists[key]
		switch {
		case sr.current != nil && sr.current.rr.RevisionName == rr.RevisionName:
			sr.current.setAccess(rr)
			// A newer revision came and went: keep serving. A starting
			// instance is stopped by its own start, which sees it is no
			// longer wanted.
			sr.next = nil
		case sr.next != nil && sr.next.rr.RevisionName == rr.RevisionName:
			sr.next.setAccess(rr)
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
		if f := exists[key]; f != nil {
			sr.front = f
			sr.publishLocked()
		}
		delete(dp.services, key)
	}
	dp.reconcileLBsLocked(frontends)
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
	old := sr.current
	sr.current, sr.next = inst, nil
	sr.publishLocked()
	dp.stopLocked(old)
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
	for {
		dp.mu.Lock()
		var current, starting *instance
		if sr := dp.services[project+"/"+region+"/"+service]; sr != nil {
			current, starting = sr.current, sr.next
		}
		changed := dp.change
		dp.mu.Unlock()
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
	lbs := dp.lbs
	dp.lbs = map[string]*lb{}
	projects := dp.projects
	dp.mu.Unlock()

	// Fronts are made where Cloud Run reads a service's URL, which can be
	// for a project this loop never saw: close those of every project.
	dp.s.mu.Lock()
	for _, p := range dp.s.projects {
		projects[p] = true
	}
	dp.s.mu.Unlock()
	for p := range projects {
		projectFrontsOf(p).close()
		serviceFronts.Delete(p)
	}
	for _, l := range lbs {
		l.close()
	}
	dp.work.Wait()
	dp.images.close()
	dp.tr.CloseIdleConnections()
	dataPlanes.Delete(dp.s)
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
// simulator's data plane, http://127.0.0.1:PORT, stable across revisions;
// false if the service does not exist. It answers 503 while no revision of
// the service is ready.
func (s *Sim) ServiceURL(project, region, service string) (string, bool) {
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
	return frontURI(p, rs)
}

// The fronts of Cloud Run services. They are kept by project, outside the
// data plane, because Cloud Run's uri is computed (run.go) where only the
// project is at hand; the data plane points them at instances and closes
// them with the simulator.

var serviceFronts sync.Map // *project → *projectFronts

type projectFronts struct {
	mu     sync.Mutex
	closed bool
	fronts map[string]*front // by REGION/SERVICE
}

func projectFrontsOf(p *project) *projectFronts {
	v, _ := serviceFronts.LoadOrStore(p, &projectFronts{fronts: map[string]*front{}})
	return v.(*projectFronts)
}

// frontURI returns the loopback URL of service rs's front, opening the front
// on first use; false for a service not (or no longer) in p, such as the
// preview of a validate-only request, once the simulator is closed, or if no
// port is free. Call with s.mu held (Cloud Run's uri calls it while
// answering).
func frontURI(p *project, rs *runService) (string, bool) {
	if p.run.services[rs.key()] != rs {
		return "", false
	}
	f := projectFrontsOf(p).get(p, rs)
	if f == nil {
		return "", false
	}
	return f.url, true
}

// get returns the front of rs, opening it if need be; nil once closed.
func (pf *projectFronts) get(p *project, rs *runService) *front {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	if pf.closed {
		return nil
	}
	key := rs.key()
	if f := pf.fronts[key]; f != nil {
		return f
	}
	f, err := newFront(p.id + "/" + key)
	if err != nil {
		return nil
	}
	pf.fronts[key] = f
	return f
}

// prune closes the fronts of services that no longer exist.
func (pf *projectFronts) prune(keep map[string]bool) {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	for key, f := range pf.fronts {
		if !keep[key] {
			f.close()
			delete(pf.fronts, key)
		}
	}
}

func (pf *projectFronts) close() {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	pf.closed = true
	for key, f := range pf.fronts {
		f.close()
		delete(pf.fronts, key)
	}
}

// front is a Cloud Run service's own URL: it routes to whatever instance
// serves the service now, so it survives new revisions.
type front struct {
	key    string // PROJECT/REGION/SERVICE
	url    string
	srv    *http.Server
	target atomic.Pointer[instance]
}

func newFront(key string) (*front, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the front of Cloud Run service %s: %w", key, err)
	}
	f := &front{key: key, url: "http://" + lis.Addr().String()}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second, ErrorLog: discardLog}
	go f.srv.Serve(lis)
	return f, nil
}

func (f *front) close() { f.srv.Close() }

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	inst := f.target.Load()
	if inst == nil {
		googleError(w, r, http.StatusServiceUnavailable)
		return
	}
	// Reached directly, Cloud Run checks ingress and the invoker role.
	access := inst.access.Load()
	if access.ingress != runpb.IngressTraffic_INGRESS_TRAFFIC_ALL && access.ingress != runpb.IngressTraffic_INGRESS_TRAFFIC_UNSPECIFIED {
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

// dpCloser adapts a function to io.Closer, for onClose.
type dpCloser func() error

func (f dpCloser) Close() error { return f() }
