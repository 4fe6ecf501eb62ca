package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/beyond-lab/beyond/steps"
	"github.com/charmbracelet/x/ansi"
)

// runPanel is what the last run of the current step said, a component
// below the command box: progress while the step runs, then the check's
// verdict and, when it failed, the fix; in typing mode, when the lab checks
// again and where to type. Its keys start a run (enter, R, c, t), which the
// parent makes, since the runner is the parent's to call; the parent sets
// its size and hands it the step to speak of.
type runPanel struct {
	keys      runKeys
	st        Styles
	plain     bool
	simulated bool
	w, h      int
}

// runKeys are the run panel's keys, taken from the one KeyMap.
type runKeys struct {
	Run, RunRest, Check, Type, Stop key.Binding
}

func (k KeyMap) runKeys() runKeys {
	return runKeys{Run: k.Run, RunRest: k.RunRest, Check: k.Check, Type: k.Type, Stop: k.Stop}
}

// FullHelp lists the panel's keys for the ? page.
func (k runKeys) FullHelp() []keyHelp {
	return []keyHelp{
		{k.Run, "run the step: perform it, then check it"},
		{k.RunRest, "run this step and the rest, until one fails"},
		{k.Check, "check the step again, without performing it"},
		{k.Type, "type the step yourself; the lab checks until it holds (t stops)"},
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

// View draws s in the size set.
func (p *runPanel) View(s runShown) []string { return clip(p.lines(s, p.w), p.h) }

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
		// What Do said, unless the verdict just said the same.
		if r.did != "" && r.did != r.verdict && r.status != steps.StatusSkipped {
			n := len(out)
			for _, line := range strings.Split(r.did, "\n") {
				add(line, p.st.Dim, "", "")
			}
			if len(out)-n > 3 {
				out = append(out[:n+2], p.st.Dim.Render(fit(strings.TrimRight(ansi.Strip(out[n+2]), " ")+" …", w)))
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
