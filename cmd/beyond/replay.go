package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/beyond-lab/beyond/steps"
)

// runReplay is the unattended front end: it runs the lab and prints each
// step as text or as JSON lines.
func runReplay(ctx context.Context, cfg *config, stdout, stderr io.Writer) int {
	t, err := cfg.connect(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "beyond:", err)
		return exitFailed
	}
	defer t.close()
	p := &printer{out: stdout, json: cfg.json}
	r, err := steps.New(t.cloud, cfg.vars, steps.Options{Store: cfg.store(stderr), Emit: p.event, Probe: cfg.probe(), GeminiKey: cfg.geminiKey()})
	if err != nil {
		fmt.Fprintln(stderr, "beyond:", err)
		return exitUsage
	}
	defer r.Close() // a watch a step left running (break-region) ends with the replay
	if w := t.Warning(); w != "" {
		fmt.Fprintln(stderr, "beyond:", w)
	}
	rg := steps.Range{From: cfg.from, To: cfg.to, Optional: cfg.withCleanup, Resume: !cfg.fresh, CheckOnly: cfg.checkOnly}
	if cfg.step != "" {
		if cfg.from != "" || cfg.to != "" {
			fmt.Fprintln(stderr, "beyond: use either --step or --from/--to, not both")
			return exitUsage
		}
		rg.From, rg.To = cfg.step, cfg.step
	}
	if _, err := r.Select(rg); err != nil {
		fmt.Fprintln(stderr, "beyond:", err)
		return exitUsage
	}
	p.banner(t.label, cfg.vars.Project, t.conditions)
	sum, err := r.Run(ctx, rg)
	if err != nil {
		fmt.Fprintln(stderr, "beyond:", err)
		return exitFailed
	}
	if cfg.exportDir != "" && !sum.Canceled {
		// What was built, read from the cloud before an embedded
		// simulator goes away with this process.
		paths, err := writeExports(ctx, t, cfg, r, cfg.exportDir)
		if err != nil {
			fmt.Fprintln(stderr, "beyond: --export:", err)
			return exitFailed
		}
		p.exported(paths)
	}
	if !r.Simulated() && !cfg.json {
		// As the guide says when the learner quits: nothing is deleted
		// unless asked (--cleanup), and every hour of it is billed.
		if left := steps.LeftBillable(r.Steps(), cfg.vars, r.Saved().Steps); left != "" {
			fmt.Fprint(stdout, "\n"+left)
		}
	}
	switch {
	case sum.Canceled:
		fmt.Fprintln(stderr, "beyond: interrupted; progress is saved, run the same command to resume")
		return exitCanceled
	case !sum.OK():
		return exitFailed
	}
	return exitOK
}

// printer renders runner events for the replay.
type printer struct {
	mu   sync.Mutex
	out  io.Writer
	json bool
	// per step, what Do and Check said, for the JSON step line
	did, checked string
}

func (p *printer) banner(label, project, conditions string) {
	if p.json {
		v := map[string]any{"event": "target", "target": label, "project": project}
		if conditions != "" {
			v["conditions"] = conditions
		}
		p.line(v)
		return
	}
	fmt.Fprintf(p.out, "beyond: Beyond the Region, on %s\n", label)
	if strings.HasPrefix(label, "SIMULATOR") {
		fmt.Fprintln(p.out, "Nothing billable is created: this is the embedded simulator. Pass --project to use Google Cloud.")
	}
	if conditions != "" {
		fmt.Fprintln(p.out, "Simulated conditions of a real project:", conditions)
	}
	fmt.Fprintln(p.out)
}

// exported says what the replay wrote with --export.
func (p *printer) exported(paths []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		p.line(map[string]any{"event": "export", "files": paths})
		return
	}
	fmt.Fprintln(p.out, "Exported:")
	for _, path := range paths {
		fmt.Fprintln(p.out, "  "+path)
	}
}

func (p *printer) line(v map[string]any) {
	data, err := json.Marshal(v)
	if err != nil {
		data = []byte(fmt.Sprintf(`{"event":"error","error":%q}`, err.Error()))
	}
	fmt.Fprintf(p.out, "%s\n", data)
}

func (p *printer) event(e steps.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		p.jsonEvent(e)
		return
	}
	switch e.Kind {
	case steps.EventStarted:
		fmt.Fprintf(p.out, "== %s (%s)\n", e.Title, e.Step)
		if e.Command != "" {
			for _, l := range strings.Split(e.Command, "\n") {
				fmt.Fprintf(p.out, "   $ %s\n", l)
			}
		}
	case steps.EventProgress:
		p.say("   … ", e.Text)
	case steps.EventDid:
		if e.Err != nil {
			p.say("   did: FAILED: ", e.Err.Error())
		} else if e.Text != "" {
			p.say("   did: ", e.Text)
		}
	case steps.EventChecked:
		if e.Err != nil {
			p.say("   check: FAILED: ", e.Err.Error())
		} else {
			p.say("   check: passed: ", e.Text)
		}
	case steps.EventSkipped:
		fmt.Fprintf(p.out, "== %s (%s): skipped, %s\n", e.Title, e.Step, e.Text)
	case steps.EventKept:
		fmt.Fprintf(p.out, "== %s (%s): %s\n   PASSED\n\n", e.Title, e.Step, e.Text)
	case steps.EventDone:
		if e.Fix != "" && e.Status == steps.StatusFailed && (e.Err == nil || !strings.Contains(e.Err.Error(), e.Fix)) {
			p.say("   fix: ", e.Fix)
		}
		by := ""
		if e.By == steps.ByLearner {
			by = " (done by hand)"
		}
		fmt.Fprintf(p.out, "   %s%s in %.1fs\n\n", strings.ToUpper(string(e.Status)), by, e.Elapsed.Seconds())
	case steps.EventFailover:
		f := e.Failover
		fmt.Fprintf(p.out, "   failover (%s): %d requests at %.0f/s, %d failed, rerouted in %.2fs, %s → %s; clients saw: %s\n",
			f.Method, f.Requests, f.Rate, f.FailedRequests, f.RerouteSeconds, f.Before, f.After, f.Failures())
		for _, sig := range f.Signals {
			p.say("     ", sig.Describe())
		}
	case steps.EventFinished:
		s := e.Summary
		if s.ModelCalls > 0 {
			fmt.Fprintf(p.out, "Gemini calls made by the lab: %d (each one billed on Google; the failover probes make none)\n", s.ModelCalls)
		}
		fmt.Fprintf(p.out, "%d passed, %d failed, %d skipped in %.1fs\n", s.Passed, s.Failed, s.Skipped, s.Elapsed.Seconds())
		if s.Canceled {
			fmt.Fprintln(p.out, "interrupted: progress is saved")
		}
	}
}

// say prints text after a label, indenting its further lines under it.
func (p *printer) say(label, text string) {
	indent := strings.Repeat(" ", len([]rune(label)))
	fmt.Fprintf(p.out, "%s%s\n", label, strings.ReplaceAll(strings.TrimRight(text, "\n"), "\n", "\n"+indent))
}

func (p *printer) jsonEvent(e steps.Event) {
	switch e.Kind {
	case steps.EventStarted:
		p.did, p.checked = "", ""
	case steps.EventProgress:
		p.line(map[string]any{"event": "progress", "id": e.Step, "text": e.Text})
	case steps.EventDid:
		p.did = e.Text
	case steps.EventChecked:
		p.checked = e.Text
	case steps.EventSkipped:
		p.line(map[string]any{"event": "step", "id": e.Step, "title": e.Title, "status": "skipped", "reason": e.Text, "seconds": 0})
	case steps.EventKept:
		v := map[string]any{"event": "step", "id": e.Step, "title": e.Title, "status": string(e.Status), "kept": e.Text, "seconds": 0}
		if e.By != "" {
			v["by"] = string(e.By)
		}
		p.line(v)
	case steps.EventDone:
		v := map[string]any{"event": "step", "id": e.Step, "title": e.Title, "command": e.Command,
			"status": string(e.Status), "seconds": round(e.Elapsed.Seconds())}
		if e.By != "" {
			v["by"] = string(e.By)
		}
		if p.did != "" {
			v["did"] = p.did
		}
		if p.checked != "" {
			v["check"] = p.checked
		}
		if e.Err != nil {
			v["error"] = e.Err.Error()
		}
		if e.Fix != "" {
			v["fix"] = e.Fix
		}
		p.line(v)
	case steps.EventDecided:
		p.line(map[string]any{"event": "decided", "id": e.Step, "model": e.Placement.Model, "locations": e.Placement.Locations})
	case steps.EventFailover:
		f := e.Failover
		p.line(map[string]any{"event": "failover", "method": f.Method, "requests": f.Requests, "failed_requests": f.FailedRequests,
			"reroute_seconds": round(f.RerouteSeconds), "before": f.Before, "after": f.After, "rate": f.Rate,
			"first_failure_seconds": round(f.FirstFailureSeconds), "failing_seconds": round(f.FailingSeconds),
			"signals": f.Signals}) // one object per failover signal, measured in the same run
	case steps.EventFinished:
		s := e.Summary
		v := map[string]any{"event": "summary", "passed": s.Passed, "failed": s.Failed, "skipped": s.Skipped, "seconds": round(s.Elapsed.Seconds()), "model_calls": s.ModelCalls}
		if s.Canceled {
			v["canceled"] = true
		}
		p.line(v)
	}
}

func round(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }
