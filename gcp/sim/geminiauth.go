package sim

import (
	"fmt"
	"net/http"
	"strings"
)

// Who calls the simulated Gemini, and whether they may. On Google a Cloud
// Run instance calls Vertex AI as its revision's service account, which
// needs roles/aiplatform.user (permission aiplatform.endpoints.predict) on
// the project, or every call is a 403. On the simulated network instances
// reach the fake with an API key instead of a token; the key names the
// revision's project, region and service account, so the fake can apply
// the same rule. Any other key or token is the learner, who owns the
// project.

// instanceKey is the Gemini API key of an instance of rr:
// InstanceGeminiKey:PROJECT:REGION:SERVICE_ACCOUNT. A revision with no
// service account (only in tests) gets InstanceGeminiKey alone, which the
// fake treats as the learner.
func instanceKey(rr ReadyRevision) string {
	if rr.ServiceAccount == "" {
		return InstanceGeminiKey
	}
	return strings.Join([]string{InstanceGeminiKey, rr.Project, rr.Region, rr.ServiceAccount}, ":")
}

// parseInstanceKey reads an instanceKey back.
func parseInstanceKey(key string) (project, region, account string, ok bool) {
	rest, ok := strings.CutPrefix(key, InstanceGeminiKey+":")
	if !ok {
		return "", "", "", false
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// aiplatformPredictRoles grant aiplatform.endpoints.predict on a project.
var aiplatformPredictRoles = []string{"roles/aiplatform.user", "roles/aiplatform.admin", "roles/editor", "roles/owner"}

// geminiMayPredict answers Google's 403 when the caller is an instance whose
// service account may not call Gemini on its project, and reports whether
// the call may go on.
func (s *Sim) geminiMayPredict(w http.ResponseWriter, model string, at geminiAt) bool {
	project, region, account, ok := parseInstanceKey(at.key)
	if !ok {
		return true
	}
	s.mu.Lock()
	p, err := s.readProjectLocked(project)
	allowed := err == nil && p.iam.holds(account, aiplatformPredictRoles...)
	s.mu.Unlock()
	if allowed {
		return true
	}
	location := at.location
	if location == "" {
		location = region
	}
	s.log.Debug("gemini: caller lacks aiplatform.endpoints.predict", "project", project, "service_account", account)
	geminiError(w, http.StatusForbidden, fmt.Sprintf("Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/projects/%s/locations/%s/publishers/google/models/%s' (or it may not exist).", project, location, model))
	return false
}
