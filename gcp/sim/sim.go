// Package sim is an embedded simulator of the parts of Google Cloud that the
// lab uses. It is a server, not a mock: the lab reaches it with Google's own
// client libraries over loopback sockets, and it answers with Google's wire
// formats, operations and errors.
//
// One gRPC listener serves Cloud Run Admin v2 (with google.longrunning
// operations and IAM), Service Usage v1 and Artifact Registry v1. One HTTP
// listener serves Compute Engine v1 REST. Further listeners (the OCI registry,
// the metadata server, the fake Gemini endpoint and the data plane) are added
// by the files that own them.
package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/beyond-lab/beyond/gcp/sim/clock"
	"github.com/beyond-lab/beyond/lab"
	"google.golang.org/grpc"
)

// defaultHost is where the simulator listens unless Options.Host says.
const defaultHost = "127.0.0.1"

// Options configure a simulator. The zero value is a simulator on 127.0.0.1
// with no latency and no faults, which is what tests want.
type Options struct {
	// Host is the loopback address every listener binds, "127.0.0.1" if empty.
	Host string
	// Profile sets how long operations and propagation take.
	Profile Profile
	// Faults, if set, makes chosen calls fail.
	Faults *Faults
	// Conditions, if set, are the ways this project differs from a happy
	// one (no billing, an organisation policy, slow propagation); nil takes
	// the Profile's. ParseConditions builds them from a flag on top of a
	// profile's.
	Conditions *Conditions
	// Logger receives one line per API call; nil discards them.
	Logger *slog.Logger
	// BlobDir is where the OCI registry keeps image blobs, on disk so that
	// a pushed image costs no memory: in a directory of its own made in
	// BlobDir ("" is the system's temporary directory; beyond gives one
	// under its state directory) and removed at Close.
	BlobDir string
	// Clock is the simulated cloud's time: when operations finish, when a
	// new load balancer serves, how long an ejection lasts, resources'
	// timestamps. Nil is the wall clock; tests pass a clock.Adjustable and
	// move it forward instead of waiting.
	Clock clock.Clock
}

// Sim is a running simulator. Its methods are safe for concurrent use.
//
// Locks, in the order they may be taken (never the reverse):
//
//  1. s.mu guards the cloud's state: projects and everything in them,
//     operations, the sequence, endpoints, closers, closed. API calls hold
//     it while they read or change state; nothing holding it opens a socket,
//     waits, or calls out of the core (except registryImage, which asks the
//     registry in-process and takes only s.reg.mu).
//  2. The data plane's own locks (dataPlane.reconcileMu, then dataPlane.mu)
//     are taken without s.mu: the data plane copies what it needs out of
//     the core under s.mu, releases it, then opens listeners and starts
//     instances, and takes s.mu again only to write back service URLs and
//     whether a deploying revision's instance listens (revisionStarted).
//  3. s.reg.mu (the OCI registry) may be taken with s.mu held; s.md.mu (the
//     metadata servers) may be held when s.mu is taken. Neither is held
//     while the other is taken.
type Sim struct {
	opts  Options
	log   *slog.Logger
	clock clock.Clock
	cond  Conditions // Options.Conditions, else the profile's; fixed for the simulator's life

	mu        sync.Mutex
	projects  map[string]*project
	byNumber  map[int64]*project // the same projects by number
	born      time.Time          // when New ran: when every project it answers for was created
	shown     numbersShown       // numbers of projects read but not stored (state.go)
	change    chan struct{}      // closed and replaced on every change of state
	seq       int64              // source of unique operation and revision suffixes
	ops       opStore            // long-running operations of every API (operations.go)
	closers   []func() error
	endpoints lab.Endpoints
	closed    bool

	grpc  *grpc.Server
	http  *http.Server
	hosts map[string]googleHost // the front door's APIs by global host (frontdoor.go)
	dp    *dataPlane            // made by Start before anything serves

	reg ociRegistry     // the OCI registry (oci.go)
	md  metadataServers // the metadata servers (metadata.go)
	ca  simCA           // issues managed certificates (ca.go)
	dns dnsServer       // answers the public zones (dnsserver.go)
}

// New returns a simulator that is not yet listening; call Start.
func New(opts Options) *Sim {
	if opts.Host == "" {
		opts.Host = defaultHost
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real()
	}
	cond := opts.Profile.Conditions
	if opts.Conditions != nil {
		cond = *opts.Conditions
	}
	return &Sim{
		cond:     cond,
		opts:     opts,
		log:      log,
		clock:    clk,
		projects: map[string]*project{},
		byNumber: map[int64]*project{},
		born:     clk.Now(),
		ops:      opStore{},
		change:   make(chan struct{}),
		hosts:    map[string]googleHost{},
	}
}

// serve runs a listener's Serve and logs how it ended unless it was
// closed: a listener that dies leaves its API unanswered, which the log
// must say.
func (s *Sim) serve(name string, serve func() error) {
	err := serve()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if err != nil && !closed && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) {
		s.log.Error("the simulator's listener stopped", "listener", name, "err", err)
	}
}

// Start opens the listeners and serves until Close.
func (s *Sim) Start() error {
	grpcLis, err := net.Listen("tcp", net.JoinHostPort(s.opts.Host, "0"))
	if err != nil {
		return fmt.Errorf("simulator: listen for gRPC on %s: %w", s.opts.Host, err)
	}
	httpLis, err := net.Listen("tcp", net.JoinHostPort(s.opts.Host, "0"))
	if err != nil {
		grpcLis.Close()
		return fmt.Errorf("simulator: listen for HTTP on %s: %w", s.opts.Host, err)
	}
	// Everything a request can reach exists before the first one is served.
	s.dp = newDataPlane(s)
	s.grpc = grpc.NewServer(grpc.ChainUnaryInterceptor(s.logCall, s.injectFaults))
	s.registerGRPC(s.grpc)
	mux := http.NewServeMux()
	s.registerHTTP(mux)
	s.http = &http.Server{Handler: s.frontDoor(mux), ReadHeaderTimeout: 10 * time.Second}

	s.mu.Lock()
	s.endpoints.Run = grpcLis.Addr().String()
	s.endpoints.ServiceUsage = grpcLis.Addr().String()
	s.endpoints.ArtifactRegistry = grpcLis.Addr().String()
	s.endpoints.Compute = "http://" + httpLis.Addr().String()
	s.mu.Unlock()

	go s.serve("gRPC", func() error { return s.grpc.Serve(grpcLis) })
	go s.serve("HTTP", func() error { return s.http.Serve(httpLis) })
	if err := s.startExtras(); err != nil {
		s.Close()
		return err
	}
	return nil
}

// Endpoints returns where the simulator listens. Valid after Start.
func (s *Sim) Endpoints() lab.Endpoints {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endpoints
}

// Close stops every listener and everything the simulator started.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	closers := s.closers
	s.closers = nil
	s.mu.Unlock()

	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		errs = append(errs, closers[i]())
	}
	if s.grpc != nil {
		s.grpc.Stop()
	}
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		errs = append(errs, s.http.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// onClose registers close to run when the simulator closes, in the reverse
// order of registration. It reports false, without registering, if the
// simulator is already closed: the caller then closes what it opened.
func (s *Sim) onClose(close func() error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.closers = append(s.closers, close)
	return true
}

// Changes returns a channel that is closed at the next change of state. The
// data plane waits on it to reconcile listeners with resources.
func (s *Sim) Changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.change
}

// changedLocked wakes everyone waiting on Changes. Call with s.mu held, after
// every mutation of state.
func (s *Sim) changedLocked() {
	close(s.change)
	s.change = make(chan struct{})
}

// now is the simulated cloud's time.
func (s *Sim) now() time.Time { return s.clock.Now() }

// nextSeq returns a number unique within this simulator. Call with s.mu held.
func (s *Sim) nextSeq() int64 {
	s.seq++
	return s.seq
}

func (s *Sim) logCall(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	s.log.Debug("grpc", "method", info.FullMethod, "err", err)
	return resp, err
}

// Conditions returns the conditions the simulator runs under.
func (s *Sim) Conditions() Conditions { return s.cond }
