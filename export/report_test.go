package export_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/export"
	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/gcp/sim/clock"
	"github.com/beyond-lab/beyond/gcp/sim/simtest"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/steps"
)

// replay runs the whole lab on a fresh simulator, keeping its events and
// progress in a state directory, as `beyond --non-interactive` does.
func replay(t *testing.T, project string) (steps.Vars, steps.Store, []steps.Event, *steps.Runner) {
	t.Helper()
	clk := clock.NewAdjustable()
	s := simtest.Start(t, sim.Options{Clock: clk})
	vars := steps.DefaultVars()
	vars.Project = project
	vars.Image = lab.HelloImage
	cloud := simtest.Connect(t, s, project)
	store := steps.Store{Dir: t.TempDir()}
	var mu sync.Mutex
	var events []steps.Event
	r, err := steps.New(cloud, vars, steps.Options{Store: store, Emit: func(e steps.Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
		if e.Kind == steps.EventProgress && e.Step == steps.Restore {
			// The restore waits for the region's ejection to end: simulated
			// time, moved on instead of waited for.
			clk.Advance(time.Minute)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := r.Run(context.Background(), steps.Range{})
	if err != nil || !sum.OK() {
		t.Fatalf("replay: %+v %v", sum, err)
	}
	mu.Lock()
	defer mu.Unlock()
	return vars, store, append([]steps.Event(nil), events...), r
}

// svgChart is what a chart shows, read back from its XML.
type svgChart struct {
	perRegion map[string]int
	failed    int
	marks     []string // kind:step
	captions  []map[string]string
	ticks     map[string]string // the time axis: seconds → x
	markAt    map[string]string // kind:step → its line's x
	markOff   map[string]string // kind:step → its data-offset
}

func readChart(t *testing.T, data []byte) svgChart {
	t.Helper()
	c := svgChart{perRegion: map[string]int{}, ticks: map[string]string{}, markAt: map[string]string{}, markOff: map[string]string{}}
	mark := ""
	d := xml.NewDecoder(strings.NewReader(string(data)))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v\n%s", err, data)
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		a := map[string]string{}
		for _, at := range el.Attr {
			a[at.Name.Local] = at.Value
		}
		switch {
		case el.Name.Local == "rect" && a["class"] == "bar":
			n, err := strconv.Atoi(a["data-count"])
			if err != nil {
				t.Fatalf("bar without a count: %v", a)
			}
			if a["data-failed"] == "true" {
				c.failed += n
			} else {
				c.perRegion[a["data-region"]] += n
			}
		case el.Name.Local == "g" && a["class"] == "mark":
			mark = a["data-kind"] + ":" + a["data-step"]
			c.marks = append(c.marks, mark)
			c.markOff[mark] = a["data-offset"]
		case el.Name.Local == "line" && mark != "":
			c.markAt[mark], mark = a["x1"], ""
		case el.Name.Local == "text" && a["class"] == "tick":
			c.ticks[a["data-seconds"]] = a["x"]
		case el.Name.Local == "text" && a["class"] == "failover":
			var text string
			if err := d.DecodeElement(&text, &el); err != nil {
				t.Fatal(err)
			}
			a["text"] = text
			c.captions = append(c.captions, a)
		}
	}
	return c
}

// TestReportShowsWhatTheEventsMeasured replays the lab and checks the
// chart against the event stream: every answer of the global IP the runner
// emitted from the first break to the end of the restore is in a bar, by
// its region or as a failure; the breaks and the restore are marked; the
// failover the runner measured (the JSON replay's "failover" event) is the
// chart's caption and the report's table row.
func TestReportShowsWhatTheEventsMeasured(t *testing.T) {
	t.Parallel() // a whole replay, on its own simulator, beside the gcloud script
	vars, store, events, r := replay(t, "beyond-report-test")
	rec, err := store.LoadRecord("simulator", vars.Project)
	if err != nil {
		t.Fatal(err)
	}

	// From the events: the samples between the first break's start and the
	// restore's end, the breaks and restores that took effect, the failover.
	want := map[string]int{}
	wantFailed := 0
	var wantMarks []string
	var failovers []*steps.FailoverReport
	on := false
	for _, e := range events {
		switch {
		case e.Kind == steps.EventStarted && (e.Step == steps.BreakWorkshop) && !on:
			on = true
		case !on:
		case e.Kind == steps.EventSample:
			if e.Sample.Failed() {
				wantFailed++
			} else {
				want[e.Sample.Region]++
			}
		case e.Kind == steps.EventDid && e.Err == nil && (e.Step == steps.BreakWorkshop || e.Step == steps.BreakRegion):
			wantMarks = append(wantMarks, "break:"+e.Step)
		case e.Kind == steps.EventDid && e.Err == nil && e.Step == steps.Restore:
			wantMarks = append(wantMarks, "restore:"+e.Step)
		case e.Kind == steps.EventFailover:
			failovers = append(failovers, e.Failover)
		case e.Kind == steps.EventDone && e.Step == steps.Restore:
			on = false
		}
	}
	if len(failovers) != 1 || want[vars.RegionB] == 0 {
		t.Fatalf("the replay measured %d failovers, %v answers: want one failover, answers from %s", len(failovers), want, vars.RegionB)
	}

	chart := readChart(t, export.Chart(rec, vars))
	if fmt.Sprint(chart.perRegion) != fmt.Sprint(want) || chart.failed != wantFailed {
		t.Errorf("the chart shows %v and %d failed; the events had %v and %d failed", chart.perRegion, chart.failed, want, wantFailed)
	}
	if fmt.Sprint(chart.marks) != fmt.Sprint(wantMarks) {
		t.Errorf("the chart marks %v; the events had %v", chart.marks, wantMarks)
	}
	// The break is marked at the instant it was sent (EventBreak), t=0 of
	// the failover's offsets, and the chart counts from there.
	for _, e := range events {
		if e.Kind != steps.EventBreak || e.Step != steps.BreakRegion {
			continue
		}
		for _, m := range rec.Marks {
			if m.Step == steps.BreakRegion && !m.At.Equal(e.At) {
				t.Errorf("the break is recorded at %v; it was sent at %v", m.At, e.At)
			}
		}
	}
	if off := chart.markOff["break:"+steps.BreakRegion]; off != "0.000" {
		t.Errorf("the break's line is at %s s; want 0, the origin of the failover's offsets", off)
	}
	f := failovers[0]
	if len(chart.captions) != 1 {
		t.Fatalf("the chart has %d failover captions, want 1", len(chart.captions))
	}
	c := chart.captions[0]
	if c["data-requests"] != strconv.Itoa(f.Requests) || c["data-failed"] != strconv.Itoa(f.FailedRequests) ||
		c["data-reroute"] != fmt.Sprintf("%.3f", f.RerouteSeconds) || !strings.Contains(c["text"], f.Failures()) {
		t.Errorf("the chart's caption %v does not say what the failover event measured: %+v", c, *f)
	}

	md := string(export.Report(export.Run{Label: "SIMULATOR", Vars: vars, Steps: r.Steps(), Saved: r.Saved(), Record: rec, At: time.Now()}, export.ChartFile))
	for _, s := range []string{
		"![Requests per second by region, failures, the break and the restore](failover.svg)",
		fmt.Sprintf("| %d at %.0f/s | %d | %s → %s | %.2f s |", f.Requests, f.Rate, f.FailedRequests, f.Before, f.After, f.RerouteSeconds),
		"| Deploy to region A (`deploy-a`) | the lab |",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("the report lacks %q:\n%s", s, md)
		}
	}
	// One row per failover signal the event carried, with its numbers.
	if len(f.Signals) != 2 {
		t.Fatalf("the failover event carries %d signals, want 2 (outlier detection, service health): %+v", len(f.Signals), f.Signals)
	}
	for _, sg := range f.Signals {
		row := signalRow(md, sg.Signal)
		if row == "" {
			t.Errorf("the report has no row for signal %s:\n%s", sg.Signal, md)
			continue
		}
		want := "did not act"
		if sg.ActedSeconds >= 0 {
			want = fmt.Sprintf("| %.2f s after the break | %d | %d | %d |", sg.ActedSeconds, sg.FailedBefore, sg.FailedAfter, sg.ServedByBrokenAfter)
		}
		if !sg.Observed {
			want = "not observable here"
		}
		if !strings.Contains(row, want) || (sg.Note != "" && !strings.Contains(row, sg.Note)) {
			t.Errorf("the row of signal %s is %q; the event measured %+v", sg.Signal, row, sg)
		}
	}
}

// signalRow is the report's table row of a failover signal.
func signalRow(md, signal string) string {
	name := map[string]string{steps.SignalOutlier: "| outlier detection", steps.SignalHealth: "| Cloud Run service health"}[signal]
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, name) {
			return line
		}
	}
	return ""
}

// TestReportShowsEachSignal: the failover table has one row per signal,
// and a signal that did not act, or that the lab cannot observe, says so
// instead of showing numbers.
func TestReportShowsEachSignal(t *testing.T) {
	vars := steps.DefaultVars()
	rec := steps.Record{Failovers: []steps.FailoverReport{{Method: "unready-switch", Requests: 100, Rate: 20, Before: vars.RegionA, After: vars.RegionB,
		Signals: []steps.SignalReport{
			{Signal: steps.SignalOutlier, Observed: true, ActedSeconds: -1, Note: "no request failed before traffic moved"},
			{Signal: steps.SignalHealth, Observed: true, ActedSeconds: 2.5, FailedBefore: 0, FailedAfter: 1, ServedByBrokenAfter: 3, Passing: 0, Instances: 1, Note: "kept the region out"},
		}}, {Method: "outage-switch", Requests: 50, Rate: 20, FailedRequests: 4, Before: vars.RegionA, After: vars.RegionB,
		Signals: []steps.SignalReport{
			{Signal: steps.SignalOutlier, Observed: true, ActedSeconds: 1.25, FailedBefore: 4},
			{Signal: steps.SignalHealth, Note: "the lab cannot read Cloud Run service health on Google"},
		}}}}
	md := string(export.Report(export.Run{Label: "SIMULATOR", Vars: vars, Steps: steps.Lab(), Record: rec}, ""))
	for _, s := range []string{
		"| Cloud Run service health (only the readiness probe fails) | 100 at 20/s | 0 |",
		"on the same break (Cloud Run service health (only the readiness probe fails)):",
		"| outlier detection (passive: errors clients saw) | did not act | — | — | — | — | no request failed before traffic moved |",
		"| Cloud Run service health (active: readiness probes) | 2.50 s after the break | 0 | 1 | 3 | 0 of 1 instances passing | kept the region out |",
		"| outlier detection (passive: errors clients saw) | 1.25 s after the break | 4 | 0 | 0 | — | — |",
		"| Cloud Run service health (active: readiness probes) | not observable here | — | — | — | — | the lab cannot read Cloud Run service health on Google |",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("the report lacks %q:\n%s", s, md)
		}
	}
}

// TestReportSaysWhoDidEachStep: a step typed by the learner is theirs, a
// step that fails now says why and how to fix it, and a run with no
// failover measured says what to run.
func TestReportSaysWhoDidEachStep(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	vars := steps.DefaultVars()
	vars.Project = "beyond-report-unit"
	run := export.Run{Label: "SIMULATOR", Vars: vars, Steps: steps.Lab(), At: at,
		Saved: steps.Saved{Steps: map[string]steps.SavedState{
			steps.NEGA:   {Status: steps.StatusPassed, At: at, By: steps.ByLearner},
			steps.NEGB:   {Status: steps.StatusPassed, At: at, By: steps.ByLab},
			steps.URLMap: {Status: steps.StatusFailed, At: at},
		}},
		Check: steps.Report{Passed: 1, Steps: []steps.StepCheck{
			{ID: steps.NEGA, State: steps.CheckPassed, Reason: "NEG neg-us-central1 points at gemini-service."},
			{ID: steps.URLMap, State: steps.CheckFailed, Reason: "URL map gemini-url-map retries 0 times, not 2", Fix: "Delete it | import it again"},
		}},
	}
	md := string(export.Report(run, export.ChartFile))
	for _, s := range []string{
		"| A serverless NEG for region A (`neg-a`) | you ✎ | 12:00:00 | passed: NEG neg-us-central1 points at gemini-service. |",
		"| A serverless NEG for region B (`neg-b`) | the lab | 12:00:00 | — |",
		"(`url-map`) | failed | 12:00:00 | failed: URL map gemini-url-map retries 0 times, not 2 Fix: Delete it \\| import it again |",
		"| Clean up (`cleanup`) | not done |",
		"1 of 2 steps hold now",
		"No failover was measured in this project yet",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("the report lacks %q:\n%s", s, md)
		}
	}
	if strings.Contains(md, "failover.svg") {
		t.Errorf("the report shows a chart of no measurement:\n%s", md)
	}
}

// TestChartCountsFailuresPerSecond: failed answers stack in red on top of
// the regions' in the second they were sent; a long run is drawn in wider
// buckets, never more than 240 bars; text is escaped.
func TestChartCountsFailuresPerSecond(t *testing.T) {
	vars := steps.DefaultVars()
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	rec := steps.Record{Project: "p<&>", Samples: []steps.RecordedSample{
		{At: ms(0), Status: 200, Region: vars.RegionA},
		{At: ms(500), Status: 503},
		{At: ms(1100), Error: "connection refused"},
		{At: ms(1200), Status: 200, Region: vars.RegionB},
	}, Marks: []steps.Mark{{Step: steps.BreakRegion, Title: `Break "A" <now>`, Kind: steps.MarkBreak, At: ms(400)}},
		Failovers: []steps.FailoverReport{{Method: "outage-switch", Requests: 4, FailedRequests: 2, Before: vars.RegionA, After: vars.RegionB}}}
	c := readChart(t, export.Chart(rec, vars))
	if c.failed != 2 || c.perRegion[vars.RegionA] != 1 || c.perRegion[vars.RegionB] != 1 {
		t.Errorf("chart %+v; want 1 from each region and 2 failed", c)
	}
	if len(c.marks) != 1 || len(c.captions) != 1 || !strings.Contains(c.captions[0]["text"], "2 of 4 requests failed") {
		t.Errorf("marks %v, captions %v", c.marks, c.captions)
	}

	var long steps.Record
	for i := range 6000 {
		long.Samples = append(long.Samples, steps.RecordedSample{At: ms(i * 100), Status: 200, Region: vars.RegionA})
	}
	data := export.Chart(long, vars)
	if n := strings.Count(string(data), `class="bar"`); n > 240 || n < 200 {
		t.Errorf("a 10-minute run is drawn in %d bars; want at most 240", n)
	}
	if c := readChart(t, data); c.perRegion[vars.RegionA] != 6000 {
		t.Errorf("the long chart counts %d answers, want 6000", c.perRegion[vars.RegionA])
	}
}

// TestChartCountsFromTheBreak: the chart's time axis and marks count from
// the instant the break was sent, as the failover's offsets do: the break's
// line stands at 0 s, the workshop's test before it at a negative offset,
// and the ticks run on both sides.
func TestChartCountsFromTheBreak(t *testing.T) {
	vars := steps.DefaultVars()
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	var rec steps.Record
	for i := range 30 {
		rec.Samples = append(rec.Samples, steps.RecordedSample{At: ms(i * 100), Status: 200, Region: vars.RegionA})
	}
	rec.Marks = []steps.Mark{
		{Step: steps.BreakWorkshop, Title: "The workshop's failover test", Kind: steps.MarkBreak, At: ms(200)},
		{Step: steps.BreakRegion, Title: "Break region A for real", Kind: steps.MarkBreak, At: ms(1400)},
		{Step: steps.Restore, Title: "Restore region A", Kind: steps.MarkRestore, At: ms(2800)},
	}
	rec.Failovers = []steps.FailoverReport{{Method: "outage-switch", Requests: 30, Before: vars.RegionA, After: vars.RegionB}}
	c := readChart(t, export.Chart(rec, vars))
	brk := "break:" + steps.BreakRegion
	if c.ticks["0"] == "" || c.ticks["0"] != c.markAt[brk] {
		t.Errorf("the 0 s tick is at x=%q, the break's line at x=%q; want them at one place (ticks %v)", c.ticks["0"], c.markAt[brk], c.ticks)
	}
	if c.ticks["-1"] == "" || c.ticks["1"] == "" {
		t.Errorf("ticks %v; want seconds before the break (-1) and after it (1)", c.ticks)
	}
	for mark, want := range map[string]string{brk: "0.000", "break:" + steps.BreakWorkshop: "-1.200", "restore:" + steps.Restore: "1.400"} {
		if c.markOff[mark] != want {
			t.Errorf("%s at %q s; want %s s from the break", mark, c.markOff[mark], want)
		}
	}
}
