package gcp

import (
	"context"
	"fmt"
	"slices"

	"cloud.google.com/go/iam/admin/apiv1/adminpb"
	"cloud.google.com/go/iam/apiv1/iampb"

	"github.com/beyond-lab/beyond/lab"
)

// Service accounts (IAM admin API, gRPC) and the project's IAM policy
// (Resource Manager v3, gRPC): the service's own identity and its roles.

const (
	roleServiceAccountAdmin = "roles/iam.serviceAccountAdmin"
	roleProjectIAMAdmin     = "roles/resourcemanager.projectIamAdmin"
)

// ServiceAccountEmail is the email of the service account id of the project.
func (c *Cloud) ServiceAccountEmail(id string) string {
	return id + "@" + c.Project + ".iam.gserviceaccount.com"
}

func (c *Cloud) serviceAccountName(id string) string {
	return "projects/" + c.Project + "/serviceAccounts/" + c.ServiceAccountEmail(id)
}

// GetServiceAccount reads the service account id of the project.
func (c *Cloud) GetServiceAccount(ctx context.Context, id string) (*adminpb.ServiceAccount, error) {
	return readOnce(ctx, c, "iam.projects.serviceAccounts.get", "read service account "+c.ServiceAccountEmail(id), lab.APIIAM, roleServiceAccountAdmin, func(ctx context.Context) (*adminpb.ServiceAccount, error) {
		return c.iam.GetServiceAccount(ctx, &adminpb.GetServiceAccountRequest{Name: c.serviceAccountName(id)}, noRetry)
	})
}

// CreateServiceAccount creates the service account id, as `gcloud iam
// service-accounts create` does.
func (c *Cloud) CreateServiceAccount(ctx context.Context, id, displayName string) (*adminpb.ServiceAccount, error) {
	var sa *adminpb.ServiceAccount
	err := c.call(ctx, "iam.projects.serviceAccounts.create", create, nil, func(ctx context.Context) error {
		var err error
		sa, err = c.iam.CreateServiceAccount(ctx, &adminpb.CreateServiceAccountRequest{
			Name:           "projects/" + c.Project,
			AccountId:      id,
			ServiceAccount: &adminpb.ServiceAccount{DisplayName: displayName},
		}, noRetry)
		return err
	})
	if sa == nil && err == nil {
		// An earlier attempt made it: read what it made.
		return c.GetServiceAccount(ctx, id)
	}
	if err != nil {
		return nil, c.explain(err, "create service account "+id, lab.APIIAM, roleServiceAccountAdmin)
	}
	return sa, nil
}

// DeleteServiceAccount deletes the service account id. It reports whether
// there was one.
func (c *Cloud) DeleteServiceAccount(ctx context.Context, id string) (bool, error) {
	err := c.call(ctx, "iam.projects.serviceAccounts.delete", remove, nil, func(ctx context.Context) error {
		return c.iam.DeleteServiceAccount(ctx, &adminpb.DeleteServiceAccountRequest{Name: c.serviceAccountName(id)}, noRetry)
	})
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, c.explain(err, "delete service account "+c.ServiceAccountEmail(id), lab.APIIAM, roleServiceAccountAdmin)
	}
	return true, nil
}

// ProjectRoleHolds reports whether member holds role on the project, by a
// binding without a condition.
func (c *Cloud) ProjectRoleHolds(ctx context.Context, role, member string) (bool, error) {
	// A sweep's checks may ask of several roles: one read of the policy.
	policy, err := memo(c, "cloudresourcemanager.projects.getIamPolicy", func() (*iampb.Policy, error) {
		return c.projectPolicy(ctx, "projects/"+c.Project)
	})
	if err != nil {
		return false, c.explain(err, "read the IAM policy of project "+c.Project, lab.APIResourceManager, "roles/iam.securityReviewer")
	}
	return hasMember(policy, role, member), nil
}

// GrantProjectRole adds member to role on the project, as `gcloud projects
// add-iam-policy-binding` does: read the policy, add, write it back with
// its etag, and start again if someone else wrote in between. It reports
// whether the policy changed.
func (c *Cloud) GrantProjectRole(ctx context.Context, role, member string) (bool, error) {
	return c.editProjectPolicy(ctx, fmt.Sprintf("grant %s to %s", role, member), func(p *iampb.Policy) bool {
		if hasMember(p, role, member) {
			return false
		}
		for _, b := range p.Bindings {
			if b.GetRole() == role && b.GetCondition() == nil {
				b.Members = append(b.Members, member)
				return true
			}
		}
		p.Bindings = append(p.Bindings, &iampb.Binding{Role: role, Members: []string{member}})
		return true
	})
}

// RevokeProjectRole removes member from role on the project. It reports
// whether the policy changed.
func (c *Cloud) RevokeProjectRole(ctx context.Context, role, member string) (bool, error) {
	return c.editProjectPolicy(ctx, fmt.Sprintf("revoke %s from %s", role, member), func(p *iampb.Policy) bool {
		changed := false
		for _, b := range p.Bindings {
			if b.GetRole() == role && b.GetCondition() == nil && slices.Contains(b.Members, member) {
				b.Members = slices.DeleteFunc(b.Members, func(m string) bool { return m == member })
				changed = true
			}
		}
		return changed
	})
}

// editProjectPolicy applies edit to the project's policy, read-modify-write
// with the etag; a write that lost a race (ABORTED) is retried from the read
// (Cloud.call).
func (c *Cloud) editProjectPolicy(ctx context.Context, op string, edit func(*iampb.Policy) bool) (bool, error) {
	res := "projects/" + c.Project
	changed := false
	err := c.call(ctx, "cloudresourcemanager.projects.setIamPolicy", write, nil, func(ctx context.Context) error {
		policy, err := c.projectPolicy(ctx, res)
		if err != nil {
			return err
		}
		if !edit(policy) {
			return nil
		}
		if _, err := c.projects.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: res, Policy: policy}, noRetry); err != nil {
			return err
		}
		changed = true
		return nil
	})
	return changed, c.explain(err, op, lab.APIResourceManager, roleProjectIAMAdmin)
}

// projectPolicy reads a project's IAM policy, retried (Cloud.call).
func (c *Cloud) projectPolicy(ctx context.Context, res string) (*iampb.Policy, error) {
	var policy *iampb.Policy
	err := c.call(ctx, "cloudresourcemanager.projects.getIamPolicy", read, nil, func(ctx context.Context) error {
		var err error
		policy, err = c.projects.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: res}, noRetry)
		return err
	})
	return policy, err
}
