package tui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/beyond-lab/beyond/steps"
	"github.com/charmbracelet/x/ansi"
)

// fakeLab is a runner with the real lab's shape and none of its cloud. Like
// the runner, it holds a lock for the whole of a step and emits from the
// goroutine running it.
type fakeLab struct {
	mu      sync.Mutex // held while a step runs, as the runner holds its own
	emit    func(steps.Event)
	steps   []*steps.Step
	vars    steps.Vars
	sim     bool
	saved   steps.Saved
	outputs steps.Outputs

	state   sync.Mutex // guards what follows, for the test to read
	clock   time.Time  // the time events carry
	fails   map[string]*steps.CheckError
	block   map[string]chan struct{}
	calls   []string
	ranges  []steps.Range
	client  string
	watches int
	long    map[string]string // commands other than the fake's one-liners
}

func newFakeLab() *fakeLab {
	v := steps.DefaultVars()
	v.Project = "fake-project"
	l := &fakeLab{
		vars:  v,
		sim:   true,
		saved: steps.Saved{Steps: map[string]steps.SavedState{}},
		clock: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC),
		fails: map[string]*steps.CheckError{},
		block: map[string]chan struct{}{},
	}
	real := map[string]*steps.Step{}
	for _, s := range steps.Lab() {
		real[s.ID] = s
	}
	for _, s := range []struct{ id, part, title string }{
		{steps.Project, steps.PartDeploy, "Set the project"},
		{steps.EnableAPIs, steps.PartDeploy, "Enable the APIs"},
		{steps.DeployA, steps.PartDeploy, "Deploy to region A"},
		{steps.DeployB, steps.PartGlobal, "Deploy to region B"},
		{steps.URLMap, steps.PartGlobal, "Create the URL map, with a retry policy"},
		{steps.ForwardingRule, steps.PartGlobal, "Create the global forwarding rule"},
		{steps.GlobalIP, steps.PartVerify, "Read the global IP"},
		{steps.Curl, steps.PartVerify, "Curl the global IP"},
		{steps.BreakRegion, steps.PartVerify, "Break region A for real"},
		{steps.Failover, steps.PartVerify, "Watch the failover"},
		{steps.Restore, steps.PartVerify, "Restore region A"},
		{steps.Cleanup, steps.PartCleanup, "Clean up"},
	} {
		// The real step's metadata, none of its calls.
		r := real[s.id]
		l.steps = append(l.steps, &steps.Step{ID: s.id, Part: s.part, Title: s.title,
			Optional: r.Optional, Live: r.Live, Breaks: r.Breaks, Restores: r.Restores, Creates: r.Creates})
	}
	return l
}

func (l *fakeLab) Steps() []*steps.Step { return l.steps }
func (l *fakeLab) Simulated() bool      { return l.sim }
func (l *fakeLab) Vars() steps.Vars     { return l.vars }

func (l *fakeLab) Command(id string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.long[id]; ok {
		return c
	}
	if id == steps.Curl && l.outputs.GlobalIP != "" {
		return "curl http://" + l.outputs.GlobalIP + "/"
	}
	if id == steps.EnableAPIs {
		return "gcloud services enable run.googleapis.com \\\n    compute.googleapis.com \\\n    artifactregistry.googleapis.com \\\n    aiplatform.googleapis.com"
	}
	return "gcloud fake " + id + " --project " + l.vars.Project
}

func (l *fakeLab) Saved() steps.Saved {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.saved
	s.Steps = map[string]steps.SavedState{}
	for k, v := range l.saved.Steps {
		s.Steps[k] = v
	}
	return s
}

func (l *fakeLab) Outputs() steps.Outputs {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.outputs
}

func (l *fakeLab) now() time.Time {
	l.state.Lock()
	defer l.state.Unlock()
	return l.clock
}

func (l *fakeLab) setClock(t time.Time) {
	l.state.Lock()
	defer l.state.Unlock()
	l.clock = t
}

func (l *fakeLab) send(e steps.Event) {
	e.At = l.now()
	l.emit(e)
}

func (l *fakeLab) RunStep(ctx context.Context, id string) (steps.Status, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.run(ctx, id, true)
}

func (l *fakeLab) CheckStep(ctx context.Context, id string) (steps.Status, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.run(ctx, id, false)
}

func (l *fakeLab) Run(ctx context.Context, rg steps.Range) (steps.Summary, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state.Lock()
	l.ranges = append(l.ranges, rg)
	l.state.Unlock()
	var sum steps.Summary
	started := rg.From == ""
	for _, s := range l.steps {
		started = started || s.ID == rg.From
		if !started || s.Optional && !rg.Optional {
			continue
		}
		st, _ := l.run(ctx, s.ID, !rg.Resume || l.saved.Steps[s.ID].Status != steps.StatusPassed)
		if st == steps.StatusPassed {
			sum.Passed++
		} else {
			sum.Failed++
			break
		}
		if s.ID == rg.To {
			break
		}
	}
	l.send(steps.Event{Kind: steps.EventFinished, Summary: &sum})
	return sum, nil
}

// run performs a step the way the runner does, event for event.
func (l *fakeLab) run(ctx context.Context, id string, do bool) (steps.Status, error) {
	var step *steps.Step
	for _, s := range l.steps {
		if s.ID == id {
			step = s
		}
	}
	if step == nil {
		return "", fmt.Errorf("no step %q", id)
	}
	l.state.Lock()
	kind := "check"
	if do {
		kind = "run"
	}
	l.calls = append(l.calls, kind+" "+id)
	fail := l.fails[id]
	delete(l.fails, id)
	block := l.block[id]
	l.state.Unlock()

	cmd := "gcloud fake " + id
	l.send(steps.Event{Kind: steps.EventStarted, Step: id, Title: step.Title, Command: cmd, Status: steps.StatusRunning})
	finish := func(st steps.Status, err error, fix string) (steps.Status, error) {
		l.send(steps.Event{Kind: steps.EventDone, Step: id, Title: step.Title, Status: st, Err: err, Fix: fix, Elapsed: 1500 * time.Millisecond})
		if st != steps.StatusCanceled {
			l.saved.Steps[id] = steps.SavedState{Status: st, At: l.now()}
		}
		return st, nil
	}
	if do {
		l.send(steps.Event{Kind: steps.EventProgress, Step: id, Text: "working on " + id})
		if block != nil {
			select {
			case <-block:
			case <-ctx.Done():
				l.send(steps.Event{Kind: steps.EventDid, Step: id, Err: ctx.Err()})
				return finish(steps.StatusCanceled, ctx.Err(), "")
			}
		}
		if id == steps.GlobalIP {
			l.outputs.GlobalIP = "203.0.113.7"
		}
		l.send(steps.Event{Kind: steps.EventDid, Step: id, Text: "Did " + id + "."})
	}
	if fail != nil {
		l.send(steps.Event{Kind: steps.EventChecked, Step: id, Status: steps.StatusFailed, Err: fail, Fix: fail.Fix})
		return finish(steps.StatusFailed, fail, fail.Fix)
	}
	l.send(steps.Event{Kind: steps.EventChecked, Step: id, Status: steps.StatusPassed, Text: "Verified " + id + "."})
	return finish(steps.StatusPassed, nil, "")
}

// Await is typing mode: a check that fails (if the test set one) with a
// wait, then, once the test says the learner typed it, a check that holds.
func (l *fakeLab) Await(ctx context.Context, id string, every time.Duration) (steps.Status, error) {
	l.state.Lock()
	l.calls = append(l.calls, "await "+id)
	fail := l.fails[id]
	delete(l.fails, id)
	typed := l.block[id]
	l.state.Unlock()
	l.send(steps.Event{Kind: steps.EventStarted, Step: id, Command: l.Command(id), Status: steps.StatusRunning, By: steps.ByLearner})
	if fail != nil {
		l.send(steps.Event{Kind: steps.EventChecked, Step: id, Status: steps.StatusFailed, Err: fail, Fix: fail.Fix})
		l.send(steps.Event{Kind: steps.EventWaiting, Step: id, Next: l.now().Add(every)})
	}
	if typed != nil {
		select {
		case <-typed:
		case <-ctx.Done():
			l.send(steps.Event{Kind: steps.EventDone, Step: id, Status: steps.StatusCanceled, Err: ctx.Err(), By: steps.ByLearner})
			return steps.StatusCanceled, nil
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.send(steps.Event{Kind: steps.EventChecked, Step: id, Status: steps.StatusPassed, Text: "Verified " + id + "."})
	l.send(steps.Event{Kind: steps.EventDone, Step: id, Status: steps.StatusPassed, By: steps.ByLearner, Elapsed: 3 * time.Second})
	l.saved.Steps[id] = steps.SavedState{Status: steps.StatusPassed, At: l.now(), By: steps.ByLearner}
	return steps.StatusPassed, nil
}

func (l *fakeLab) Watch(ctx context.Context) error {
	l.state.Lock()
	l.watches++
	l.state.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

func (l *fakeLab) SetClientLocation(region string) error {
	l.state.Lock()
	defer l.state.Unlock()
	if region == "nowhere" {
		return fmt.Errorf("%q is not a region the lab knows", region)
	}
	l.client = region
	return nil
}

func (l *fakeLab) callLog() []string {
	l.state.Lock()
	defer l.state.Unlock()
	return append([]string(nil), l.calls...)
}

// harness drives a Model the way the program does, without a terminal: it
// runs each command in a goroutine and feeds the messages back to Update, in
// the order they come, on the test's goroutine.
type harness struct {
	t         *testing.T
	m         *Model
	msgs      chan tea.Msg
	done      chan struct{}
	quit      bool
	clipboard string
}

func newHarness(t *testing.T, lab Lab, opts Options, setEmit func(func(steps.Event))) *harness {
	t.Helper()
	h := &harness{t: t, msgs: make(chan tea.Msg, 1024), done: make(chan struct{})}
	setEmit(func(e steps.Event) {
		select {
		case h.msgs <- eventMsg{e}:
		case <-h.done:
		}
	})
	h.m = New(context.Background(), lab, opts)
	t.Cleanup(func() {
		h.m.Close()
		close(h.done)
	})
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	return h
}

func fakeHarness(t *testing.T, lab *fakeLab, opts Options) *harness {
	return newHarness(t, lab, opts, func(emit func(steps.Event)) { lab.emit = emit })
}

func (h *harness) send(msg tea.Msg) {
	h.t.Helper()
	_, cmd := h.m.Update(msg)
	h.exec(cmd)
	h.fits()
}

func (h *harness) exec(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		msg := cmd()
		select {
		case h.msgs <- msg:
		case <-h.done:
		}
	}()
}

// process handles one message a command returned.
func (h *harness) process(msg tea.Msg) {
	h.t.Helper()
	switch msg := msg.(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			h.exec(c)
		}
	case tea.QuitMsg:
		h.quit = true
	case spinner.TickMsg:
		h.send(msg)
	default:
		if fmt.Sprintf("%T", msg) == "tea.setClipboardMsg" {
			h.clipboard = fmt.Sprint(msg)
			return
		}
		h.send(msg)
	}
}

// press sends keys, each a key name ("enter", "ctrl+c") or one character.
func (h *harness) press(keys ...string) {
	h.t.Helper()
	for _, k := range keys {
		h.send(keyPress(k))
	}
}

func keyPress(k string) tea.KeyPressMsg {
	named := map[string]tea.KeyPressMsg{
		"enter":  {Code: tea.KeyEnter},
		"esc":    {Code: tea.KeyEscape},
		"down":   {Code: tea.KeyDown},
		"up":     {Code: tea.KeyUp},
		"pgdown": {Code: tea.KeyPgDown},
		"pgup":   {Code: tea.KeyPgUp},
		"ctrl+c": {Code: 'c', Mod: tea.ModCtrl},
	}
	if m, ok := named[k]; ok {
		return m
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

// until processes messages until cond holds. It looks at cond again now
// and then without a message too, for conditions on the fake's own state.
func (h *harness) until(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case msg := <-h.msgs:
			h.process(msg)
		case <-tick.C:
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s; the screen:\n%s", what, h.screen())
		}
	}
}

// idle waits until no runner call is in flight.
func (h *harness) idle() {
	h.t.Helper()
	h.until("the step to end", func() bool { return h.m.op == nil })
}

// screen is the screen as plain text.
func (h *harness) screen() string { return ansi.Strip(h.m.Render()) }

// fits fails the test if any line of the screen is wider than the screen
// or there are more lines than it is tall.
func (h *harness) fits() {
	h.t.Helper()
	checkFits(h.t, h.m)
}

func checkFits(t *testing.T, m *Model) {
	t.Helper()
	out := m.Render()
	lines := strings.Split(out, "\n")
	if len(lines) > m.height {
		t.Fatalf("%d lines on a screen %d tall:\n%s", len(lines), m.height, ansi.Strip(out))
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > m.width {
			t.Fatalf("line %d is %d cells on a screen %d wide: %q", i, w, m.width, ansi.Strip(l))
		}
	}
}

func (h *harness) contains(want ...string) {
	h.t.Helper()
	s := h.screen()
	for _, w := range want {
		if !strings.Contains(s, w) {
			h.t.Fatalf("screen lacks %q:\n%s", w, s)
		}
	}
}

func (h *harness) lacks(unwanted ...string) {
	h.t.Helper()
	s := h.screen()
	for _, w := range unwanted {
		if strings.Contains(s, w) {
			h.t.Fatalf("screen shows %q:\n%s", w, s)
		}
	}
}

func stripANSI(s string) string { return ansi.Strip(s) }
