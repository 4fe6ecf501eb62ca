package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Styles are every style the TUI draws with. The colours are the terminal's
// own 16 ANSI colours, so they follow its theme, light or dark, without
// asking the terminal which one it has (a query that can stall start-up in a
// terminal that never answers).
type Styles struct {
	Header    lipgloss.Style // the top line naming the target
	Billable  lipgloss.Style // the target when it is a real project
	Part      lipgloss.Style // a part's heading in the step list
	Cursor    lipgloss.Style // the selected step in the list
	Dim       lipgloss.Style
	Title     lipgloss.Style // the current step's title
	Heading   lipgloss.Style // a heading inside the prose
	Code      lipgloss.Style // code blocks and inline code in the prose
	Box       lipgloss.Style // the command box's frame
	Command   lipgloss.Style // the command inside the box
	Running   lipgloss.Style
	Passed    lipgloss.Style
	Failed    lipgloss.Style
	Todo      lipgloss.Style
	Fix       lipgloss.Style
	Note      lipgloss.Style // a one-line notice ("copied")
	Dialog    lipgloss.Style // a question waiting for y or n
	RegionA   lipgloss.Style // requests served by region A
	RegionB   lipgloss.Style // requests served by region B
	RegionX   lipgloss.Style // requests served by any other region
	Error     lipgloss.Style // failed requests
	Help      help.Styles
	colorless bool
}

// NewStyles returns the styles; with noColor set they carry no colour at
// all, only bold and faint, as NO_COLOR asks.
func NewStyles(noColor bool) Styles {
	c := func(s lipgloss.Style, ansi string) lipgloss.Style {
		if noColor {
			return s
		}
		return s.Foreground(lipgloss.Color(ansi))
	}
	plain := lipgloss.NewStyle()
	s := Styles{
		Header:    plain.Bold(true),
		Billable:  c(plain.Bold(true), "1"),
		Part:      c(plain.Bold(true), "6"),
		Cursor:    plain.Bold(true).Reverse(true),
		Dim:       plain.Faint(true),
		Title:     c(plain.Bold(true), "6"),
		Heading:   plain.Bold(true),
		Code:      c(plain, "3"),
		Box:       plain.Faint(true),
		Command:   c(plain, "3"),
		Running:   c(plain.Bold(true), "4"),
		Passed:    c(plain, "2"),
		Failed:    c(plain.Bold(true), "1"),
		Todo:      plain.Faint(true),
		Fix:       c(plain, "3"),
		Note:      c(plain, "5"),
		Dialog:    c(plain.Bold(true), "3"),
		RegionA:   c(plain, "4"),
		RegionB:   c(plain, "5"),
		RegionX:   c(plain, "3"),
		Error:     c(plain.Bold(true), "1"),
		colorless: noColor,
	}
	if !noColor {
		s.Header = s.Header.Foreground(lipgloss.Color("0")).Background(lipgloss.Color("6"))
	}
	s.Help = help.Styles{
		ShortKey:       plain.Bold(true),
		ShortDesc:      plain,
		ShortSeparator: plain.Faint(true),
		Ellipsis:       plain.Faint(true),
		FullKey:        plain.Bold(true),
		FullDesc:       plain,
		FullSeparator:  plain.Faint(true),
	}
	return s
}
