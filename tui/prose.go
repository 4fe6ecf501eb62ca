package tui

import (
	"fmt"
	"regexp"
	"strings"

	"charm.land/bubbles/v2/viewport"
	"github.com/beyond-lab/beyond/steps"
	"github.com/beyond-lab/beyond/tui/internal/glamour"
	gansi "github.com/beyond-lab/beyond/tui/internal/glamour/ansi"
	"github.com/charmbracelet/x/ansi"
)

// The prose is Markdown (content/), rendered by glamour with a style of the
// lab's own: the terminal's 16 colours, so it follows the terminal's theme
// without asking the terminal which one it has; none under NO_COLOR; no
// marks but words for a screen reader (--accessible).

// prosePane is the step's text, a component: its Markdown rendered to the
// pane's width (again only when the step or the width changes) in a
// viewport that scrolls with pgup and pgdn, keeping its place when the
// width changes.
type prosePane struct {
	viewport.Model
	st    Styles
	plain bool
	shown string // the step and width the viewport holds
}

func newProsePane(st Styles, plain bool) prosePane {
	return prosePane{Model: viewport.New(), st: st, plain: plain}
}

// Show puts step id's Markdown in the pane, w wide and h lines tall.
func (p *prosePane) Show(id, md string, w, h int) {
	if k := fmt.Sprint(id, "/", w); k != p.shown {
		sameStep := strings.HasPrefix(p.shown, id+"/")
		off := p.YOffset()
		p.shown = k
		p.SetWidth(w)
		p.SetContentLines(renderMarkdown(md, w, p.st, p.plain))
		p.SetYOffset(0)
		if sameStep {
			p.SetYOffset(off)
		}
	}
	p.SetWidth(w)
	p.SetHeight(h)
}

// Lines is what the pane shows, one string a line.
func (p *prosePane) Lines() []string { return strings.Split(p.View(), "\n") }

var varRef = regexp.MustCompile(`\$[A-Z][A-Z0-9_]*`)

// expand replaces the workshop's variables ($REGION_A...) with the lab's
// values, so the prose speaks of this learner's project. A variable with no
// value stays as written.
func expand(md string, v steps.Vars) string {
	vals := map[string]string{}
	for _, d := range steps.VarList {
		vals[d.Env] = *d.Field(&v)
	}
	return varRef.ReplaceAllStringFunc(md, func(ref string) string {
		if val := vals[ref[1:]]; val != "" {
			return val
		}
		return ref
	})
}

// renderMarkdown renders md to lines at most w cells wide. The first line,
// if it is a "# " heading, is left out: the screen shows the title already.
// Code blocks are broken beforehand the way a shell continues a line (see
// codeLines), so that a command selected with the mouse still runs. With
// plain set (screen readers), inline code keeps its backticks.
func renderMarkdown(md string, w int, st Styles, plain bool) []string {
	w = max(w, 8)
	md = strings.ReplaceAll(md, "\r\n", "\n")
	if first, rest, ok := strings.Cut(md, "\n"); ok && strings.HasPrefix(first, "# ") {
		md = rest
	} else if strings.HasPrefix(md, "# ") {
		md = ""
	}
	r, err := glamour.NewTermRenderer(glamour.WithStyles(proseStyle(st.colorless, plain)), glamour.WithWordWrap(w))
	if err != nil {
		return wrap(md, w) // the style is ours and fixed: this does not happen
	}
	out, err := r.Render(keepHyphens(joinItems(breakCode(md, w-codeMargin))))
	if err != nil {
		return wrap(md, w)
	}
	out = strings.ReplaceAll(out, hyphen, "-")
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		// glamour pads every line to the full width: keep the text only.
		lines[i] = trimRightSpace(l)
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	return lines
}

// codeMargin is how far code blocks are indented.
const codeMargin = 2

// breakCode breaks the lines of md's fenced code blocks to w cells with
// codeLines; glamour would cut them.
func breakCode(md string, w int) string {
	var b strings.Builder
	in := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			in = !in
			b.WriteString(line + "\n")
			continue
		}
		if !in {
			b.WriteString(line + "\n")
			continue
		}
		for _, l := range codeLines(line, w) {
			b.WriteString(l + "\n")
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

var listItem = regexp.MustCompile(`^\s*([-*+]|\d+[.)])\s+`)

// joinItems puts each list item of md on one line: glamour keeps the line
// breaks inside a list item, where it joins those of a paragraph.
func joinItems(md string) string {
	var out []string
	in, item := false, false
	for _, line := range strings.Split(md, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "```"):
			in, item = !in, false
		case in:
		case t == "":
			item = false
		case listItem.MatchString(line):
			item = true
		case item && len(out) > 0 && !strings.HasPrefix(t, "#") && !strings.HasPrefix(t, ">"):
			// A continuation, indented or lazy.
			out[len(out)-1] += " " + t
			continue
		default:
			item = false
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// hyphen stands in for "-" while glamour wraps: it breaks lines after a
// hyphen, and the prose is full of flags (--allow-unauthenticated) and names
// (internal-and-cloud-load-balancing) that must not be split. It is a
// private-use character, one cell wide, that content/ never holds.
const hyphen = "\ue000"

// keepHyphens hides from the wrapping every hyphen of md that joins two
// characters, outside code blocks (codeLines broke them already) and
// Markdown's own syntax: list items ("- "), rules and tables.
func keepHyphens(md string) string {
	lines := strings.Split(md, "\n")
	in := false
	for i, line := range lines {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "```") {
			in = !in
		}
		if in || strings.Trim(t, "-") == "" || strings.HasPrefix(t, "|") {
			continue
		}
		var b strings.Builder
		for j := 0; j < len(line); j++ {
			if line[j] == '-' && j+1 < len(line) && line[j+1] != ' ' {
				b.WriteString(hyphen)
				continue
			}
			b.WriteByte(line[j])
		}
		lines[i] = b.String()
	}
	return strings.Join(lines, "\n")
}

// trimRightSpace removes trailing spaces from a line that may hold styles,
// keeping the styles' resets.
func trimRightSpace(l string) string {
	if !strings.Contains(l, "\x1b") {
		return strings.TrimRight(l, " ")
	}
	for strings.HasSuffix(ansi.Strip(l), " ") {
		// Cut one cell at a time from the plain width: ansi.Truncate keeps
		// the escape codes.
		l = ansi.Truncate(l, ansi.StringWidth(l)-1, "")
	}
	return l
}

// proseStyle is the lab's Markdown style: bold headings without #s, bullets,
// quotes with a bar, code in yellow (in colour) or between backticks (in
// NO_COLOR and plain), links in blue with their address.
func proseStyle(noColor, plain bool) gansi.StyleConfig {
	str := func(s string) *string { return &s }
	yes := func() *bool { b := true; return &b }
	zero := func() *uint { u := uint(0); return &u }
	margin := uint(codeMargin)
	color := func(c string) *string {
		if noColor || plain {
			return nil
		}
		return str(c)
	}
	var bold, italic *bool
	if !plain {
		bold, italic = yes(), yes()
	}
	heading := gansi.StyleBlock{StylePrimitive: gansi.StylePrimitive{Bold: bold, BlockSuffix: "\n"}}
	code := gansi.StylePrimitive{Color: color("3")}
	if noColor || plain {
		code.Prefix, code.Suffix = "`", "`"
	}
	bullet, quote := "• ", "│ "
	if plain {
		bullet, quote = "- ", "> "
	}
	return gansi.StyleConfig{
		Document:       gansi.StyleBlock{Margin: zero()},
		BlockQuote:     gansi.StyleBlock{Indent: func() *uint { u := uint(1); return &u }(), IndentToken: str(quote)},
		Paragraph:      gansi.StyleBlock{},
		List:           gansi.StyleList{LevelIndent: 2},
		Heading:        heading,
		H1:             heading,
		H2:             heading,
		H3:             heading,
		H4:             heading,
		H5:             heading,
		H6:             heading,
		Emph:           gansi.StylePrimitive{Italic: italic},
		Strong:         gansi.StylePrimitive{Bold: bold},
		HorizontalRule: gansi.StylePrimitive{Format: "\n" + strings.Repeat("─", 8) + "\n"},
		Item:           gansi.StylePrimitive{BlockPrefix: bullet},
		Enumeration:    gansi.StylePrimitive{BlockPrefix: ". "},
		Task:           gansi.StyleTask{Ticked: "[x] ", Unticked: "[ ] "},
		Link: gansi.StylePrimitive{Prefix: "(", Suffix: ")", Color: color("4"), Underline: func() *bool {
			if noColor || plain {
				return nil
			}
			return yes()
		}()},
		LinkText:  gansi.StylePrimitive{Bold: bold},
		Code:      gansi.StyleBlock{StylePrimitive: code},
		CodeBlock: gansi.StyleCodeBlock{StyleBlock: gansi.StyleBlock{StylePrimitive: gansi.StylePrimitive{Color: color("3")}, Margin: &margin}},
		Table:     gansi.StyleTable{CenterSeparator: str("┼"), ColumnSeparator: str("│"), RowSeparator: str("─")},
	}
}

// codeLines breaks a line of code that is wider than w so that what the
// learner selects with the mouse still runs: at a space, with the shell's
// " \" and an indented continuation; inside a word, with a bare "\" and no
// indent (the shell joins the halves); a comment goes on as a comment.
func codeLines(line string, w int) []string {
	line = strings.ReplaceAll(line, "\t", "    ")
	if w < 8 || ansi.StringWidth(line) <= w {
		return []string{line}
	}
	body := strings.TrimLeft(line, " ")
	lead := line[:len(line)-len(body)]
	if strings.HasPrefix(body, "#") {
		var out []string
		for _, l := range wrap(strings.TrimSpace(strings.TrimPrefix(body, "#")), w-len(lead)-2) {
			out = append(out, lead+"# "+l)
		}
		return out
	}
	var out []string
	for ansi.StringWidth(line) > w {
		head := ansi.Cut(line, 0, w-2)
		cut := strings.LastIndex(head, " ")
		if cut > len(head)-len(strings.TrimLeft(head, " ")) {
			out = append(out, strings.TrimRight(line[:cut], " ")+" \\")
			line = lead + "    " + strings.TrimLeft(line[cut:], " ")
			continue
		}
		// No space after the indent: cut the word.
		head = ansi.Cut(line, 0, w-1)
		out = append(out, head+"\\")
		line = line[len(head):]
	}
	return append(out, line)
}
