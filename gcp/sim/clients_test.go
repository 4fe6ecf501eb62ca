package sim

import (
	"context"
	"errors"
	"testing"

	artifactregistry "cloud.google.com/go/artifactregistry/apiv1"
	compute "cloud.google.com/go/compute/apiv1"
	lro "cloud.google.com/go/longrunning/autogen"
	run "cloud.google.com/go/run/apiv2"
	serviceusage "cloud.google.com/go/serviceusage/apiv1"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// What every test of the simulator shares: a started simulator, and
// Google's official clients connected to it over loopback.

// clientOptions are what the lab uses to reach the simulator: its address,
// no credentials, plaintext gRPC.
func clientOptions(addr string) []option.ClientOption {
	return []option.ClientOption{
		option.WithEndpoint(addr),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
}

func newRunClient(t testing.TB, s *Sim) *run.ServicesClient {
	t.Helper()
	c, err := run.NewServicesClient(context.Background(), clientOptions(s.Endpoints().Run)...)
	if err != nil {
		t.Fatalf("run.NewServicesClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newSUClient(t testing.TB, s *Sim) *serviceusage.Client {
	t.Helper()
	c, err := serviceusage.NewClient(context.Background(), clientOptions(s.Endpoints().ServiceUsage)...)
	if err != nil {
		t.Fatalf("serviceusage.NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newARClient(t testing.TB, s *Sim) *artifactregistry.Client {
	t.Helper()
	c, err := artifactregistry.NewClient(context.Background(), clientOptions(s.Endpoints().ArtifactRegistry)...)
	if err != nil {
		t.Fatalf("artifactregistry.NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newOpsClient(t testing.TB, s *Sim) *lro.OperationsClient {
	t.Helper()
	c, err := lro.NewOperationsClient(context.Background(), clientOptions(s.Endpoints().Run)...)
	if err != nil {
		t.Fatalf("NewOperationsClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// computeClients are the official REST clients, pointed at one simulator.
type computeClients struct {
	negs    *compute.RegionNetworkEndpointGroupsClient
	bs      *compute.BackendServicesClient
	maps    *compute.UrlMapsClient
	proxies *compute.TargetHttpProxiesClient
	rules   *compute.GlobalForwardingRulesClient
	gops    *compute.GlobalOperationsClient
	rops    *compute.RegionOperationsClient
}

func newComputeClients(t testing.TB, s *Sim) *computeClients {
	t.Helper()
	ctx := context.Background()
	opts := []option.ClientOption{option.WithEndpoint(s.Endpoints().Compute), option.WithoutAuthentication()}
	var c computeClients
	var errs []error
	var err error
	c.negs, err = compute.NewRegionNetworkEndpointGroupsRESTClient(ctx, opts...)
	errs = append(errs, err)
	c.bs, err = compute.NewBackendServicesRESTClient(ctx, opts...)
	errs = append(errs, err)
	c.maps, err = compute.NewUrlMapsRESTClient(ctx, opts...)
	errs = append(errs, err)
	c.proxies, err = compute.NewTargetHttpProxiesRESTClient(ctx, opts...)
	errs = append(errs, err)
	c.rules, err = compute.NewGlobalForwardingRulesRESTClient(ctx, opts...)
	errs = append(errs, err)
	c.gops, err = compute.NewGlobalOperationsRESTClient(ctx, opts...)
	errs = append(errs, err)
	c.rops, err = compute.NewRegionOperationsRESTClient(ctx, opts...)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("compute clients: %v", err)
	}
	t.Cleanup(func() {
		c.negs.Close()
		c.bs.Close()
		c.maps.Close()
		c.proxies.Close()
		c.rules.Close()
		c.gops.Close()
		c.rops.Close()
	})
	return &c
}

// startSim starts a simulator for one test and closes it when the test ends.
func startSim(t testing.TB, opts Options) *Sim {
	t.Helper()
	s := New(opts)
	if err := s.Start(); err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testProject is a valid project ID for tests.
const testProject = "beyond-test-1"
