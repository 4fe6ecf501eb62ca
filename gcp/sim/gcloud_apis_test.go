package sim

import (
	"strings"
	"testing"
	"time"
)

// TestGcloudServices runs gcloud services enable / list / disable, and
// checks that the Go clients see what gcloud did.
func TestGcloudServices(t *testing.T) {
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
