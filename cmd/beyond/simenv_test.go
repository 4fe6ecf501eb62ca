package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/steps"
)

// syncBuffer is a bytes.Buffer safe to read while another goroutine writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSimEnv starts `beyond sim`, then asks `beyond sim env` for the lines
// that point a second terminal at it, as a learner does; once the
// simulator stops, `beyond sim env` says to start one.
func TestSimEnv(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"BEYOND_STATE_DIR": dir}
	getenv := func(k string) string { return env[k] }

	ctx, cancel := context.WithCancel(context.Background())
	var simOut, simErr syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"sim", "--profile", "instant"}, strings.NewReader(""), &simOut, &simErr, getenv)
	}()
	published := filepath.Join(dir, simFileName)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(published); err == nil && strings.Contains(simOut.String(), "CLOUDSDK_PROXY_PORT=") {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("beyond sim published nothing; stdout %q, stderr %q", simOut.String(), simErr.String())
		}
	}
	for _, want := range []string{"BEYOND_COMPUTE_ENDPOINT=http://127.0.0.1:", "CLOUDSDK_CONFIG=" + filepath.Join(dir, "gcloud"), "CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN=http://run.googleapis.com/"} {
		if !strings.Contains(simOut.String(), want) {
			t.Errorf("beyond sim printed %q, want a line with %q", simOut.String(), want)
		}
	}

	code, out, errOut := beyond(t, env, "sim", "env")
	if code != exitOK {
		t.Fatalf("beyond sim env: exit %d, %s", code, errOut)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(line, "export ") || !strings.Contains(line, "='") {
			t.Errorf("beyond sim env line %q is not a quoted export", line)
		}
	}
	for _, name := range []string{"BEYOND_RUN_ENDPOINT", "BEYOND_COMPUTE_ENDPOINT", "BEYOND_DNS_ENDPOINT", "BEYOND_CA_FILE", "CLOUDSDK_PROXY_ADDRESS", "CLOUDSDK_PROXY_PORT", "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE", "CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE", "CLOUDSDK_API_ENDPOINT_OVERRIDES_DNS", "CLOUDSDK_API_ENDPOINT_OVERRIDES_CERTIFICATEMANAGER"} {
		if !strings.Contains(out, "export "+name+"=") {
			t.Errorf("beyond sim env has no %s:\n%s", name, out)
		}
	}
	// The CA file is the simulator's CA certificate, for curl --cacert.
	if pem, err := os.ReadFile(filepath.Join(dir, "simulator-ca.pem")); err != nil || !strings.HasPrefix(string(pem), "-----BEGIN CERTIFICATE-----") || !strings.Contains(out, "export BEYOND_CA_FILE='"+filepath.Join(dir, "simulator-ca.pem")+"'") {
		t.Errorf("simulator CA file: %v %.40q; want a PEM certificate named by BEYOND_CA_FILE", err, pem)
	}
	if cfg, err := os.ReadFile(filepath.Join(dir, "gcloud", "configurations", "config_default")); err != nil || !strings.Contains(string(cfg), "project = beyond-lab") {
		t.Errorf("private gcloud configuration = %q, %v; want project beyond-lab", cfg, err)
	}

	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("beyond sim exit %d after Ctrl-C, want 0", code)
	}
	if _, err := os.Stat(published); !os.IsNotExist(err) {
		t.Errorf("%s still exists after the simulator stopped (%v)", published, err)
	}
	code, _, errOut = beyond(t, env, "sim", "env")
	if code != exitFailed || !strings.Contains(errOut, "no simulator is running") {
		t.Errorf("beyond sim env with none running: exit %d, %q; want 1 and how to start one", code, errOut)
	}
}

// TestCheckOnly checks work done elsewhere on a running simulator: it runs
// no step, reports every check in range, and exits 1 while any fails.
func TestCheckOnly(t *testing.T) {
	s := sim.New(sim.Options{})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	env := map[string]string{"BEYOND_STATE_DIR": t.TempDir()}
	for _, line := range s.Endpoints().Env() {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	if code, out, errOut := beyond(t, env, "--non-interactive", "--image", lab.HelloImage, "--to", steps.NEGA); code != exitOK {
		t.Fatalf("replay to %s: exit %d\n%s\n%s", steps.NEGA, code, out, errOut)
	}
	code, out, errOut := beyond(t, env, "--check-only", "--json", "--image", lab.HelloImage, "--fresh", "--to", steps.URLMap)
	if code != exitFailed {
		t.Fatalf("check-only with steps left to do: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	status := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		if ev["event"] != "step" {
			continue
		}
		if _, did := ev["did"]; did {
			t.Errorf("check-only did something: %v", ev)
		}
		status[ev["id"].(string)] = ev["status"].(string)
	}
	if status[steps.NEGA] != "passed" || status[steps.BackendService] != "failed" || status[steps.URLMap] != "failed" {
		t.Errorf("check-only statuses = %v; want neg-a passed, backend-service and url-map failed (none skipped)", status)
	}
}

// TestSimFlagNames checks that beyond sim takes beyond's own flag names
// (--sim-faults...) and its older ones as aliases, both read the same way.
func TestSimFlagNames(t *testing.T) {
	for _, args := range [][]string{
		{"sim", "--sim-faults", "nonsense"},
		{"sim", "--faults", "nonsense"},
		{"sim", "--sim-profile", "glacial"},
		{"sim", "--profile", "glacial"},
	} {
		var out, errOut strings.Builder
		getenv := func(k string) string {
			if k == "BEYOND_STATE_DIR" {
				return t.TempDir()
			}
			return ""
		}
		if code := run(context.Background(), args, strings.NewReader(""), &out, &errOut, getenv); code != exitUsage || errOut.Len() == 0 {
			t.Errorf("beyond %v = %d, stderr %q; want a usage error that names the problem", args, code, errOut.String())
		}
	}
}
