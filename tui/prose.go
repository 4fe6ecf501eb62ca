package tui

import (
	"regexp"
	"strings"

	"github.com/beyond-lab/beyond/steps"
	"github.com/charmbracelet/x/ansi"
)

// The prose is Markdown of a small kind (content/ keeps to it): headings,
// paragraphs, lists, block quotes and fenced code. It is rendered here rather
// than with glamour, which sizes and colours itself by querying the terminal.

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

var (
	listItem = regexp.MustCompile(`^(\s*)([-*+]|\d+[.)])\s+`)
	link     = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
)

// renderMarkdown renders md to lines at most w cells wide. The first line,
// if it is a "# " heading, is left out: the screen shows the title already.
// With plain set, inline code keeps its backticks instead of a colour.
func renderMarkdown(md string, w int, st Styles, plain bool) []string {
	w = max(w, 8)
	md = strings.ReplaceAll(md, "\r\n", "\n")
	src := strings.Split(md, "\n")
	if len(src) > 0 && strings.HasPrefix(src[0], "# ") {
		src = src[1:]
	}
	var out []string
	blank := func() {
		if len(out) > 0 && out[len(out)-1] != "" {
			out = append(out, "")
		}
	}
	var para []string
	indent, hang := "", ""
	flush := func() {
		if len(para) == 0 {
			return
		}
		text := link.ReplaceAllString(strings.Join(para, " "), "$1 ($2)")
		text = strings.ReplaceAll(text, "**", "")
		out = append(out, inline(wrapIndent(text, w, indent, hang), st, plain)...)
		para, indent, hang = nil, "", ""
	}
	inFence := false
	for _, line := range src {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "```"):
			flush()
			if !inFence {
				blank()
			}
			inFence = !inFence
			if !inFence {
				out = append(out, "")
			}
		case inFence:
			for _, l := range codeLines(line, w-2) {
				out = append(out, "  "+styled(st.Code, l, plain))
			}
		case trimmed == "":
			flush()
			blank()
		case strings.HasPrefix(trimmed, "#"):
			flush()
			blank()
			h := strings.TrimSpace(strings.TrimLeft(trimmed, "#"))
			for _, l := range wrap(h, w) {
				out = append(out, styled(st.Heading, l, plain))
			}
			out = append(out, "")
		case strings.HasPrefix(trimmed, ">"):
			flush()
			q := strings.TrimSpace(strings.TrimPrefix(trimmed, ">"))
			mark := "│ "
			if plain {
				mark = "> "
			}
			para, indent, hang = []string{q}, mark, mark
			flush()
		case listItem.MatchString(line):
			flush()
			m := listItem.FindStringSubmatch(line)
			bullet := m[2]
			if bullet == "-" || bullet == "*" || bullet == "+" {
				bullet = "•"
				if plain {
					bullet = "-"
				}
			}
			lead := strings.Repeat(" ", len(m[1])) + bullet + " "
			para = []string{strings.TrimSpace(line[len(m[0]):])}
			indent, hang = lead, strings.Repeat(" ", ansi.StringWidth(lead))
		default:
			para = append(para, trimmed)
		}
	}
	flush()
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	for len(out) > 0 && out[0] == "" {
		out = out[1:]
	}
	return out
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

func styled(s interface{ Render(...string) string }, text string, plain bool) string {
	if plain || text == "" {
		return text
	}
	return s.Render(text)
}

// inline styles `code` spans line by line, carrying a span that wraps across
// lines over to the next. In plain mode the backticks stay as they are.
func inline(lines []string, st Styles, plain bool) []string {
	if plain || st.colorless {
		return lines
	}
	in := false
	for i, l := range lines {
		if !in && !strings.Contains(l, "`") {
			continue
		}
		var b, seg strings.Builder
		emit := func() {
			if seg.Len() == 0 {
				return
			}
			if in {
				b.WriteString(st.Code.Render(seg.String()))
			} else {
				b.WriteString(seg.String())
			}
			seg.Reset()
		}
		for _, r := range l {
			if r == '`' {
				emit()
				in = !in
				continue
			}
			seg.WriteRune(r)
		}
		emit()
		lines[i] = b.String()
	}
	return lines
}
