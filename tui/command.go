package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// commandPane is the current step's command, a component: a box in the
// main column that scrolls with [ and ] when the command is longer than the
// box, and a full-screen view (v), unframed, so that what the learner
// selects with the mouse is the command itself. It keeps its own keys,
// size and scroll; the parent says what to show and how much room it has.
type commandPane struct {
	keys  KeyMap
	st    Styles
	plain bool

	text  string
	top   int // the first line the box shows
	open  bool
	full  viewport.Model
	fullW int // the width full holds its lines for
}

func newCommandPane(keys KeyMap, st Styles, plain bool) commandPane {
	return commandPane{keys: keys, st: st, plain: plain, full: viewport.New()}
}

// SetCommand sets the command shown; a new one starts at its first line.
func (c *commandPane) SetCommand(text string) {
	if text == c.text {
		return
	}
	c.text, c.top, c.fullW = text, 0, 0
}

// SetSize sets the size of the full-screen view: w wide, h lines below
// its title line.
func (c *commandPane) SetSize(w, h int) {
	if w != c.fullW {
		c.fullW = w
		var lines []string
		for _, line := range strings.Split(c.text, "\n") {
			lines = append(lines, codeLines(line, w)...)
		}
		c.full.SetContentLines(lines)
		c.full.SetYOffset(0)
	}
	c.full.SetWidth(w)
	c.full.SetHeight(max(1, h))
}

// Open shows the command full screen; it reports false when there is none.
func (c *commandPane) Open() bool {
	c.open = c.text != ""
	return c.open
}

// IsOpen reports whether the command shows full screen.
func (c *commandPane) IsOpen() bool { return c.open }

// Update handles a key meant for the pane: scrolling the box, or, while
// open, scrolling and closing the full view. It reports whether it used k.
func (c *commandPane) Update(k tea.KeyPressMsg) bool {
	if !c.open {
		switch {
		case key.Matches(k, c.keys.BoxDown):
			c.top++ // Box stops at the last line
		case key.Matches(k, c.keys.BoxUp):
			c.top = max(0, c.top-1)
		default:
			return false
		}
		return true
	}
	switch {
	case key.Matches(k, c.keys.Close):
		c.open = false
	case key.Matches(k, c.keys.Next):
		c.full.ScrollDown(1)
	case key.Matches(k, c.keys.Prev):
		c.full.ScrollUp(1)
	case key.Matches(k, c.keys.PageDown):
		c.full.PageDown()
	case key.Matches(k, c.keys.PageUp):
		c.full.PageUp()
	default:
		return false
	}
	return true
}

// Wheel scrolls the full view by the mouse wheel.
func (c *commandPane) Wheel(down bool) {
	if down {
		c.full.ScrollDown(3)
	} else {
		c.full.ScrollUp(3)
	}
}

// ShortHelp are the keys of the full view, for the footer.
func (c *commandPane) ShortHelp() []key.Binding {
	down, up := c.keys.Next, c.keys.Prev
	down.SetHelp("↓", "line")
	up.SetHelp("↑", "line")
	return []key.Binding{c.keys.Close, down, up, c.keys.PageDown, c.keys.PageUp, c.keys.Copy} // the way out first: a narrow footer cuts the end
}

// lines are the command as the box shows it, w cells wide with its frame:
// long lines broken the way a shell continues them, so what the learner
// selects still runs.
func (c *commandPane) lines(w int) []string {
	inner := w - 4
	if c.plain {
		inner = w - 2
	}
	var out []string
	for _, line := range strings.Split(c.text, "\n") {
		out = append(out, codeLines(line, inner)...)
	}
	return out
}

// Height is how many lines the box wants at width w: the whole command.
func (c *commandPane) Height(w int) int {
	if c.text == "" {
		return 0
	}
	if c.plain {
		return len(c.lines(w)) + 1
	}
	return len(c.lines(w)) + 2
}

// room is how many lines of the command a box h lines tall shows when the
// command is longer than the box (one line goes to saying so).
func (c *commandPane) room(h int) int {
	inner := h - 2
	if c.plain {
		inner = h - 1
	}
	return max(1, inner-1)
}

// Box draws the box, w wide and at most h lines tall.
func (c *commandPane) Box(w, h int) []string {
	lines := c.lines(w)
	room := h - 2
	if c.plain {
		room = h - 1
	}
	var more string
	switch inner := w - 4; {
	case len(lines) <= room:
	case room == 1:
		more = fmt.Sprintf(" … +%d lines: v shows all", len(lines)-1)
		lines = []string{ansi.Truncate(lines[0], inner-ansi.StringWidth(more), "")}
	default:
		// A window on the command, scrolled with [ and ]; the last line
		// says where it stands.
		n, view := len(lines), c.room(h)
		c.top = min(c.top, n-view)
		top := c.top
		lines = lines[top : top+view]
		more = fmt.Sprintf("lines %d–%d of %d: ] scrolls, v shows all", top+1, top+view, n)
		if top+view == n {
			more = fmt.Sprintf("lines %d–%d of %d: [ scrolls back, v shows all", top+1, top+view, n)
		}
		if c.plain {
			more = strings.ReplaceAll(more, "–", " to ")
		}
	}
	for i, s := range lines {
		lines[i] = c.st.Command.Render(s)
	}
	switch {
	case more == "":
	case len(lines) == 1:
		lines[0] += c.st.Dim.Render(more)
	default:
		lines = append(lines, c.st.Dim.Render(more))
	}
	title := " gcloud equivalent · y copies "
	if c.plain {
		title = "gcloud equivalent (y copies it)"
	}
	return box(title, lines, w, c.st, c.plain)
}

// View draws the full view, h lines tall: a line with the step's title and
// which lines show, then the command.
func (c *commandPane) View(title string, w, h int) []string {
	v := c.full
	n := v.TotalLineCount()
	first, last := v.YOffset()+1, min(n, v.YOffset()+v.Height())
	where := fmt.Sprintf("lines %d–%d of %d", first, last, n)
	if c.plain {
		where = fmt.Sprintf("lines %d to %d of %d", first, last, n)
	}
	body := []string{spread(c.st.Title.Render(title), c.st.Dim.Render(where), w)}
	for _, line := range strings.Split(v.View(), "\n") {
		body = append(body, c.st.Command.Render(line))
	}
	body = clip(body, h)
	for len(body) < h {
		body = append(body, "")
	}
	return body
}
