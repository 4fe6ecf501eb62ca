// Package gcp reaches Google Cloud through Google's official Go clients, on
// Google itself or on the embedded simulator. One file per API holds the calls
// the lab needs; errors come back as *Error, which names the cause and the fix.
package gcp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	artifactregistry "cloud.google.com/go/artifactregistry/apiv1"
	certificatemanager "cloud.google.com/go/certificatemanager/apiv1"
	compute "cloud.google.com/go/compute/apiv1"
	admin "cloud.google.com/go/iam/admin/apiv1"
	resourcemanager "cloud.google.com/go/resourcemanager/apiv3"
	run "cloud.google.com/go/run/apiv2"
	serviceusage "cloud.google.com/go/serviceusage/apiv1"
	"github.com/beyond-lab/beyond/lab"
	dns "google.golang.org/api/dns/v1"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Cloud holds the official clients for one project.
type Cloud struct {
	Project   string
	Endpoints lab.Endpoints // zero on Google
	// PollInterval is how often an operation in flight is polled.
	PollInterval time.Duration
	// Retry is how calls that fail for a passing reason are retried.
	Retry Retry

	services  *run.ServicesClient
	usage     *serviceusage.Client
	repos     *artifactregistry.Client
	iam       *admin.IamClient                // service accounts
	projects  *resourcemanager.ProjectsClient // the project's IAM policy
	negs      *compute.RegionNetworkEndpointGroupsClient
	backends  *compute.BackendServicesClient
	urlMaps   *compute.UrlMapsClient
	proxies   *compute.TargetHttpProxiesClient
	rules     *compute.GlobalForwardingRulesClient
	armor     *compute.SecurityPoliciesClient
	addresses *compute.GlobalAddressesClient
	https     *compute.TargetHttpsProxiesClient
	dns       *dns.Service
	certs     *certificatemanager.Client
	closeFunc []func() error
	snap      *snapshot // set on a Snapshot view: reads memoised, counted
}

// Simulated reports whether c talks to the simulator.
func (c *Cloud) Simulated() bool { return !c.Endpoints.IsZero() }

// Connect builds every client the lab needs: for Google with Application
// Default Credentials when ep is zero, else for the simulator at ep with no
// authentication over plain loopback connections.
func Connect(ctx context.Context, project string, ep lab.Endpoints) (*Cloud, error) {
	c := &Cloud{Project: project, Endpoints: ep, PollInterval: 2 * time.Second, Retry: DefaultRetry}
	var grpcOpts, restOpts []option.ClientOption
	if c.Simulated() {
		c.PollInterval = 50 * time.Millisecond
		c.Retry = SimRetry
		restOpts = []option.ClientOption{option.WithEndpoint(ep.Compute), option.WithoutAuthentication()}
	} else if os.Getenv("GOOGLE_CLOUD_QUOTA_PROJECT") == "" {
		// With user credentials (gcloud auth application-default login),
		// Google bills quota to the project named here; without it, some
		// APIs refuse the call.
		grpcOpts = []option.ClientOption{option.WithQuotaProject(project)}
		restOpts = grpcOpts
	}
	with := func(opts []option.ClientOption, endpoint string) []option.ClientOption {
		if endpoint == "" {
			return opts
		}
		return append([]option.ClientOption{option.WithEndpoint(endpoint)}, opts...)
	}
	fail := func(api string, err error) (*Cloud, error) {
		c.Close()
		if c.Simulated() {
			return nil, fmt.Errorf("connect to the simulator's %s API: %w", api, err)
		}
		return nil, fmt.Errorf("connect to the %s API: %w (run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS)", api, err)
	}
	dial := func(endpoint string) ([]option.ClientOption, func(), error) {
		if c.Simulated() {
			return dialSim(endpoint)
		}
		return with(grpcOpts, endpoint), func() {}, nil
	}
	var err error
	if c.services, err = grpcClient(ctx, c, dial, ep.Run, run.NewServicesClient); err != nil {
		return fail("Cloud Run", err)
	}
	if c.usage, err = grpcClient(ctx, c, dial, ep.ServiceUsage, serviceusage.NewClient); err != nil {
		return fail("Service Usage", err)
	}
	if c.repos, err = grpcClient(ctx, c, dial, ep.ArtifactRegistry, artifactregistry.NewClient); err != nil {
		return fail("Artifact Registry", err)
	}
	// The simulator serves every gRPC API on one listener, Cloud Run's.
	if c.iam, err = grpcClient(ctx, c, dial, ep.Run, admin.NewIamClient); err != nil {
		return fail("IAM", err)
	}
	if c.projects, err = grpcClient(ctx, c, dial, ep.Run, resourcemanager.NewProjectsClient); err != nil {
		return fail("Resource Manager", err)
	}
	if c.negs, err = compute.NewRegionNetworkEndpointGroupsRESTClient(ctx, restOpts...); err != nil {
		return fail("Compute Engine", err)
	}
	c.closeFunc = append(c.closeFunc, c.negs.Close)
	if c.backends, err = compute.NewBackendServicesRESTClient(ctx, restOpts...); err != nil {
		return fail("Compute Engine", err)
	}
	c.closeFunc = append(c.closeFunc, c.backends.Close)
	if c.urlMaps, err = compute.NewUrlMapsRESTClient(ctx, restOpts...); err != nil {
		return fail("Compute Engine", err)
	}
	c.closeFunc = append(c.closeFunc, c.urlMaps.Close)
	if c.proxies, err = compute.NewTargetHttpProxiesRESTClient(ctx, restOpts...); err != nil {
		return fail("Compute Engine", err)
	}
	c.closeFunc = append(c.closeFunc, c.proxies.Close)
	if c.rules, err = compute.NewGlobalForwardingRulesRESTClient(ctx, restOpts...); err != nil {
		return fail("Compute Engine", err)
	}
	c.closeFunc = append(c.closeFunc, c.rules.Close)
	if c.armor, err = compute.NewSecurityPoliciesRESTClient(ctx, restOpts...); err != nil {
		return fail("Compute Engine", err)
	}
	c.closeFunc = append(c.closeFunc, c.armor.Close)
	if c.addresses, err = compute.NewGlobalAddressesRESTClient(ctx, restOpts...); err != nil {
		return fail("Compute Engine", err)
	}
	c.closeFunc = append(c.closeFunc, c.addresses.Close)
	if c.https, err = compute.NewTargetHttpsProxiesRESTClient(ctx, restOpts...); err != nil {
		return fail("Compute Engine", err)
	}
	c.closeFunc = append(c.closeFunc, c.https.Close)
	// Cloud DNS is REST under /dns/v1/: on the simulator, on the same
	// listener as Compute.
	dnsOpts := grpcOpts
	if c.Simulated() {
		dnsOpts = []option.ClientOption{option.WithEndpoint(ep.Compute + "/"), option.WithoutAuthentication()}
	}
	if c.dns, err = dns.NewService(ctx, dnsOpts...); err != nil {
		return fail("Cloud DNS", err)
	}
	if c.certs, err = grpcClient(ctx, c, dial, ep.Run, certificatemanager.NewClient); err != nil {
		return fail("Certificate Manager", err)
	}
	return c, nil
}

// dialSim gives a gRPC client of the simulator at endpoint its options: its
// own connection from grpc.NewClient, which connects on the first call. The
// clients' own dial (grpc.DialContext) connects at once, and six
// connections made and served while the guide drew its first frame delayed
// it. The client's Close closes the connection; abandon closes it when the
// client could not be made.
func dialSim(endpoint string) (opts []option.ClientOption, abandon func(), err error) {
	conn, err := grpc.NewClient("passthrough:///"+endpoint,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// As Google's clients dial: no 4 MB cap on a response.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)))
	if err != nil {
		return nil, nil, err
	}
	return []option.ClientOption{option.WithGRPCConn(conn), option.WithoutAuthentication()}, func() { conn.Close() }, nil
}

// grpcClient makes a gRPC client with newClient, on the connection dial
// gives for endpoint, and keeps its Close for c.Close.
func grpcClient[T interface{ Close() error }](ctx context.Context, c *Cloud, dial func(endpoint string) ([]option.ClientOption, func(), error), endpoint string, newClient func(context.Context, ...option.ClientOption) (T, error)) (T, error) {
	var zero T
	opts, abandon, err := dial(endpoint)
	if err != nil {
		return zero, err
	}
	client, err := newClient(ctx, opts...)
	if err != nil {
		abandon()
		return zero, err
	}
	c.closeFunc = append(c.closeFunc, client.Close)
	return client, nil
}

// Close releases every client.
func (c *Cloud) Close() error {
	var errs []error
	for i := len(c.closeFunc) - 1; i >= 0; i-- {
		errs = append(errs, c.closeFunc[i]())
	}
	c.closeFunc = nil
	return errors.Join(errs...)
}

// Progress receives one line about an operation in flight.
type Progress func(line string)

// waitOp waits for an operation by polling it (poll, which calls the API
// method opMethod): a poll whose read fails for a passing reason is retried
// (Cloud.call); the operation's own failure is returned as it is, for the
// change that started it to retry, or not, as a whole.
func (c *Cloud) waitOp(ctx context.Context, what, opMethod string, progress Progress, done func() bool, poll func(context.Context) error) error {
	return c.wait(ctx, what, progress, done, func(ctx context.Context) error {
		var failed error
		err := c.call(ctx, opMethod, read, progress, func(ctx context.Context) error {
			err := poll(ctx)
			if err != nil && done() {
				failed, err = err, nil
			}
			return err
		})
		if err != nil {
			return err
		}
		return failed
	})
}

// wait polls an operation until it is done. It reports progress when the
// operation is first seen running and then about once a second.
func (c *Cloud) wait(ctx context.Context, what string, progress Progress, done func() bool, poll func(context.Context) error) error {
	start := time.Now()
	var reported time.Time
	for {
		if err := poll(ctx); err != nil {
			return err
		}
		if done() {
			return nil
		}
		if progress != nil && (reported.IsZero() || time.Since(reported) >= time.Second) {
			reported = time.Now()
			if elapsed := time.Since(start); elapsed < time.Second {
				progress(what + ": running")
			} else {
				progress(fmt.Sprintf("%s: still running after %s", what, elapsed.Round(time.Second)))
			}
		}
		t := time.NewTimer(c.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
