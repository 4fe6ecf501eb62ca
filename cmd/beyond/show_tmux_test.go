package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/steps"
)

// TestTmuxLongestCommand: in an 80x24 pane, the learner can read the lab's
// longest command in full while typing it: the command box scrolls with ]
// and v shows the whole command, page by page. What the pages show, less
// the line breaks the screen adds, is exactly what `beyond show` prints.
// Then ? and q close the keys page without quitting.
func TestTmuxLongestCommand(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed: install it (apt-get install tmux) to test the TUI in a terminal; CI does")
	}
	if testing.Short() {
		t.Skip("builds the binary and runs it in tmux")
	}
	t.Parallel() // it waits on tmux and its subprocess
	bin := beyondBinary(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	env := []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "BEYOND_STATE_DIR=" + state}

	// The longest command, as `beyond show` prints it.
	lab := steps.Lab()
	longest, want := -1, ""
	for i, s := range lab {
		cmd := exec.Command(bin, "show", s.ID)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			continue // a step the lab does itself has no command
		}
		if strings.Count(string(out), "\n") > strings.Count(want, "\n") {
			longest, want = i, string(out)
		}
	}
	if longest < 0 {
		t.Fatal("beyond show printed no command for any step")
	}
	if n := strings.Count(want, "\n"); n < 10 {
		t.Logf("the longest command, of %s, has only %d lines", lab[longest].ID, n)
	}

	p := &tmuxPane{t: t, tmux: tmux, socket: fmt.Sprintf("beyond-show-%d", os.Getpid())}
	t.Cleanup(func() { p.cmd("kill-server") })
	p.exit, p.stderr = filepath.Join(dir, "exit"), filepath.Join(dir, "stderr")
	script := fmt.Sprintf("env -i %s TERM=\"$TERM\" %q --sim-profile instant 2>%q; echo $? > %q.tmp; mv %q.tmp %q",
		strings.Join(quoteAll(env), " "), bin, p.stderr, p.exit, p.exit, p.exit)
	if out, err := p.cmd("new-session", "-d", "-x", "80", "-y", "24", "-s", "lab", "sh", "-c", script); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	p.wait("enter begin")
	p.keys("Enter")
	p.wait("n next")
	for range longest + 1 { // the introduction comes first
		p.keys("n")
	}
	p.keys("t")
	screen := p.wait("You ")
	checkWidth(t, screen)
	if strings.Contains(screen, "more lines") {
		t.Errorf("the box still cuts the command:\n%s", screen)
	}
	if strings.Contains(screen, "] scrolls") {
		p.keys("]")
		checkWidth(t, p.wait("lines 2–"))
	}

	p.keys("v")
	where := regexp.MustCompile(`lines (\d+)–(\d+) of (\d+)`)
	seen := map[int]string{}
	for pages := 0; ; pages++ {
		s := p.wait("v/esc close")
		checkWidth(t, s)
		lines := strings.Split(s, "\n")
		m := where.FindStringSubmatch(lines[1])
		if m == nil {
			t.Fatalf("the command view does not say which lines it shows:\n%s", s)
		}
		first, _ := strconv.Atoi(m[1])
		last, _ := strconv.Atoi(m[2])
		total, _ := strconv.Atoi(m[3])
		for i := first; i <= last; i++ {
			seen[i] = lines[2+i-first]
		}
		if last == total {
			break
		}
		if pages > 50 {
			t.Fatalf("still at line %d of %d after 50 pages", last, total)
		}
		p.keys("NPage")
		p.waitFor("the next page", func(s string) bool { return !strings.Contains(s, m[0]) })
	}
	var got strings.Builder
	for i := 1; i <= len(seen); i++ {
		line, ok := seen[i]
		if !ok {
			t.Fatalf("line %d of the command never showed", i)
		}
		got.WriteString(line + "\n")
	}
	// The screen breaks lines wider than itself with a shell continuation
	// (a backslash and an indent), and pads with spaces: compare what is
	// left without either.
	bare := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '\\' || r == ' ' || r == '\n' || r == '\t' {
				return -1
			}
			return r
		}, s)
	}
	if bare(got.String()) != bare(want) {
		t.Errorf("the command view of %s shows:\n%s\nbeyond show prints:\n%s", lab[longest].ID, got.String(), want)
	}
	p.keys("v")
	p.wait("v view") // back on the step, still typing (the footer drops keys a narrow pane has no room for)
	// ? then q closes the keys page and quits nothing.
	p.keys("?")
	p.wait("Keys (any key closes this page)")
	p.keys("q")
	p.waitFor("the keys page to close", func(s string) bool { return !strings.Contains(s, "Keys (any key") && strings.Contains(s, "q quit") })
	if _, err := os.Stat(p.exit); err == nil {
		t.Fatal("q on the keys page quit beyond")
	}
	p.keys("q")
	// The step being typed still waits on its check: q asks first.
	if s := p.waitFor("beyond to quit or ask", func(s string) bool {
		_, err := os.Stat(p.exit)
		return err == nil || strings.Contains(s, "Quit?")
	}); strings.Contains(s, "Quit?") {
		p.keys("y")
	}
	if code := p.waitExit(); code != "0" {
		t.Fatalf("beyond exited %s, want 0", code)
	}
}

func quoteAll(env []string) []string {
	out := make([]string, len(env))
	for i, e := range env {
		k, v, _ := strings.Cut(e, "=")
		out[i] = k + "=" + strconv.Quote(v)
	}
	return out
}

// waitFor polls the screen until ok holds for it.
func (p *tmuxPane) waitFor(what string, ok func(screen string) bool) string {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := p.screen()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the screen never showed %s; it shows:\n%s", what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
