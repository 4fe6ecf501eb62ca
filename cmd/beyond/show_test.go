package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beyond-lab/beyond/steps"
)

// TestShowPrintsTheCommand: beyond show prints a step's command with the
// learner's variables (flags after the step too) and the outputs their
// saved progress holds, and refuses what it cannot show with what to do.
func TestShowPrintsTheCommand(t *testing.T) {
	code, out, errs := beyond(t, nil, "show", "deploy-b", "--region-b", "asia-east1", "--service", "sentiment")
	if code != exitOK || !strings.Contains(out, "run deploy sentiment") || !strings.Contains(out, "--region asia-east1") {
		t.Errorf("show deploy-b: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	// The global IP from saved progress reaches the curl command.
	dir := t.TempDir()
	saved := steps.Saved{Target: "simulator", Project: defaultSimProject, Steps: map[string]steps.SavedState{}, Outputs: steps.Outputs{GlobalIP: "203.0.113.9"}}
	data, _ := json.Marshal(saved)
	if err := os.WriteFile(filepath.Join(dir, "simulator-"+defaultSimProject+".json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := beyond(t, map[string]string{"BEYOND_STATE_DIR": dir}, "show", steps.Curl); code != exitOK || !strings.Contains(out, "http://203.0.113.9") {
		t.Errorf("show curl with a saved IP: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"show"}, "name one step"},
		{[]string{"show", "nope"}, `no step "nope"; its steps are: confirm-ai`},
		{[]string{"show", "a", "b"}, "name one step"},
		{[]string{"show", "deploy-b", "--region-b", "mars-north1"}, "not a Cloud Run region"},
	} {
		code, out, errs := beyond(t, nil, c.args...)
		if code != exitUsage || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("beyond %v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, errs, c.want)
		}
	}
}

// TestShowPipesToBash: what beyond show prints is shell that runs as it is:
// piped to bash, with a stand-in gcloud on PATH that writes down its
// arguments, each command of the step reaches gcloud whole.
func TestShowPipesToBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	bin := t.TempDir()
	log := filepath.Join(bin, "calls")
	fake := "#!/bin/sh\nprintf '%s|' \"$@\" >> " + log + "\necho >> " + log + "\n"
	if err := os.WriteFile(filepath.Join(bin, "gcloud"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		step string
		want []string // one line of calls each
	}{
		{steps.Project, []string{"config|set|project|beyond-lab|"}},
		{steps.DeployB, []string{"run|deploy|gemini-service|--image|", "|--region|europe-west1|", "|--set-env-vars|CHECK_TIMEOUT="}},
		{steps.NEGA, []string{"compute|network-endpoint-groups|create|neg-us-central1|"}},
	} {
		os.Remove(log)
		code, out, errs := beyond(t, nil, "show", c.step)
		if code != exitOK {
			t.Fatalf("show %s: exit %d: %s", c.step, code, errs)
		}
		cmd := exec.Command(bash, "-e")
		cmd.Stdin = strings.NewReader(out)
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("beyond show %s | bash: %v\n%s\nthe command:\n%s", c.step, err, b, out)
		}
		calls, err := os.ReadFile(log)
		if err != nil {
			t.Fatalf("beyond show %s | bash never called gcloud:\n%s", c.step, out)
		}
		first, _, _ := strings.Cut(string(calls), "\n")
		for _, w := range c.want {
			if !strings.Contains(first, w) {
				t.Errorf("beyond show %s | bash called gcloud with %q, want %q in it", c.step, first, w)
			}
		}
	}
}
