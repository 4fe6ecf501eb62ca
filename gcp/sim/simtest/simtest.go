// Package simtest starts the simulator for the tests of other packages and
// connects the lab's gcp package to it, so that each test file does not
// repeat the wiring. (The simulator's own tests, inside package sim, share
// theirs in gcp/sim/clients_test.go: a package's internal tests cannot
// import a package that imports it.)
package simtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	artifactregistry "cloud.google.com/go/artifactregistry/apiv1"
	"cloud.google.com/go/artifactregistry/apiv1/artifactregistrypb"
	certificatemanager "cloud.google.com/go/certificatemanager/apiv1"
	cmpb "cloud.google.com/go/certificatemanager/apiv1/certificatemanagerpb"
	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	admin "cloud.google.com/go/iam/admin/apiv1"
	"cloud.google.com/go/iam/admin/apiv1/adminpb"
	run "cloud.google.com/go/run/apiv2"
	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/lab"
	"github.com/googleapis/gax-go/v2"
	dns "google.golang.org/api/dns/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Start starts a simulator with opts and closes it when the test ends. Pass
// a clock.Adjustable as opts.Clock to move simulated time forward instead of
// waiting for it.
func Start(t testing.TB, opts sim.Options) *sim.Sim {
	t.Helper()
	s := sim.New(opts)
	if err := s.Start(); err != nil {
		t.Fatalf("start the simulator: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Connect connects package gcp to s, for project, through Google's official
// clients over loopback, and closes the connection when the test ends.
func Connect(t testing.TB, s *sim.Sim, project string) *gcp.Cloud {
	t.Helper()
	c, err := gcp.Connect(context.Background(), project, s.Endpoints())
	if err != nil {
		t.Fatalf("connect to the simulator: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Count counts, through Google's official clients (list calls, every page),
// what the lab creates in project on the simulator at ep: Cloud Run services
// in every region, serverless NEGs, backend services, URL maps, target HTTP
// proxies, global forwarding rules, Artifact Registry repositories in every
// region of lab.Regions, service accounts (but the project's default ones),
// and Part 5's global addresses, target HTTPS proxies, Cloud DNS zones and
// Certificate Manager DNS authorizations, certificates and maps (none where
// their API is off). Keys are those kinds; the
// values are the resources' names, so a test can say what leaked.
// A call that meets an injected 429 or 503 is tried again, up to 20 times.
func Count(ctx context.Context, ep lab.Endpoints, project string) (map[string][]string, error) {
	plain := []option.ClientOption{
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
	rest := []option.ClientOption{option.WithEndpoint(ep.Compute), option.WithoutAuthentication()}
	out := map[string][]string{}
	var errs []error
	retry := func(what string, list func() ([]string, error)) {
		for attempt := 1; ; attempt++ {
			names, err := list()
			if err == nil {
				out[what] = append(out[what], names...)
				return
			}
			if code := status.Code(err); attempt < 20 && (code == codes.Unavailable || code == codes.ResourceExhausted ||
				strings.Contains(err.Error(), "429") || strings.Contains(err.Error(), "503")) {
				continue
			}
			errs = append(errs, fmt.Errorf("list %s: %w", what, err))
			return
		}
	}
	names := func(it interface{ Next() (string, error) }) ([]string, error) {
		var n []string
		for {
			name, err := it.Next()
			if errors.Is(err, iterator.Done) {
				return n, nil
			}
			if err != nil {
				return nil, err
			}
			n = append(n, name)
		}
	}
	regions := lab.Regions

	services, err := run.NewServicesClient(ctx, append([]option.ClientOption{option.WithEndpoint(ep.Run)}, plain...)...)
	if err != nil {
		return nil, err
	}
	defer services.Close()
	retry("Cloud Run service", func() ([]string, error) {
		return names(nameIter(services.ListServices(ctx, &runpb.ListServicesRequest{Parent: "projects/" + project + "/locations/-"}, noRetry)))
	})
	repos, err := artifactregistry.NewClient(ctx, append([]option.ClientOption{option.WithEndpoint(ep.ArtifactRegistry)}, plain...)...)
	if err != nil {
		return nil, err
	}
	defer repos.Close()
	for _, r := range regions {
		retry("repository", func() ([]string, error) {
			return names(nameIter(repos.ListRepositories(ctx, &artifactregistrypb.ListRepositoriesRequest{Parent: "projects/" + project + "/locations/" + r}, noRetry)))
		})
	}
	negs, err := compute.NewRegionNetworkEndpointGroupsRESTClient(ctx, rest...)
	if err != nil {
		return nil, err
	}
	defer negs.Close()
	for _, r := range regions {
		retry("network endpoint group", func() ([]string, error) {
			return names(nameIter(negs.List(ctx, &computepb.ListRegionNetworkEndpointGroupsRequest{Project: project, Region: r}, noRetry)))
		})
	}
	backends, err := compute.NewBackendServicesRESTClient(ctx, rest...)
	if err != nil {
		return nil, err
	}
	defer backends.Close()
	retry("backend service", func() ([]string, error) {
		return names(nameIter(backends.List(ctx, &computepb.ListBackendServicesRequest{Project: project}, noRetry)))
	})
	maps, err := compute.NewUrlMapsRESTClient(ctx, rest...)
	if err != nil {
		return nil, err
	}
	defer maps.Close()
	retry("URL map", func() ([]string, error) {
		return names(nameIter(maps.List(ctx, &computepb.ListUrlMapsRequest{Project: project}, noRetry)))
	})
	proxies, err := compute.NewTargetHttpProxiesRESTClient(ctx, rest...)
	if err != nil {
		return nil, err
	}
	defer proxies.Close()
	retry("target HTTP proxy", func() ([]string, error) {
		return names(nameIter(proxies.List(ctx, &computepb.ListTargetHttpProxiesRequest{Project: project}, noRetry)))
	})
	rules, err := compute.NewGlobalForwardingRulesRESTClient(ctx, rest...)
	if err != nil {
		return nil, err
	}
	defer rules.Close()
	retry("forwarding rule", func() ([]string, error) {
		return names(nameIter(rules.List(ctx, &computepb.ListGlobalForwardingRulesRequest{Project: project}, noRetry)))
	})
	addresses, err := compute.NewGlobalAddressesRESTClient(ctx, rest...)
	if err != nil {
		return nil, err
	}
	defer addresses.Close()
	retry("global address", func() ([]string, error) {
		return names(nameIter(addresses.List(ctx, &computepb.ListGlobalAddressesRequest{Project: project}, noRetry)))
	})
	https, err := compute.NewTargetHttpsProxiesRESTClient(ctx, rest...)
	if err != nil {
		return nil, err
	}
	defer https.Close()
	retry("target HTTPS proxy", func() ([]string, error) {
		return names(nameIter(https.List(ctx, &computepb.ListTargetHttpsProxiesRequest{Project: project}, noRetry)))
	})
	zones, err := dns.NewService(ctx, option.WithEndpoint(ep.Compute+"/"), option.WithoutAuthentication())
	if err != nil {
		return nil, err
	}
	retry("DNS zone", func() ([]string, error) {
		resp, err := zones.ManagedZones.List(project).Context(ctx).Do()
		if apiOff(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		var n []string
		for _, z := range resp.ManagedZones {
			n = append(n, z.Name)
		}
		return n, nil
	})
	certs, err := certificatemanager.NewClient(ctx, append([]option.ClientOption{option.WithEndpoint(ep.Run)}, plain...)...)
	if err != nil {
		return nil, err
	}
	defer certs.Close()
	global := "projects/" + project + "/locations/global"
	offOK := func(n []string, err error) ([]string, error) {
		if apiOff(err) {
			return nil, nil
		}
		return n, err
	}
	retry("DNS authorization", func() ([]string, error) {
		return offOK(names(nameIter(certs.ListDnsAuthorizations(ctx, &cmpb.ListDnsAuthorizationsRequest{Parent: global}, noRetry))))
	})
	retry("certificate", func() ([]string, error) {
		return offOK(names(nameIter(certs.ListCertificates(ctx, &cmpb.ListCertificatesRequest{Parent: global}, noRetry))))
	})
	retry("certificate map", func() ([]string, error) {
		return offOK(names(nameIter(certs.ListCertificateMaps(ctx, &cmpb.ListCertificateMapsRequest{Parent: global}, noRetry))))
	})
	iam, err := admin.NewIamClient(ctx, append([]option.ClientOption{option.WithEndpoint(ep.Run)}, plain...)...)
	if err != nil {
		return nil, err
	}
	defer iam.Close()
	retry("service account", func() ([]string, error) {
		all, err := names(nameIter(iam.ListServiceAccounts(ctx, &adminpb.ListServiceAccountsRequest{Name: "projects/" + project}, noRetry)))
		// The project's default accounts are Google's, there before the lab.
		return slices.DeleteFunc(all, func(n string) bool {
			return strings.HasSuffix(n, "-compute@developer.gserviceaccount.com") || strings.HasSuffix(n, "@appspot.gserviceaccount.com")
		}), err
	})
	return out, errors.Join(errs...)
}

// apiOff reports whether err says the API is not enabled: then the project
// holds none of its resources.
func apiOff(err error) bool {
	if err == nil {
		return false
	}
	if status.Code(err) == codes.PermissionDenied {
		return true
	}
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == 403
}

// noRetry turns off a client's own retries: Count retries, without sleeping.
var noRetry = gax.WithRetry(func() gax.Retryer { return nil })

// named is a resource with a name; every listed message has one.
type named interface{ GetName() string }

// iter is what the clients' list iterators have in common.
type iter[T named] interface{ Next() (T, error) }

// nameIterator turns a list iterator into one of names.
type nameIterator[T named] struct{ it iter[T] }

func (n nameIterator[T]) Next() (string, error) {
	x, err := n.it.Next()
	if err != nil {
		return "", err
	}
	return x.GetName(), nil
}

func nameIter[T named](it iter[T]) nameIterator[T] { return nameIterator[T]{it} }
