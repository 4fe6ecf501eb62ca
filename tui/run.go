package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/beyond-lab/beyond/steps"
)

// runPanel is what the last run of the current step said, a component
// below the command box: progress while the step runs, then the check's
// verdict and, when it failed, the fix; in typing mode, when the lab checks
// again and where to type. Its keys start a run (enter, R, c, t), which the
// parent makes, since the runner is the parent's to call, and scroll what
// it says when that is longer than its room (> and <); the parent sets its
// size and hands it the step to speak of (Follow).
type runPanel struct {
	keys      runKeys
	st        Styles
	plain     bool
	simulated bool
	w, h      int
	// top is the first line shown, when the lines do not all fit; n how
	// many there are, for the step followed (run, status).
	top, n int
	run    *stepRun
	status steps.Status
}

// runKeys are the run panel's keys, taken from the one KeyMap.
type runKeys struct {
	Run, RunRest, Check, Type, Stop key.Binding
	More, Back                      key.Binding
}

func (k KeyMap) runKeys() runKeys {
	return runKeys{Run: k.Run, RunRest: k.RunRest, Check: k.Check, Type: k.Type, Stop: k.Stop, More: k.RunMore, Back: k.RunBack}
}

// FullHelp lists the panel's keys for the ? page.
func (k runKeys) FullHelp() []keyHelp {
	return []keyHelp{
		{k.Run, "run the step: perform it, then check it"},
		{k.RunRest, "run this step and the rest, until one fails"},
		{k.Check, "check the step again, without performing it"},
		{k.Type, "type the step yourself; the lab checks until it holds (t stops)"},
		{key.NewBinding(key.WithKeys(append(k.More.Keys(), k.Back.Keys()...)...)), "scroll what the step said (verdict, fix, what it did) down, up"},
	}
}

func newRunPanel(keys KeyMap, st Styles, plain, simulated bool) runPanel {
	return runPanel{keys: keys.runKeys(), st: st, plain: plain, simulated: simulated}
}

// SetSize sets the panel's width and the lines it may take.
func (p *runPanel) SetSize(w, h int) { p.w, p.h = w, h }

// runShown is the step the panel speaks of, as the parent knows it.
type runShown struct {
	it   item
	r    *stepRun // nil if it never ran
	spin string   // the spinner's frame while it runs, "" without one
	now  time.Time
}

// Height is how many lines the panel wants for s at width w.
func (p *runPanel) Height(s runShown, w int) int { return len(p.lines(s, w)) }

// Follow tells the panel the step it speaks of, after every change of
// size or run: another run, or another outcome, is read from its start.
func (p *runPanel) Follow(s runShown) {
	status := steps.Status("")
	if s.r != nil {
		status = s.r.status
	}
	if s.r != p.run || status != p.status {
		p.run, p.status, p.top = s.r, status, 0
	}
	p.n = len(p.lines(s, p.w))
	p.top = max(0, min(p.top, p.n-p.rows()))
}

// rows is how many of the lines show when they do not all fit: one line
// says which.
func (p *runPanel) rows() int {
	if p.h > 1 {
		return p.h - 1
	}
	return p.h
}

// View draws s in the size set: all of it, or, when it is longer, the
// lines scrolled to (the verdict first) and a line that says which.
func (p *runPanel) View(s runShown) []string {
	lines := p.lines(s, p.w)
	if len(lines) <= p.h || p.h <= 1 {
		return clip(lines, p.h)
	}
	top := max(0, min(p.top, len(lines)-p.rows()))
	out := slices.Clone(lines[top : top+p.rows()])
	where := fmt.Sprintf("lines %d–%d of %d", top+1, top+p.rows(), len(lines))
	if top+p.rows() < len(lines) {
		where += " · > more"
	}
	if top > 0 {
		where += " · < back"
	}
	return append(out, p.st.Dim.Render(fit(where, p.w)))
}

// ScrollHelp are the panel's scroll keys for the footer, when what it says
// is longer than its room.
func (p *runPanel) ScrollHelp() []key.Binding {
	var b []key.Binding
	if p.n > p.h && p.h > 1 {
		if p.top+p.rows() < p.n {
			b = append(b, p.keys.More)
		}
		if p.top > 0 {
			b = append(b, p.keys.Back)
		}
	}
	return b
}

// Update says which run a key of the panel asks for; ok is false for a key
// that is not the panel's.
func (p *runPanel) Update(k tea.KeyPressMsg) (kind opKind, ok bool) {
	switch {
	case key.Matches(k, p.keys.Run):
		return opRun, true
	case key.Matches(k, p.keys.Check):
		return opCheck, true
	case key.Matches(k, p.keys.RunRest):
		return opRest, true
	case key.Matches(k, p.keys.Type):
		return opType, true
	case key.Matches(k, p.keys.More):
		// The panel's own scroll: no run to start.
		p.top = max(0, min(p.top+1, p.n-p.rows()))
		return "", true
	case key.Matches(k, p.keys.Back):
		p.top = max(0, p.top-1)
		return "", true
	}
	return "", false
}

// ShortHelp are the panel's keys for the footer: while the learner types
// the step, the way out of waiting.
func (p *runPanel) ShortHelp(typing bool) []key.Binding {
	if typing {
		return []key.Binding{p.keys.Stop}
	}
	return []key.Binding{p.keys.Run, p.keys.Check}
}

// lines are what the panel shows of s at width w, unclipped.
func (p *runPanel) lines(s runShown, w int) []string {
	it, r := s.it, s.r
	if it.reading {
		return []string{p.st.Dim.Render(fit("Nothing to run here: n goes on.", w))}
	}
	var out []string
	add := func(s string, style interface{ Render(...string) string }, first, rest string) {
		for _, l := range wrapIndent(s, w, first, rest) {
			out = append(out, style.Render(l))
		}
	}
	switch {
	case r == nil || r.status == steps.StatusTodo && !r.fresh:
		add("Not run yet: enter runs this step, c only checks it.", p.st.Dim, "", "")
	case r.running && r.typing:
		p.typingLines(s, w, add)
	case r.running:
		mark := "●"
		if s.spin != "" {
			mark = s.spin
		}
		if p.plain {
			mark = "Running:"
		}
		el := r.elapsed
		if d := s.now.Sub(r.started); d > el {
			el = d
		}
		add(fmt.Sprintf("%s %s, %s", mark, it.title, seconds(el)), p.st.Running, "", "  ")
		from := max(0, len(r.progress)-2)
		for _, line := range r.progress[from:] {
			add(line, p.st.Dim, "  ", "    ")
		}
		if r.did != "" {
			add(r.did, p.st.Dim, "  ", "    ")
		}
	case !r.fresh:
		g, word := glyph(r.status)
		when := ""
		if !r.at.IsZero() {
			when = " on " + r.at.Local().Format("2 Jan 15:04")
		}
		add(fmt.Sprintf("%s %s%s (saved). c checks it again.", g, capital(word), when), statusStyle(p.st, r.status), "", "  ")
	default:
		// The verdict first: what Do said may be long (a page of HTML).
		g, _ := glyph(r.status)
		switch r.status {
		case steps.StatusPassed:
			s := "Check passed"
			switch {
			case r.kept:
				s = "Kept as passed" // not checked: the verdict says why
			case r.by == steps.ByLearner:
				s = "You did it: check passed"
			}
			if r.verdict != "" {
				s += ": " + r.verdict
			}
			add(fmt.Sprintf("%s %s (%s)", g, s, seconds(r.elapsed)), p.st.Passed, "", "  ")
		case steps.StatusFailed:
			why := r.verdict
			what := "Check failed"
			if why == "" {
				what = "Failed"
				err := r.err
				if r.didErr != nil {
					err = r.didErr
				}
				why = reason(err, r.fix)
			}
			add(fmt.Sprintf("%s %s: %s", g, what, why), p.st.Failed, "", "  ")
			if r.fix != "" {
				add("Fix: "+r.fix, p.st.Fix, "", "     ")
			}
		case steps.StatusCanceled:
			if r.typing {
				add(fmt.Sprintf("%s Stopped waiting after %s: t waits again, enter lets the lab do it.", g, seconds(r.elapsed)), p.st.Dim, "", "  ")
				break
			}
			add(fmt.Sprintf("%s Canceled after %s; run it again with enter.", g, seconds(r.elapsed)), p.st.Failed, "", "  ")
		case steps.StatusSkipped:
			add(fmt.Sprintf("%s Skipped: %s", g, r.skipped), p.st.Dim, "", "  ")
		}
		// What Do said, unless the verdict just said the same: whole,
		// after the verdict, scrolled to when the room is short.
		if r.did != "" && r.did != r.verdict && r.status != steps.StatusSkipped {
			for _, line := range strings.Split(r.did, "\n") {
				add(line, p.st.Dim, "", "")
			}
		}
	}
	return out
}

// typingLines draw typing mode: where to type the command, when the lab
// checks again, and why the last check did not hold yet.
func (p *runPanel) typingLines(s runShown, w int, add func(string, interface{ Render(...string) string }, string, string)) {
	r := s.r
	// What matters most comes first, since a long command leaves this
	// panel few lines: that the lab waits, and why the step does not hold
	// yet; where to paste comes last.
	every := seconds(steps.DefaultAwaitEvery)
	switch {
	case r.next.IsZero():
		add("✎ You type this step. Checking…", p.st.Running, "", "  ")
	case p.plain:
		add(fmt.Sprintf("✎ You type this step: next check at %s (every %s; t or esc stops waiting).", r.next.Local().Format("15:04:05"), every), p.st.Running, "", "  ")
	default:
		left := max(0, r.next.Sub(s.now).Round(time.Second))
		add(fmt.Sprintf("✎ You type this step: next check in %s (every %s; t or esc stops waiting).", seconds(left), every), p.st.Running, "", "  ")
	}
	if r.verdict != "" && !r.next.IsZero() {
		add("Not yet: "+r.verdict, p.st.Failed, "", "  ")
		if r.fix != "" {
			add("Fix: "+r.fix, p.st.Fix, "", "     ")
		}
	}
	if !p.simulated {
		add("Paste the command above into Cloud Shell (or any terminal with gcloud).", p.st.Dim, "", "  ")
		return
	}
	// The line to type on a line of its own, so that it is never split.
	add("Paste the command above into a second terminal, pointed at the simulator first with:", p.st.Dim, "", "  ")
	add(`eval "$(beyond sim env)"`, p.st.Command, "  ", "  ")
}
