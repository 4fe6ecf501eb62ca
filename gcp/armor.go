package gcp

import (
	"context"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// Cloud Armor security policies (Compute Engine's securityPolicies), and
// attaching one to a backend service.

// roleSecurityAdmin is what changing a security policy needs; attaching one
// to a backend service needs roleNEGAdmin (Compute Network Admin).
const roleSecurityAdmin = "roles/compute.securityAdmin"

// GetSecurityPolicy reads a global security policy.
func (c *Cloud) GetSecurityPolicy(ctx context.Context, name string) (*computepb.SecurityPolicy, error) {
	if c.snap != nil {
		return c.snapSecurityPolicy(ctx, name)
	}
	return computeRead(ctx, c, "compute.securityPolicies.get", "read security policy "+name, func(ctx context.Context) (*computepb.SecurityPolicy, error) {
		return c.armor.Get(ctx, &computepb.GetSecurityPolicyRequest{Project: c.Project, SecurityPolicy: name}, noRetry)
	})
}

// CreateSecurityPolicy inserts a security policy (Google adds its default
// rule, allow everything at the lowest priority).
func (c *Cloud) CreateSecurityPolicy(ctx context.Context, sp *computepb.SecurityPolicy, progress Progress) error {
	return c.computeChange(ctx, "compute.securityPolicies.insert", create, "create security policy "+sp.GetName(), roleSecurityAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.armor.Insert(ctx, &computepb.InsertSecurityPolicyRequest{Project: c.Project, SecurityPolicyResource: sp}, noRetry)
	})
}

// AddSecurityPolicyRule adds a rule to a policy.
func (c *Cloud) AddSecurityPolicyRule(ctx context.Context, policy string, rule *computepb.SecurityPolicyRule, progress Progress) error {
	return c.computeChange(ctx, "compute.securityPolicies.addRule", write, "add a rule to security policy "+policy, roleSecurityAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.armor.AddRule(ctx, &computepb.AddRuleSecurityPolicyRequest{Project: c.Project, SecurityPolicy: policy, SecurityPolicyRuleResource: rule}, noRetry)
	})
}

// SetSecurityPolicyRulePreview puts the rule of a priority in preview
// (logged, not enforced) or takes it out, as `gcloud compute
// security-policies rules update P --[no-]preview` does.
func (c *Cloud) SetSecurityPolicyRulePreview(ctx context.Context, policy string, priority int32, preview bool, progress Progress) error {
	return c.computeChange(ctx, "compute.securityPolicies.patchRule", write, "change the preview of a rule of security policy "+policy, roleSecurityAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.armor.PatchRule(ctx, &computepb.PatchRuleSecurityPolicyRequest{
			Project: c.Project, SecurityPolicy: policy, Priority: proto.Int32(priority),
			SecurityPolicyRuleResource: &computepb.SecurityPolicyRule{Priority: proto.Int32(priority), Preview: proto.Bool(preview)},
		}, noRetry)
	})
}

// SetBackendSecurityPolicy attaches a policy to a global backend service;
// an empty policy detaches whatever is attached.
func (c *Cloud) SetBackendSecurityPolicy(ctx context.Context, backend, policy string, progress Progress) error {
	ref := ""
	what := "detach the security policy of backend service " + backend
	if policy != "" {
		ref = c.GlobalURL("securityPolicies", policy)
		what = "attach security policy " + policy + " to backend service " + backend
	}
	return c.computeChange(ctx, "compute.backendServices.setSecurityPolicy", write, what, roleNEGAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.backends.SetSecurityPolicy(ctx, &computepb.SetSecurityPolicyBackendServiceRequest{
			Project: c.Project, BackendService: backend,
			SecurityPolicyReferenceResource: &computepb.SecurityPolicyReference{SecurityPolicy: proto.String(ref)},
		}, noRetry)
	})
}

// DeleteSecurityPolicy deletes a policy; it reports whether there was one.
// Google refuses while a backend service uses it: detach it first.
func (c *Cloud) DeleteSecurityPolicy(ctx context.Context, name string, progress Progress) (bool, error) {
	err := c.computeChange(ctx, "compute.securityPolicies.delete", remove, "delete security policy "+name, roleSecurityAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.armor.Delete(ctx, &computepb.DeleteSecurityPolicyRequest{Project: c.Project, SecurityPolicy: name}, noRetry)
	})
	if IsNotFound(err) {
		return false, nil
	}
	return true, err
}

func (c *Cloud) snapSecurityPolicy(ctx context.Context, name string) (*computepb.SecurityPolicy, error) {
	return snapCompute(ctx, c, "securityPolicies", name, "read security policy "+name, func() ([]*computepb.SecurityPolicy, error) {
		return pages[*computepb.SecurityPolicy](ctx, c.snap, func() *compute.SecurityPolicyIterator {
			return c.armor.List(ctx, &computepb.ListSecurityPoliciesRequest{Project: c.Project}, noRetry)
		})
	})
}
