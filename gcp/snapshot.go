package gcp

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"cloud.google.com/go/artifactregistry/apiv1/artifactregistrypb"
	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/iam/apiv1/iampb"
	run "cloud.google.com/go/run/apiv2"
	"cloud.google.com/go/run/apiv2/runpb"
	serviceusage "cloud.google.com/go/serviceusage/apiv1"
	"cloud.google.com/go/serviceusage/apiv1/serviceusagepb"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/proto"

	"github.com/beyond-lab/beyond/lab"
)

// Snapshot returns a view of c for one read-only sweep of the project (a
// refresh of the class board). Its reads are answered from one list call per
// resource collection (Compute's global collections, each region's NEGs and
// Cloud Run services, the enabled APIs), made on first use and kept for the
// life of the view; a single resource with no list (an IAM policy, a
// repository, a certificate) is read once, and counted. A call that fails for a passing reason (a 429
// rate limit, a 503) is retried as every call of this package is
// (Cloud.call), each attempt counted, before its error is given. Take a new Snapshot for each refresh; do not perform steps with
// one.
func (c *Cloud) Snapshot() *Cloud {
	view := *c
	view.closeFunc = nil // the clients belong to c
	view.snap = &snapshot{entries: map[string]*snapEntry{}, retry: func(ctx context.Context, f func(context.Context) error) error {
		return c.call(ctx, "a read of the project", read, nil, f)
	}}
	return &view
}

// IsSnapshot reports whether c is a Snapshot view: a read-only sweep, whose
// checks should read the project and send it no traffic of their own.
func (c *Cloud) IsSnapshot() bool { return c.snap != nil }

// Calls is the number of API calls a Snapshot view has made, retries
// included; 0 for a Cloud that is not a Snapshot.
func (c *Cloud) Calls() int {
	if c.snap == nil {
		return 0
	}
	return int(c.snap.calls.Load())
}

// snapshot memoises a sweep's reads.
type snapshot struct {
	calls atomic.Int64
	retry func(context.Context, func(context.Context) error) error // Cloud.call

	mu      sync.Mutex
	entries map[string]*snapEntry
}

type snapEntry struct {
	once sync.Once
	val  any
	err  error
}

// read returns the value memoised under key, calling load the first time.
func (s *snapshot) read(key string, load func() (any, error)) (any, error) {
	s.mu.Lock()
	e, ok := s.entries[key]
	if !ok {
		e = &snapEntry{}
		s.entries[key] = e
	}
	s.mu.Unlock()
	e.once.Do(func() { e.val, e.err = load() })
	return e.val, e.err
}

// call makes one API call, counting each attempt, retried (Cloud.call).
func (s *snapshot) call(ctx context.Context, fn func() error) error {
	return s.retry(ctx, func(context.Context) error {
		s.calls.Add(1)
		return fn()
	})
}

// counted wraps one attempt of a call so that it is counted.
func (s *snapshot) counted(f func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		s.calls.Add(1)
		return f(ctx)
	}
}

// readOnce makes one read, retried (Cloud.call), its error explained with
// the API and the role it needs; a Snapshot asks it once (memo).
func readOnce[T any](ctx context.Context, c *Cloud, method, what, api, role string, get func(context.Context) (T, error)) (T, error) {
	return memo(c, method+" "+what, func() (T, error) {
		var out T
		err := c.call(ctx, method, read, nil, func(ctx context.Context) error {
			var err error
			out, err = get(ctx)
			return err
		})
		return out, c.explain(err, what, api, role)
	})
}

// memo answers a read that has no list behind it (a DNS zone, a
// certificate, a service account) once per Snapshot: several checks read
// the same resource. Outside a Snapshot it just reads. A proto answer is
// cloned, so that a caller's edit cannot reach another's.
func memo[T any](c *Cloud, key string, get func() (T, error)) (T, error) {
	if c.snap == nil {
		return get()
	}
	v, err := c.snap.read(key, func() (any, error) { return get() })
	out, _ := v.(T)
	if m, ok := any(out).(proto.Message); ok && err == nil {
		out = proto.Clone(m).(T)
	}
	return out, err
}

// pages drains a list page by page, one counted call per page; newIt starts
// the list afresh, so that a page refused for rate can be asked again.
func pages[T any, It iterator.Pageable](ctx context.Context, s *snapshot, newIt func() It) ([]T, error) {
	var all []T
	token := ""
	for {
		var page []T
		var next string
		err := s.call(ctx, func() error {
			page = page[:0]
			var err error
			next, err = iterator.NewPager(newIt(), 500, token).NextPage(&page)
			return err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		token = next
	}
}

// notFound is the error a list gives for a name it does not hold: the same
// kind and fix as a Get that answers 404.
func (c *Cloud) notFound(op string) error {
	return &Error{Kind: KindNotFound, Op: op, Cause: "not found", Fix: "Run the earlier step that creates it, or check the name and region"}
}

// snapCompute answers a Compute Get from its collection's list.
func snapCompute[T interface {
	proto.Message
	GetName() string
}](ctx context.Context, c *Cloud, key, name, op string, list func() ([]T, error)) (T, error) {
	var zero T
	v, err := c.snap.read(key, func() (any, error) {
		items, err := list()
		return items, err
	})
	if err != nil {
		return zero, c.explain(err, op, computeAPI, "roles/compute.viewer")
	}
	for _, item := range v.([]T) {
		if item.GetName() == name {
			return proto.Clone(item).(T), nil
		}
	}
	return zero, c.notFound(op)
}

func (c *Cloud) snapNEG(ctx context.Context, region, name string) (*computepb.NetworkEndpointGroup, error) {
	return snapCompute(ctx, c, "negs/"+region, name, fmt.Sprintf("read network endpoint group %s in %s", name, region), func() ([]*computepb.NetworkEndpointGroup, error) {
		return pages[*computepb.NetworkEndpointGroup](ctx, c.snap, func() *compute.NetworkEndpointGroupIterator {
			return c.negs.List(ctx, &computepb.ListRegionNetworkEndpointGroupsRequest{Project: c.Project, Region: region}, noRetry)
		})
	})
}

func (c *Cloud) snapBackendService(ctx context.Context, name string) (*computepb.BackendService, error) {
	return snapCompute(ctx, c, "backendServices", name, "read backend service "+name, func() ([]*computepb.BackendService, error) {
		return pages[*computepb.BackendService](ctx, c.snap, func() *compute.BackendServiceIterator {
			return c.backends.List(ctx, &computepb.ListBackendServicesRequest{Project: c.Project}, noRetry)
		})
	})
}

func (c *Cloud) snapURLMap(ctx context.Context, name string) (*computepb.UrlMap, error) {
	return snapCompute(ctx, c, "urlMaps", name, "read URL map "+name, func() ([]*computepb.UrlMap, error) {
		return pages[*computepb.UrlMap](ctx, c.snap, func() *compute.UrlMapIterator {
			return c.urlMaps.List(ctx, &computepb.ListUrlMapsRequest{Project: c.Project}, noRetry)
		})
	})
}

func (c *Cloud) snapTargetHTTPProxy(ctx context.Context, name string) (*computepb.TargetHttpProxy, error) {
	return snapCompute(ctx, c, "targetHttpProxies", name, "read target HTTP proxy "+name, func() ([]*computepb.TargetHttpProxy, error) {
		return pages[*computepb.TargetHttpProxy](ctx, c.snap, func() *compute.TargetHttpProxyIterator {
			return c.proxies.List(ctx, &computepb.ListTargetHttpProxiesRequest{Project: c.Project}, noRetry)
		})
	})
}

func (c *Cloud) snapForwardingRule(ctx context.Context, name string) (*computepb.ForwardingRule, error) {
	return snapCompute(ctx, c, "forwardingRules", name, "read forwarding rule "+name, func() ([]*computepb.ForwardingRule, error) {
		return pages[*computepb.ForwardingRule](ctx, c.snap, func() *compute.ForwardingRuleIterator {
			return c.rules.List(ctx, &computepb.ListGlobalForwardingRulesRequest{Project: c.Project}, noRetry)
		})
	})
}

// snapService answers GetService from the list of the region's services
// (Cloud Run lists one region at a time: "-" is refused on Google).
func (c *Cloud) snapService(ctx context.Context, region, name string) (*Service, error) {
	op := fmt.Sprintf("read Cloud Run service %s in %s", name, region)
	v, err := c.snap.read("run/"+region, func() (any, error) {
		return pages[*runpb.Service](ctx, c.snap, func() *run.ServiceIterator {
			return c.services.ListServices(ctx, &runpb.ListServicesRequest{Parent: fmt.Sprintf("projects/%s/locations/%s", c.Project, region)}, noRetry)
		})
	})
	if err != nil {
		return nil, c.explain(err, op, lab.APIRun, "roles/run.viewer")
	}
	for _, svc := range v.([]*runpb.Service) {
		if short(svc.GetName()) == name {
			return serviceFrom(svc, region), nil
		}
	}
	return nil, c.notFound(op)
}

func (c *Cloud) snapPolicy(ctx context.Context, region, name string) (*iampb.Policy, error) {
	resource := c.serviceName(region, name)
	v, err := c.snap.read("iam/"+resource, func() (any, error) {
		var p *iampb.Policy
		err := c.snap.call(ctx, func() error {
			var err error
			p, err = c.services.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: resource}, noRetry)
			return err
		})
		return p, err
	})
	if err != nil {
		return nil, c.explain(err, fmt.Sprintf("read the IAM policy of %s in %s", name, region), lab.APIRun, "roles/run.viewer")
	}
	return v.(*iampb.Policy), nil
}

// snapEnabledAPIs answers EnabledAPIs from the list of enabled services.
func (c *Cloud) snapEnabledAPIs(ctx context.Context, apis []string) (map[string]bool, error) {
	v, err := c.snap.read("apis", func() (any, error) {
		return pages[*serviceusagepb.Service](ctx, c.snap, func() *serviceusage.ServiceIterator {
			return c.usage.ListServices(ctx, &serviceusagepb.ListServicesRequest{Parent: "projects/" + c.Project, Filter: "state:ENABLED"}, noRetry)
		})
	})
	if err != nil {
		return nil, c.explain(err, "list the enabled APIs", lab.APIServiceUsage, "roles/serviceusage.serviceUsageViewer")
	}
	on := map[string]bool{}
	for _, s := range v.([]*serviceusagepb.Service) {
		on[s.GetConfig().GetName()] = true
		on[short(s.GetName())] = true
	}
	enabled := map[string]bool{}
	for _, api := range apis {
		enabled[api] = on[api]
	}
	return enabled, nil
}

func (c *Cloud) snapRepository(ctx context.Context, location, repo string) (*artifactregistrypb.Repository, error) {
	v, err := c.snap.read("repo/"+location+"/"+repo, func() (any, error) {
		var r *artifactregistrypb.Repository
		err := c.snap.call(ctx, func() error {
			var err error
			r, err = c.repos.GetRepository(ctx, &artifactregistrypb.GetRepositoryRequest{Name: c.repoName(location, repo)}, noRetry)
			return err
		})
		return r, err
	})
	if err != nil {
		return nil, c.explain(err, fmt.Sprintf("read Artifact Registry repository %s in %s", repo, location), arAPI, "roles/artifactregistry.reader")
	}
	return v.(*artifactregistrypb.Repository), nil
}

func (c *Cloud) snapFrontendURL(ctx context.Context, ip string, port int) (string, error) {
	v, err := c.snap.read(fmt.Sprintf("frontend/%s:%d", ip, port), func() (any, error) {
		var u string
		err := c.snap.call(ctx, func() error {
			var err error
			u, err = c.frontendURL(ctx, ip, port)
			return err
		})
		return u, err
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}
