package tui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	"github.com/beyond-lab/beyond/steps"
	"github.com/charmbracelet/x/ansi"
)

// TestFailoverPanelKeys: the panel's keys say what they ask of the parent,
// other keys are not the panel's, and the footer and the ? page show the
// same bindings.
func TestFailoverPanelKeys(t *testing.T) {
	keys := DefaultKeyMap()
	p := newFailoverPanel(steps.DefaultVars(), keys, NewStyles(true), false)
	for k, want := range map[string]panelAction{"f": panelToggle, "w": panelWatch, "b": panelBreak, "u": panelRestore, "m": panelMove} {
		if act, ok := p.Update(keyPress(k)); !ok || act != want {
			t.Errorf("%s: %v %v, want %v", k, act, ok, want)
		}
	}
	for _, k := range []string{"n", "enter", "t", "q", "?"} {
		if act, ok := p.Update(keyPress(k)); ok {
			t.Errorf("%s is not the panel's key, but it asked for %v", k, act)
		}
	}

	p.SetLive(liveState{simulated: false})
	if slices.ContainsFunc(p.ShortHelp(), func(b key.Binding) bool { return b.Help().Key == "m" }) {
		t.Error("on Google the footer offers to move the client, which only the simulator can")
	}
	p.SetLive(liveState{simulated: true})
	short := p.ShortHelp()
	if len(short) != 5 {
		t.Errorf("footer keys %d, want w b u m f", len(short))
	}
	help := keys.FullHelp()
	for _, b := range short {
		if !slices.ContainsFunc(help, func(kh keyHelp) bool { return slices.Equal(kh.b.Keys(), b.Keys()) && kh.desc != "" }) {
			t.Errorf("the ? page lacks the footer's key %v", b.Keys())
		}
	}
}

// TestFailoverPanelSetSize: the panel draws in the size it is given, and
// nothing at height 0.
func TestFailoverPanelSetSize(t *testing.T) {
	p := newFailoverPanel(steps.DefaultVars(), DefaultKeyMap(), NewStyles(true), false)
	p.SetLive(liveState{canWatch: true, ip: "203.0.113.7", simulated: true, client: "us-central1"})
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range 60 {
		s := steps.Sample{Status: 200, Region: "us-central1", At: t0.Add(time.Duration(i) * 50 * time.Millisecond)}
		if i > 40 {
			s.Region = "europe-west1"
		}
		p.add(s)
		p.note(s.At, "a line of the timeline")
	}
	for _, size := range [][2]int{{80, 14}, {40, 6}, {24, 3}} {
		p.SetSize(size[0], size[1])
		lines := p.View()
		// Sixty lines of timeline: more than any of these heights holds.
		if len(lines) != size[1] {
			t.Errorf("at %dx%d: %d lines, want %d", size[0], size[1], len(lines), size[1])
		}
		for _, l := range lines {
			if w := ansi.StringWidth(l); w > size[0] {
				t.Errorf("at %dx%d: a line of %d cells: %q", size[0], size[1], w, l)
			}
		}
		if !strings.HasPrefix(lines[0], "Live") {
			t.Errorf("at %dx%d: first line %q", size[0], size[1], lines[0])
		}
	}
	p.SetSize(80, 0)
	if lines := p.View(); lines != nil {
		t.Errorf("at height 0 the panel drew %q", lines)
	}
}

// TestRunPanelKeys: the run panel's keys say which run they ask for, and
// its footer keys are on the ? page.
func TestRunPanelKeys(t *testing.T) {
	keys := DefaultKeyMap()
	p := newRunPanel(keys, NewStyles(true), false, true)
	for k, want := range map[string]opKind{"enter": opRun, "r": opRun, "c": opCheck, "R": opRest, "t": opType} {
		if kind, ok := p.Update(keyPress(k)); !ok || kind != want {
			t.Errorf("%s: %q %v, want %q", k, kind, ok, want)
		}
	}
	for _, k := range []string{"n", "w", "y", "v", "q"} {
		if kind, ok := p.Update(keyPress(k)); ok {
			t.Errorf("%s is not the run panel's key, but it asked for %q", k, kind)
		}
	}
	help := keys.FullHelp()
	for _, typing := range []bool{false, true} {
		for _, b := range p.ShortHelp(typing) {
			if typing && !slices.Equal(b.Keys(), keys.Stop.Keys()) {
				t.Errorf("while typing the footer offers %v; want the way out of waiting", b.Keys())
			}
			if !typing && !slices.ContainsFunc(help, func(kh keyHelp) bool { return slices.Equal(kh.b.Keys(), b.Keys()) }) {
				t.Errorf("the ? page lacks the footer's key %v", b.Keys())
			}
		}
	}
}

// TestRunPanelSetSize: a failed check's verdict and fix wrap to the width
// set and stop at the height set, the verdict first.
func TestRunPanelSetSize(t *testing.T) {
	p := newRunPanel(DefaultKeyMap(), NewStyles(true), false, true)
	s := runShown{it: item{id: steps.DeployA, title: "Deploy to region A"}, r: &stepRun{
		status: steps.StatusFailed, fresh: true, elapsed: 2 * time.Second,
		verdict: "service gemini-service in us-central1 has no ready revision: its container did not start and answer on its port",
		fix:     "Run this step again, or read the revision's logs with gcloud run services logs read",
		did:     "Deployed revision 1.\nIt answered 503.\nThen 503 again.\nAnd again.",
	}}
	full := p.Height(s, 40)
	if full < 6 {
		t.Fatalf("at 40 columns the verdict, the fix and what the step did take %d lines; want them wrapped", full)
	}
	for _, h := range []int{full, 3, 1} {
		p.SetSize(40, h)
		lines := p.View(s)
		if len(lines) != h {
			t.Errorf("at height %d: %d lines", h, len(lines))
		}
		for _, l := range lines {
			if w := ansi.StringWidth(l); w > 40 {
				t.Errorf("at height %d: a line of %d cells: %q", h, w, l)
			}
		}
		if !strings.HasPrefix(ansi.Strip(lines[0]), "✗ Check failed: service gemini-service") {
			t.Errorf("at height %d the verdict is not first: %q", h, lines)
		}
	}
	p.SetSize(40, full)
	if got := strings.Join(p.View(s), "\n"); !strings.Contains(got, "Fix: Run this step again") {
		t.Errorf("the fix is missing:\n%s", got)
	}
	p.SetSize(40, 0)
	if lines := p.View(s); len(lines) != 0 {
		t.Errorf("at height 0 the panel drew %q", lines)
	}
}

// TestRunPanelSaysWhatItDidOnce: a step kept without a check says so, not
// "Check passed", and what Do said is not drawn again when the verdict
// just said the same.
func TestRunPanelSaysWhatItDidOnce(t *testing.T) {
	p := newRunPanel(DefaultKeyMap(), NewStyles(true), false, true)
	p.SetSize(80, 20)
	kept := runShown{it: item{id: steps.BreakRegion, title: "Break region A for real"}, r: &stepRun{
		status: steps.StatusPassed, fresh: true, kept: true, verdict: "passed earlier; not checked again"}}
	if got := ansi.Strip(strings.Join(p.View(kept), "\n")); !strings.Contains(got, "Kept as passed: passed earlier") || strings.Contains(got, "Check passed") {
		t.Errorf("a kept step reads %q; want it kept, not checked", got)
	}
	same := "api.example resolves to 127.0.0.1 and answers 200"
	twice := runShown{it: item{id: steps.HTTPSCheck, title: "Check it as a browser would"}, r: &stepRun{
		status: steps.StatusPassed, fresh: true, verdict: same, did: same}}
	if got := ansi.Strip(strings.Join(p.View(twice), "\n")); strings.Count(got, same) != 1 {
		t.Errorf("the same sentence from Do and Check drawn %d times:\n%s", strings.Count(got, same), got)
	}
}

// TestFailoverPanelTimelineScrolls: a timeline longer than the panel's
// room shows its newest lines, says which, and scrolls back to its first
// line ({) and forward again (}), with those keys in the footer and on the
// ? page; a line that comes while the learner reads earlier ones does not
// move what they read.
func TestFailoverPanelTimelineScrolls(t *testing.T) {
	keys := DefaultKeyMap()
	p := newFailoverPanel(steps.DefaultVars(), keys, NewStyles(true), false)
	p.SetLive(liveState{canWatch: true, ip: "203.0.113.7", simulated: true, client: "us-central1"})
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	p.add(steps.Sample{Status: 200, Region: "us-central1", At: t0})
	p.step(steps.Event{Kind: steps.EventBreak, At: t0}, nil)
	for i := 1; i <= 20; i++ {
		p.note(t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("line %d of the timeline", i))
	}
	p.SetSize(80, 12) // 5 lines of statistics, 7 of timeline: one says which lines show
	shows := func(what string) bool {
		return slices.ContainsFunc(p.View(), func(l string) bool { return strings.Contains(l, what) })
	}
	footer := func(k key.Binding) bool {
		return slices.ContainsFunc(p.ScrollHelp(), func(b key.Binding) bool { return slices.Equal(b.Keys(), k.Keys()) })
	}
	if lines := p.View(); len(lines) != 12 || !shows("line 20 of") || shows("break sent") || !shows("timeline 16–21 of 21 · { earlier") {
		t.Fatalf("newest first:\n%s", strings.Join(lines, "\n"))
	}
	if !footer(keys.Earlier) || footer(keys.Later) {
		t.Errorf("footer %v; want { and not }", p.ScrollHelp())
	}
	for range 30 { // more than there is: it stops at the first line
		if act, ok := p.Update(keyPress("{")); !ok || act != panelNone {
			t.Fatalf("{: %v %v; want the panel's own scroll", act, ok)
		}
	}
	if lines := p.View(); len(lines) != 12 || !shows("+0.0s break sent") || !shows("timeline 1–6 of 21 · } later") || shows("line 6 of") {
		t.Fatalf("scrolled to the start:\n%s", strings.Join(lines, "\n"))
	}
	if footer(keys.Earlier) || !footer(keys.Later) {
		t.Errorf("footer at the start %v; want } and not {", p.ScrollHelp())
	}
	p.note(t0.Add(time.Minute), "a new line")
	if !shows("+0.0s break sent") || shows("a new line") {
		t.Errorf("a new line moved the timeline being read:\n%s", strings.Join(p.View(), "\n"))
	}
	for range 30 {
		p.Update(keyPress("}"))
	}
	if !shows("a new line") || !shows("timeline 17–22 of 22 · { earlier") {
		t.Errorf("scrolled forward to the end:\n%s", strings.Join(p.View(), "\n"))
	}
	help := keys.FullHelp()
	for _, k := range []key.Binding{keys.Earlier, keys.Later} {
		if !slices.ContainsFunc(help, func(kh keyHelp) bool { return slices.Contains(kh.b.Keys(), k.Keys()[0]) && kh.desc != "" }) {
			t.Errorf("the ? page lacks %v", k.Keys())
		}
	}
}

// TestRunPanelShowsTheWholeVerdict: the verdict and what the step did are
// drawn whole, wrapped, when the panel has the room (the failover step's
// report ends with its signals), and scroll (> and <) when it has not,
// saying which lines show, the verdict first.
func TestRunPanelShowsTheWholeVerdict(t *testing.T) {
	keys := DefaultKeyMap()
	p := newRunPanel(keys, NewStyles(true), false, true)
	s := runShown{it: item{id: steps.Failover, title: "Watch the failover"}, r: &stepRun{
		status: steps.StatusPassed, fresh: true, elapsed: time.Second,
		verdict: "38 of 40 requests were answered from europe-west1 and none from us-central1; 2 failed, as a front end tried us-central1 again when its ejection ran out.",
		did: "Traffic moved from us-central1 to europe-west1 in 1.20 s, probed at 20/s; what clients saw: 3 of 139 requests failed, from 1.59 s after the break for 0.10 s.\n" +
			"outlier-detection: acted at +1.6 s, 3 failed before, 0 after.\n" +
			"service-health: acted at +4.2 s, 3 failed before, 0 after; the last line of the report.",
	}}
	full := p.Height(s, 60)
	p.SetSize(60, full)
	p.Follow(s)
	all := ansi.Strip(strings.Join(p.View(s), "\n"))
	for _, want := range []string{"tried us-central1 again", "the last line of the report.", "outlier-detection: acted"} {
		if !strings.Contains(all, want) {
			t.Errorf("with room for all (%d lines) it lacks %q:\n%s", full, want, all)
		}
	}
	if strings.Contains(all, "…") {
		t.Errorf("with room for all it cut something:\n%s", all)
	}

	p.SetSize(60, 4)
	p.Follow(s)
	view := func() string { return ansi.Strip(strings.Join(p.View(s), "\n")) }
	got := view()
	if lines := p.View(s); len(lines) != 4 || !strings.HasPrefix(ansi.Strip(lines[0]), "✓ Check passed: 38 of 40") || !strings.Contains(got, fmt.Sprintf("lines 1–3 of %d · > more", full)) {
		t.Fatalf("in 4 lines of %d:\n%s", full, got)
	}
	if !slices.ContainsFunc(p.ScrollHelp(), func(b key.Binding) bool { return slices.Equal(b.Keys(), keys.RunMore.Keys()) }) {
		t.Errorf("footer %v lacks >", p.ScrollHelp())
	}
	for range 20 { // more than there is: it stops at the last line
		if kind, ok := p.Update(keyPress(">")); !ok || kind != "" {
			t.Fatalf(">: %q %v; want the panel's own scroll", kind, ok)
		}
	}
	if got := view(); !strings.Contains(got, "the last line of the report.") || !strings.Contains(got, fmt.Sprintf("of %d · < back", full)) {
		t.Errorf("scrolled to the end:\n%s", got)
	}
	for range 20 {
		p.Update(keyPress("<"))
	}
	if got := view(); !strings.HasPrefix(got, "✓ Check passed: 38 of 40") {
		t.Errorf("scrolled back to the start:\n%s", got)
	}
	// Another run starts at its verdict again.
	p.Update(keyPress(">"))
	again := s
	again.r = &stepRun{status: steps.StatusFailed, fresh: true, verdict: s.r.verdict, did: s.r.did}
	p.Follow(again)
	if got := ansi.Strip(p.View(again)[0]); !strings.HasPrefix(got, "✗ Check failed") {
		t.Errorf("a new run starts at %q; want its verdict", got)
	}
	help := keys.FullHelp()
	for _, k := range []key.Binding{keys.RunMore, keys.RunBack} {
		if !slices.ContainsFunc(help, func(kh keyHelp) bool { return slices.Contains(kh.b.Keys(), k.Keys()[0]) && kh.desc != "" }) {
			t.Errorf("the ? page lacks %v", k.Keys())
		}
	}
}
