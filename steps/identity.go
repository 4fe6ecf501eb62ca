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

// Step IDs of the identity steps.
const (
	StepServiceAccount = "service-account"
	StepGrantVertexAI  = "grant-vertex-ai"
)

// roleVertexAIUser grants aiplatform.endpoints.predict: calling Gemini on
// Vertex AI.
const roleVertexAIUser = "roles/aiplatform.user"

// serviceAccountEmail is the email of the lab's service account.
func (s *Session) serviceAccountEmail() string {
	return s.Cloud.ServiceAccountEmail(s.Vars.ServiceAccount)
}

func stepServiceAccount() *Step {
	return &Step{
		ID: StepServiceAccount, Part: "deploy", Title: "Create the service's identity",
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
			if gcp.IsAlreadyExists(err) { // created meanwhile, by another tab
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
				return "", failf("Run this step again", "service account "+s.serviceAccountEmail()+" does not exist")
			}
			if err != nil {
				return "", err
			}
			if sa.GetDisabled() {
				return "", failf("`gcloud iam service-accounts enable "+sa.GetEmail()+"`", "service account "+sa.GetEmail()+" is disabled")
			}
			return "Service account " + sa.GetEmail() + " exists (unique ID " + sa.GetUniqueId() + ").", nil
		},
	}
}

// serviceAccountDisplay is the account's display name.
const serviceAccountDisplay = "Gemini service (Beyond the Region lab)"

func stepGrantVertexAI() *Step {
	return &Step{
		ID: StepGrantVertexAI, Part: "deploy", Title: "Let the service call Vertex AI",
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
			return fmt.Sprintf("Granted %s on project %s to %s (IAM changes can take a minute or two to reach every region).", roleVertexAIUser, s.Vars.Project, s.serviceAccountEmail()), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			ok, err := s.Cloud.ProjectRoleHolds(ctx, roleVertexAIUser, "serviceAccount:"+s.serviceAccountEmail())
			if err != nil {
				return "", err
			}
			if !ok {
				return "", failf(fmt.Sprintf("Run this step, or `gcloud projects add-iam-policy-binding %s --member=serviceAccount:%s --role=%s`", s.Vars.Project, s.serviceAccountEmail(), roleVertexAIUser),
					fmt.Sprintf("%s does not hold %s on project %s, so every Gemini call of the service would be refused with 403 PERMISSION_DENIED", s.serviceAccountEmail(), roleVertexAIUser, s.Vars.Project))
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
		return failf("Run the step 'Let the service call Vertex AI' (it grants "+roleVertexAIUser+" to the service's account), then this one",
			fmt.Sprintf("the service in %s answered %d: Gemini refused its service account: %s", sm.Region, sm.Status, truncate(strings.TrimSpace(body), 400)))
	case strings.Contains(body, "not served"):
		return failf("Run 'Confirm the AI logic' with --model naming a model that is served, then deploy again",
			fmt.Sprintf("the service in %s answered %d: %s", sm.Region, sm.Status, truncate(strings.TrimSpace(body), 400)))
	}
	return nil
}
