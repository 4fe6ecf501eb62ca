package tui

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/beyond-lab/beyond/steps"
	"github.com/charmbracelet/x/ansi"
)

// boardWith is a board of n projects, each swept with i+1 steps passing.
func boardWith(t *testing.T, n int, opts BoardOptions) *Board {
	t.Helper()
	for i := range n {
		opts.Projects = append(opts.Projects, fmt.Sprintf("attendee-%02d", i))
	}
	opts.Steps = steps.BoardSteps()
	b := NewBoard(context.Background(), opts)
	b.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	for i := range n {
		r := steps.Report{Project: opts.Projects[i]}
		for j, s := range opts.Steps {
			c := steps.StepCheck{ID: s.ID, State: steps.CheckPending, Reason: "not there yet: " + s.ID}
			if j <= i%len(opts.Steps) {
				c.State = steps.CheckPassed
				r.Passed++
			}
			r.Steps = append(r.Steps, c)
		}
		b.Update(reportMsg{i, r})
	}
	b.Update(sweptMsg{})
	return b
}

func fits(t *testing.T, screen string, w, h int) {
	t.Helper()
	lines := strings.Split(ansi.Strip(screen), "\n")
	if len(lines) > h {
		t.Errorf("%d lines on a %d-line screen", len(lines), h)
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > w {
			t.Errorf("a line of %d columns on a %d-column screen: %q", n, w, l)
		}
	}
}

func TestBoardScrollsWithinTheScreen(t *testing.T) {
	b := boardWith(t, 50, BoardOptions{NoColor: true})
	screen := ansi.Strip(b.Render())
	fits(t, screen, 80, 24)
	if !strings.Contains(screen, "› attendee-00") || strings.Contains(screen, "attendee-49") {
		t.Fatalf("first screen:\n%s", screen)
	}
	for range 49 {
		b.Update(tea.KeyPressMsg{Code: 'j', Text: "j"})
	}
	screen = ansi.Strip(b.Render())
	fits(t, screen, 80, 24)
	if b.Selected() != "attendee-49" || !strings.Contains(screen, "› attendee-49") || strings.Contains(screen, "attendee-00") {
		t.Fatalf("after 49 downs, selected %s:\n%s", b.Selected(), screen)
	}
	if !strings.Contains(screen, "attendee-49: at ") || !strings.Contains(screen, "not there yet") {
		t.Errorf("the detail does not say where the selected project stands:\n%s", screen)
	}
	// Sorted by progress, least first, keeping the selection.
	b.Update(tea.KeyPressMsg{Code: 's', Text: "s"})
	if b.Selected() != "attendee-49" || b.order[0] != 0 || !strings.Contains(b.Render(), "by progress") {
		t.Errorf("after s: selected %s, first row %d", b.Selected(), b.order[0])
	}
	// A narrow screen still fits.
	b.Update(tea.WindowSizeMsg{Width: 40, Height: 12})
	fits(t, b.Render(), 40, 12)
}

func TestBoardAccessibleSaysItInWords(t *testing.T) {
	b := boardWith(t, 3, BoardOptions{Accessible: true, NoColor: true})
	screen := b.Render()
	fits(t, screen, 80, 24)
	n := 0
	for _, s := range steps.Lab() {
		if !s.Optional {
			n++
		}
	}
	if plain := ansi.Strip(screen); !strings.Contains(plain, fmt.Sprintf("attendee-00: 1 of %d steps hold; at project, pending", n)) {
		t.Errorf("accessible rows are not plain sentences:\n%s", plain)
	}
	if b.View().AltScreen {
		t.Error("accessible mode must not use the alternate screen")
	}
	if colour := regexp.MustCompile(`\x1b\[[0-9;]*;?(3[0-8]|4[0-8]|9[0-7])m`); colour.MatchString(screen) {
		t.Errorf("a NO_COLOR board carries colour:\n%q", screen)
	}
}

// TestBoardRefreshesOnAKeyNotTwiceAtOnce: r starts a sweep; a second r
// while one runs starts none.
func TestBoardRefreshesOnAKeyNotTwiceAtOnce(t *testing.T) {
	calls := 0
	b := boardWith(t, 2, BoardOptions{Sweep: func(ctx context.Context, done func(int, steps.Report)) { calls++ }})
	cmd := b.key(tea.KeyPressMsg{Code: 'r', Text: "r"})
	if cmd == nil || b.key(tea.KeyPressMsg{Code: 'r', Text: "r"}) != nil {
		t.Fatal("r must start one sweep, and not a second while it runs")
	}
	msg := cmd()
	if calls != 1 {
		t.Errorf("the sweep ran %d times", calls)
	}
	if _, next := b.Update(msg); next == nil || b.sweeping {
		t.Error("after a sweep the board must wait for the next refresh")
	}
}

// TestBoardShowsServiceHealthSettings: the selected project's detail says,
// per region, whether Cloud Run service health can work there.
func TestBoardShowsServiceHealthSettings(t *testing.T) {
	b := boardWith(t, 1, BoardOptions{NoColor: true})
	r := *b.reports[0]
	r.Health = []steps.HealthSetting{
		{Region: "us-central1", Readiness: "/ready every 1 s, threshold 3", MinInstances: 1, OK: true},
		{Region: "europe-west1", MinInstances: 1},
	}
	b.Update(reportMsg{0, r})
	screen := ansi.Strip(b.Render())
	fits(t, screen, 80, 24)
	if !strings.Contains(screen, "service health: us-central1 ok · europe-west1 no readiness probe") {
		t.Errorf("the detail does not show service health per region:\n%s", screen)
	}
}

// TestBoardHelpPage: ? shows every key of the board, from the same
// bindings as the help bar; any key closes it without acting, but ctrl+c.
func TestBoardHelpPage(t *testing.T) {
	b := boardWith(t, 5, BoardOptions{NoColor: true})
	b.Update(tea.KeyPressMsg{Code: '?', Text: "?"})
	screen := ansi.Strip(b.Render())
	fits(t, screen, 80, 24)
	words := strings.Join(strings.Fields(screen), " ") // a description may wrap
	for _, kh := range b.keys.page() {
		if !strings.Contains(words, kh.desc) {
			t.Errorf("the keys page lacks %q:\n%s", kh.desc, screen)
		}
	}
	for _, sb := range b.keys.ShortHelp() {
		if !slices.ContainsFunc(b.keys.page(), func(kh keyHelp) bool { return slices.Equal(kh.b.Keys(), sb.Keys()) }) && !slices.Equal(sb.Keys(), b.keys.PageDown.Keys()) {
			t.Errorf("the help bar's key %v is not on the keys page", sb.Keys())
		}
	}
	if strings.Contains(screen, "attendee-00") {
		t.Errorf("the keys page shows the table too:\n%s", screen)
	}
	b.Update(tea.KeyPressMsg{Code: 'j', Text: "j"})
	if b.showHelp || b.Selected() != "attendee-00" {
		t.Errorf("a key on the keys page: page shown %v, selected %s; want it closed, the cursor unmoved", b.showHelp, b.Selected())
	}
	b.Update(tea.KeyPressMsg{Code: '?', Text: "?"})
	if _, cmd := b.Update(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}); cmd == nil {
		t.Error("ctrl+c on the keys page does not quit")
	}
}

// TestBoardTableSetSize: the table shows as many rows as it is given,
// keeps the cursor on screen, and pages by that many.
func TestBoardTableSetSize(t *testing.T) {
	b := boardWith(t, 30, BoardOptions{NoColor: true})
	tb := &b.boardTable
	tb.SetSize(80, 7)
	if got := tb.View(); len(got) != 8 {
		t.Errorf("7 rows and the ruler: %d lines", len(got))
	}
	if !tb.Update(tea.KeyPressMsg{Code: tea.KeyPgDown}) || tb.cursor != 7 {
		t.Errorf("pgdn moved the cursor to %d, want 7 (a page of 7)", tb.cursor)
	}
	for range 10 {
		tb.Update(tea.KeyPressMsg{Code: 'j', Text: "j"})
	}
	if tb.cursor != 17 || tb.top > tb.cursor || tb.cursor >= tb.top+7 {
		t.Errorf("cursor %d, top %d: the cursor is off the 7 rows shown", tb.cursor, tb.top)
	}
	if tb.Update(tea.KeyPressMsg{Code: 'r', Text: "r"}) || tb.Update(tea.KeyPressMsg{Code: 'q', Text: "q"}) {
		t.Error("r and q are the board's keys, not the table's")
	}
	// The board gives the table what its size leaves: 24 lines less the
	// header, ruler, detail and help bar.
	b.Update(tea.WindowSizeMsg{Width: 60, Height: 20})
	if tb.rows != 20-boardDetailLines-4 || tb.w != 60 {
		t.Errorf("at 60x20 the table is %dx%d rows", tb.w, tb.rows)
	}
	fits(t, b.Render(), 60, 20)
}

// TestBoardDetailSetSize: the detail takes its width, always the same
// number of lines, and wraps the reason and the fix within it.
func TestBoardDetailSetSize(t *testing.T) {
	d := boardDetail{st: NewStyles(true), steps: steps.BoardSteps()}
	r := &steps.Report{Steps: []steps.StepCheck{{ID: steps.DeployA, State: steps.CheckFailed,
		Reason: "service gemini-service in us-central1 has no ready revision: its container did not start",
		Fix:    "Run 'Deploy to region A' again, or read the revision's logs"}}}
	for _, w := range []int{80, 40} {
		d.SetSize(w)
		lines := d.View("attendee-00", r)
		if len(lines) != boardDetailLines {
			t.Errorf("at %d columns: %d lines, want %d", w, len(lines), boardDetailLines)
		}
		for _, l := range lines[1:] {
			if n := ansi.StringWidth(l); n > w && !strings.HasPrefix(l, "attendee-00: at") {
				t.Errorf("at %d columns a line of %d: %q", w, n, l)
			}
		}
		if got := strings.Join(lines, " "); !strings.Contains(got, "fix:") || !strings.Contains(got, "attendee-00: at") {
			t.Errorf("at %d columns:\n%s", w, strings.Join(lines, "\n"))
		}
		if n := ansi.StringWidth(lines[0]); n != w {
			t.Errorf("the rule is %d wide at %d columns", n, w)
		}
	}
	if got := d.View("", nil); len(got) != 1 {
		t.Errorf("with no project: %q; want the rule alone", got)
	}
}
