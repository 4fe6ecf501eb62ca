package gcp

import (
	"context"
	"fmt"
	"strings"

	"cloud.google.com/go/serviceusage/apiv1/serviceusagepb"
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
			return nil, c.explain(err, "read the state of "+api, "serviceusage.googleapis.com", "roles/serviceusage.serviceUsageViewer")
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
	return c.explain(err, what, "serviceusage.googleapis.com", roleServiceUsageAdmin)
}
