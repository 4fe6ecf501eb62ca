package sim

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Profile says how long the simulated cloud takes. Durations are how long an
// operation stays RUNNING before it is DONE.
type Profile struct {
	Name        string
	RunDeploy   time.Duration // a Cloud Run create or update, until the revision is ready
	RunDelete   time.Duration // a Cloud Run delete
	ComputeOp   time.Duration // a Compute Engine insert, update, patch or delete; an Artifact Registry create or delete
	EnableAPI   time.Duration // a Service Usage enable
	Propagation time.Duration // a new forwarding rule until its load balancer serves
	// CertIssuance is how long a managed certificate stays PROVISIONING
	// once every domain is authorized, until the CA has issued it.
	CertIssuance time.Duration
	// NetworkLatency adds real inter-region round-trip times on the data plane.
	NetworkLatency bool
	// Cloud Run service health (health.go); Google documents none of these
	// timings, so they are inferred (gcp/sim/README.md). HealthPropagation
	// is how long a region must be unhealthy before the load balancer stops
	// sending it traffic; HealthFailback how long it takes a recovered region
	// to get its full share back; ReadySuccesses how many passing probes in
	// a row make a not-ready instance ready (successThreshold, which the v2
	// Probe message cannot carry; Kubernetes' default is 1).
	HealthPropagation time.Duration
	HealthFailback    time.Duration
	ReadySuccesses    int
	// EjectionScale is how long an outlier ejection lasts, as a fraction of
	// the backend service's baseEjectionTime; 0 is 1, Google's. Only the
	// instant profile shortens it, so that a replay for a test or a
	// rehearsal does not sit out a recovery the lab profile still shows.
	EjectionScale float64
	// Conditions are the profile's departures from a happy project, used
	// unless Options.Conditions says otherwise.
	Conditions Conditions
}

// The profiles. Instant is for tests. Lab keeps a replay to seconds while
// still showing operations running. Realistic uses the durations Google
// typically takes: Cloud Run deploys in about 15 s and deletes in a few; a
// global Compute Engine operation takes 10 to 20 s; enabling an API up to a
// minute; and a new global load balancer serves only after several minutes
// (Google's load balancing docs: "wait several minutes"; the workshop says
// the same). These are typical figures from the documentation and common
// experience, not measurements. The realistic profile also has the two
// conditions every new project meets: an API answers SERVICE_DISABLED for a
// while after it is enabled, and a new load balancer flaps while its
// configuration spreads.
var (
	ProfileInstant = Profile{Name: "instant", ReadySuccesses: 1, EjectionScale: 0.3}
	ProfileLab     = Profile{Name: "lab", RunDeploy: 1500 * time.Millisecond, RunDelete: 300 * time.Millisecond, ComputeOp: 300 * time.Millisecond, EnableAPI: 500 * time.Millisecond, Propagation: 3 * time.Second, CertIssuance: 2 * time.Second,
		HealthPropagation: 500 * time.Millisecond, HealthFailback: 3 * time.Second, ReadySuccesses: 1}
	ProfileRealistic = Profile{Name: "realistic", RunDeploy: 15 * time.Second, RunDelete: 5 * time.Second, ComputeOp: 12 * time.Second, EnableAPI: 30 * time.Second, Propagation: 4 * time.Minute, CertIssuance: 10 * time.Minute, NetworkLatency: true,
		HealthPropagation: 10 * time.Second, HealthFailback: time.Minute, ReadySuccesses: 1,
		Conditions: Conditions{APIPropagation: 2 * time.Minute, LBFlap: time.Minute}}
)

// ProfileNamed returns the profile with that name.
func ProfileNamed(name string) (Profile, error) {
	for _, p := range []Profile{ProfileInstant, ProfileLab, ProfileRealistic} {
		if p.Name == name {
			return p, nil
		}
	}
	return Profile{}, fmt.Errorf("unknown latency profile %q: use instant, lab or realistic", name)
}

// Fault makes calls to one method fail.
type Fault struct {
	// Method names the call: "run.CreateService", "run.UpdateService",
	// "serviceusage.EnableService", "artifactregistry.CreateRepository", or a
	// Compute Engine method as Google's discovery documents name it,
	// "compute.backendServices.insert". "*" matches every call.
	Method string
	// Status is the HTTP status to fail with (403, 404, 409, 429, 500, 503...);
	// gRPC APIs answer with the matching code.
	Status  int
	Message string
	// Times is how many matching calls fail before the fault is spent; 0
	// means every one.
	Times int
	// After makes the call take effect first and then answer the error, as
	// a 503 that Google sends after the change was made: a client that
	// retries must find its change done (a create answers 409).
	After bool
}

// Faults is a set of injected failures: named faults, then a random error
// rate. Safe for concurrent use.
type Faults struct {
	mu     sync.Mutex
	faults []*Fault
	rate   float64
	rng    *rand.Rand
}

// NewFaults returns faults that fail a fraction rate of all API calls (not
// the Gemini endpoint's), half
// with 429 (a rate limit) and half with 503 (UNAVAILABLE on gRPC), chosen by
// a generator seeded with seed (so a run can be repeated), plus the named
// faults, which come first.
func NewFaults(seed int64, rate float64, faults ...Fault) *Faults {
	f := &Faults{rate: rate, rng: rand.New(rand.NewPCG(uint64(seed), 0))}
	for _, x := range faults {
		f.Add(x)
	}
	return f
}

// Add injects another fault.
func (f *Faults) Add(x Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &x)
}

// take reports whether the call to method must fail, and how.
func (f *Faults) take(method string) (Fault, bool) {
	if f == nil {
		return Fault{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, x := range f.faults {
		if x.Method != "*" && x.Method != method {
			continue
		}
		hit := *x
		if x.Times > 0 {
			x.Times--
			if x.Times == 0 {
				f.faults = append(f.faults[:i:i], f.faults[i+1:]...)
			}
		}
		if hit.Message == "" {
			hit.Message = fmt.Sprintf("injected fault: %s failed with %d", method, hit.Status)
		}
		return hit, true
	}
	// The random rate is a bad day of the APIs the lab calls; the Gemini
	// endpoint, which the deployed service calls hundreds of times a replay
	// through the data plane, is faulted by name only.
	if f.rate > 0 && !strings.HasPrefix(method, "gemini.") && f.rng.Float64() < f.rate {
		if f.rng.IntN(2) == 0 {
			return Fault{Method: method, Status: http.StatusTooManyRequests, Message: "Rate limit exceeded: too many requests, try again later. (injected)"}, true
		}
		return Fault{Method: method, Status: http.StatusServiceUnavailable, Message: "The service is currently unavailable. (injected)"}, true
	}
	return Fault{}, false
}

// fault reports whether an injected fault hits the call named method
// ("run.CreateService", "compute.urlMaps.insert"), and how. Every wire
// surface asks it once per call, before any check, under the same names.
func (s *Sim) fault(method string) (Fault, bool) { return s.opts.Faults.take(method) }

// ParseFaults reads faults from a flag value such as
// "compute.backendServices.insert=503x2,run.CreateService=429": method,
// HTTP status, optionally how many times, and optionally ":after" (the call
// takes effect, then answers the error). It refuses a random rate: see
// ParseFaultSpec.
func ParseFaults(spec string) ([]Fault, error) {
	named, rate, _, err := parseFaultSpec(spec)
	if err == nil && rate > 0 {
		err = fmt.Errorf("faults %q: a random rate needs ParseFaultSpec", spec)
	}
	return named, err
}

// ParseFaultSpec reads what --sim-faults takes: named faults as ParseFaults
// reads them, and a random error rate with its seed, "rate=0.1,seed=7" (the
// seed defaults to 1, so a run can be repeated), in one comma-separated list.
func ParseFaultSpec(spec string) (*Faults, error) {
	named, rate, seed, err := parseFaultSpec(spec)
	if err != nil {
		return nil, err
	}
	return NewFaults(seed, rate, named...), nil
}

func parseFaultSpec(spec string) (named []Fault, rate float64, seed int64, err error) {
	seed = 1
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		method, rest, ok := strings.Cut(part, "=")
		if !ok || method == "" {
			return nil, 0, 0, fmt.Errorf("fault %q: want METHOD=STATUS, METHOD=STATUSxTIMES or METHOD=STATUSxTIMES:after, e.g. run.CreateService=503x2; or rate=0.1,seed=7", part)
		}
		switch method {
		case "rate":
			r, perr := strconv.ParseFloat(rest, 64)
			if perr != nil || !(r >= 0 && r <= 1) {
				return nil, 0, 0, fmt.Errorf("fault %q: the rate is a fraction of calls from 0 to 1, e.g. rate=0.1", part)
			}
			rate = r
			continue
		case "seed":
			s, perr := strconv.ParseInt(rest, 10, 64)
			if perr != nil {
				return nil, 0, 0, fmt.Errorf("fault %q: the seed is a whole number, e.g. seed=7", part)
			}
			seed = s
			continue
		}
		x := Fault{Method: method}
		rest, x.After = strings.CutSuffix(rest, ":after")
		status, times, hasTimes := strings.Cut(rest, "x")
		if n, perr := strconv.Atoi(status); perr != nil || n < 400 || n > 599 {
			return nil, 0, 0, fmt.Errorf("fault %q: status must be an HTTP error code from 400 to 599", part)
		} else {
			x.Status = n
		}
		if hasTimes {
			if n, perr := strconv.Atoi(times); perr != nil || n < 1 {
				return nil, 0, 0, fmt.Errorf("fault %q: the count after x must be a positive number", part)
			} else {
				x.Times = n
			}
		}
		named = append(named, x)
	}
	return named, rate, seed, nil
}

// faultStatus is an injected fault as a gRPC status: the code for its HTTP
// status, and for a 429 the ErrorInfo reason Google gives a rate limit
// (RATE_LIMIT_EXCEEDED, which a quota's QUOTA_EXCEEDED is not).
func faultStatus(f Fault) error {
	st := status.New(grpcCode(f.Status), f.Message)
	if f.Status == http.StatusTooManyRequests {
		return grpcWithDetails(st, &errdetails.ErrorInfo{Reason: "RATE_LIMIT_EXCEEDED", Domain: "googleapis.com", Metadata: map[string]string{"method": f.Method}})
	}
	return st.Err()
}

// grpcCode maps an HTTP status to the gRPC code Google's APIs pair with it.
func grpcCode(status int) codes.Code {
	switch status {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusConflict:
		return codes.AlreadyExists
	case http.StatusPreconditionFailed:
		return codes.FailedPrecondition
	case http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusNotImplemented:
		return codes.Unimplemented
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	default:
		return codes.Internal
	}
}

// sortedKeys returns the keys of m in order, for deterministic listings.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
