package gcp

import (
	"context"
	"fmt"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/run/apiv2/runpb"
)

// Reads of whole resources, as Google returns them, for exporting what a
// project holds (package export): the lab's other reads keep only what its
// checks need.

// RunService reads a Cloud Run service whole: every setting of its
// template (probes, scaling, identity), its ingress and its IAM switches.
func (c *Cloud) RunService(ctx context.Context, region, name string) (*runpb.Service, error) {
	svc, err := c.getService(ctx, region, name)
	if err != nil {
		return nil, c.explain(err, fmt.Sprintf("read Cloud Run service %s in %s", name, region), runAPI, "roles/run.viewer")
	}
	return svc, nil
}

// ServicePolicy reads a Cloud Run service's IAM policy.
func (c *Cloud) ServicePolicy(ctx context.Context, region, name string) (*iampb.Policy, error) {
	p, err := c.iamPolicy(ctx, c.serviceName(region, name))
	if err != nil {
		return nil, c.explain(err, fmt.Sprintf("read the IAM policy of %s in %s", name, region), runAPI, "roles/run.viewer")
	}
	return p, nil
}
