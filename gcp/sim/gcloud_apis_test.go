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
