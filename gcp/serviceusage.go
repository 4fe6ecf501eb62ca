package gcp

import (
	cmpb "cloud.google.com/go/certificatemanager/apiv1/certificatemanagerpb"
	"context"
	"errors"
	"fmt"
	"strings"

	"cloud.google.com/go/artifactregistry/apiv1/artifactregistrypb"
	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/run/apiv2/runpb"
	"cloud.google.com/go/serviceusage/apiv1/serviceusagepb"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/proto"

	"github.com/beyond-lab/beyond/lab"
)

const roleServiceUsageAdmin = "roles/serviceusage.serviceUsageAdmin"

// EnabledAPIs reports which of apis are enabled in the project.
func (c *Cloud) EnabledAPIs(ctx context.Context, apis []string) (map[string]bool, error) {
	if c.snap != nil {
		return c.snapEnabledAPIs(ctx, apis)
	}
	enabled := map[string]bool{}
	for _, api := range apis {
		var s *serviceusagepb.Service
		err := c.call(ctx, "serviceusage.GetService", read, nil, func(ctx context.Context) error {
			var err error
			s, err = c.usage.GetService(ctx, &serviceusagepb.GetServiceRequest{Name: fmt.Sprintf("projects/%s/services/%s", c.Project, api)}, noRetry)
			return err
		})
		if err != nil {
			return nil, c.explain(err, "read the state of "+api, lab.APIServiceUsage, "roles/serviceusage.serviceUsageViewer")
		}
		enabled[api] = s.GetState() == serviceusagepb.State_ENABLED
	}
	return enabled, nil
}

// EnableAPIs enables the APIs and waits until they are on.
func (c *Cloud) EnableAPIs(ctx context.Context, apis []string, progress Progress) error {
	what := "enable " + strings.Join(apis, ", ")
	err := c.call(ctx, "serviceusage.BatchEnableServices", write, progress, func(ctx context.Context) error {
		op, err := c.usage.BatchEnableServices(ctx, &serviceusagepb.BatchEnableServicesRequest{
			Parent:     "projects/" + c.Project,
			ServiceIds: apis,
		}, noRetry)
		if err != nil {
			return err
		}
		return c.waitOp(ctx, what, "longrunning.GetOperation", progress, op.Done, func(ctx context.Context) error {
			_, err := op.Poll(ctx, noRetry)
			return err
		})
	})
	return c.explain(err, what, lab.APIServiceUsage, roleServiceUsageAdmin)
}

// APIAnswers reports whether calls to api reach it yet. For minutes after an
// enable operation is done, Google can still answer SERVICE_DISABLED: this
// makes one cheap read of the API (in region, where it needs one) and
// reports false while that is the answer. Any other error is returned;
// an answer such as "not found" means the API is serving. APIs the lab
// has no client for report true.
func (c *Cloud) APIAnswers(ctx context.Context, api, region string) (bool, error) {
	if c.snap != nil {
		// A read-only sweep from a snapshot: its own reads of each API
		// already answered (or failed and are reported as such).
		return true, nil
	}
	var list func(ctx context.Context) error
	method := ""
	switch api {
	case lab.APIRun:
		method = "run.ListServices"
		list = func(ctx context.Context) error {
			_, err := c.services.ListServices(ctx, &runpb.ListServicesRequest{Parent: fmt.Sprintf("projects/%s/locations/%s", c.Project, region), PageSize: 1}, noRetry).Next()
			return err
		}
	case lab.APICompute:
		method = "compute.backendServices.list"
		list = func(ctx context.Context) error {
			_, err := c.backends.List(ctx, &computepb.ListBackendServicesRequest{Project: c.Project, MaxResults: proto.Uint32(1)}, noRetry).Next()
			return err
		}
	case lab.APIArtifactRegistry:
		method = "artifactregistry.ListRepositories"
		list = func(ctx context.Context) error {
			_, err := c.repos.ListRepositories(ctx, &artifactregistrypb.ListRepositoriesRequest{Parent: fmt.Sprintf("projects/%s/locations/%s", c.Project, region), PageSize: 1}, noRetry).Next()
			return err
		}
	case dnsAPI:
		method = "dns.managedZones.list"
		list = func(ctx context.Context) error {
			_, err := c.dns.ManagedZones.List(c.Project).MaxResults(1).Context(ctx).Do()
			return err
		}
	case certAPI:
		method = "certificatemanager.projects.locations.certificateMaps.list"
		list = func(ctx context.Context) error {
			_, err := c.certs.ListCertificateMaps(ctx, &cmpb.ListCertificateMapsRequest{Parent: c.CertParent(), PageSize: 1}, noRetry).Next()
			return err
		}
	default:
		return true, nil
	}
	err := c.call(ctx, method, read, nil, func(ctx context.Context) error {
		if err := list(ctx); !errors.Is(err, iterator.Done) {
			return err
		}
		return nil
	})
	if err == nil || errors.Is(err, iterator.Done) {
		return true, nil
	}
	if KindOf(err) == KindAPIDisabled {
		return false, nil
	}
	return false, c.explain(err, "call "+api, api, "roles/viewer")
}
