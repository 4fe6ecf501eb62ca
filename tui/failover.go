package tui

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/beyond-lab/beyond/steps"
	"github.com/charmbracelet/x/ansi"
)

// The failover panel is the prober's view of the global IP: every request
// it made (EventSample), and the breaks and restores that explain them.
// Everything it shows is derived from sample and step events, so it draws a
// replay exactly as it drew the live run.

const (
	keepSamples = 2000             // about 100 s at 20 requests a second
	window      = 10 * time.Second // the span the statistics cover
)

// failover is the state of the live panel.
type failover struct {
	regionA, regionB string
	samples          []steps.Sample
	total, failed    int
	limited          int    // 429s (a rate limit such as Cloud Armor's), counted apart from failures
	marks            []mark // the timeline, oldest first
	phase            *phase // the break or restore in progress, if any
	report           *steps.FailoverReport
	health           []steps.RegionHealth // latest Cloud Run service health, where readable
	// back is how many lines the timeline is scrolled back from its
	// newest ({ and }); 0 follows the newest as they come.
	back int
}

// mark is one line of the timeline.
type mark struct {
	at   time.Time
	text string
}

// phase follows the requests after a break or a restore, to tell when the
// traffic moved.
type phase struct {
	restore   bool
	start     time.Time
	firstErr  time.Time // first failed request since start
	firstB    time.Time // first answer from outside region A
	lastBad   time.Time // last request that failed or reached region A
	firstBack time.Time // after a restore: first answer from region A
	errors    int
	requests  int
}

func newFailover(v steps.Vars) *failover {
	return &failover{regionA: v.RegionA, regionB: v.RegionB}
}

// ok reports whether a sample was answered well.
func ok(s steps.Sample) bool { return s.Status >= 200 && s.Status < 400 && s.Err == "" }

// add records one sample.
func (f *failover) add(s steps.Sample) {
	if s.Status == http.StatusTooManyRequests {
		// Refused by a rate limit (Cloud Armor's): it says nothing of a
		// region's health, so it is counted apart, not drawn as a failure.
		f.total++
		f.limited++
		return
	}
	f.samples = append(f.samples, s)
	if n := len(f.samples); n > 2*keepSamples {
		// Trim now and then, not on every sample.
		f.samples = slices.Clone(f.samples[n-keepSamples:])
	}
	f.total++
	if !ok(s) {
		f.failed++
	}
	p := f.phase
	if p == nil || s.At.Before(p.start) {
		return
	}
	p.requests++
	fromA := s.Region == f.regionA
	if p.restore {
		if ok(s) && fromA && p.firstBack.IsZero() {
			p.firstBack = s.At
			f.mark(s.At, fmt.Sprintf("%s region A serving again (counted from the restore)", since(p.start, s.At)))
			f.phase = nil
		}
		return
	}
	if !ok(s) {
		p.errors++
		if p.firstErr.IsZero() || s.At.Before(p.firstErr) {
			// Samples may come a little out of order: the first error is
			// the one sent first, as the report has it.
			f.unmark(p.firstErr, firstErrorText)
			p.firstErr = s.At
			f.mark(s.At, fmt.Sprintf("%s "+firstErrorText+": %s", since(p.start, s.At), describe(s)))
		}
	}
	if ok(s) && !fromA && p.firstB.IsZero() {
		p.firstB = s.At
		f.mark(s.At, fmt.Sprintf("%s first answer from %s", since(p.start, s.At), s.Region))
	}
	if !ok(s) || fromA {
		p.lastBad = s.At
	}
}

// step notes the start or end of a step the panel explains; s is the step
// e is about, nil for run-wide events.
func (f *failover) step(e steps.Event, s *steps.Step) {
	breaks, restores := s != nil && s.Breaks, s != nil && s.Restores
	switch {
	case e.Kind == steps.EventStarted && breaks:
		// Until the runner says when the break is sent, the step's start
		// stands in for it.
		f.phase = &phase{start: e.At}
		f.mark(e.At, "break: "+e.Title)
	case e.Kind == steps.EventBreak:
		// t=0, the instant the failover step's report counts from too:
		// the baseline probed before it is no part of the break.
		f.phase = &phase{start: e.At}
		f.mark(e.At, "+0.0s break sent: the offsets count from here")
	case e.Kind == steps.EventDid && breaks && e.Err == nil && f.phase != nil && !f.phase.restore:
		f.mark(e.At, since(f.phase.start, e.At)+" break in place (the step's change is done)")
	case e.Kind == steps.EventStarted && restores:
		f.settle()
		f.phase = &phase{restore: true, start: e.At}
		f.mark(e.At, "restore: "+e.Title)
	case e.Kind == steps.EventDone && (breaks || restores) && e.Status != steps.StatusPassed:
		f.mark(e.At, fmt.Sprintf("%s %s: %s", e.Step, e.Status, errText(e.Err)))
	case e.Kind == steps.EventFailover && e.Failover != nil:
		f.settle()
		f.report = e.Failover
		r := e.Failover
		f.mark(e.At, fmt.Sprintf("measured: rerouted in %.1f s, %d/%d failed", r.RerouteSeconds, r.FailedRequests, r.Requests))
		if r.FailedRequests > 0 {
			// One origin on the timeline: the report counts from the
			// instant the break was sent (EventBreak), as the panel does.
			f.mark(e.At, fmt.Sprintf("clients saw failures from +%.1fs for %.1fs", r.FirstFailureSeconds, r.FailingSeconds))
		}
		for _, sig := range r.Signals {
			f.mark(e.At, signalLine(sig))
		}
	case e.Kind == steps.EventHealth:
		for _, h := range e.Health {
			if old := f.healthOf(h.Region); old.State != "" && old.State != h.State {
				f.mark(e.At, fmt.Sprintf("%s service health: %s → %s", h.Region, old.State, h.State))
			}
		}
		f.health = e.Health
	}
}

// healthOf is region's latest service health, or a zero one.
func (f *failover) healthOf(region string) steps.RegionHealth {
	for _, h := range f.health {
		if h.Region == region {
			return h
		}
	}
	return steps.RegionHealth{}
}

// signalLine is one failover signal's measured result, for the timeline.
func signalLine(sig steps.SignalReport) string {
	switch {
	case !sig.Observed:
		return sig.Signal + ": not observable here"
	case sig.ActedSeconds < 0:
		return sig.Signal + ": did not act"
	}
	return fmt.Sprintf("%s: acted at +%.1f s, %d failed before, %d after", sig.Signal, sig.ActedSeconds, sig.FailedBefore, sig.FailedAfter)
}

// healthLine shows each region's service health beside its share: state and
// instances passing their readiness probe.
func (f *failover) healthLine(w int) string {
	if len(f.health) == 0 {
		return ""
	}
	letter := func(region string) string {
		if region == f.regionB {
			return "B"
		}
		return "A"
	}
	var long, short []string
	for _, h := range f.health {
		long = append(long, fmt.Sprintf("%s %s %d/%d", letter(h.Region), h.State, h.Passing, h.Instances))
		short = append(short, fmt.Sprintf("%s %s", letter(h.Region), h.State))
	}
	return first(w, "health "+strings.Join(long, " · "), "health "+strings.Join(short, " · "))
}

// settle closes a break phase, writing when region A stopped being used.
func (f *failover) settle() {
	p := f.phase
	if p == nil || p.restore {
		return
	}
	f.phase = nil
	if p.firstB.IsZero() {
		return
	}
	text := fmt.Sprintf("%s region A ejected after %d errors, none since", since(p.start, p.lastBad), p.errors)
	at := p.lastBad
	if p.errors == 0 || at.IsZero() {
		at = p.firstB
		text = fmt.Sprintf("%s region A out, none since", since(p.start, at))
	}
	f.mark(at, text)
}

// height is how many lines the panel wants.
func (f *failover) height() int {
	n := 3
	if len(f.samples) > 0 {
		n = 5
	}
	if len(f.health) > 0 {
		n++
	}
	return n + min(8, len(f.timeline()))
}

// headLines is how many lines the panel draws above its timeline.
func (f *failover) headLines() int {
	if len(f.samples) == 0 {
		return 3
	}
	if len(f.health) > 0 {
		return 6
	}
	return 5
}

// timeline is the timeline's lines, oldest first: the marks, and while a
// break is followed, when region A was last used so far.
func (f *failover) timeline() []mark {
	if f.phase == nil || f.phase.restore || f.phase.firstB.IsZero() {
		return f.marks
	}
	// Say live when region A stopped being used, before settle writes it.
	p := f.phase
	return append(slices.Clone(f.marks), mark{p.lastBad, fmt.Sprintf("%s last request to region A so far (%d errors)", since(p.start, p.lastBad), p.errors)})
}

// shown is which lines of the timeline the panel shows in pv, from first
// to last (exclusive) of n. When they are not all shown, one line of the
// room says which are (and the keys that show the others).
func (f *failover) shown(pv panelView) (first, last, n int) {
	n = len(f.timeline())
	room := pv.height - f.headLines()
	if room <= 0 {
		return 0, 0, 0 // no room for any
	}
	if n > room && room > 1 {
		room--
	}
	last = n - min(f.back, max(0, n-room))
	return max(0, last-room), last, n
}

// scroll moves the timeline by lines back (towards its start), or forward
// when by is negative, within what there is to show in pv.
func (f *failover) scroll(by int, pv panelView) {
	first, last, n := f.shown(pv)
	f.back = max(0, min(f.back+by, n-(last-first)))
}

// note adds a line to the timeline: watching started, client moved. It is
// dated now, or at the last sample if that is later, so that it sorts after
// the requests it follows.
func (f *failover) note(now time.Time, text string) {
	if n := len(f.samples); n > 0 && f.samples[n-1].At.After(now) {
		now = f.samples[n-1].At
	}
	f.mark(now, text)
}

// mark adds a line to the timeline, in time order: a settled ejection is
// written after the answers that came later.
func (f *failover) mark(at time.Time, text string) {
	i := len(f.marks)
	for i > 0 && f.marks[i-1].at.After(at) {
		i--
	}
	f.marks = slices.Insert(f.marks, i, mark{at, text})
	if f.back > 0 {
		f.back++ // scrolled back: the lines read stay where they are
	}
	if len(f.marks) > 50 {
		f.marks = slices.Clone(f.marks[len(f.marks)-50:])
	}
}

// firstErrorText names the timeline's line of a break's first error.
const firstErrorText = "first error"

// unmark removes the line at that instant that says what.
func (f *failover) unmark(at time.Time, what string) {
	f.marks = slices.DeleteFunc(f.marks, func(m mark) bool { return m.at.Equal(at) && strings.Contains(m.text, " "+what+":") })
}

func since(start, at time.Time) string {
	return fmt.Sprintf("+%.1fs", at.Sub(start).Seconds())
}

func describe(s steps.Sample) string {
	switch {
	case s.Err != "" && s.Status == 0:
		return s.Err
	case s.Region != "":
		return fmt.Sprintf("%d from %s", s.Status, s.Region)
	default:
		return fmt.Sprint(s.Status)
	}
}

// stats summarise the recent samples.
type stats struct {
	rate               float64 // requests per second
	n                  int
	a, b, other, fails int
	p50, p95           time.Duration
	spark              []time.Duration // mean latency per half second, oldest first
}

// recent returns the samples of the last window.
func (f *failover) recent() []steps.Sample {
	if len(f.samples) == 0 {
		return nil
	}
	last := f.samples[len(f.samples)-1].At
	i, _ := slices.BinarySearchFunc(f.samples, last.Add(-window), func(s steps.Sample, t time.Time) int {
		return s.At.Compare(t)
	})
	return f.samples[i:]
}

func (f *failover) stats(buckets int) stats {
	rs := f.recent()
	var st stats
	st.n = len(rs)
	if st.n == 0 {
		return st
	}
	// The rate over the last three seconds, so that a pause in probing
	// (between a step's burst and watching) does not dilute it.
	last := rs[st.n-1].At
	i, _ := slices.BinarySearchFunc(rs, last.Add(-3*time.Second), func(s steps.Sample, t time.Time) int {
		return s.At.Compare(t)
	})
	if n, span := st.n-i, last.Sub(rs[i].At); n > 1 && span > 0 {
		st.rate = float64(n-1) / span.Seconds()
	}
	var lat []time.Duration
	for _, s := range rs {
		switch {
		case !ok(s):
			st.fails++
		case s.Region == f.regionA:
			st.a++
		case s.Region == f.regionB:
			st.b++
		default:
			st.other++
		}
		if ok(s) {
			lat = append(lat, s.Latency)
		}
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		st.p50 = lat[(len(lat)-1)*50/100]
		st.p95 = lat[(len(lat)-1)*95/100]
	}
	if buckets > 0 {
		const width = 500 * time.Millisecond
		sum := make([]time.Duration, buckets)
		cnt := make([]int, buckets)
		for _, s := range rs {
			i := buckets - 1 - int(last.Sub(s.At)/width)
			if i >= 0 && i < buckets && ok(s) { // samples may come a little out of order
				sum[i] += s.Latency
				cnt[i]++
			}
		}
		for i := range sum {
			if cnt[i] > 0 {
				sum[i] /= time.Duration(cnt[i])
			}
		}
		st.spark = sum
	}
	return st
}

// panelView is what the panel needs from the model to draw.
type panelView struct {
	width      int
	height     int
	plain      bool // accessible: words, no blocks
	letters    bool // no colour: letters instead of coloured blocks
	watching   bool
	canWatch   bool
	ip, client string
	simulated  bool
}

// view draws the panel in at most pv.height lines.
func (f *failover) view(pv panelView, st Styles) []string {
	w := pv.width
	var out []string
	state := "w starts probing"
	if pv.watching {
		state = "probing, w stops"
	}
	if !pv.canWatch {
		state = "no global IP yet"
	}
	head := "Live"
	if pv.ip != "" {
		head += " " + pv.ip
	}
	out = append(out, fit(head+" · "+state, w))
	s := f.stats(max(0, min(20, w-36)))
	where := ""
	if f.limited > 0 {
		where = fmt.Sprintf(" · %d limited (429)", f.limited)
	}
	if pv.simulated && pv.client != "" {
		where += " · client " + pv.client
	}
	out = append(out, first(w,
		fmt.Sprintf("%.1f req/s · %d sent · %d failed%s", s.rate, f.total, f.failed, where),
		fmt.Sprintf("%.1f/s · %d sent · %d failed%s", s.rate, f.total, f.failed, where),
		fmt.Sprintf("%.1f/s · %d failed%s", s.rate, f.failed, where),
		fmt.Sprintf("%.1f/s · %d sent · %d failed", s.rate, f.total, f.failed)))
	if s.n == 0 {
		out = append(out, "no requests yet")
	} else {
		out = append(out, "recent "+f.strip(w-7, pv, st))
		pct := func(n int) int { return (n*100 + s.n/2) / s.n }
		a, b, o := "A", "B", "other"
		if !pv.plain && !pv.letters {
			// The letters in the strip's colours: the legend.
			a, b, o = st.RegionA.Render(a), st.RegionB.Render(b), st.RegionX.Render(o)
		}
		other := ""
		if s.other > 0 {
			other = fmt.Sprintf(" · %s %d%%", o, pct(s.other))
		}
		out = append(out, first(w,
			fmt.Sprintf("%s %s %d%% · %s %s %d%%%s · failed %d%%", a, f.regionA, pct(s.a), b, f.regionB, pct(s.b), other, pct(s.fails)),
			fmt.Sprintf("%s %d%% · %s %d%%%s · failed %d%%", a, pct(s.a), b, pct(s.b), other, pct(s.fails))))
		if h := f.healthLine(w); h != "" {
			out = append(out, h)
		}
		lat := fmt.Sprintf("latency p50 %s · p95 %s", ms(s.p50), ms(s.p95))
		if !pv.plain && len(s.spark) > 0 {
			lat += "  " + sparkline(s.spark)
		}
		out = append(out, fit(lat, w))
	}
	// The timeline takes what is left, newest last.
	room := pv.height - len(out)
	if room <= 0 {
		return clip(out, pv.height)
	}
	first, last, n := f.shown(pv)
	if last-first < n && room > 1 {
		where := fmt.Sprintf("timeline %d–%d of %d", first+1, last, n)
		if first > 0 {
			where += " · { earlier"
		}
		if last < n {
			where += " · } later"
		}
		out = append(out, fit(st.Dim.Render(where), w))
	}
	for _, m := range f.timeline()[first:last] {
		line := m.text
		if w >= 64 {
			line = m.at.Format("15:04:05") + " " + line
		}
		out = append(out, fit(line, w))
	}
	return out
}

// first returns the first of lines that fits in w cells, or the last cut
// to fit.
func first(w int, lines ...string) string {
	for _, l := range lines {
		if ansi.StringWidth(l) <= w {
			return l
		}
	}
	return fit(lines[len(lines)-1], w)
}

// strip draws the most recent requests, one cell each, oldest first:
// coloured by region, or the letters A, B, o (other region) and x (failed).
func (f *failover) strip(w int, pv panelView, st Styles) string {
	if w <= 0 {
		return ""
	}
	rs := f.samples
	if len(rs) > w {
		rs = rs[len(rs)-w:]
	}
	var b strings.Builder
	for _, s := range rs {
		letter, style := "o", st.RegionX
		switch {
		case !ok(s):
			letter, style = "x", st.Error
		case s.Region == f.regionA:
			letter, style = "A", st.RegionA
		case s.Region == f.regionB:
			letter, style = "B", st.RegionB
		}
		switch {
		case pv.plain || pv.letters:
			b.WriteString(letter)
		case letter == "x":
			b.WriteString(style.Render("x"))
		default:
			b.WriteString(style.Render("█"))
		}
	}
	return b.String()
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
}

// sparkline draws values as block heights; empty buckets are spaces.
func sparkline(vals []time.Duration) string {
	const bars = "▁▂▃▄▅▆▇█"
	lo, hi := time.Duration(-1), time.Duration(0)
	for _, v := range vals {
		if v == 0 {
			continue
		}
		if lo < 0 || v < lo {
			lo = v
		}
		hi = max(hi, v)
	}
	var b strings.Builder
	r := []rune(bars)
	for _, v := range vals {
		switch {
		case v == 0:
			b.WriteByte(' ')
		case hi == lo:
			b.WriteRune(r[0])
		default:
			b.WriteRune(r[int(float64(v-lo)/float64(hi-lo)*float64(len(r)-1))])
		}
	}
	return b.String()
}

func errText(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
