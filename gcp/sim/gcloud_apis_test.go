package sim

import (
	"strings"
	"testing"
	"time"
)

// TestGcloudServices runs gcloud services enable / list / disable, and
// checks that the Go clients see what gcloud did.
func TestGcloudServices(t *testing.T) {
	t.Parallel()
	// A short enable, so that gcloud polls the operation by name.
	s := startSim(t, Options{Profile: Profile{EnableAPI: 100 * time.Millisecond}})
	g := newGcloud(t, s, testProject)

	g.must("services", "enable", "run.googleapis.com", "compute.googleapis.com")
	g.must("services", "enable", "artifactregistry.googleapis.com")
	out := g.must("services", "list", "--enabled", "--format=value(config.name)")
	for _, api := range []string{APIRun, APICompute, APIArtifactRegistry} {
		if !strings.Contains(out, api+"\n") {
			t.Errorf("services list --enabled = %q, want %s", out, api)
		}
	}
	if strings.Contains(out, APIAIPlatform) {
		t.Errorf("services list --enabled = %q lists a disabled API", out)
	}
	g.must("services", "disable", "artifactregistry.googleapis.com")
	if _, errOut, err := g.run("services", "enable", "nope.googleapis.com"); err == nil || !strings.Contains(errOut, "nope.googleapis.com") {
		t.Errorf("enabling an unknown service: err %v, stderr %q; want Google's refusal naming it", err, errOut)
	}
	s.mu.Lock()
	p := s.projects[testProject]
	run, compute, ar := p.enabled[APIRun], p.enabled[APICompute], p.enabled[APIArtifactRegistry]
	s.mu.Unlock()
	if !run || !compute || ar {
		t.Errorf("after gcloud: run %v, compute %v, artifactregistry %v; want on, on, off", run, compute, ar)
	}
}

// TestGcloudArtifacts runs gcloud artifacts repositories create, describe,
// list (in a location and across all) and delete.
func TestGcloudArtifacts(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{})
	enableAPIs(t, s, testProject, APIArtifactRegistry)
	g := newGcloud(t, s, testProject)

	g.must("artifacts", "repositories", "create", "lab-images", "--repository-format=docker", "--location=us-central1", "--description=the lab's images")
	if out := g.must("artifacts", "repositories", "describe", "lab-images", "--location=us-central1", "--format=value(format,registryUri)"); strings.TrimSpace(out) != "DOCKER\tus-central1-docker.pkg.dev/"+testProject+"/lab-images" {
		t.Errorf("describe = %q", out)
	}
	if out := g.must("artifacts", "repositories", "list", "--location=us-central1", "--format=value(name)"); strings.TrimSpace(out) != "lab-images" {
		t.Errorf("list --location = %q, want lab-images", out)
	}
	if out := g.must("artifacts", "repositories", "list", "--format=value(name)"); strings.TrimSpace(out) != "lab-images" {
		t.Errorf("list across all locations = %q, want lab-images", out)
	}
	if _, errOut, err := g.run("artifacts", "repositories", "create", "lab-images", "--repository-format=docker", "--location=us-central1"); err == nil || !strings.Contains(errOut, "already exists") {
		t.Errorf("a second create: err %v, stderr %q; want ALREADY_EXISTS", err, errOut)
	}
	g.must("artifacts", "repositories", "delete", "lab-images", "--location=us-central1")
	s.mu.Lock()
	left := len(s.projects[testProject].registry.repos)
	s.mu.Unlock()
	if left != 0 {
		t.Errorf("%d repositories left after gcloud's delete", left)
	}
}

// TestGcloudIAM runs gcloud iam service-accounts create / describe / list
// / delete and gcloud projects add-iam-policy-binding / get-iam-policy /
// remove-iam-policy-binding.
func TestGcloudIAM(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{})
	g := newGcloud(t, s, testProject)
	email := "lab-runner@" + testProject + ".iam.gserviceaccount.com"

	g.must("iam", "service-accounts", "create", "lab-runner", "--display-name=The lab's service")
	if out := g.must("iam", "service-accounts", "describe", email, "--format=value(displayName)"); strings.TrimSpace(out) != "The lab's service" {
		t.Errorf("describe = %q", out)
	}
	if out := g.must("iam", "service-accounts", "list", "--format=value(email)"); !strings.Contains(out, email+"\n") || !strings.Contains(out, "-compute@developer.gserviceaccount.com\n") {
		t.Errorf("list = %q, want the new account and the Compute Engine default one", out)
	}
	member := "serviceAccount:" + email
	g.must("projects", "add-iam-policy-binding", testProject, "--member="+member, "--role=roles/aiplatform.user", "--condition=None")
	policy := g.must("projects", "get-iam-policy", testProject, "--flatten=bindings[].members", "--filter=bindings.role:roles/aiplatform.user", "--format=value(bindings.members)")
	if strings.TrimSpace(policy) != member {
		t.Errorf("members with roles/aiplatform.user = %q, want %s", policy, member)
	}
	g.must("projects", "remove-iam-policy-binding", testProject, "--member="+member, "--role=roles/aiplatform.user", "--condition=None")
	g.must("iam", "service-accounts", "delete", email)
	s.mu.Lock()
	_, left := s.projects[testProject].iam.accounts[email]
	granted := s.projects[testProject].iam.policy.allows("roles/aiplatform.user", member)
	s.mu.Unlock()
	if left || granted {
		t.Errorf("after gcloud's delete and remove: account left %v, role still granted %v", left, granted)
	}
}
