package tui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/beyond-lab/beyond/steps"
	"github.com/charmbracelet/x/ansi"
)

// layout is where everything goes on a screen of the current size.
type layout struct {
	wide         bool // the step list beside the rest, rather than one column
	list         bool // the step list is visible
	listW, mainW int
	body         int // lines between the header and the footer
	// Heights in the main column.
	top, prose, panel, box, run, note int
}

// plain reports whether to draw for a screen reader: one column, words, no
// frames, no animation.
func (m *Model) plain() bool { return m.opts.Accessible }

func (m *Model) layout() layout {
	var l layout
	w, h := max(m.width, 1), max(m.height, 1)
	l.wide = !m.plain() && w >= 70
	l.list = l.wide != m.flipList
	l.mainW = w
	if l.wide && l.list {
		l.listW = min(34, max(24, w*35/100))
		l.mainW = w - l.listW - 3
	}
	l.body = max(0, h-2)
	l.top = 1 // the step's title
	if !l.wide {
		l.top = 2 // and where it stands in the lab
	}
	if m.showHelp || (!l.wide && l.list) {
		l.prose = max(0, l.body-l.top)
		return l
	}
	l.run = m.runPane.Height(m.runShown(), l.mainW)
	if m.note != "" {
		l.note = min(2, len(wrap(m.note, l.mainW)))
	}
	m.cmd.SetCommand(m.commands[m.current().id])
	l.box = m.cmd.Height(l.mainW)
	if m.showFailover {
		l.panel = m.fo.Height()
	}
	reduce := func(h *int, floor, over int) int {
		cut := min(over, max(0, *h-floor))
		*h -= cut
		return over - cut
	}
	avail := max(0, l.body-l.top)
	// First keep some prose (two fifths of the room, or three lines beside
	// the failover panel), then give it up too. While the learner types
	// the step, the command is what they read: it comes first.
	keep := max(3, avail*2/5)
	if m.showFailover {
		keep = 3
	}
	typing := m.typing(m.current().id)
	if typing {
		keep = 1
	}
	if over := l.box + l.run + l.panel + l.note - (avail - keep); over > 0 {
		if typing && !m.showFailover {
			over = reduce(&l.run, 4, over)
			reduce(&l.box, 4, over)
		} else if m.showFailover {
			// The live panel is the point of the verify steps: the command
			// and the verdict give up room first.
			over = reduce(&l.box, 3, over)
			over = reduce(&l.run, 3, over)
			reduce(&l.panel, 6, over)
		} else {
			over = reduce(&l.box, 4, over)
			reduce(&l.run, 3, over)
		}
	}
	if over := l.box + l.run + l.panel + l.note - avail; over > 0 {
		over = reduce(&l.panel, 0, over)
		over = reduce(&l.note, 0, over)
		over = reduce(&l.box, 0, over)
		reduce(&l.run, 0, over)
	}
	if minBox := 3 - b2i(m.plain()); l.box < minBox {
		l.box = 0 // no room for even one line of it
	}
	l.prose = avail - l.box - l.run - l.panel - l.note
	return l
}

// sync fits the prose viewport to the layout, after every Update.
func (m *Model) sync() {
	l := m.layout()
	m.help.SetWidth(m.width)
	id := m.current().id
	if m.screen != screenStart {
		// The start screen shows no prose: the guide draws its first
		// frame without rendering any Markdown.
		m.prose.Show(id, m.stepMarkdown(id), l.mainW, l.prose)
	}

	m.cmd.SetCommand(m.commands[id])
	m.cmd.SetSize(m.width, l.body-1)
	m.fo.SetSize(l.mainW, l.panel)
	m.fo.SetLive(m.live())
	m.runPane.SetSize(l.mainW, l.run)
	m.runPane.Follow(m.runShown())
}

// runShown is the current step as the run panel speaks of it.
func (m *Model) runShown() runShown {
	it := m.current()
	s := runShown{it: it, now: m.now}
	if !it.reading {
		s.r = m.runs[it.id]
	}
	if m.spinning {
		s.spin = strings.TrimSpace(ansi.Strip(m.spin.View()))
	}
	return s
}

// typing reports whether the learner is typing step id while the lab waits.
func (m *Model) typing(id string) bool {
	r := m.runs[id]
	return r != nil && r.running && r.typing
}

// View draws the screen.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = !m.plain()
	v.WindowTitle = "beyond · " + m.target
	if m.screen == screenLab {
		v.WindowTitle = "beyond · " + m.current().title
	}
	if m.opts.Mouse {
		v.MouseMode = tea.MouseModeCellMotion
	}
	if f := m.opts.FirstFrame; f != nil {
		m.opts.FirstFrame = nil
		f()
	}
	return v
}

// Render returns the screen as text, each line at most the screen's width.
func (m *Model) Render() string {
	var lines []string
	switch {
	case m.screen == screenStart && m.showHelp:
		lines = append([]string{m.header()}, m.helpLines(m.width)...)
	case m.screen == screenStart:
		lines = m.startLines()
	default:
		lines = m.labLines()
	}
	w, h := max(m.width, 1), max(m.height, 1)
	lines = clip(lines, h)
	for i, l := range lines {
		lines[i] = fit(l, w)
	}
	return strings.Join(lines, "\n")
}

func (m *Model) header() string {
	w := max(m.width, 1)
	target := m.target + " — nothing billable"
	if !m.simulated {
		target = m.target + " — billable"
	}
	passed, total := 0, 0
	for _, it := range m.items {
		if it.reading {
			continue
		}
		total++
		if m.status(it.id) == steps.StatusPassed {
			passed++
		}
	}
	left := " beyond · " + target
	right := fmt.Sprintf("%d/%d passed ", passed, total)
	line := spread(left, right, w)
	if !m.simulated && !m.st.colorless {
		// Say "billable" in red: the one thing on screen that costs money.
		return m.st.Billable.Render(pad(line, w))
	}
	return m.st.Header.Render(pad(line, w))
}

// startLines draws the banner and, with saved progress, the offer to resume.
func (m *Model) startLines() []string {
	w := max(m.width, 1)
	tw := max(10, min(w-4, 72))
	out := []string{m.header(), ""}
	para := func(s string) {
		for _, l := range wrap(s, tw) {
			out = append(out, "  "+l)
		}
		out = append(out, "")
	}
	out = append(out, "  "+m.st.Title.Render("Beyond the Region"), "")
	if m.simulated {
		para("Target: " + m.target + ". The lab runs against a simulator built into beyond: Cloud Run, Compute Engine, Artifact Registry, Cloud DNS, Certificate Manager and Gemini answer on this machine. Nothing here is billable.")
	} else {
		para("Target: " + m.target + ". The steps create real resources in that project, and they are billable until the cleanup step deletes them.")
	}
	var keys string
	if m.resumeTo != "" {
		total := 0
		for _, it := range m.items {
			if !it.reading {
				total++
			}
		}
		para(fmt.Sprintf("Saved progress: %d of %d steps passed, the last %q.", m.resumePassed, total, m.title(m.resumeTo)))
		para("Resume? The lab checks those steps against the cloud again, runs any that no longer hold, and carries on from there.")
		keys = "y resume · n start at the first step · q quit"
	} else {
		para("Each step explains itself, shows its gcloud command, performs it and checks the result. Press ? at any time for the keys.")
		keys = "enter begin · q quit"
	}
	if m.plain() {
		keys = strings.ReplaceAll(keys, " · ", ", ")
	}
	body := clip(out, max(0, m.height-1))
	for len(body) < m.height-1 {
		body = append(body, "")
	}
	return append(body, m.st.Dialog.Render(keys))
}

// labLines draws the lab: header, list and main column, footer.
func (m *Model) labLines() []string {
	l := m.layout()
	var mainCol []string
	switch {
	case m.cmd.IsOpen():
		return append(append([]string{m.header()}, m.cmd.View(m.current().title, m.width, l.body)...), m.footer())
	case m.showHelp:
		// The keys take the whole screen, so that each fits on one line.
		body := clip(m.helpLines(m.width), l.body)
		for len(body) < l.body {
			body = append(body, "")
		}
		return append(append([]string{m.header()}, body...), m.footer())
	case !l.wide && l.list:
		mainCol = append(m.topLines(l), m.listLines(l.mainW, l.prose)...)
	default:
		mainCol = m.topLines(l)
		mainCol = append(mainCol, m.viewProse(l)...)
		if l.panel > 0 {
			mainCol = append(mainCol, m.fo.View()...)
		}
		if l.box > 0 {
			mainCol = append(mainCol, m.cmd.Box(l.mainW, l.box)...)
		}
		mainCol = append(mainCol, m.runPane.View(m.runShown())...)
		if l.note > 0 {
			for _, s := range clip(wrap(m.note, l.mainW), l.note) {
				mainCol = append(mainCol, m.st.Note.Render(s))
			}
		}
	}
	mainCol = clip(mainCol, l.body)
	for len(mainCol) < l.body {
		mainCol = append(mainCol, "")
	}
	body := mainCol
	if l.wide && l.list {
		rule := " " + m.st.Box.Render("│") + " "
		body = sideBySide(m.listLines(l.listW, l.body), mainCol, l.listW, l.mainW, rule)
	}
	out := append([]string{m.header()}, body...)
	return append(out, m.footer())
}

func (m *Model) viewProse(l layout) []string {
	if l.prose <= 0 {
		return nil
	}
	return m.prose.Lines()
}

// topLines are the step's title with its state, and in one column where it
// stands in the lab.
func (m *Model) topLines(l layout) []string {
	it := m.current()
	var out []string
	if !l.wide {
		n, total := 0, 0
		for i, x := range m.items {
			if x.reading {
				continue
			}
			total++
			if i <= m.cursor {
				n = total
			}
		}
		pos := fmt.Sprintf("Step %d of %d", n, total)
		if it.reading {
			pos = "Reading"
		}
		if p := partTitle(it.part); p != "" {
			pos += " · " + p
		}
		out = append(out, fit(pos, l.mainW))
	}
	title := m.st.Title.Render(it.title)
	if it.reading {
		return append(out, fit(title, l.mainW))
	}
	g, word := glyph(m.status(it.id))
	state := m.styleFor(m.status(it.id)).Render(g + " " + word)
	if it.short != "" && ansi.StringWidth(title)+1+ansi.StringWidth(state) > l.mainW {
		title = m.st.Title.Render(it.short) // beside its state, which must show
	}
	return append(out, spread(title, state, l.mainW))
}

func partTitle(id string) string {
	for _, p := range steps.Parts {
		if p.ID == id {
			return p.Title
		}
	}
	return ""
}

// typedByLearner reports whether a step passed, done by the learner.
func (m *Model) typedByLearner(id string) bool {
	r := m.runs[id]
	return r != nil && r.status == steps.StatusPassed && r.by == steps.ByLearner
}

// glyph returns a state's mark and its word.
func glyph(s steps.Status) (string, string) {
	switch s {
	case steps.StatusRunning:
		return "●", "running"
	case steps.StatusPassed:
		return "✓", "passed"
	case steps.StatusFailed:
		return "✗", "failed"
	case steps.StatusSkipped:
		return "–", "skipped"
	case steps.StatusCanceled:
		return "⊘", "canceled"
	}
	return "○", "todo"
}

func (m *Model) styleFor(s steps.Status) interface{ Render(...string) string } {
	return statusStyle(m.st, s)
}

// statusStyle is the style a step's state is drawn in.
func statusStyle(st Styles, s steps.Status) interface{ Render(...string) string } {
	switch s {
	case steps.StatusRunning:
		return st.Running
	case steps.StatusPassed:
		return st.Passed
	case steps.StatusFailed, steps.StatusCanceled:
		return st.Failed
	}
	return st.Todo
}

// listLines draws the step list, w wide and h lines tall.
func (m *Model) listLines(w, h int) []string {
	rows := make([]listRow, len(m.items))
	for i, it := range m.items {
		r := listRow{part: partTitle(it.part), title: it.title, short: it.short, reading: it.reading}
		if !it.reading {
			r.status, r.typed = m.status(it.id), m.typedByLearner(it.id)
		}
		if r.status == steps.StatusRunning && m.spinning {
			r.spin = strings.TrimSpace(ansi.Strip(m.spin.View()))
		}
		rows[i] = r
	}
	m.list.SetSize(w, h)
	return m.list.View(rows, m.cursor)
}

// reason is what went wrong, without the fix when the error carries it too
// (the fix gets its own line).
func reason(err error, fix string) string {
	var ce *steps.CheckError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	why := errText(err)
	if fix != "" {
		if r, ok := strings.CutSuffix(why, fix); ok && strings.TrimSpace(r) != "" {
			why = strings.TrimRight(r, ":;,. ")
		}
	}
	return why
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func seconds(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// live is what the failover panel shows of the model's own state.
func (m *Model) live() liveState {
	return liveState{
		watching:  m.watch != nil,
		canWatch:  m.ip != "" || m.watch != nil,
		ip:        m.ip,
		client:    clientLocations[m.client],
		simulated: m.simulated,
	}
}

// helpLines are the ? page: every key and what it does.
func (m *Model) helpLines(w int) []string { return keyPage(m.keys.FullHelp(), w, m.plain()) }

// keyPage is a ? page: every key of keys and what it does, a line each
// where the width allows; plain (for screen readers) names keys in words.
func keyPage(keys []keyHelp, w int, plain bool) []string {
	out := []string{"Keys (any key closes this page):"}
	var names []string
	col := 0
	for _, kh := range keys {
		n := keyNames(kh.b)
		if plain {
			n = strings.Join(kh.b.Keys(), " or ")
		}
		names = append(names, n)
		col = max(col, ansi.StringWidth(n))
	}
	col = min(col, max(8, w*2/5))
	for i, kh := range keys {
		out = append(out, wrapIndent(kh.desc, w, pad(names[i], col)+"  ", strings.Repeat(" ", col+2))...)
	}
	return out
}

// footer is the help bar, or the question being asked.
func (m *Model) footer() string {
	if m.confirmQuit && m.op != nil {
		q := fmt.Sprintf("Quit? y stops %s and quits · n stays", m.title(m.op.step))
		return m.st.Dialog.Render(q)
	}
	if m.quitting {
		return m.st.Dialog.Render("Stopping the running step, then quitting…")
	}
	var b []key.Binding
	if m.cmd.IsOpen() {
		return m.help.ShortHelpView(m.cmd.ShortHelp())
	}
	if m.showFailover {
		b = append(append(append(m.fo.ShortHelp(), m.keys.Help, m.keys.Quit), m.fo.ScrollHelp()...), m.runPane.ScrollHelp()...)
	} else {
		typing := m.typing(m.current().id)
		b = m.runPane.ShortHelp(typing)
		if typing {
			b = append(b, m.keys.View, m.keys.BoxDown, m.keys.BoxUp, m.keys.Copy, m.keys.Help, m.keys.Quit)
		} else {
			b = append(append([]key.Binding{m.keys.Next}, b...), m.keys.Copy, m.keys.View, m.keys.PageDown, m.keys.Help, m.keys.Quit)
		}
		b = append(b, m.runPane.ScrollHelp()...) // last: a narrow footer cuts these, not quit
	}
	return m.help.ShortHelpView(b)
}
