package tui

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/beyond-lab/beyond/steps"
	"github.com/charmbracelet/x/ansi"
)

// BoardOptions configure the class board.
type BoardOptions struct {
	Projects []string      // one row each, in this order
	Steps    []*steps.Step // one column each: steps.BoardSteps()
	Target   string        // "Google Cloud" or "SIMULATOR (...)"
	// Refresh is how often the board sweeps again by itself.
	Refresh time.Duration
	// Sweep sweeps every project once, handing each report to done as it
	// comes. The board calls it in a command, never in Update, and never
	// twice at once.
	Sweep      func(ctx context.Context, done func(i int, r steps.Report))
	Accessible bool
	NoColor    bool
	// Input, Output, Width and Height replace the terminal (tests).
	Input         io.Reader
	Output        io.Writer
	Width, Height int
}

// boardKeys are the board's keys, for Update, the help bar and the ?
// page alike.
type boardKeys struct {
	Down, Up, PageDown, PageUp key.Binding
	Refresh, Sort, Help, Quit  key.Binding
}

func defaultBoardKeys() boardKeys {
	return boardKeys{
		Down:     key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("↓", "next")),
		Up:       key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("↑", "prev")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "space", "ctrl+d"), key.WithHelp("pgdn", "page")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		Refresh:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
		Sort:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "keys")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

func (k boardKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Down, k.Up, k.PageDown, k.Refresh, k.Sort, k.Help, k.Quit}
}

func (k boardKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// page lists every key with what it does, for the ? page: the table's,
// then the board's own.
func (k boardKeys) page() []keyHelp {
	return append(k.table().page(),
		keyHelp{k.Refresh, "check every project again now (the board also does every refresh interval)"},
		keyHelp{k.Help, "show or hide this page (any key closes it)"},
		keyHelp{k.Quit, "quit; nothing in the projects changes"},
	)
}

// tableKeys are the keys of the board's table, taken from boardKeys.
type tableKeys struct {
	Down, Up, PageDown, PageUp, Sort key.Binding
}

func (k boardKeys) table() tableKeys {
	return tableKeys{Down: k.Down, Up: k.Up, PageDown: k.PageDown, PageUp: k.PageUp, Sort: k.Sort}
}

func (k tableKeys) page() []keyHelp {
	return []keyHelp{
		{k.Down, "next project"},
		{k.Up, "previous project"},
		{k.PageDown, "a page of projects down"},
		{k.PageUp, "a page of projects up"},
		{k.Sort, "sort by progress, least first, or back to the file's order"},
	}
}

// Messages of the board.
type (
	reportMsg struct {
		i   int
		rep steps.Report
	}
	sweptMsg struct{ seq int }
	tickMsg  struct{ seq int }
)

// Board is the class board: one row per project, one column per step. It
// lays out its components, the table of projects (boardTable) and the
// selected project's detail (boardDetail), between a header and the help
// bar, and sweeps the projects.
type Board struct {
	boardTable
	opts   BoardOptions
	ctx    context.Context
	send   func(tea.Msg) // set by RunBoard once the program exists
	keys   boardKeys
	help   help.Model
	styles Styles

	sweeping bool
	seq      int // sweeps started, so that a stale tick is ignored
	lastDone time.Time
	width    int
	height   int
	showHelp bool        // the ? page
	det      boardDetail // the selected project's detail
}

// boardTable is the board's table, a component: one row per project with
// a mark per step, the cursor, scrolling and the sort. Its keys move the
// cursor and sort; the board sets its size (the rows it shows) and hands
// it each report as it comes.
type boardTable struct {
	keys     tableKeys
	st       Styles
	plain    bool
	projects []string
	steps    []*steps.Step

	reports []*steps.Report // by project index; nil until swept
	order   []int           // project indexes in display order
	byStuck bool            // sorted by progress, least first
	cursor  int             // position in order
	top     int             // first row shown
	w, rows int
}

func newBoardTable(keys tableKeys, st Styles, plain bool, projects []string, list []*steps.Step) boardTable {
	t := boardTable{keys: keys, st: st, plain: plain, projects: projects, steps: list,
		reports: make([]*steps.Report, len(projects)), w: 80, rows: 1}
	for i := range projects {
		t.order = append(t.order, i)
	}
	return t
}

// SetSize sets the table's width and how many rows of projects it shows.
func (b *boardTable) SetSize(w, rows int) {
	b.w, b.rows = w, max(1, rows)
	b.scroll()
}

// SetReport puts project i's report in its row.
func (b *boardTable) SetReport(i int, r steps.Report) {
	if i >= 0 && i < len(b.reports) {
		b.reports[i] = &r
		b.resort()
		b.scroll()
	}
}

// Update moves the cursor or sorts; it reports whether k was the table's.
func (b *boardTable) Update(k tea.KeyPressMsg) bool {
	switch {
	case key.Matches(k, b.keys.Down):
		b.cursor = min(b.cursor+1, len(b.order)-1)
	case key.Matches(k, b.keys.Up):
		b.cursor = max(b.cursor-1, 0)
	case key.Matches(k, b.keys.PageDown):
		b.cursor = min(b.cursor+b.rows, len(b.order)-1)
	case key.Matches(k, b.keys.PageUp):
		b.cursor = max(b.cursor-b.rows, 0)
	case key.Matches(k, b.keys.Sort):
		b.byStuck = !b.byStuck
		b.resort()
	default:
		return false
	}
	b.scroll()
	return true
}

// View draws the ruler (but for a screen reader) and the rows shown,
// padded to the table's height.
func (b *boardTable) View() []string {
	var lines []string
	if !b.plain {
		lines = append(lines, b.ruler())
	}
	for i := b.top; i < min(len(b.order), b.top+b.rows); i++ {
		lines = append(lines, b.row(i))
	}
	for len(lines) < b.rows+1-boolInt(b.plain) {
		lines = append(lines, "")
	}
	return lines
}

// NewBoard returns the board's model.
func NewBoard(ctx context.Context, opts BoardOptions) *Board {
	if opts.Refresh <= 0 {
		opts.Refresh = 30 * time.Second
	}
	b := &Board{opts: opts, ctx: ctx, keys: defaultBoardKeys(), help: help.New(), styles: NewStyles(opts.NoColor)}
	b.boardTable = newBoardTable(b.keys.table(), b.styles, opts.Accessible, opts.Projects, opts.Steps)
	b.det = boardDetail{st: b.styles, steps: opts.Steps}
	b.help.Styles = b.styles.Help
	b.SetSize(80, 24)
	return b
}

// SetSize sets the board's size, and so the table's.
func (b *Board) SetSize(w, h int) {
	b.width, b.height = w, h
	b.help.SetWidth(w)
	b.boardTable.SetSize(w, b.rowsShown())
	b.det.SetSize(w)
}

// RunBoard shows the board until the instructor quits.
func RunBoard(ctx context.Context, opts BoardOptions) error {
	if opts.Input == nil && opts.Output == nil && !IsTerminal(os.Stdin, os.Stdout) {
		return ErrNotTerminal
	}
	if os.Getenv("NO_COLOR") != "" {
		opts.NoColor = true
	}
	if opts.Output == nil {
		opts.Output = os.Stdout
	}
	b := NewBoard(ctx, opts)
	popts := programOptions(ctx, opts.Input, opts.Output, opts.NoColor, opts.Width, opts.Height)
	p := tea.NewProgram(b, popts...)
	var prog atomic.Pointer[tea.Program]
	prog.Store(p)
	b.send = func(m tea.Msg) { prog.Load().Send(m) }
	if _, err := p.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("terminal user interface: %w", err)
	}
	return nil
}

// Init starts the first sweep.
func (b *Board) Init() tea.Cmd { return b.startSweep() }

// startSweep sweeps every project in a command; reports arrive one by one.
func (b *Board) startSweep() tea.Cmd {
	if b.sweeping || b.opts.Sweep == nil {
		return nil
	}
	b.sweeping = true
	b.seq++
	seq, send, sweep, ctx := b.seq, b.send, b.opts.Sweep, b.ctx
	return func() tea.Msg {
		sweep(ctx, func(i int, r steps.Report) {
			if send != nil {
				send(reportMsg{i, r})
			}
		})
		return sweptMsg{seq}
	}
}

func (b *Board) tick(seq int) tea.Cmd {
	return tea.Tick(b.opts.Refresh, func(time.Time) tea.Msg { return tickMsg{seq} })
}

// Update handles one message.
func (b *Board) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		b.SetSize(msg.Width, msg.Height)
	case reportMsg:
		b.SetReport(msg.i, msg.rep)
	case sweptMsg:
		b.sweeping = false
		b.lastDone = time.Now()
		return b, b.tick(msg.seq)
	case tickMsg:
		if msg.seq == b.seq {
			return b, b.startSweep()
		}
	case tea.KeyPressMsg:
		return b, b.key(msg)
	}
	return b, nil
}

func (b *Board) key(k tea.KeyPressMsg) tea.Cmd {
	if b.showHelp {
		// Any key closes the ? page, as in the guide; only ctrl+c acts.
		b.showHelp = false
		if k.String() == "ctrl+c" {
			return tea.Quit
		}
		return nil
	}
	switch {
	case key.Matches(k, b.keys.Quit):
		return tea.Quit
	case key.Matches(k, b.keys.Help):
		b.showHelp = true
	case key.Matches(k, b.keys.Refresh):
		return b.startSweep()
	default:
		b.boardTable.Update(k)
	}
	return nil
}

// resort orders the rows, keeping the selected project selected.
func (b *boardTable) resort() {
	selected := -1
	if b.cursor < len(b.order) {
		selected = b.order[b.cursor]
	}
	slices.Sort(b.order)
	if b.byStuck {
		slices.SortStableFunc(b.order, func(x, y int) int { return cmp.Compare(b.passed(x), b.passed(y)) })
	}
	if i := slices.Index(b.order, selected); i >= 0 {
		b.cursor = i
	}
}

func (b *boardTable) passed(i int) int {
	if r := b.reports[i]; r != nil {
		return r.Passed
	}
	return -1
}

// Selected is the project the cursor is on.
func (b *boardTable) Selected() string {
	if len(b.order) == 0 {
		return ""
	}
	return b.projects[b.order[b.cursor]]
}

// Layout: a header line, a ruler of parts, the rows, the selected
// project's detail, the help bar.
const boardDetailLines = 6

func (b *Board) rowsShown() int {
	if b.opts.Accessible {
		return max(1, b.height-boardDetailLines-3)
	}
	return max(1, b.height-boardDetailLines-4)
}

func (b *boardTable) scroll() {
	n := b.rows
	if b.cursor < b.top {
		b.top = b.cursor
	}
	if b.cursor >= b.top+n {
		b.top = b.cursor - n + 1
	}
	b.top = max(0, min(b.top, len(b.order)-n))
}

// View draws the board.
func (b *Board) View() tea.View {
	v := tea.NewView(b.Render())
	v.AltScreen = !b.opts.Accessible
	v.WindowTitle = "beyond class · " + b.opts.Target
	return v
}

// Render returns the board as text, each line at most the screen's width
// and at most the screen's height of lines.
func (b *Board) Render() string {
	lines := []string{b.header()}
	if b.showHelp {
		page := clip(keyPage(b.keys.page(), max(b.width, 1), b.opts.Accessible), max(0, b.height-2))
		for len(page) < b.height-2 {
			page = append(page, "")
		}
		lines = append(lines, page...)
	} else {
		lines = append(lines, b.boardTable.View()...)
		lines = append(lines, b.detail()...)
	}
	lines = append(lines, b.help.View(b.keys))
	w, h := max(b.width, 1), max(b.height, 1)
	lines = clip(lines, h)
	for i, l := range lines {
		lines[i] = fit(l, w)
	}
	return strings.Join(lines, "\n")
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

func (b *Board) header() string {
	done, holds := 0, 0
	for _, r := range b.reports {
		if r != nil {
			done++
			if r.Holds() {
				holds++
			}
		}
	}
	left := " beyond class · " + b.opts.Target
	right := fmt.Sprintf("%d/%d done", holds, len(b.reports))
	switch {
	case b.sweeping:
		right += fmt.Sprintf(" · checking %d/%d", done, len(b.reports))
	case !b.lastDone.IsZero():
		right += " · " + b.lastDone.Format("15:04:05") + " · every " + b.opts.Refresh.String()
	}
	if b.byStuck {
		right += " · by progress"
	}
	w := max(b.width, 1)
	right += " "
	left = pad(left, max(0, w-ansi.StringWidth(right)))
	return b.styles.Header.Render(fit(left+right, w))
}

// nameWidth is the width of the project column.
func (b *boardTable) nameWidth() int {
	return min(b.longestName(), max(8, b.w-len(b.steps)*b.cellWidth()-10))
}

func (b *boardTable) longestName() int {
	w := 8
	for _, p := range b.projects {
		w = max(w, len(p))
	}
	return w
}

// cellWidth is the columns one step takes: its mark and a space, or the
// mark alone when names would not fit beside that many steps.
func (b *boardTable) cellWidth() int {
	if b.w-len(b.steps)*2-10 >= b.longestName() {
		return 2
	}
	return 1
}

// cellSep follows each step's mark.
func (b *boardTable) cellSep() string { return strings.Repeat(" ", b.cellWidth()-1) }

// ruler numbers each step column with its part, so that a column can be
// found: 1 the code, 2 Cloud Run, 3 global, 4 verify.
func (b *boardTable) ruler() string {
	var parts strings.Builder
	for _, s := range b.steps {
		n := slices.IndexFunc(steps.Parts, func(p steps.Part) bool { return p.ID == s.Part }) + 1
		fmt.Fprintf(&parts, "%d%s", n, b.cellSep())
	}
	return b.st.Dim.Render(fmt.Sprintf("  %-*s %5s %s", b.nameWidth(), "project", "steps", parts.String()))
}

func (b *boardTable) mark(s steps.CheckState) string { return checkMark(b.st, s) }

// checkMark is a step's mark on the board.
func checkMark(st Styles, s steps.CheckState) string {
	switch s {
	case steps.CheckPassed:
		return st.Passed.Render("✓")
	case steps.CheckFailed:
		return st.Failed.Render("✗")
	case steps.CheckPending:
		return st.Todo.Render("·")
	}
	return st.Running.Render("?")
}

func (b *boardTable) row(pos int) string {
	i := b.order[pos]
	name := b.projects[i]
	r := b.reports[i]
	cursor := "  "
	if pos == b.cursor {
		cursor = "› "
	}
	if b.plain {
		if r == nil {
			return cursor + name + ": not checked yet"
		}
		line := fmt.Sprintf("%s%s: %d of %d steps hold", cursor, name, r.Passed, len(r.Steps))
		if s := r.Stuck(); s != nil {
			line += fmt.Sprintf("; at %s, %s", s.ID, s.State)
		}
		return line
	}
	var cells strings.Builder
	if r == nil {
		cells.WriteString(strings.Repeat(" ", len(b.steps)*b.cellWidth()))
	} else {
		for _, c := range r.Steps {
			cells.WriteString(b.mark(c.State) + b.cellSep())
		}
	}
	progress := "  …"
	if r != nil {
		progress = fmt.Sprintf("%2d/%d", r.Passed, len(r.Steps))
	}
	line := fmt.Sprintf("%s%s %5s %s", cursor, pad(name, b.nameWidth()), progress, cells.String())
	if pos == b.cursor {
		return b.st.Title.Render(cursor) + strings.TrimPrefix(line, cursor)
	}
	return line
}

// healthLine says, per region with a service, whether Cloud Run service
// health can work there (a readiness probe and a minimum instance).
func healthLine(r *steps.Report) []string {
	if len(r.Health) == 0 {
		return nil
	}
	var parts []string
	for _, h := range r.Health {
		switch {
		case h.OK:
			parts = append(parts, h.Region+" ok")
		case h.Readiness == "":
			parts = append(parts, h.Region+" no readiness probe")
		default:
			parts = append(parts, h.Region+" no minimum instance")
		}
	}
	return []string{"  service health: " + strings.Join(parts, " · ")}
}

// detail is the selected project's detail, drawn by its component.
func (b *Board) detail() []string {
	if len(b.order) == 0 {
		return b.det.View("", nil)
	}
	i := b.order[b.cursor]
	return b.det.View(b.projects[i], b.reports[i])
}

// boardDetail is the selected project's detail, a component below the
// table: its first step that does not hold, why, and its fix; or that it
// is done; and where Cloud Run service health can work. It has no keys;
// the board sets its width and hands it the project.
type boardDetail struct {
	st    Styles
	steps []*steps.Step
	w     int
}

// SetSize sets the detail's width; its height is boardDetailLines.
func (d *boardDetail) SetSize(w int) { d.w = w }

// View draws project name's report r (nil until it is swept), or only the
// rule above it when there is no project.
func (d *boardDetail) View(name string, r *steps.Report) []string {
	w := max(d.w-2, 10)
	out := []string{d.st.Dim.Render(strings.Repeat("─", max(d.w, 1)))}
	switch {
	case name == "":
		return out
	case r == nil:
		out = append(out, name+": not checked yet")
	case r.Stuck() == nil:
		out = append(out, d.st.Passed.Render(fmt.Sprintf("%s: every step holds (%d/%d)", name, r.Passed, len(r.Steps))))
		out = append(out, healthLine(r)...)
	default:
		s := r.Stuck()
		title := s.ID
		if j := slices.IndexFunc(d.steps, func(st *steps.Step) bool { return st.ID == s.ID }); j >= 0 {
			title = d.steps[j].Title + " (" + s.ID + ")"
		}
		failed := 0
		for _, c := range r.Steps {
			if c.State == steps.CheckFailed {
				failed++
			}
		}
		head := fmt.Sprintf("%s: at %s · %s %s", name, title, checkMark(d.st, s.State), s.State)
		if failed > 1 || (failed == 1 && s.State != steps.CheckFailed) {
			head += fmt.Sprintf(" · %d failed", failed)
		}
		out = append(out, head)
		out = append(out, healthLine(r)...)
		for _, l := range wrap(s.Reason, w) {
			out = append(out, "  "+l)
		}
		if s.Fix != "" {
			for _, l := range wrap("fix: "+s.Fix, w) {
				out = append(out, "  "+d.st.Fix.Render(l))
			}
		}
	}
	for len(out) < boardDetailLines {
		out = append(out, "")
	}
	return out[:boardDetailLines]
}
