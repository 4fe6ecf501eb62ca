package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBareBinaryRunsTheLab is what `go install` gives: the beyond binary,
// alone in a directory outside any checkout, with no Go on PATH. It must
// build the service's image (a copy of itself) and replay the whole lab on
// its simulator.
func TestBareBinaryRunsTheLab(t *testing.T) {
	if testing.Short() {
		t.Skip("builds beyond and replays the whole lab")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build beyond with")
	}
	t.Parallel() // it waits on its subprocess

	out := beyondBinary(t) // as the README's `CGO_ENABLED=0 go install` line builds it
	dir := t.TempDir()     // empty, outside the checkout
	bare := filepath.Join(dir, "beyond")
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bare, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bare, "--non-interactive", "--json", "--fresh")
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=" + filepath.Join(dir, "no-such-dir"), "BEYOND_STATE_DIR=" + filepath.Join(dir, "state"), "TMPDIR=" + t.TempDir()}
	stdout, err := cmd.Output()
	var stderr string
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = string(ee.Stderr)
	}
	if err != nil {
		// The step that failed, then the end of the replay (the steps
		// skipped after it).
		var failed []string
		for _, l := range strings.Split(string(stdout), "\n") {
			if strings.Contains(l, `"status":"failed"`) {
				failed = append(failed, l)
			}
		}
		t.Fatalf("the bare binary's replay: %v\n%s\n%s\n%s", err, strings.Join(failed, "\n"), tail(string(stdout), 20), stderr)
	}
	var summary map[string]any
	built := false
	sc := bufio.NewScanner(strings.NewReader(string(stdout)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev map[string]any
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			t.Fatalf("not JSON: %q", sc.Text())
		}
		switch {
		case ev["event"] == "summary":
			summary = ev
		case ev["id"] == "build-image" && ev["event"] == "progress" && strings.Contains(ev["text"].(string), "copying this beyond"):
			built = true
		case ev["id"] == "build-image" && ev["status"] != nil:
			t.Logf("build-image: %v in %v s", ev["status"], ev["seconds"])
		}
	}
	if summary == nil || summary["failed"].(float64) != 0 || summary["passed"].(float64) < 20 {
		t.Errorf("summary %v", summary)
	}
	if !built {
		t.Error("the image was not built from the binary itself")
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
