package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beyond-lab/beyond/lab"
)

// beyond runs the command in-process with a private state directory and
// the given environment.
func beyond(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["BEYOND_STATE_DIR"]; !ok {
		env["BEYOND_STATE_DIR"] = t.TempDir()
	}
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func TestBadInputIsRefusedWithTheRule(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--non-interactive", "--backend", "Bad_Name"}, nil, "BACKEND_NAME"},
		{[]string{"--non-interactive", "--region-a", "mars-north1"}, nil, "not a Cloud Run region"},
		{[]string{"--non-interactive"}, map[string]string{"NEG_A_NAME": "-neg"}, "NEG_A_NAME"},
		{[]string{"--non-interactive", "--from", "nope"}, nil, `no step "nope"`},
		{[]string{"--non-interactive", "--sim-profile", "slow"}, nil, "unknown latency profile"},
		{[]string{"--non-interactive", "--sim-faults", "run.CreateService=ok"}, nil, "status must be"},
		{[]string{"--no-such-flag"}, nil, "flag provided but not defined"},
		{[]string{"--non-interactive", "--client-location", "moon"}, nil, "--client-location"},
		{[]string{"--non-interactive", "--rate", "0"}, nil, "--rate"},
		{[]string{"--non-interactive", "--rate", "fast"}, nil, "invalid value"},
		{[]string{"extra"}, nil, "unexpected argument"},
		{[]string{"sim", "--addr", "0.0.0.0"}, nil, "loopback"},
		{[]string{"--non-interactive"}, map[string]string{"BEYOND_RUN_ENDPOINT": "127.0.0.1:1"}, "must all be set"},
	}
	for _, c := range cases {
		code, _, stderr := beyond(t, c.env, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("beyond %v: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
		if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
			t.Errorf("beyond %v: a stack trace reached the user:\n%s", c.args, stderr)
		}
	}
}

func TestTUINeedsATerminal(t *testing.T) {
	code, _, stderr := beyond(t, nil)
	if code != exitUsage || !strings.Contains(stderr, "--non-interactive") {
		t.Errorf("without a terminal: exit %d, %q", code, stderr)
	}
}

func TestReplayJSON(t *testing.T) {
	code, stdout, stderr := beyond(t, map[string]string{}, "--non-interactive", "--json", "--sim-profile", "instant", "--image", "us-docker.pkg.dev/cloudrun/container/hello", "--to", "global-ip")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var steps, summaries int
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		switch ev["event"] {
		case "step":
			steps++
			for _, k := range []string{"id", "title", "command", "status", "seconds"} {
				if _, ok := ev[k]; !ok {
					t.Errorf("step event without %q: %v", k, ev)
				}
			}
			if ev["status"] != "passed" {
				t.Errorf("step %v: %v", ev["id"], ev)
			}
		case "summary":
			summaries++
			if ev["passed"].(float64) != float64(steps) || ev["failed"].(float64) != 0 {
				t.Errorf("summary %v after %d steps", ev, steps)
			}
		}
	}
	if steps < 10 || summaries != 1 {
		t.Errorf("%d step events, %d summaries", steps, summaries)
	}
}

func TestReplayTextFailsWithFixAndExitOne(t *testing.T) {
	// Region A's NEG before the APIs are enabled: the step fails and says how to fix it.
	code, stdout, _ := beyond(t, nil, "--non-interactive", "--sim-profile", "instant", "--step", "neg-a", "--image", "us-docker.pkg.dev/cloudrun/container/hello")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1:\n%s", code, stdout)
	}
	if !strings.Contains(stdout, "FAILED") || !strings.Contains(stdout, "gcloud services enable compute.googleapis.com") {
		t.Errorf("output lacks the failure and its fix:\n%s", stdout)
	}
}

func TestProjectFromEnvironmentAloneStaysOnSimulator(t *testing.T) {
	env := map[string]string{"PROJECT_ID": "someones-real-project"}
	code, stdout, stderr := beyond(t, env, "--non-interactive", "--sim-profile", "instant", "--step", "project")
	if code != exitOK || !strings.Contains(stdout, "SIMULATOR") {
		t.Errorf("exit %d; stdout %q stderr %q", code, stdout, stderr)
	}
}

func TestProgressFileHoldsNoSecret(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"BEYOND_STATE_DIR": dir, "GEMINI_API_KEY": "AIzaSyDUMMY-never-to-be-saved"}
	code, stdout, _ := beyond(t, env, "--non-interactive", "--sim-profile", "instant", "--to", "enable-apis")
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Fatal("no progress saved")
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if bytes.Contains(data, []byte("AIza")) {
			t.Errorf("%s holds the key", f)
		}
	}
	if strings.Contains(stdout, "AIza") {
		t.Error("the key reached the screen")
	}
}

// The retired workshop model is caught by confirm-ai, on the simulator as on
// Google, with Google's 404 and the model to use instead; GEMINI_MODEL does
// the same as --model.
func TestReplayConfirmAIWithARetiredModel(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		args []string
	}{
		{nil, []string{"--model", "gemini-2.5-flash"}},
		{map[string]string{"GEMINI_MODEL": "gemini-2.5-flash"}, nil},
	} {
		args := append([]string{"--non-interactive", "--sim-profile", "instant", "--step", "confirm-ai"}, c.args...)
		code, stdout, _ := beyond(t, c.env, args...)
		if code != exitFailed {
			t.Fatalf("exit %d, want 1:\n%s", code, stdout)
		}
		for _, want := range []string{"gemini-2.5-flash is not served where the lab's services would call it", "at us-central1: 404", "--model " + lab.DefaultModel} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, stdout)
			}
		}
	}
	// The JSON replay carries the decision as data, once: the check asks
	// Google again and gets the same answer.
	code, stdout, _ := beyond(t, nil, "--non-interactive", "--json", "--sim-profile", "instant", "--step", "confirm-ai")
	var decided struct {
		Event, ID, Model string
		Locations        map[string]string
	}
	n := 0
	for _, l := range strings.Split(stdout, "\n") {
		if strings.Contains(l, `"event":"decided"`) {
			json.Unmarshal([]byte(l), &decided)
			n++
		}
	}
	if code != 0 || n != 1 || decided.ID != "confirm-ai" || decided.Model != lab.DefaultModel || decided.Locations["us-central1"] == "" || decided.Locations["europe-west1"] == "" {
		t.Errorf("JSON replay: exit %d, %d decided events (want 1), the last %+v:\n%s", code, n, decided, stdout)
	}
	// The default model is served, and the check passes.
	code, stdout, _ = beyond(t, nil, "--non-interactive", "--sim-profile", "instant", "--step", "confirm-ai")
	if code != 0 || !strings.Contains(stdout, lab.DefaultModel+" is served where each region's service calls it") {
		t.Errorf("default model: exit %d:\n%s", code, stdout)
	}
}
