package tui

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/beyond-lab/beyond/steps"
)

// TestWalkLab goes through the whole lab with the keys a learner presses,
// on a fake runner, checking the model and the screen at each step.
func TestWalkLab(t *testing.T) {
	lab := newFakeLab()
	h := fakeHarness(t, lab, Options{})
	h.contains("SIMULATOR — nothing billable", "Nothing here is billable", "enter begin")
	if os.Getenv("TUI_SHOW") != "" {
		t.Log("\n" + h.screen())
	}
	h.press("enter")
	if h.m.screen != screenLab || h.m.current().id != "intro" {
		t.Fatalf("after enter: screen %v, item %q; want the lab at the introduction", h.m.screen, h.m.current().id)
	}
	h.contains("Beyond the Region", "0/12 passed", "Part 2 · Cloud Run", "› · Beyond the Region")

	var ran []string
	for h.m.current().id != "next" {
		h.press("n")
		it := h.m.current()
		if it.reading {
			continue
		}
		h.contains(it.title, "○ todo", "Not run yet")
		if it.id == steps.EnableAPIs {
			h.contains("gcloud equivalent", "gcloud services enable run.googleapis.com")
		}
		h.press("enter")
		if h.m.op == nil || h.m.op.step != it.id {
			t.Fatalf("enter on %s started %+v", it.id, h.m.op)
		}
		h.idle()
		if got := h.m.status(it.id); got != steps.StatusPassed {
			t.Fatalf("%s: status %s, want passed:\n%s", it.id, got, h.screen())
		}
		h.contains("✓ passed", "Did "+it.id+".", "✓ Check passed: Verified "+it.id+".")
		if os.Getenv("TUI_SHOW") != "" {
			t.Log("\n" + h.screen())
		}
		wantPanel := it.part == steps.PartVerify && it.id != steps.GlobalIP
		if h.m.showFailover != wantPanel {
			t.Errorf("%s: failover panel shown %v, want %v", it.id, h.m.showFailover, wantPanel)
		}
		if wantPanel {
			// The commands and the IP come back after the step, in a command.
			h.until("the global IP", func() bool { return h.m.ip != "" })
			h.contains("Live 203.0.113.7")
		}
		ran = append(ran, "run "+it.id)
	}
	if got := lab.callLog(); !slices.Equal(got, ran) {
		t.Errorf("runner calls %v, want %v", got, ran)
	}
	h.contains("12/12 passed", "Next steps")
	// The curl command changed once the global IP was known.
	if c := h.m.commands[steps.Curl]; c != "curl http://203.0.113.7/" {
		t.Errorf("curl command after the run = %q", c)
	}

	h.press("q")
	h.until("q to quit", func() bool { return h.quit })
}

// TestCheckFailureShowsFix: a failed check shows its reason and its fix; c
// checks again without performing the step.
func TestCheckFailureShowsFix(t *testing.T) {
	lab := newFakeLab()
	lab.fails[steps.DeployA] = &steps.CheckError{Reason: "service gemini-service in us-central1 has no ready revision", Fix: "Run this step again"}
	h := fakeHarness(t, lab, Options{})
	h.press("enter", "n", "n", "n")
	if id := h.m.current().id; id != steps.DeployA {
		t.Fatalf("on %s, want deploy-a", id)
	}
	h.press("enter")
	h.idle()
	if st := h.m.status(steps.DeployA); st != steps.StatusFailed {
		t.Fatalf("status %s, want failed", st)
	}
	h.contains("✗ failed", "✗ Check failed: service gemini-service in", "ready revision", "Fix: Run this step again")

	h.press("c")
	h.idle()
	h.contains("✓ Check passed: Verified deploy-a.")
	h.lacks("Fix:")
	if got := lab.callLog(); !slices.Equal(got, []string{"run deploy-a", "check deploy-a"}) {
		t.Errorf("calls %v", got)
	}
}

// TestQuitWhileRunning: q during a step asks first; yes cancels the step,
// waits for the runner to say it stopped, then quits.
func TestQuitWhileRunning(t *testing.T) {
	lab := newFakeLab()
	lab.block[steps.Project] = make(chan struct{})
	h := fakeHarness(t, lab, Options{})
	h.press("enter", "n", "enter")
	h.until("the step to start", func() bool { r := h.m.runs[steps.Project]; return r != nil && r.running && len(r.progress) > 0 })
	h.contains("● running", "working on project")

	h.press("q")
	if !h.m.confirmQuit || h.quit {
		t.Fatalf("q while running: confirm %v, quit %v; want a question", h.m.confirmQuit, h.quit)
	}
	h.contains("Quit? y stops Set the project and quits")
	h.press("n")
	if h.m.confirmQuit || h.m.op == nil {
		t.Fatal("n did not keep the lab running")
	}
	h.press("enter")
	h.contains("Set the project is running: wait for it")

	h.press("q", "y")
	h.until("the program to quit", func() bool { return h.quit })
	if st := h.m.status(steps.Project); st != steps.StatusCanceled {
		t.Errorf("status after quitting %s, want canceled", st)
	}
	if _, saved := lab.Saved().Steps[steps.Project]; saved {
		t.Error("a canceled step was saved")
	}
}

// TestResume: saved progress brings an offer to resume; yes re-checks
// through the last step saved as passed and goes on to the next.
func TestResume(t *testing.T) {
	lab := newFakeLab()
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	for _, id := range []string{steps.Project, steps.EnableAPIs, steps.DeployA} {
		lab.saved.Steps[id] = steps.SavedState{Status: steps.StatusPassed, At: at}
	}
	h := fakeHarness(t, lab, Options{})
	h.contains(`Saved progress: 3 of 12 steps passed, the last "Deploy to region A"`, "y resume")
	h.press("y")
	h.idle()
	if len(lab.ranges) != 1 || lab.ranges[0] != (steps.Range{Resume: true, To: steps.DeployA}) {
		t.Fatalf("Run ranges %+v, want one resume through deploy-a", lab.ranges)
	}
	if got := lab.callLog(); !slices.Equal(got, []string{"check project", "check enable-apis", "check deploy-a"}) {
		t.Errorf("resume called %v, want only checks", got)
	}
	if id := h.m.current().id; id != steps.DeployB {
		t.Errorf("after resuming, on %s, want deploy-b", id)
	}
	h.contains("Resumed: 3 steps re-checked and passed.")

	// No: start at the beginning, with the saved states shown.
	lab2 := newFakeLab()
	lab2.saved.Steps[steps.Project] = steps.SavedState{Status: steps.StatusPassed, At: at}
	h2 := fakeHarness(t, lab2, Options{})
	h2.press("n")
	if h2.m.screen != screenLab || h2.m.cursor != 0 {
		t.Fatalf("n: screen %v cursor %d", h2.m.screen, h2.m.cursor)
	}
	h2.press("n")
	h2.contains("✓ passed", "Passed on 25 Nov", "(saved)")
	if len(lab2.callLog()) != 0 {
		t.Errorf("declining to resume called the runner: %v", lab2.callLog())
	}
}

// TestCopy: y puts the command on the clipboard.
func TestCopy(t *testing.T) {
	lab := newFakeLab()
	h := fakeHarness(t, lab, Options{})
	h.press("enter", "n", "n", "y")
	want := lab.Command(steps.EnableAPIs)
	if h.m.copied != want {
		t.Fatalf("copied %q, want %q", h.m.copied, want)
	}
	h.until("the clipboard", func() bool { return h.clipboard != "" })
	if h.clipboard != want {
		t.Errorf("clipboard got %q", h.clipboard)
	}
	h.contains("Copied the command (4 lines) to the clipboard.")
}

// TestHelpAndScroll: ? shows every key; pgdown scrolls the prose.
func TestHelpAndScroll(t *testing.T) {
	h := fakeHarness(t, newFakeLab(), Options{})
	h.press("enter")
	h.contains("n next", "q quit")
	h.press("?")
	h.contains("Keys (any key closes this page)", "break region A", "move the simulated client")
	h.press("esc")
	h.lacks("Keys (any key")

	h.m.width, h.m.height = 80, 16
	h.send(h.m.width) // any message re-syncs the layout
	before := h.m.prose.YOffset()
	h.press("pgdown")
	if h.m.prose.YOffset() <= before {
		t.Errorf("pgdown left the prose at line %d", h.m.prose.YOffset())
	}
	h.press("pgup")
	if h.m.prose.YOffset() != before {
		t.Errorf("pgup went to line %d, want %d", h.m.prose.YOffset(), before)
	}
}

// TestAccessible draws plain lines: words beside glyphs, no frames, no
// animation, one column.
func TestAccessible(t *testing.T) {
	lab := newFakeLab()
	h := fakeHarness(t, lab, Options{Accessible: true})
	h.press("enter", "n", "n")
	h.contains("Step 2 of 12 · Part 2 · Cloud Run", "gcloud equivalent (y copies it):", "  gcloud services enable")
	h.press("p")
	h.contains("gcloud equivalent (y copies it):", "  gcloud fake project --project fake-project")
	h.press("n", "enter")
	if cmd := h.m.startSpinner(); cmd != nil || h.m.spinning {
		t.Error("accessible mode animates a spinner")
	}
	h.idle()
	h.press("l")
	h.contains(">", "passed   Enable the APIs", "todo     Deploy to region A", "read     Beyond the Region")
	for _, frame := range []string{"╭", "│", "╰", "─"} {
		if strings.Contains(h.screen(), frame) {
			t.Fatalf("accessible screen draws %q:\n%s", frame, h.screen())
		}
	}
	if v := h.m.View(); v.AltScreen {
		t.Error("accessible mode takes the alternate screen")
	}
}

// TestFarewell: on Google, quitting lists what is still billable.
func TestFarewell(t *testing.T) {
	lab := newFakeLab()
	lab.sim = false
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	lab.saved.Steps[steps.DeployA] = steps.SavedState{Status: steps.StatusPassed, At: at}
	lab.saved.Steps[steps.ForwardingRule] = steps.SavedState{Status: steps.StatusPassed, At: at}
	m := New(t.Context(), lab, Options{})
	defer m.Close()
	bye := m.Farewell()
	for _, want := range []string{
		"Still in Google Cloud project fake-project",
		"the global forwarding rule gemini-global-ip (charged by the hour)",
		"the Cloud Run service gemini-service in us-central1",
		"beyond cleanup --project fake-project",
	} {
		if !strings.Contains(bye, want) {
			t.Errorf("farewell lacks %q:\n%s", want, bye)
		}
	}
	if strings.Contains(bye, "europe-west1") {
		t.Errorf("farewell lists region B, never deployed:\n%s", bye)
	}
	if !strings.Contains(ansiStrip(m.header()), "Google Cloud project fake-project — billable") {
		t.Errorf("header %q does not say billable", ansiStrip(m.header()))
	}

	lab.saved.Steps[steps.Cleanup] = steps.SavedState{Status: steps.StatusPassed, At: at.Add(time.Hour)}
	m2 := New(t.Context(), lab, Options{})
	defer m2.Close()
	if bye := m2.Farewell(); strings.Contains(bye, "billable") {
		t.Errorf("after cleanup the farewell still lists:\n%s", bye)
	}

	lab.sim = true
	m3 := New(t.Context(), lab, Options{})
	defer m3.Close()
	if bye := m3.Farewell(); bye != "" {
		t.Errorf("the simulator says farewell %q", bye)
	}
}

func ansiStrip(s string) string { return strings.Join(strings.Fields(stripANSI(s)), " ") }

// TestRunRest: R runs the current step and every one after it until one
// fails, selecting each as it runs; the steps after the failure are left.
func TestRunRest(t *testing.T) {
	lab := newFakeLab()
	lab.fails[steps.URLMap] = &steps.CheckError{Reason: "the URL map has no retry policy", Fix: "Run this step again"}
	h := fakeHarness(t, lab, Options{})
	h.press("enter")
	for h.m.current().id != steps.DeployA {
		h.press("n")
	}
	h.press("R")
	h.idle()
	if got := lab.ranges; len(got) != 1 || got[0].From != steps.DeployA || !got[0].Resume {
		t.Fatalf("R ran %+v, want one run from %s", got, steps.DeployA)
	}
	want := []string{"run " + steps.DeployA, "run " + steps.DeployB, "run " + steps.URLMap}
	if got := lab.callLog(); !slices.Equal(got, want) {
		t.Errorf("R made the calls %v, want %v", got, want)
	}
	if id := h.m.current().id; id != steps.URLMap {
		t.Errorf("after R the list is at %s, want the failed step %s", id, steps.URLMap)
	}
	h.contains("2 steps passed, then Create the URL map", "the URL map has no retry policy")
	if st := h.m.status(steps.ForwardingRule); st != steps.StatusTodo {
		t.Errorf("a step after the failure is %s, want todo", st)
	}
	h.contains("Fix: Run this step again")
}

// TestMouseAndTitle: the mouse is off unless asked for; with it the wheel
// scrolls the text. The window title names the step.
func TestMouseAndTitle(t *testing.T) {
	off := fakeHarness(t, newFakeLab(), Options{})
	if mode := off.m.View().MouseMode; mode != tea.MouseModeNone {
		t.Errorf("mouse mode %v without Options.Mouse, want none", mode)
	}
	h := fakeHarness(t, newFakeLab(), Options{Mouse: true})
	h.send(tea.WindowSizeMsg{Width: 60, Height: 14})
	if mode := h.m.View().MouseMode; mode != tea.MouseModeCellMotion {
		t.Errorf("mouse mode %v with Options.Mouse, want cell motion", mode)
	}
	h.press("enter", "n", "n", "n") // Deploy to region A: a long text
	if title := h.m.View().WindowTitle; !strings.Contains(title, "Deploy to region A") {
		t.Errorf("window title %q does not name the step", title)
	}
	h.send(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	if off := h.m.prose.YOffset(); off != 3 {
		t.Errorf("the wheel scrolled the text to line %d, want 3", off)
	}
	h.send(tea.MouseWheelMsg{Button: tea.MouseWheelUp})
	if off := h.m.prose.YOffset(); off != 0 {
		t.Errorf("the wheel back up left the text at line %d, want 0", off)
	}
}
