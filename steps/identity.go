package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/beyond-lab/beyond/gcp"
)

// The service's own identity: a dedicated service account, allowed to call
// Vertex AI and nothing else, which both deploys run as. Without it Cloud
// Run uses the Compute Engine default service account, which holds broad
// roles in old projects and none at all in organisations created since
// May 2024, where every Gemini call would be a 403.

// roleVertexAIUser grants aiplatform.endpoints.predict: calling Gemini on
// Vertex AI.
const roleVertexAIUser = "roles/aiplatform.user"

// serviceAccountEmail is the email of the lab's service account.
func (s *Session) serviceAccountEmail() string {
	return s.Cloud.ServiceAccountEmail(s.Vars.ServiceAccount)
}

func stepServiceAccount() *Step {
	return &Step{
		ID: ServiceAccount, Part: PartDeploy, Creates: createsServiceAccount,
		Command: func(s *Session) string {
			return fmt.Sprintf("gcloud iam service-accounts create %s \\\n    --display-name=%q", s.Vars.ServiceAccount, serviceAccountDisplay)
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			sa, err := s.Cloud.GetServiceAccount(ctx, s.Vars.ServiceAccount)
			if err == nil {
				return "Adopted service account " + sa.GetEmail() + ".", nil
			}
			if !gcp.IsNotFound(err) {
				return "", err
			}
			sa, err = s.Cloud.CreateServiceAccount(ctx, s.Vars.ServiceAccount, serviceAccountDisplay)
			if gcp.KindOf(err) == gcp.KindAlreadyExists { // created meanwhile, by another tab
				return "Adopted service account " + s.serviceAccountEmail() + ".", nil
			}
			if err != nil {
				return "", err
			}
			return "Created service account " + sa.GetEmail() + ": the service will run as it.", nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			sa, err := s.Cloud.GetServiceAccount(ctx, s.Vars.ServiceAccount)
			if gcp.IsNotFound(err) {
				return "", failf("service account "+s.serviceAccountEmail()+" does not exist", "Run this step again")
			}
			if err != nil {
				return "", err
			}
			if sa.GetDisabled() {
				return "", failf("service account "+sa.GetEmail()+" is disabled", "`gcloud iam service-accounts enable "+sa.GetEmail()+"`")
			}
			return "Service account " + sa.GetEmail() + " exists (unique ID " + sa.GetUniqueId() + ").", nil
		},
	}
}

// serviceAccountDisplay is the account's display name.
const serviceAccountDisplay = "Gemini service (Beyond the Region lab)"

func stepGrantVertexAI() *Step {
	return &Step{
		ID: GrantVertexAI, Part: PartDeploy, Creates: createsRoleBinding,
		Command: func(s *Session) string {
			return fmt.Sprintf("gcloud projects add-iam-policy-binding %s \\\n    --member=serviceAccount:%s \\\n    --role=%s \\\n    --condition=None", s.Vars.Project, s.serviceAccountEmail(), roleVertexAIUser)
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			member := "serviceAccount:" + s.serviceAccountEmail()
			changed, err := s.Cloud.GrantProjectRole(ctx, roleVertexAIUser, member)
			if err != nil {
				return "", err
			}
			if !changed {
				return fmt.Sprintf("Adopted: %s already holds %s on %s.", s.serviceAccountEmail(), roleVertexAIUser, s.Vars.Project), nil
			}
			return fmt.Sprintf("Granted %s on project %s to %s (Google says an IAM change typically applies within 2 minutes, and can take 7 minutes or longer).", roleVertexAIUser, s.Vars.Project, s.serviceAccountEmail()), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			ok, err := s.Cloud.ProjectRoleHolds(ctx, roleVertexAIUser, "serviceAccount:"+s.serviceAccountEmail())
			if err != nil {
				return "", err
			}
			if !ok {
				return "", failf(fmt.Sprintf("%s does not hold %s on project %s, so every Gemini call of the service would be refused with 403 PERMISSION_DENIED", s.serviceAccountEmail(), roleVertexAIUser, s.Vars.Project),
					fmt.Sprintf("Run this step, or `gcloud projects add-iam-policy-binding %s --member=serviceAccount:%s --role=%s`", s.Vars.Project, s.serviceAccountEmail(), roleVertexAIUser))
			}
			return fmt.Sprintf("%s holds %s on project %s.", s.serviceAccountEmail(), roleVertexAIUser, s.Vars.Project), nil
		},
	}
}

// serviceFault recognises an answer of the service itself (it names its
// region) that no waiting will fix: Gemini refusing the service's
// identity, or a model that is not served. It returns the failure with its
// fix, or nil.
func serviceFault(sm Sample, body string) error {
	if sm.Region == "" || sm.Status < 500 {
		return nil
	}
	switch {
	case strings.Contains(body, "aiplatform.endpoints.predict") || strings.Contains(body, "PERMISSION_DENIED"):
		return failf(fmt.Sprintf("the service in %s answered %d: Gemini refused its service account: %s", sm.Region, sm.Status, truncate(strings.TrimSpace(body), 400)),
			"Run the step "+titleOf(GrantVertexAI)+" (it grants "+roleVertexAIUser+" to the service's account), then this one")
	case strings.Contains(body, "not served"):
		return failf(fmt.Sprintf("the service in %s answered %d: %s", sm.Region, sm.Status, truncate(strings.TrimSpace(body), 400)),
			"Run "+titleOf(ConfirmAI)+": it asks Google where the model is served, and the deploys then call it there (or choose a served model with --model); then deploy again")
	}
	return nil
}

// createsServiceAccount: the account, deleted after its binding.
func createsServiceAccount(v Vars) []Resource {
	email := serviceAccountEmailOf(v)
	return []Resource{{
		Kind: "service account", Name: email, Where: "project",
		gcloud: "gcloud iam service-accounts delete " + email + " --quiet",
		del: func(ctx context.Context, s *Session) (bool, error) {
			return s.Cloud.DeleteServiceAccount(ctx, v.ServiceAccount)
		},
		get: func(ctx context.Context, s *Session) error {
			_, err := s.Cloud.GetServiceAccount(ctx, v.ServiceAccount)
			return err
		},
	}}
}

// createsRoleBinding: the account's binding goes first, or Google would
// keep it in the policy as a deleted:serviceAccount member.
func createsRoleBinding(v Vars) []Resource {
	member := "serviceAccount:" + serviceAccountEmailOf(v)
	return []Resource{{
		Kind: "role binding", Name: roleVertexAIUser + " for " + member, Where: "project",
		gcloud: "gcloud projects remove-iam-policy-binding " + v.Project + " --member=" + member + " --role=" + roleVertexAIUser + " --condition=None",
		del: func(ctx context.Context, s *Session) (bool, error) {
			return s.Cloud.RevokeProjectRole(ctx, roleVertexAIUser, member)
		},
	}}
}

// serviceAccountEmailOf is the email of the lab's service account.
func serviceAccountEmailOf(v Vars) string {
	return v.ServiceAccount + "@" + v.Project + ".iam.gserviceaccount.com"
}
