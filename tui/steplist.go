package tui

import (
	"fmt"

	"github.com/beyond-lab/beyond/steps"
	"github.com/charmbracelet/x/ansi"
)

// stepList is the list of steps grouped by the workshop's parts, a
// component: the parent hands it the rows and the cursor, and its size;
// it scrolls so that the selected step shows. Its keys (n, p, l) move the
// parent's cursor, which the prose and the command follow.
type stepList struct {
	st    Styles
	plain bool
	w, h  int
}

// listRow is one entry of the list as it stands.
type listRow struct {
	part         string // the title of the part it belongs to, "" for none
	title, short string
	reading      bool // a page of prose, nothing to run
	status       steps.Status
	typed        bool   // passed, done by the learner
	spin         string // the spinner's frame, while it runs
}

func newStepList(st Styles, plain bool) stepList { return stepList{st: st, plain: plain} }

// SetSize sets the list's width and height.
func (l *stepList) SetSize(w, h int) { l.w, l.h = w, h }

// View draws rows, the one at cursor selected.
func (l stepList) View(rows []listRow, cursor int) []string {
	w, h := l.w, l.h
	var lines []string
	sel := 0
	part := ""
	for i, it := range rows {
		if it.part != part && it.part != "" {
			// A part's title wraps rather than being cut: it is read once.
			for _, s := range wrapIndent(it.part, w, "", "  ") {
				lines = append(lines, l.st.Part.Render(s))
			}
		}
		part = it.part
		mark := "  "
		if i == cursor {
			mark = "› "
			if l.plain {
				mark = "> "
			}
			sel = len(lines)
		}
		var s string
		title := it.title
		if it.short != "" && ansi.StringWidth(title)+4 > w && !l.plain {
			title = it.short
		}
		switch {
		case it.reading:
			s = mark + "· " + title
			if l.plain {
				s = mark + "· read     " + it.title
			}
		case l.plain:
			g, word := glyph(it.status)
			if it.typed {
				g, word = "✎", "typed"
			}
			s = fmt.Sprintf("%s%s %-8s %s", mark, g, word, it.title)
		default:
			g, _ := glyph(it.status)
			if it.typed {
				g = "✎" // done by the learner, checked by the lab
			}
			if it.spin != "" {
				g = it.spin
			}
			s = mark + l.styleFor(it.status).Render(g) + " " + title
		}
		s = fit(s, w)
		if i == cursor && !l.plain {
			s = l.st.Cursor.Render(pad(ansi.Strip(s), w))
		}
		lines = append(lines, s)
	}
	if h <= 0 {
		return nil
	}
	if len(lines) <= h {
		return lines
	}
	top := min(max(0, sel-h/2), len(lines)-h)
	return lines[top : top+h]
}

func (l stepList) styleFor(s steps.Status) interface{ Render(...string) string } {
	return statusStyle(l.st, s)
}
