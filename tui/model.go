package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/beyond-lab/beyond/content"
	"github.com/beyond-lab/beyond/steps"
)

// Messages.
type (
	// eventMsg carries one runner event.
	eventMsg struct{ steps.Event }
	// opDoneMsg says a runner call returned.
	opDoneMsg struct {
		id     int
		status steps.Status
		sum    steps.Summary
		err    error
	}
	// watchDoneMsg says Watch returned.
	watchDoneMsg struct {
		id  int
		err error
	}
	// refreshMsg carries the commands and facts as they stand after a step.
	refreshMsg struct {
		commands map[string]string
		ip       string
	}
	// movedMsg says the simulated client moved, or could not.
	movedMsg struct {
		to  int // index in clientLocations
		err error
	}
)

// clientLocations are where m moves the simulated client, in turn.
var clientLocations = []string{"us-central1", "europe-west1", "asia-east1"}

// item is one entry of the step list: a step, or a page of prose with
// nothing to run (the introduction, the closing words).
type item struct {
	id, part, title string
	short           string // the title for a narrow list, if the lab has one
	reading         bool
	step            *steps.Step // nil for a reading page
}

// stepRun is what the screen knows of a step: its saved state, then what
// the events of its last run said.
type stepRun struct {
	status   steps.Status
	at       time.Time // when status was last set
	running  bool
	started  time.Time
	elapsed  time.Duration
	progress []string
	did      string
	didErr   error
	verdict  string // what the check verified, or why it failed
	err      error
	fix      string
	skipped  string
	fresh    bool      // set by an event in this session, not only loaded
	typing   bool      // the learner is typing the step; the lab checks it
	next     time.Time // while typing: when the check runs again
	by       steps.By  // who did a passed step
	kept     bool      // passed earlier and kept without a check (EventKept)
}

// op is a runner call in flight: a step, a check, or a resumed run.
type op struct {
	id     int
	kind   opKind
	step   string
	cancel context.CancelFunc
}

// opKind is what a runner call in flight does.
type opKind string

const (
	opRun    opKind = "run"    // perform a step, then check it
	opCheck  opKind = "check"  // check a step only
	opType   opKind = "type"   // the learner types a step; the lab checks until it holds
	opResume opKind = "resume" // re-check the steps saved as passed, run those that fail
	opRest   opKind = "rest"   // run the remaining steps until one fails (R)
	opWatch  opKind = "watch"  // probe the global IP
)

type screen int

const (
	screenStart screen = iota // the banner, and the offer to resume
	screenLab
)

// Model is the TUI's one model.
type Model struct {
	lab       Lab
	opts      Options
	ctx       context.Context
	cancel    context.CancelFunc
	keys      KeyMap
	st        Styles
	help      help.Model
	spin      spinner.Model
	prose     prosePane
	vars      steps.Vars
	simulated bool
	target    string

	width, height int
	screen        screen
	items         []item
	cursor        int
	runs          map[string]*stepRun
	commands      map[string]string
	markdown      map[string]string // step ID → its page, expanded (stepMarkdown)
	ip            string
	resumeTo      string // the last step saved as passed, if any
	resumePassed  int

	op       *op
	watch    *op
	seq      int
	spinning bool
	now      time.Time

	confirmQuit  bool
	quitting     bool
	flipList     bool // l pressed: the list hidden beside, or shown instead of the text
	showHelp     bool
	cmd          commandPane // the current step's command: its box, and full screen (v)
	list         stepList
	showFailover bool
	fo           failoverPanel // the live failover panel
	runPane      runPanel      // what the current step's last run said
	client       int
	note         string
	copied       string
}

// New returns the model for lab. It reads the lab's steps, saved progress
// and commands now, before any step runs: from Update on, runner calls go
// through commands only (the runner holds its lock while it emits events).
func New(ctx context.Context, lab Lab, opts Options) *Model {
	ctx, cancel := context.WithCancel(ctx)
	m := &Model{
		lab:       lab,
		opts:      opts,
		ctx:       ctx,
		cancel:    cancel,
		keys:      DefaultKeyMap(),
		st:        NewStyles(opts.NoColor),
		help:      help.New(),
		vars:      lab.Vars(),
		simulated: lab.Simulated(),
		target:    opts.Target,
		width:     80,
		height:    24,
		runs:      map[string]*stepRun{},
		commands:  map[string]string{},
		markdown:  map[string]string{},
		now:       time.Now(),
	}
	if opts.Width > 0 && opts.Height > 0 {
		m.width, m.height = opts.Width, opts.Height
	}
	m.help.Styles = m.st.Help
	if opts.Accessible {
		m.help.ShortSeparator = " | "
		m.help.Ellipsis = "..."
	}
	m.cmd = newCommandPane(m.keys, m.st, opts.Accessible)
	m.prose = newProsePane(m.st, opts.Accessible)
	m.list = newStepList(m.st, opts.Accessible)
	m.runPane = newRunPanel(m.keys, m.st, opts.Accessible, m.simulated)
	m.spin = spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(m.st.Running))
	m.fo = newFailoverPanel(m.vars, m.keys, m.st, opts.Accessible)
	if m.target == "" {
		m.target = "SIMULATOR"
		if !m.simulated {
			m.target = "Google Cloud project " + m.vars.Project
		}
	}

	ids := map[string]bool{}
	for _, s := range lab.Steps() {
		ids[s.ID] = true
	}
	add := func(id, part, title string, step *steps.Step) {
		reading := step == nil
		if title == "" {
			title = content.Title(id)
		}
		if title == "" {
			title = id
		}
		m.items = append(m.items, item{id: id, part: part, title: title, short: steps.ShortTitle(id), reading: reading, step: step})
	}
	if !ids[content.Intro] && content.Title(content.Intro) != "" {
		add(content.Intro, "", "", nil)
	}
	for _, s := range lab.Steps() {
		add(s.ID, s.Part, s.Title, s)
		m.commands[s.ID] = lab.Command(s.ID)
	}
	if !ids[content.Next] && content.Title(content.Next) != "" {
		add(content.Next, "", "", nil)
	}
	m.ip = lab.Outputs().GlobalIP

	saved := lab.Saved()
	for _, it := range m.items {
		if s, ok := saved.Steps[it.id]; ok && !it.reading {
			m.runs[it.id] = &stepRun{status: s.Status, at: s.At, by: s.By}
		}
	}
	for _, it := range m.items {
		// A resumed run leaves out the optional steps (cleanup), as a
		// full run does.
		if it.reading || it.step.Optional || m.status(it.id) != steps.StatusPassed {
			continue
		}
		m.resumeTo = it.id
		m.resumePassed++
	}
	m.sync()
	return m
}

// stepMarkdown is the step's page from content/ with the learner's
// variables in, read and expanded the first time it is shown.
func (m *Model) stepMarkdown(id string) string {
	if md, ok := m.markdown[id]; ok {
		return md
	}
	md, err := content.Step(id)
	if err != nil {
		md = "There is no text for this step yet."
	} else {
		md = expand(md, m.vars)
	}
	m.markdown[id] = md
	return md
}

// Close cancels every runner call the model started.
func (m *Model) Close() { m.cancel() }

// Init starts nothing: the banner waits for a key.
func (m *Model) Init() tea.Cmd { return nil }

// Update handles one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	m.sync()
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.MouseWheelMsg:
		// Only with Options.Mouse: the wheel scrolls what is read.
		down := msg.Button == tea.MouseWheelDown
		switch {
		case msg.Button != tea.MouseWheelDown && msg.Button != tea.MouseWheelUp:
		case m.cmd.IsOpen():
			m.cmd.Wheel(down)
		case down:
			m.prose.ScrollDown(3)
		default:
			m.prose.ScrollUp(3)
		}
	case tea.InterruptMsg:
		return m.askQuit()
	case spinner.TickMsg:
		m.now = msg.Time
		if m.op == nil || m.opts.Accessible {
			m.spinning = false
			return nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return cmd
	case eventMsg:
		return m.event(msg.Event)
	case opDoneMsg:
		return m.opDone(msg)
	case watchDoneMsg:
		if m.watch == nil || m.watch.id != msg.id {
			return nil
		}
		m.watch = nil
		m.note = ""
		m.fo.note(m.now, "stopped watching")
		if msg.err != nil && !errors.Is(msg.err, context.Canceled) {
			m.note = "Watching stopped: " + msg.err.Error()
		}
		if m.quitting && m.op == nil {
			return tea.Quit
		}
	case refreshMsg:
		for id, c := range msg.commands {
			m.commands[id] = c
		}
		m.ip = msg.ip
	case movedMsg:
		if msg.err != nil {
			m.note = "The client stays where it was: " + msg.err.Error()
			return nil
		}
		m.client = msg.to
		region := clientLocations[msg.to]
		m.fo.note(m.now, "client moved to "+region)
		m.note = "The simulated client now stands in " + region + "."
		if m.watch != nil {
			// The prober reads the location when it starts: start it again.
			m.watch.cancel()
			m.watch = nil
			return m.startWatch()
		}
	}
	return nil
}

func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	if m.quitting {
		if k.String() == "ctrl+c" {
			return tea.Quit
		}
		m.note = "Waiting for the step to stop; ctrl+c quits at once."
		return nil
	}
	if m.confirmQuit {
		switch {
		case key.Matches(k, m.keys.Yes) || k.String() == "ctrl+c":
			m.confirmQuit = false
			return m.quit()
		case key.Matches(k, m.keys.No) || key.Matches(k, m.keys.Quit):
			m.confirmQuit = false
		}
		return nil
	}
	if m.screen == screenStart {
		return m.startKey(k)
	}
	m.note = ""
	if m.cmd.IsOpen() {
		// The full view takes the keys but ctrl+c and y.
		switch {
		case k.String() == "ctrl+c":
			return m.askQuit()
		case key.Matches(k, m.keys.Copy):
			return m.copy()
		}
		m.cmd.Update(k)
		return nil
	}
	if m.op != nil && m.op.kind == opType && key.Matches(k, m.keys.Stop) && !m.showHelp {
		// Leave typing mode: stop waiting; nothing is recorded.
		m.op.cancel()
		m.note = "Stopped waiting for " + m.title(m.op.step) + "."
		return nil
	}
	if m.showHelp {
		// Any key closes the ? page; keys other than ?, esc and q then
		// act. q closes the page, as it does on the start screen: the page
		// says any key closes it, so q must not quit from under it.
		m.showHelp = false
		if key.Matches(k, m.keys.Help) || key.Matches(k, m.keys.Back) || k.String() == "q" {
			return nil
		}
	}
	switch {
	case key.Matches(k, m.keys.Quit):
		return m.askQuit()
	case key.Matches(k, m.keys.Help):
		m.showHelp = true
	case key.Matches(k, m.keys.Back):
		m.showHelp = false
	case key.Matches(k, m.keys.Next):
		m.move(1)
	case key.Matches(k, m.keys.Prev):
		m.move(-1)
	case key.Matches(k, m.keys.PageDown):
		m.prose.PageDown()
	case key.Matches(k, m.keys.PageUp):
		m.prose.PageUp()
	case key.Matches(k, m.keys.List):
		m.flipList = !m.flipList
	case key.Matches(k, m.keys.Copy):
		return m.copy()
	case key.Matches(k, m.keys.View):
		if !m.cmd.Open() {
			m.note = "This page has no command to show."
		}
	case key.Matches(k, m.keys.BoxDown), key.Matches(k, m.keys.BoxUp):
		m.cmd.Update(k)
	default:
		if kind, ok := m.runPane.Update(k); ok {
			if kind == "" {
				return nil // it scrolled
			}
			return m.runKind(kind)
		}
		if act, ok := m.fo.Update(k); ok {
			return m.panelAction(act)
		}
	}
	return nil
}

// runKind starts the run a key of the run panel asks for.
func (m *Model) runKind(kind opKind) tea.Cmd {
	switch kind {
	case opRest:
		return m.runRest()
	case opType:
		return m.typeCurrent()
	}
	return m.runCurrent(kind)
}

// panelAction does what a key of the failover panel asks: the runner is
// the model's to call.
func (m *Model) panelAction(act panelAction) tea.Cmd {
	switch act {
	case panelToggle:
		m.showFailover = !m.showFailover
	case panelWatch:
		return m.toggleWatch()
	case panelBreak:
		m.showFailover = true
		return m.start(opRun, steps.BreakRegion)
	case panelRestore:
		m.showFailover = true
		return m.start(opRun, steps.Restore)
	case panelMove:
		return m.moveClient()
	}
	return nil
}

func (m *Model) startKey(k tea.KeyPressMsg) tea.Cmd {
	if m.showHelp {
		// Any key closes the ? page, as in the lab.
		m.showHelp = false
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Help):
		m.showHelp = true
	case key.Matches(k, m.keys.Quit):
		return m.quit()
	case m.resumeTo != "" && key.Matches(k, m.keys.Yes):
		m.screen = screenLab
		return m.resume()
	case m.resumeTo != "" && key.Matches(k, m.keys.No):
		m.screen = screenLab
		m.selectItem(0)
	case m.resumeTo == "" && key.Matches(k, m.keys.Begin):
		m.screen = screenLab
		m.selectItem(0)
	}
	return nil
}

// askQuit quits at once when nothing is in flight, and asks first when a
// step is running: quitting cancels it.
func (m *Model) askQuit() tea.Cmd {
	if m.op != nil {
		m.confirmQuit = true
		return nil
	}
	return m.quit()
}

// quit cancels what is in flight and quits once it has stopped, so the
// runner saves the step's state as canceled rather than dying mid-write.
func (m *Model) quit() tea.Cmd {
	if m.watch != nil {
		m.watch.cancel()
		m.watch = nil
	}
	if m.op == nil {
		return tea.Quit
	}
	m.quitting = true
	m.op.cancel()
	m.note = "Stopping " + m.title(m.op.step) + "…"
	return nil
}

// move selects the next or previous item.
func (m *Model) move(d int) {
	m.selectItem(min(max(m.cursor+d, 0), len(m.items)-1))
}

func (m *Model) selectItem(i int) {
	if i < 0 || i >= len(m.items) {
		return
	}
	m.cursor = i
	m.showFailover = m.items[i].step != nil && m.items[i].step.Live
}

// stepOf returns the step with that ID, or nil.
func (m *Model) stepOf(id string) *steps.Step {
	for _, it := range m.items {
		if it.step != nil && it.id == id {
			return it.step
		}
	}
	return nil
}

func (m *Model) current() item {
	if len(m.items) == 0 {
		return item{}
	}
	return m.items[m.cursor]
}

func (m *Model) indexOf(id string) int {
	return slices.IndexFunc(m.items, func(it item) bool { return it.id == id && !it.reading })
}

func (m *Model) title(id string) string {
	if i := m.indexOf(id); i >= 0 {
		return m.items[i].title
	}
	return id
}

func (m *Model) status(id string) steps.Status {
	if r := m.runs[id]; r != nil {
		return r.status
	}
	return steps.StatusTodo
}

func (m *Model) run(id string) *stepRun {
	r := m.runs[id]
	if r == nil {
		r = &stepRun{status: steps.StatusTodo}
		m.runs[id] = r
	}
	return r
}

func (m *Model) runCurrent(kind opKind) tea.Cmd {
	it := m.current()
	if it.reading {
		m.note = "Nothing to run on this page: n goes to the next step."
		return nil
	}
	return m.start(kind, it.id)
}

// start calls the runner for one step, in a command.
func (m *Model) start(kind opKind, id string) tea.Cmd {
	if m.indexOf(id) < 0 {
		m.note = fmt.Sprintf("This lab has no step %q.", id)
		return nil
	}
	if m.op != nil {
		m.note = m.title(m.op.step) + " is running: wait for it, or q to stop it and quit."
		return nil
	}
	ctx, cancel := context.WithCancel(m.ctx)
	m.seq++
	o := &op{id: m.seq, kind: kind, step: id, cancel: cancel}
	m.op = o
	lab := m.lab
	call := func() tea.Msg {
		defer cancel()
		var st steps.Status
		var err error
		switch kind {
		case opCheck:
			st, err = lab.CheckStep(ctx, id)
		case opType:
			st, err = lab.Await(ctx, id, steps.DefaultAwaitEvery)
		default:
			st, err = lab.RunStep(ctx, id)
		}
		return opDoneMsg{id: o.id, status: st, err: err}
	}
	return tea.Batch(call, m.startSpinner())
}

// typeCurrent puts the current step in typing mode: the learner pastes the
// command in a second terminal, and the lab checks until it holds.
func (m *Model) typeCurrent() tea.Cmd {
	it := m.current()
	if it.reading {
		m.note = "Nothing to type on this page: n goes to the next step."
		return nil
	}
	if m.commands[it.id] == "" {
		m.note = "The lab does this step itself: it has no command to type. enter runs it."
		return nil
	}
	return m.start(opType, it.id)
}

// resume re-checks the steps saved as passed, through the last of them, and
// runs any whose check fails now.
func (m *Model) resume() tea.Cmd {
	ctx, cancel := context.WithCancel(m.ctx)
	m.seq++
	o := &op{id: m.seq, kind: opResume, step: m.resumeTo, cancel: cancel}
	m.op = o
	m.selectItem(m.indexOf(m.resumeTo))
	lab, to := m.lab, m.resumeTo
	call := func() tea.Msg {
		defer cancel()
		sum, err := lab.Run(ctx, steps.Range{Resume: true, To: to})
		return opDoneMsg{id: o.id, sum: sum, err: err}
	}
	return tea.Batch(call, m.startSpinner())
}

// runRest runs the steps from the current one (or the next, on a page of
// reading) to the end, until one fails: for a learner catching up. Steps
// saved as passed are checked again rather than performed.
func (m *Model) runRest() tea.Cmd {
	if m.op != nil {
		m.note = m.title(m.op.step) + " is running: wait for it, or q to stop it and quit."
		return nil
	}
	from := ""
	for _, it := range m.items[m.cursor:] {
		if !it.reading && !it.step.Optional {
			from = it.id
			break
		}
	}
	if from == "" {
		m.note = "No step left to run from here."
		return nil
	}
	ctx, cancel := context.WithCancel(m.ctx)
	m.seq++
	o := &op{id: m.seq, kind: opRest, step: from, cancel: cancel}
	m.op = o
	lab := m.lab
	call := func() tea.Msg {
		defer cancel()
		sum, err := lab.Run(ctx, steps.Range{From: from, Resume: true})
		return opDoneMsg{id: o.id, sum: sum, err: err}
	}
	return tea.Batch(call, m.startSpinner())
}

func (m *Model) startSpinner() tea.Cmd {
	if m.opts.Accessible || m.spinning {
		return nil
	}
	m.spinning = true
	return m.spin.Tick
}

func (m *Model) opDone(msg opDoneMsg) tea.Cmd {
	if m.op == nil || m.op.id != msg.id {
		return nil
	}
	o := m.op
	m.op = nil
	if msg.err != nil && !errors.Is(msg.err, context.Canceled) {
		m.note = msg.err.Error()
	}
	if o.kind == opResume && msg.err == nil {
		if msg.sum.OK() {
			m.note = fmt.Sprintf("Resumed: %d steps re-checked and passed.", msg.sum.Passed)
			if i := m.indexOf(o.step); i >= 0 && i+1 < len(m.items) {
				m.selectItem(i + 1)
			}
		}
	}
	if o.kind == opRest && msg.err == nil {
		switch s := msg.sum; {
		case s.Canceled:
			m.note = fmt.Sprintf("Stopped: %d steps passed before.", s.Passed)
		case s.OK():
			m.note = fmt.Sprintf("Caught up: %d steps passed.", s.Passed)
		default:
			m.note = fmt.Sprintf("%d steps passed, then %s failed; R carries on from there.", s.Passed, m.title(m.current().id))
		}
	}
	if m.quitting {
		return tea.Quit
	}
	return m.refresh()
}

// refresh fetches the commands and facts that a step may have changed (the
// global IP appears in later commands).
func (m *Model) refresh() tea.Cmd {
	lab := m.lab
	var ids []string
	for _, it := range m.items {
		if !it.reading {
			ids = append(ids, it.id)
		}
	}
	return func() tea.Msg {
		r := refreshMsg{commands: map[string]string{}, ip: lab.Outputs().GlobalIP}
		for _, id := range ids {
			r.commands[id] = lab.Command(id)
		}
		return r
	}
}

// event applies one runner event.
func (m *Model) event(e steps.Event) tea.Cmd {
	if !e.At.IsZero() {
		m.now = e.At
	}
	m.fo.step(e, m.stepOf(e.Step))
	switch e.Kind {
	case steps.EventSample:
		if e.Sample != nil {
			m.fo.add(*e.Sample)
		}
		return nil
	case steps.EventFinished, steps.EventFailover, steps.EventHealth, steps.EventBreak:
		return nil
	}
	if e.Step == "" {
		return nil
	}
	r := m.run(e.Step)
	r.fresh = true
	switch e.Kind {
	case steps.EventStarted:
		*r = stepRun{status: steps.StatusRunning, at: e.At, running: true, started: e.At, fresh: true, typing: e.By == steps.ByLearner}
		if e.Command != "" {
			m.commands[e.Step] = e.Command
		}
		if m.op != nil && (m.op.kind == opResume || m.op.kind == opRest) {
			m.selectItem(m.indexOf(e.Step))
		}
	case steps.EventProgress:
		r.elapsed = e.Elapsed
		if n := len(r.progress); n > 0 && r.progress[n-1] == e.Text {
			// A poll saying the same again: once is enough on screen.
			break
		}
		r.progress = append(r.progress, e.Text)
		if len(r.progress) > 50 {
			r.progress = slices.Clone(r.progress[len(r.progress)-50:])
		}
		r.elapsed = e.Elapsed
	case steps.EventDid:
		r.did, r.didErr, r.elapsed = e.Text, e.Err, e.Elapsed
		if e.Fix != "" {
			r.fix = e.Fix
		}
	case steps.EventChecked:
		r.verdict, r.elapsed = e.Text, e.Elapsed
		if e.Err != nil {
			// The reason alone: the fix has its own line.
			r.verdict = steps.Reason(e.Err)
		}
		if e.Fix != "" {
			r.fix = e.Fix
		}
	case steps.EventWaiting:
		r.next, r.elapsed = e.Next, e.Elapsed
	case steps.EventSkipped:
		r.status, r.skipped, r.running, r.at = steps.StatusSkipped, e.Text, false, e.At
	case steps.EventKept:
		*r = stepRun{status: e.Status, by: e.By, at: e.At, verdict: e.Text, fresh: true, kept: true}
	case steps.EventDone:
		r.status, r.running, r.elapsed, r.err, r.at, r.by = e.Status, false, e.Elapsed, e.Err, e.At, e.By
		if r.status != steps.StatusCanceled {
			r.typing = false
		}
		if e.Fix != "" {
			r.fix = e.Fix
		}
	}
	return nil
}

// copy puts the current step's command on the clipboard with OSC 52, which
// reaches the learner's own clipboard through Cloud Shell and ssh.
func (m *Model) copy() tea.Cmd {
	c := m.commands[m.current().id]
	if c == "" {
		m.note = "This page has no command to copy."
		return nil
	}
	m.copied = c
	n := strings.Count(c, "\n") + 1
	m.note = fmt.Sprintf("Copied the command (%d line%s) to the clipboard.", n, plural(n))
	return tea.SetClipboard(c)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (m *Model) toggleWatch() tea.Cmd {
	m.showFailover = true
	if m.watch != nil {
		m.watch.cancel()
		m.note = "Stopping the prober…"
		return nil
	}
	m.fo.note(m.now, "watching the global IP")
	return m.startWatch()
}

// startWatch calls Watch, which probes until its context ends.
func (m *Model) startWatch() tea.Cmd {
	ctx, cancel := context.WithCancel(m.ctx)
	m.seq++
	w := &op{id: m.seq, kind: opWatch, cancel: cancel}
	m.watch = w
	lab := m.lab
	return func() tea.Msg {
		defer cancel()
		return watchDoneMsg{id: w.id, err: lab.Watch(ctx)}
	}
}

func (m *Model) moveClient() tea.Cmd {
	if !m.simulated {
		m.note = "On Google the client is where you are: the simulator alone can move it."
		return nil
	}
	to := (m.client + 1) % len(clientLocations)
	lab := m.lab
	return func() tea.Msg {
		return movedMsg{to, lab.SetClientLocation(clientLocations[to])}
	}
}
