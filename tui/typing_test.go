package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/steps"
)

// TestTypingMode: t puts a step in typing mode; the screen says where to
// type and when the lab checks again, with the check's reason and fix,
// and the step ends done by the learner, marked apart in the list. t or
// esc stops waiting.
func TestTypingMode(t *testing.T) {
	for _, accessible := range []bool{false, true} {
		lab := newFakeLab()
		lab.fails[steps.DeployA] = &steps.CheckError{Reason: "service gemini-service does not exist in us-central1", Fix: "run the gcloud run deploy command above"}
		typed := make(chan struct{})
		lab.block[steps.DeployA] = typed
		h := fakeHarness(t, lab, Options{Accessible: accessible})
		h.press("enter")
		for h.m.current().id != steps.DeployA {
			h.press("n")
		}
		h.press("t")
		if h.m.op == nil || h.m.op.kind != "type" {
			t.Fatalf("t started %+v, want typing mode", h.m.op)
		}
		h.until("the first check to fail", func() bool { r := h.m.runs[steps.DeployA]; return r != nil && !r.next.IsZero() })
		h.contains("You type this step", `eval "$(beyond sim env)"`, "Not yet: service gemini-service does not exist", "Fix: run the gcloud run deploy")
		if accessible {
			h.contains("next check at")
		} else {
			h.contains("next check in")
		}
		close(typed)
		h.idle()
		if got := h.m.runs[steps.DeployA]; got.status != steps.StatusPassed || got.by != steps.ByLearner {
			t.Fatalf("after typing: %s by %q, want passed by learner", got.status, got.by)
		}
		h.contains("You did it: check passed")
		mark := "✎ Deploy to region A"
		if accessible {
			mark = "✎ typed    Deploy to region A"
		}
		if !strings.Contains(h.screen(), mark) {
			h.press("l") // the list shows instead of the text on this screen
			h.contains(mark)
			h.press("l")
		}

		// Leaving typing mode records nothing.
		h.press("n")
		lab.block[steps.DeployB] = make(chan struct{})
		h.press("t")
		h.until("typing mode on deploy-b", func() bool { r := h.m.runs[steps.DeployB]; return r != nil && r.typing })
		h.press("esc")
		h.idle()
		if got := h.m.runs[steps.DeployB]; got.status != steps.StatusCanceled {
			t.Fatalf("after esc: %s, want canceled", got.status)
		}
		h.contains("Stopped waiting")
		if calls := lab.callLog(); !strings.Contains(strings.Join(calls, ","), "await "+steps.DeployA) {
			t.Errorf("calls %v: typing mode did not call Await", calls)
		}
	}
}

// TestHelpOnStartScreen: the start screen says "Press ? at any time", and
// ? shows the keys there too; any key closes them.
func TestHelpOnStartScreen(t *testing.T) {
	h := fakeHarness(t, newFakeLab(), Options{})
	h.contains("Press ? at any time")
	h.press("?")
	h.contains("Keys (any key closes this page)", "type the step yourself")
	h.press("x")
	h.lacks("Keys (any key")
	h.contains("Press ? at any time")
	if h.m.screen != screenStart {
		t.Errorf("closing the keys left the start screen")
	}
}

// TestLongCommandWhileTyping: a command longer than the box can be read in
// full while the learner types it: the box scrolls with ] and [, and v shows
// the whole command full screen; closing the view (q included) goes back to
// typing mode without leaving it.
func TestLongCommandWhileTyping(t *testing.T) {
	for _, accessible := range []bool{false, true} {
		lab := newFakeLab()
		var lines []string
		for i := 1; i <= 40; i++ {
			lines = append(lines, fmt.Sprintf("echo line %02d", i))
		}
		lab.long = map[string]string{steps.DeployA: strings.Join(lines, "\n")}
		lab.fails[steps.DeployA] = &steps.CheckError{Reason: "not yet", Fix: "type it"}
		lab.block[steps.DeployA] = make(chan struct{})
		h := fakeHarness(t, lab, Options{Accessible: accessible})
		h.press("enter")
		for h.m.current().id != steps.DeployA {
			h.press("n")
		}
		h.press("t")
		h.until("typing mode", func() bool { return h.m.typing(steps.DeployA) })
		to := "–"
		if accessible {
			to = " to "
		}
		h.contains("echo line 01", "lines 1"+to, "of 40: ] scrolls, v shows all")
		h.lacks("more lines")
		if !accessible {
			h.contains("t/esc stop waiting", "v view")
		}
		h.press("]", "]")
		h.contains("lines 3"+to, "echo line 03")
		h.lacks("echo line 02")
		h.press("[")
		h.contains("echo line 02")

		h.press("v")
		h.contains("Deploy to region A", "lines 1"+to+"21 of 40", "echo line 01", "echo line 21")
		for !strings.Contains(h.screen(), "echo line 40") {
			if h.m.cmd.full.AtBottom() {
				t.Fatalf("the view ends before the command does:\n%s", h.screen())
			}
			h.press("pgdown")
		}
		h.press("q")
		if h.m.cmd.IsOpen() || h.quit || !h.m.typing(steps.DeployA) {
			t.Fatalf("q in the view: view %v, quit %v, typing %v; want back in typing mode", h.m.cmd.IsOpen(), h.quit, h.m.typing(steps.DeployA))
		}
		h.press("esc")
		h.idle()
		close(lab.block[steps.DeployA])
	}
}

// TestHelpClosesWithQ: ? then q closes the keys page on a step as on the
// start screen, and quits nothing; a second q quits.
func TestHelpClosesWithQ(t *testing.T) {
	h := fakeHarness(t, newFakeLab(), Options{})
	h.press("?")
	h.contains("Keys (any key closes this page)")
	h.press("q")
	h.contains("Press ? at any time")
	h.press("enter", "n", "?")
	h.contains("Keys (any key closes this page)", "show the whole command, full screen")
	h.press("q")
	h.lacks("Keys (any key")
	if h.quit {
		t.Fatal("q on the keys page quit the lab")
	}
	h.press("q")
	h.until("q to quit", func() bool { return h.quit })
}

// TestTypingNotFound: while the learner types a step, a check that finds
// nothing yet says what is missing once, with one period, and the fix for
// typing mode alone (not the generic "run the earlier step").
func TestTypingNotFound(t *testing.T) {
	lab := newFakeLab()
	lab.block[steps.DeployA] = make(chan struct{})
	h := fakeHarness(t, lab, Options{})
	h.press("enter")
	for h.m.current().id != steps.DeployA {
		h.press("n")
	}
	h.press("t")
	h.until("typing mode", func() bool { return h.m.typing(steps.DeployA) })
	notFound := &gcp.Error{Kind: gcp.KindNotFound, Op: "get service gemini-service in us-central1", Cause: "Resource 'gemini-service' does not exist.",
		Fix: "Run the earlier step that creates it, or check the name and region"}
	h.send(eventMsg{steps.Event{Kind: steps.EventChecked, Step: steps.DeployA, Status: steps.StatusFailed, Err: notFound,
		Fix: "Not there yet: run the command above in your second terminal; the next check will see it"}})
	h.send(eventMsg{steps.Event{Kind: steps.EventWaiting, Step: steps.DeployA, Next: lab.now().Add(steps.DefaultAwaitEvery)}})
	h.contains("Not yet: get service gemini-service in", "does not", "Fix: Not there yet: run the command above")
	h.lacks("..", "earlier step")
	if got := notFound.Error(); strings.Contains(got, "..") {
		t.Errorf("gcp.Error says %q: two periods", got)
	}
	h.press("esc")
	h.idle()
	close(lab.block[steps.DeployA])
}

// TestFirstFrameIsReportedOnce: Options.FirstFrame (beyond resumes the
// garbage collector with it) is called by the first View, not before, and
// never again.
func TestFirstFrameIsReportedOnce(t *testing.T) {
	calls := 0
	m := New(context.Background(), newFakeLab(), Options{FirstFrame: func() { calls++ }})
	defer m.Close()
	if calls != 0 {
		t.Fatalf("FirstFrame called %d times before anything was drawn", calls)
	}
	m.View()
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	m.View()
	if calls != 1 {
		t.Errorf("FirstFrame called %d times over two frames, want 1", calls)
	}
}
