package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/steps"
)

// classSim starts a simulator and returns the environment that attaches
// beyond to it.
func classSim(t *testing.T) map[string]string {
	t.Helper()
	s := sim.New(sim.Options{})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	env := map[string]string{"IMAGE": lab.HelloImage}
	for _, kv := range s.Endpoints().Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// replayRoom replays three projects to the points of the issue: one to
// deploy-a, one to forwarding-rule, one complete; and names a fourth no
// one touched. It returns the projects file.
func replayRoom(t *testing.T, env map[string]string) string {
	t.Helper()
	for _, r := range []struct{ project, to string }{{"room-a", "deploy-a"}, {"room-b", "forwarding-rule"}, {"room-c", ""}} {
		args := []string{"--non-interactive", "--project", r.project}
		if r.to != "" {
			args = append(args, "--to", r.to)
		}
		if code, _, stderr := beyond(t, env, args...); code != exitOK {
			t.Fatalf("replay of %s: exit %d: %s", r.project, code, stderr)
		}
	}
	file := filepath.Join(t.TempDir(), "room.txt")
	os.WriteFile(file, []byte("# the workshop\nroom-a\nroom-b   # stuck at the load balancer?\n\nroom-c\nroom-d\n"), 0o644)
	return file
}

// wantPassed is how many board steps hold for a project replayed to step to.
func wantPassed(to string) int {
	if to == "" {
		return len(steps.BoardSteps())
	}
	for i, s := range steps.BoardSteps() {
		if s.ID == to {
			return i + 1
		}
	}
	return -1
}

func TestClassOnceJSONCheckAndCleanup(t *testing.T) {
	env := classSim(t)
	file := replayRoom(t, env)

	code, out, stderr := beyond(t, env, "class", "--once", "--json", "--projects-file", file)
	if code != exitOK {
		t.Fatalf("class --once --json: exit %d: %s", code, stderr)
	}
	want := map[string]int{"room-a": wantPassed("deploy-a"), "room-b": wantPassed("forwarding-rule"), "room-c": wantPassed(""), "room-d": 0}
	var order []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r struct {
			Project   string `json:"project"`
			CheckedAt string `json:"checked_at"`
			Passed    *int   `json:"passed"`
			Steps     []struct {
				ID, State, Reason, Fix string
			} `json:"steps"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("not a JSON object per line: %v: %s", err, sc.Text())
		}
		order = append(order, r.Project)
		if _, err := time.Parse(time.RFC3339, r.CheckedAt); err != nil {
			t.Errorf("%s: checked_at %q is not RFC 3339", r.Project, r.CheckedAt)
		}
		if r.Passed == nil || *r.Passed != want[r.Project] || len(r.Steps) != len(steps.BoardSteps()) {
			t.Errorf("%s: passed %v of %d steps, want %d of %d", r.Project, r.Passed, len(r.Steps), want[r.Project], len(steps.BoardSteps()))
			continue
		}
		for i, s := range r.Steps {
			wantState := "pending"
			if i < *r.Passed {
				wantState = "passed"
			}
			if s.ID != steps.BoardSteps()[i].ID || s.State != wantState || (s.State != "passed" && s.Reason == "") {
				t.Errorf("%s: step %d is %+v, want %s %s with a reason", r.Project, i, s, steps.BoardSteps()[i].ID, wantState)
			}
		}
	}
	if strings.Join(order, ",") != "room-a,room-b,room-c,room-d" {
		t.Errorf("projects printed in the order %v, want the file's", order)
	}

	if code, out, _ := beyond(t, env, "check", "--project", "room-c"); code != exitOK || !strings.Contains(out, fmt.Sprintf("%d/%d", want["room-c"], want["room-c"])) {
		t.Errorf("check of the complete project: exit %d:\n%s", code, out)
	}
	if code, out, _ := beyond(t, env, "check", "--project", "room-b"); code != exitFailed || !strings.Contains(out, "global-ip (pending)") {
		t.Errorf("check of a project at the forwarding rule: exit %d (want 1):\n%s", code, out)
	}

	code, out, stderr = beyond(t, env, "cleanup", "--projects-file", file)
	if code != exitOK || !strings.Contains(out, "4 of 4 projects clean") || !strings.Contains(out, "✓ room-d: nothing to delete") ||
		!strings.Contains(out, "✓ room-c: deleted URL map gemini-redirect-map") || !strings.Contains(out, "Cloud Armor security policy gemini-rate-limit (global), forwarding rule gemini-global-ip") {
		t.Fatalf("cleanup --projects-file: exit %d:\n%s%s", code, out, stderr)
	}
	_, out, _ = beyond(t, env, "class", "--once", "--json", "--projects-file", file)
	// The APIs stay enabled; every resource is gone.
	if n := strings.Count(out, fmt.Sprintf(`"passed":%d,`, wantPassed("enable-apis"))); n != 3 || !strings.Contains(out, `"project":"room-d","checked_at"`) {
		t.Errorf("after cleanup %d of 3 projects hold only up to enable-apis:\n%s", n, out)
	}
}

func TestClassRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	two := filepath.Join(dir, "two.txt")
	os.WriteFile(two, []byte("room-a room-b\n"), 0o644)
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("Room_A\n"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"class", "--once"}, "--projects a,b,c or --projects-file F"},
		{[]string{"class", "--once", "--projects-file", two}, "one project ID per line"},
		{[]string{"class", "--once", "--projects-file", bad}, `project "Room_A"`},
		{[]string{"class", "--once", "--projects-file", filepath.Join(dir, "none.txt")}, "--projects-file"},
		{[]string{"class", "--projects", "a-room", "--refresh", "1s"}, "--refresh"},
		{[]string{"class", "--projects", "a-room", "--parallel", "0"}, "--parallel"},
		{[]string{"class", "--projects", "a-room"}, "needs a terminal"},
		{[]string{"check"}, "beyond check --project P"},
	}
	for _, c := range cases {
		code, _, stderr := beyond(t, nil, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("beyond %v: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

// TestTmuxClassBoard shows the board of the three replayed projects in a
// real terminal (an 80x24 tmux pane), sorts it, and quits.
func TestTmuxClassBoard(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed: install it (apt-get install tmux) to test the board in a terminal; CI does")
	}
	if testing.Short() {
		t.Skip("builds the binary and runs it in tmux")
	}
	t.Parallel() // it waits on tmux and its subprocess
	env := classSim(t)
	file := replayRoom(t, env)
	dir := t.TempDir()
	bin := beyondBinary(t)
	p := &tmuxPane{t: t, tmux: tmux, socket: fmt.Sprintf("beyond-class-test-%d", os.Getpid())}
	t.Cleanup(func() { p.cmd("kill-server") })
	p.exit, p.stderr = filepath.Join(dir, "exit"), filepath.Join(dir, "stderr")
	vars := []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "NO_COLOR=1"}
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	script := fmt.Sprintf("env -i TERM=\"$TERM\" %s %q class --projects-file %q 2>%q; echo $? > %q.tmp; mv %q.tmp %q",
		strings.Join(vars, " "), bin, file, p.stderr, p.exit, p.exit, p.exit)
	if out, err := p.cmd("new-session", "-d", "-x", "80", "-y", "24", "-s", "lab", "sh", "-c", script); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	n := len(steps.BoardSteps())
	screen := p.wait("beyond class · SIMULATOR", "1/4 done", "room-d", "› room-a",
		"room-a: at Deploy to region B (deploy-b)", "fix: Run the earlier step")
	checkWidth(t, screen)
	// Each row: the project, how many steps hold, then one mark per step.
	rows := map[string][]string{}
	for _, l := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.TrimPrefix(l, "›"))
		if len(f) > 2 && strings.HasPrefix(f[0], "room-") {
			// The marks are spaced, or packed when the board has more
			// steps than room: one mark per step either way.
			marks := strings.Split(strings.Join(f[2:], ""), "")
			rows[f[0]] = append([]string{f[1]}, marks...)
		}
	}
	for project, passed := range map[string]int{"room-a": wantPassed("deploy-a"), "room-b": wantPassed("forwarding-rule"), "room-c": n, "room-d": 0} {
		want := []string{fmt.Sprintf("%d/%d", passed, n)}
		for i := range n {
			want = append(want, map[bool]string{true: "✓", false: "·"}[i < passed])
		}
		if got := rows[project]; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("row %s: %v, want %v", project, got, want)
		}
	}
	// Sorted by progress, least first: room-d, room-a, room-b, room-c.
	p.keys("s")
	screen = p.wait("by progress")
	if ia, id, ic := strings.Index(screen, "room-a "), strings.Index(screen, "room-d "), strings.Index(screen, "room-c "); !(id < ia && ia < ic) {
		t.Errorf("sorted by progress, the rows are not least first:\n%s", screen)
	}
	p.keys("j") // from room-a, still selected, to room-b
	p.wait("room-b: at Read the global IP (global-ip)")
	p.keys("q")
	if code := p.waitExit(); code != "0" {
		t.Fatalf("beyond class exited %s, want 0", code)
	}
}
