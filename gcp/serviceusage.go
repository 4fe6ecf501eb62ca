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
		s, err := c.usage.GetService(ctx, &serviceusagepb.GetServiceRequest{Name: fmt.Sprintf("projects/%s/services/%s", c.Project, api)})
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
	op, err := c.usage.BatchEnableServices(ctx, &serviceusagepb.BatchEnableServicesRequest{
		Parent:     "projects/" + c.Project,
		ServiceIds: apis,
	})
	if err != nil {
		return c.explain(err, what, "serviceusage.googleapis.com", roleServiceUsageAdmin)
	}
	err = c.wait(ctx, what, progress, op.Done, func(ctx context.Context) error {
		_, err := op.Poll(ctx)
		return err
	})
	return c.explain(err, what, "serviceusage.googleapis.com", roleServiceUsageAdmin)
}
