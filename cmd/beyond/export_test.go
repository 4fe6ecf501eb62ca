package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReplayExports: a replay with --export DIR ends by writing the
// Terraform, the script and the report, read from the simulator before it
// goes, and says so in its JSON lines; the report holds the failover the
// replay measured.
func TestReplayExports(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := beyond(t, nil, "--non-interactive", "--json", "--sim-profile", "instant",
		"--image", "us-docker.pkg.dev/cloudrun/container/hello", "--export", dir)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var files []string
	var failover map[string]any
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		switch ev["event"] {
		case "export":
			for _, f := range ev["files"].([]any) {
				files = append(files, f.(string))
			}
		case "failover":
			failover = ev
		}
	}
	for _, want := range []string{"beyond-terraform/main.tf", "beyond-terraform/imports.tf", "beyond-terraform/variables.tf", "beyond-lab.sh", "report.md", "failover.svg"} {
		p := filepath.Join(dir, want)
		info, err := os.Stat(p)
		if err != nil || info.Size() == 0 {
			t.Errorf("%s was not written: %v", want, err)
		}
		found := false
		for _, f := range files {
			found = found || f == p
		}
		if !found {
			t.Errorf("the export event does not name %s: %v", p, files)
		}
	}
	if failover == nil {
		t.Fatal("the replay measured no failover")
	}
	report, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	held := regexp.MustCompile(`(\d+) of (\d+) steps hold now`).FindStringSubmatch(string(report))
	if held == nil || held[1] != held[2] ||
		!strings.Contains(string(report), failover["before"].(string)+" → "+failover["after"].(string)) {
		t.Errorf("the report does not hold the run:\n%s", report)
	}
	// The failover event's signals, one row each in the report's table.
	signals, _ := failover["signals"].([]any)
	if len(signals) != 2 {
		t.Errorf("the failover event carries %d signals, want 2: %v", len(signals), failover["signals"])
	}
	for _, sg := range signals {
		sg := sg.(map[string]any)
		want := "did not act"
		if acted := sg["acted_seconds"].(float64); acted >= 0 {
			want = fmt.Sprintf("%.2f s after the break", acted)
		}
		if sg["observed"] != true {
			want = "not observable here"
		}
		note, _ := sg["note"].(string)
		row := ""
		for _, line := range strings.Split(string(report), "\n") {
			if strings.HasPrefix(line, "| ") && strings.Contains(line, want) && strings.Contains(line, note) {
				row = line
			}
		}
		if row == "" {
			t.Errorf("the report has no row for signal %v (%q, %q):\n%s", sg["signal"], want, note, report)
		}
	}
	if info, err := os.Stat(filepath.Join(dir, "beyond-lab.sh")); err == nil && info.Mode()&0o100 == 0 {
		t.Errorf("the script is not executable: %v", info.Mode())
	}
}

// TestExportNeedsSomethingToRead: on the embedded simulator, which starts
// empty, export says where a run can be exported from instead.
func TestExportNeedsSomethingToRead(t *testing.T) {
	for _, args := range [][]string{{"export", "terraform"}, {"export", "script"}} {
		code, _, stderr := beyond(t, nil, args...)
		if code != exitUsage || !strings.Contains(stderr, "--export DIR") {
			t.Errorf("beyond %v: exit %d, %q", args, code, stderr)
		}
	}
	for _, args := range [][]string{{"export"}, {"export", "pulumi"}} {
		code, _, stderr := beyond(t, nil, args...)
		if code != exitUsage || !strings.Contains(stderr, "beyond export terraform") {
			t.Errorf("beyond %v: exit %d, %q", args, code, stderr)
		}
	}
	code, _, stderr := beyond(t, nil, "--export", t.TempDir())
	if code != exitUsage || !strings.Contains(stderr, "--non-interactive") {
		t.Errorf("--export without --non-interactive: exit %d, %q", code, stderr)
	}
}
