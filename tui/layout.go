package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// fit cuts s, which may hold styles, to at most w cells, ending in "…" when
// it had to cut.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// pad fits s to exactly w cells.
func pad(s string, w int) string {
	s = fit(s, w)
	if n := w - ansi.StringWidth(s); n > 0 {
		s += strings.Repeat(" ", n)
	}
	return s
}

// wrap word-wraps plain text to w cells at spaces only (never at hyphens:
// the text is full of flags like --allow-unauthenticated), cutting a word
// only when it is longer than a line.
func wrap(s string, w int) []string {
	w = max(w, 1)
	var out []string
	line, lw := "", 0
	for _, word := range strings.Fields(s) {
		ww := ansi.StringWidth(word)
		for ww > w {
			if lw > 0 {
				out = append(out, line)
				line, lw = "", 0
			}
			out = append(out, ansi.Cut(word, 0, w))
			word = ansi.Cut(word, w, ww)
			ww = ansi.StringWidth(word)
		}
		switch {
		case lw == 0:
			line, lw = word, ww
		case lw+1+ww <= w:
			line, lw = line+" "+word, lw+1+ww
		default:
			out = append(out, line)
			line, lw = word, ww
		}
	}
	if lw > 0 || len(out) == 0 {
		out = append(out, line)
	}
	return out
}

// wrapIndent wraps s to w cells, prefixing the first line with first and
// the others with rest (both plain), each line wrapped to the room its
// prefix leaves.
func wrapIndent(s string, w int, first, rest string) []string {
	fw, rw := w-ansi.StringWidth(first), w-ansi.StringWidth(rest)
	lines := wrap(s, fw)
	if len(lines) > 1 && rw != fw {
		lines = append(lines[:1], wrap(strings.Join(lines[1:], " "), rw)...)
	}
	for i := range lines {
		if i == 0 {
			lines[i] = first + lines[i]
		} else {
			lines[i] = rest + lines[i]
		}
	}
	return lines
}

// clip keeps at most n lines.
func clip(lines []string, n int) []string {
	if n <= 0 {
		return nil
	}
	if len(lines) > n {
		return lines[:n]
	}
	return lines
}

// box frames lines with a titled border w cells wide. In plain mode (for
// screen readers) it draws no frame: a title line, then the lines indented.
func box(title string, lines []string, w int, st Styles, plain bool) []string {
	if plain {
		out := []string{fit(title+":", w)}
		for _, l := range lines {
			out = append(out, fit("  "+l, w))
		}
		return out
	}
	if w < 4 {
		return clip(lines, len(lines))
	}
	inner := w - 4
	t := fit(title, inner-1)
	top := "╭─" + t + strings.Repeat("─", max(0, w-3-ansi.StringWidth(t))) + "╮"
	out := []string{st.Box.Render(top)}
	for _, l := range lines {
		out = append(out, st.Box.Render("│")+" "+pad(l, inner)+" "+st.Box.Render("│"))
	}
	out = append(out, st.Box.Render("╰"+strings.Repeat("─", w-2)+"╯"))
	return out
}

// sideBySide joins two columns of lines, the left lw cells wide, with a
// one-cell rule between them.
func sideBySide(left, right []string, lw, rw int, rule string) []string {
	n := max(len(left), len(right))
	out := make([]string, n)
	for i := range n {
		var l, r string
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		out[i] = pad(l, lw) + rule + fit(r, rw)
	}
	return out
}

// spread puts left and right on one line of w cells, right-aligned.
func spread(left, right string, w int) string {
	gap := w - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 1 {
		return fit(left+" "+right, w)
	}
	return left + strings.Repeat(" ", gap) + right
}
