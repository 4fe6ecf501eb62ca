package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/beyond-lab/beyond/steps"
)

// tmuxPane runs one program in a detached 80x24 tmux pane on a private
// server, and reads the screen back.
type tmuxPane struct {
	t      *testing.T
	tmux   string
	socket string
	// exit and stderr are the files where the shell around beyond writes
	// its exit status and beyond its standard error.
	exit, stderr string
}

func (p *tmuxPane) cmd(args ...string) (string, error) {
	out, err := exec.Command(p.tmux, append([]string{"-L", p.socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
	return string(out), err
}

// keys sends tmux key names ("Enter", "n") to the pane.
func (p *tmuxPane) keys(keys ...string) {
	p.t.Helper()
	if out, err := p.cmd(append([]string{"send-keys", "-t", "lab"}, keys...)...); err != nil {
		p.t.Fatalf("tmux send-keys %v: %v: %s", keys, err, out)
	}
}

// screen is the pane's text as it stands.
func (p *tmuxPane) screen() string {
	out, _ := p.cmd("capture-pane", "-p", "-t", "lab")
	return out
}

// wait polls the screen until it holds every one of want.
func (p *tmuxPane) wait(want ...string) string {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := p.screen()
		missing := ""
		for _, w := range want {
			if !strings.Contains(s, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return s
		}
		if code, err := os.ReadFile(p.exit); err == nil {
			errs, _ := os.ReadFile(p.stderr)
			p.t.Fatalf("beyond exited (status %s) before the screen showed %q; its stderr:\n%s", strings.TrimSpace(string(code)), missing, errs)
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the screen never showed %q; it shows:\n%s", missing, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitExit waits for the shell around beyond to write its exit status.
func (p *tmuxPane) waitExit() string {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(p.exit); err == nil && strings.HasSuffix(string(b), "\n") {
			return strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("beyond did not exit; the screen:\n%s", p.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkWidth fails if a line of the screen is wider than 80 columns.
func checkWidth(t *testing.T, screen string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	if len(lines) > 24 {
		t.Errorf("%d lines in a 24-line pane", len(lines))
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("a line of %d columns: %q", n, l)
		}
	}
}

// TestTmux runs the real binary in a real terminal (a tmux pane, 80x24) on
// the embedded simulator: it walks a few steps with the keys, quits while a
// step runs (which asks first), and starts again to be offered a resume.
func TestTmux(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed: install it (apt-get install tmux) to test the TUI in a terminal; CI does")
	}
	if testing.Short() {
		t.Skip("builds the binary and runs it in tmux")
	}
	t.Parallel() // it waits on tmux and its subprocess
	dir := t.TempDir()
	bin := beyondBinary(t)
	p := &tmuxPane{t: t, tmux: tmux, socket: fmt.Sprintf("beyond-test-%d", os.Getpid())}
	t.Cleanup(func() { p.cmd("kill-server") })

	state := filepath.Join(dir, "state")
	launch := func(run string) {
		t.Helper()
		p.exit, p.stderr = filepath.Join(dir, run+".exit"), filepath.Join(dir, run+".stderr")
		// A clean environment: no project, no simulator endpoints, so the
		// lab runs on its own embedded simulator. The realistic profile
		// keeps the Enable APIs step running long enough to quit during it.
		script := fmt.Sprintf("env -i HOME=%q PATH=%q TERM=\"$TERM\" BEYOND_STATE_DIR=%q %q --sim-profile realistic 2>%q; echo $? > %q.tmp; mv %q.tmp %q",
			dir, os.Getenv("PATH"), state, bin, p.stderr, p.exit, p.exit, p.exit)
		// The shell of an earlier run has written its exit status, but
		// tmux may not have closed its session yet: close it, or the name
		// is taken.
		p.cmd("kill-session", "-t", "lab")
		if out, err := p.cmd("new-session", "-d", "-x", "80", "-y", "24", "-s", "lab", "sh", "-c", script); err != nil {
			t.Fatalf("tmux new-session: %v: %s", err, out)
		}
	}
	lab := steps.Lab()
	title := func(id string) string {
		for _, s := range lab {
			if s.ID == id {
				return s.Title
			}
		}
		t.Fatalf("the lab has no step %q", id)
		return ""
	}
	first := lab[0] // the first step after the introduction

	launch("first")
	checkWidth(t, p.wait("SIMULATOR — nothing billable", "Nothing here is billable", "enter begin"))
	p.keys("Enter")
	checkWidth(t, p.wait("Beyond the Region", "Part 2 · Cloud Run", "n next", "q quit"))

	// Run the first two steps.
	passed := 0
	for _, s := range lab[:2] {
		p.keys("n")
		p.wait(s.Title, "○ todo")
		p.keys("Enter")
		passed++
		checkWidth(t, p.wait("✓ passed", "✓ Check passed", fmt.Sprintf("%d/%d passed", passed, len(lab))))
	}
	// The ? page, and back.
	p.keys("?")
	p.wait("Keys (any key closes this page)", "copy the step's gcloud command")
	p.keys("?")
	p.wait("✓ Check passed")

	// Go on to Enable the APIs, which takes a while, and quit while it runs.
	for _, s := range lab[2:] {
		p.keys("n")
		if s.ID == steps.EnableAPIs {
			break
		}
	}
	p.wait(title(steps.EnableAPIs), "○ todo")
	p.keys("Enter")
	p.wait("● running")
	p.keys("q")
	p.wait("Quit? y stops " + title(steps.EnableAPIs))
	p.keys("y")
	if code := p.waitExit(); code != "0" {
		t.Fatalf("beyond exited %s after quitting, want 0", code)
	}

	// Start again: the saved progress brings an offer to resume.
	launch("second")
	p.wait(fmt.Sprintf("Saved progress: 2 of %d steps passed", len(lab)), "y resume")
	p.keys("n")
	p.wait("Beyond the Region", "✓ "+first.Title[:10])
	p.keys("q")
	if code := p.waitExit(); code != "0" {
		t.Fatalf("beyond exited %s the second time, want 0", code)
	}
}
