package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/beyond-lab/beyond/steps"
	"github.com/charmbracelet/x/ansi"
)

// TestFitsEverySize draws every kind of screen at sizes from tiny to wide,
// in every mode, and checks that nothing overflows.
func TestFitsEverySize(t *testing.T) {
	sizes := [][2]int{{80, 24}, {100, 30}, {70, 20}, {69, 24}, {60, 20}, {40, 12}, {24, 8}, {12, 4}, {1, 1}, {200, 60}}
	modes := map[string]Options{"colour": {}, "no colour": {NoColor: true}, "accessible": {Accessible: true}}
	for name, opts := range modes {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each mode has its own model; the three render side by side
			lab := newFakeLab()
			lab.fails[steps.DeployA] = &steps.CheckError{Reason: strings.Repeat("a long reason ", 20), Fix: strings.Repeat("a long fix ", 20)}
			lab.long = map[string]string{steps.Cleanup: strings.Repeat("gcloud compute backend-services delete global-backend --global --quiet\n", 30)}
			h := fakeHarness(t, lab, opts)
			resize := func() {
				t.Helper()
				for _, s := range sizes {
					h.send(tea.WindowSizeMsg{Width: s[0], Height: s[1]})
				}
				h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
			}
			resize() // the banner
			h.press("enter")
			for i := 0; h.m.current().id != "next"; i++ {
				resize()
				if !h.m.current().reading && h.m.current().id != steps.Cleanup {
					h.press("enter")
					h.idle()
					resize()
				}
				h.press("n")
			}
			h.press("f", "?")
			resize()
			h.press("esc", "l")
			resize()
			h.press("y")
			h.press("l", "p", "v") // the cleanup step's command, full screen
			if !h.m.cmd.IsOpen() {
				t.Fatal("v did not open the command")
			}
			resize()
			h.press("esc", "]", "]")
			resize()
			t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
			for i := range 300 {
				s := steps.Sample{At: t0.Add(time.Duration(i) * 50 * time.Millisecond), Status: 200, Region: []string{"us-central1", "europe-west1", "asia-east1"}[i%3], Latency: time.Duration(i) * time.Millisecond}
				if i%7 == 0 {
					s.Status, s.Err = 0, "connection refused"
				}
				h.send(eventMsg{steps.Event{Kind: steps.EventSample, Sample: &s, At: s.At}})
			}
			h.press("f")
			resize()
		})
	}
}

// TestNoColour: with NO_COLOR set the screen carries no colour codes.
func TestNoColour(t *testing.T) {
	lab := newFakeLab()
	h := fakeHarness(t, lab, Options{NoColor: true})
	h.press("enter", "n", "enter")
	h.idle()
	out := h.m.Render()
	for _, l := range strings.Split(out, "\n") {
		for _, seq := range []string{"\x1b[3", "\x1b[4", "\x1b[9", ";3", ";4"} {
			if strings.Contains(l, seq) {
				t.Fatalf("a colour sequence %q in %q", seq, l)
			}
		}
	}
	if ansi.Strip(out) == out {
		t.Log("no styles at all (bold and reverse are allowed)")
	}
}

func TestWrap(t *testing.T) {
	for _, c := range []struct {
		in   string
		w    int
		want []string
	}{
		{"gcloud compute url-maps edit --allow-unauthenticated", 20, []string{"gcloud compute", "url-maps edit", "--allow-unauthentica", "ted"}},
		{"", 10, []string{""}},
		{"a b c", 1, []string{"a", "b", "c"}},
	} {
		got := wrap(c.in, c.w)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", c.in, c.w, got, c.want)
		}
		for _, l := range got {
			if ansi.StringWidth(l) > c.w {
				t.Errorf("wrap(%q, %d): line %q too wide", c.in, c.w, l)
			}
		}
	}
}

// TestEmptyLab: a lab with no steps still draws, and keys do nothing harmful.
func TestEmptyLab(t *testing.T) {
	lab := newFakeLab()
	lab.steps = nil
	h := fakeHarness(t, lab, Options{})
	h.press("enter", "n", "p", "enter", "c", "y", "f", "w", "b", "?", "l", "u")
	h.contains("This lab has no step \"restore\"")
	h.press("q")
	h.until("q to quit", func() bool { return h.quit })
}

// TestListTitlesFit: at 80 columns the step list cuts no title: a step
// whose title is too long shows its short title, and a part's title wraps.
func TestListTitlesFit(t *testing.T) {
	h := fakeHarness(t, newFakeLab(), Options{})
	h.send(tea.WindowSizeMsg{Width: 80, Height: 30})
	h.press("enter")
	for i := 0; i < 9; i++ { // to Curl the global IP, so the list shows Part 4
		h.press("n")
	}
	h.contains("URL map, retries", "Forwarding rule", "Part 4 · Verification and", "  failover")
	for _, line := range strings.Split(h.screen(), "\n")[1:] {
		list, _, ok := strings.Cut(line, "│")
		if ok && strings.Contains(list, "…") {
			t.Errorf("the list cuts a title: %q", list)
		}
	}
}

// TestWrapIndentFitsEachLine: a continuation prefix wider than the first
// line's leaves its lines less room; no line is wider than w.
func TestWrapIndentFitsEachLine(t *testing.T) {
	lines := wrapIndent("Fix: Run this step again, or read the revision's logs with gcloud run services logs read", 30, "", "     ")
	if len(lines) < 3 {
		t.Fatalf("lines %q; want the text wrapped", lines)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > 30 {
			t.Errorf("line %d is %d cells wide: %q", i, w, l)
		}
		if i > 0 && !strings.HasPrefix(l, "     ") {
			t.Errorf("line %d lacks its indent: %q", i, l)
		}
	}
	if got := strings.Join(strings.Fields(strings.Join(lines, " ")), " "); got != "Fix: Run this step again, or read the revision's logs with gcloud run services logs read" {
		t.Errorf("words lost or changed: %q", got)
	}
}
