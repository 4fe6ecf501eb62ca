package export

import (
	"bytes"
	"cmp"
	"fmt"
	"html"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/beyond-lab/beyond/steps"
)

// Run is what a report tells: the lab's steps, who did each and when (the
// saved progress), where each stands now (a read-only sweep of the
// project) and what the verification measured (the run's Record).
type Run struct {
	Label  string // where it ran: "SIMULATOR", "Google Cloud project P"
	Vars   steps.Vars
	Steps  []*steps.Step
	Saved  steps.Saved
	Check  steps.Report
	Record steps.Record
	At     time.Time // when the report was made
}

// ChartFile is the name the failover chart is written under, beside the
// report.
const ChartFile = "failover.svg"

// Report renders the run as Markdown; the chart, when the run measured a
// failover, is the image chart (a path relative to the report).
func Report(run Run, chart string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Beyond the Region: your run\n\nProject `%s` on %s. Report made %s.\n\n", run.Vars.Project, run.Label, run.At.UTC().Format("2006-01-02 15:04 MST"))
	checks := map[string]steps.StepCheck{}
	for _, c := range run.Check.Steps {
		checks[c.ID] = c
	}
	b.WriteString("## Steps\n\n")
	if len(run.Check.Steps) > 0 {
		fmt.Fprintf(&b, "%d of %d steps hold now (checked read-only when this report was made). ", run.Check.Passed, len(run.Check.Steps))
	}
	b.WriteString("*Done by* says who did each step: the lab, or you by hand (typing mode).\n\n")
	b.WriteString("| step | done by | when | its check now |\n|---|---|---|---|\n")
	for _, s := range run.Steps {
		saved, ok := run.Saved.Steps[s.ID]
		by, when := "not done", ""
		if ok {
			when = saved.At.UTC().Format("15:04:05")
			switch {
			case saved.Status != steps.StatusPassed:
				by = string(saved.Status)
			case saved.By == steps.ByLearner:
				by = "you ✎"
			default:
				by = "the lab"
			}
		}
		check := "—"
		if c, ok := checks[s.ID]; ok {
			check = string(c.State)
			if c.Reason != "" {
				check += ": " + c.Reason
			}
			if c.State != steps.CheckPassed && c.Fix != "" {
				check += " Fix: " + c.Fix
			}
		}
		fmt.Fprintf(&b, "| %s (`%s`) | %s | %s | %s |\n", cell(s.Title), s.ID, by, when, cell(check))
	}

	b.WriteString("\n## Failover\n\n")
	rec := run.Record
	if len(rec.Failovers) == 0 {
		b.WriteString("No failover was measured in this project yet: run the verification steps (Part 4), then this report again.\n")
		return b.Bytes()
	}
	b.WriteString("What the lab measured, per failover signal, probing the global IP at a steady rate. Clients' failures are counted, never hidden: the retry policy cuts them, it does not promise none.\n\n")
	b.WriteString("| the break (what the load balancer saw) | requests | failed | traffic moved | rerouted in | first failure after the break | failing for |\n|---|---|---|---|---|---|---|\n")
	for _, f := range rec.Failovers {
		first, failing := "—", "—"
		if f.FailedRequests > 0 {
			first, failing = fmt.Sprintf("%.2f s", f.FirstFailureSeconds), fmt.Sprintf("%.2f s", f.FailingSeconds)
		}
		fmt.Fprintf(&b, "| %s | %d at %.0f/s | %d | %s → %s | %.2f s | %s | %s |\n",
			cell(steps.Signal(f.Method)), f.Requests, f.Rate, f.FailedRequests, f.Before, f.After, f.RerouteSeconds, first, failing)
	}
	for _, f := range rec.Failovers {
		signalTable(&b, f, len(rec.Failovers) > 1)
	}
	if len(rec.Samples) > 0 && chart != "" {
		fmt.Fprintf(&b, "\n![Requests per second by region, failures, the break and the restore](%s)\n\n", chart)
		fmt.Fprintf(&b, "The chart counts the %d answers of the global IP recorded from the first break to the end of the restore, second by second: each region's share, failures in red, the break and the restore marked. Its seconds count from the instant the lab sent the break, as the offsets above do.\n", len(rec.Samples))
	}
	return b.Bytes()
}

// signalNames are the failover signals (steps.SignalReport.Signal) as the
// report names them.
var signalNames = map[string]string{
	steps.SignalOutlier: "outlier detection (passive: errors clients saw)",
	steps.SignalHealth:  "Cloud Run service health (active: readiness probes)",
}

// signalTable is one row per failover signal of a failover: when it took
// the broken region out, and what clients saw before and after. A signal
// the lab cannot observe (service health on Google) or that did not act
// says so instead of numbers.
func signalTable(b *bytes.Buffer, f steps.FailoverReport, which bool) {
	if len(f.Signals) == 0 {
		return
	}
	b.WriteString("\nBoth failover signals, measured on the same break")
	if which {
		fmt.Fprintf(b, " (%s)", steps.Signal(f.Method))
	}
	b.WriteString(":\n\n| signal | took the region out | requests failed before | failed after | answered by the broken region after | readiness at the end | what it did |\n|---|---|---|---|---|---|---|\n")
	for _, sg := range f.Signals {
		name := cmp.Or(signalNames[sg.Signal], sg.Signal)
		acted, before, after, broken := "—", "—", "—", "—"
		switch {
		case !sg.Observed:
			acted = "not observable here"
		case sg.ActedSeconds < 0:
			acted = "did not act"
		default:
			acted = fmt.Sprintf("%.2f s after the break", sg.ActedSeconds)
			before, after, broken = fmt.Sprint(sg.FailedBefore), fmt.Sprint(sg.FailedAfter), fmt.Sprint(sg.ServedByBrokenAfter)
		}
		ready := "—"
		if sg.Instances > 0 {
			ready = fmt.Sprintf("%d of %d instances passing", sg.Passing, sg.Instances)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", cell(name), acted, before, after, broken, ready, cell(cmp.Or(sg.Note, "—")))
	}
}

// cell makes text fit a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

// Chart geometry.
const (
	chartW, chartH       = 860, 360
	padL, padR           = 56, 20
	padT, padB           = 40, 80
	maxBars              = 240
	failedKey            = "failed"
	colourFailed         = "#d62728"
	colourBreak          = "#d62728"
	colourRestore        = "#2ca02c"
	colourOther          = "#7f7f7f"
	colourA, colourB     = "#1f77b4", "#ff7f0e"
	barGap               = 1
	captionLine          = 16
	plotW, plotH         = chartW - padL - padR, chartH - padT - padB
	defaultBucketSeconds = 1
)

// Chart renders the run's failover as an SVG: the global IP's answers per
// time bucket (a second, or more for a long run), stacked by the region
// that answered, failures on top, the breaks and restores as vertical
// lines, and each failover measurement as a caption. Every bar carries its
// numbers (data-region, data-count) so the chart can be checked.
func Chart(rec steps.Record, vars steps.Vars) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", chartW, chartH+captionLine*len(rec.Failovers), chartW, chartH+captionLine*len(rec.Failovers))
	fmt.Fprintf(&b, `<title>Failover of project %s: requests per second by region, and failures</title>`+"\n", esc(rec.Project))
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">Requests to the global IP, by the region that answered</text>`+"\n", padL)
	if len(rec.Samples) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d">No answers were recorded: run the verification steps first.</text>`+"\n</svg>\n", padL, padT+plotH/2)
		return b.Bytes()
	}
	samples := slices.SortedStableFunc(slices.Values(rec.Samples), func(a, b steps.RecordedSample) int { return a.At.Compare(b.At) })
	start, end := samples[0].At, samples[len(samples)-1].At
	for _, m := range rec.Marks {
		if m.At.After(end) {
			end = m.At
		}
	}
	// t=0 is the instant the last break was sent: the failover's offsets
	// (the captions, the report's table, the guide's timeline) count from
	// it, and so do the axis and the marks.
	origin := start
	for _, m := range rec.Marks {
		if m.Kind == steps.MarkBreak {
			origin = m.At
		}
	}
	zero := origin.Sub(start).Seconds()
	span := end.Sub(start).Seconds()
	bucket := float64(defaultBucketSeconds)
	if span/bucket > maxBars {
		bucket = math.Ceil(span / maxBars)
	}
	n := int(span/bucket) + 1
	counts := make([]map[string]int, n)
	for i := range counts {
		counts[i] = map[string]int{}
	}
	for _, s := range samples {
		i := int(s.At.Sub(start).Seconds() / bucket)
		if s.Failed() {
			counts[i][failedKey]++
		} else {
			counts[i][cmp.Or(s.Region, "unknown")]++
		}
	}
	// Regions in a fixed order: A, B, then the others by name; failures last.
	seen := map[string]bool{}
	for _, c := range counts {
		for k := range c {
			seen[k] = true
		}
	}
	var order []string
	for _, r := range []string{vars.RegionA, vars.RegionB} {
		if seen[r] {
			order = append(order, r)
			delete(seen, r)
		}
	}
	failed := seen[failedKey]
	delete(seen, failedKey)
	order = append(order, slices.Sorted(maps.Keys(seen))...)
	if failed {
		order = append(order, failedKey)
	}
	colour := func(k string) string {
		switch k {
		case vars.RegionA:
			return colourA
		case vars.RegionB:
			return colourB
		case failedKey:
			return colourFailed
		}
		return colourOther
	}
	top := 1
	for _, c := range counts {
		sum := 0
		for _, v := range c {
			sum += v
		}
		top = max(top, sum)
	}
	x := func(sec float64) float64 { return padL + sec/(float64(n)*bucket)*plotW }
	y := func(v int) float64 { return padT + plotH - float64(v)/float64(top)*plotH }
	barW := math.Max(float64(plotW)/float64(n)-barGap, 1)

	// Axes, with ticks.
	fmt.Fprintf(&b, `<g stroke="#333"><line x1="%d" y1="%d" x2="%d" y2="%d"/><line x1="%d" y1="%d" x2="%d" y2="%d"/></g>`+"\n",
		padL, padT+plotH, padL+plotW, padT+plotH, padL, padT, padL, padT+plotH)
	for _, v := range []int{0, top / 2, top} {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%d</text>`+"\n", padL-6, y(v)+4, v)
	}
	fmt.Fprintf(&b, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">requests per %gs</text>`+"\n", padT+plotH/2, padT+plotH/2, bucket)
	// Ticks in seconds from the break, on both sides of it.
	step := math.Max(bucket, niceStep(span))
	for t := -math.Floor(zero/step) * step; zero+t <= span+1e-9; t += step {
		fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%d" text-anchor="middle" data-seconds="%g">%gs</text>`+"\n", x(zero+t), padT+plotH+16, t, t)
	}

	// Bars.
	b.WriteString(`<g id="bars">` + "\n")
	for i, c := range counts {
		base := 0
		for _, k := range order {
			v := c[k]
			if v == 0 {
				continue
			}
			attr := fmt.Sprintf(`data-region="%s"`, esc(k))
			if k == failedKey {
				attr = `data-failed="true"`
			}
			fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" data-bucket="%d" %s data-count="%d"><title>%gs: %d %s</title></rect>`+"\n",
				x(float64(i)*bucket), y(base+v), barW, y(base)-y(base+v), colour(k), i, attr, v, float64(i)*bucket, v, esc(k))
			base += v
		}
	}
	b.WriteString("</g>\n")

	// Breaks and restores.
	for i, m := range rec.Marks {
		off := m.At.Sub(start).Seconds()
		c := colourBreak
		if m.Kind == steps.MarkRestore {
			c = colourRestore
		}
		// Labels one under the other, on the side of the line with room.
		tx, anchor := x(off)+3, "start"
		if x(off) > padL+plotW/2 {
			tx, anchor = x(off)-3, "end"
		}
		fmt.Fprintf(&b, `<g class="mark" data-kind="%s" data-step="%s" data-offset="%.3f"><line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-dasharray="4 3"/><text x="%.1f" y="%d" fill="%s" text-anchor="%s">%s</text></g>`+"\n",
			m.Kind, esc(m.Step), off-zero, x(off), padT, x(off), padT+plotH, c, tx, padT+12+14*i, c, anchor, esc(fmt.Sprintf("%s: %s (%+.1fs)", m.Kind, m.Title, off-zero)))
	}

	// Legend.
	lx := padL
	for _, k := range order {
		label := k
		if k == failedKey {
			label = "failed"
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", lx, padT+plotH+30, colour(k), lx+14, padT+plotH+39, esc(label))
		lx += 24 + 8*len(label)
	}

	// What was measured.
	for i, f := range rec.Failovers {
		fmt.Fprintf(&b, `<text class="failover" x="%d" y="%d" data-method="%s" data-requests="%d" data-failed="%d" data-reroute="%.3f">%s</text>`+"\n",
			padL, chartH+i*captionLine-10, esc(f.Method), f.Requests, f.FailedRequests, f.RerouteSeconds,
			esc(fmt.Sprintf("%s: traffic moved %s → %s in %.2f s; %s.", steps.Signal(f.Method), f.Before, f.After, f.RerouteSeconds, f.Failures())))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// niceStep is a tick spacing that gives about ten ticks over span seconds.
func niceStep(span float64) float64 {
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600} {
		if span/s <= 10 {
			return s
		}
	}
	return 1200
}

func esc(s string) string { return html.EscapeString(s) }
