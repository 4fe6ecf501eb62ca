package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/steps"
	"github.com/beyond-lab/beyond/tui"
)

// Defaults of the class board.
const (
	defaultRefresh  = 30 * time.Second
	defaultParallel = 8
	minRefresh      = 5 * time.Second
)

// classConfig is what `beyond class` and `beyond cleanup --projects-file` add
// to the lab's flags.
type classConfig struct {
	projects     string // --projects a,b,c
	projectsFile string // --projects-file F
	once         bool
	refresh      time.Duration
	parallel     int
}

// roomProjects reads the projects named by --projects and --projects-file,
// in order, without repeats, each checked against Google's rules.
func (c *config) roomProjects() ([]string, error) {
	var ids []string
	for _, p := range strings.Split(c.class.projects, ",") {
		if p = strings.TrimSpace(p); p != "" {
			ids = append(ids, p)
		}
	}
	if c.class.projectsFile != "" {
		fromFile, err := readProjectsFile(c.class.projectsFile)
		if err != nil {
			return nil, err
		}
		ids = append(ids, fromFile...)
	}
	var out []string
	for _, id := range ids {
		v := c.vars
		v.Project = id
		if err := v.Validate(); err != nil {
			return nil, fmt.Errorf("project %q: %w", id, err)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("name the attendee projects: --projects a,b,c or --projects-file F (one project ID per line, # comments)")
	}
	return out, nil
}

// readProjectsFile reads one project ID per line; blank lines and
// everything after a # are ignored.
func readProjectsFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--projects-file: %w", err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		switch len(fields) {
		case 0:
		case 1:
			ids = append(ids, fields[0])
		default:
			return nil, fmt.Errorf("%s:%d: one project ID per line, got %q", path, n, strings.TrimSpace(line))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--projects-file: %w", err)
	}
	return ids, nil
}

// room connects to every project: on the simulator the BEYOND_*_ENDPOINT
// variables name, else on Google with Application Default Credentials.
type room struct {
	targets []steps.Target
	label   string
}

func (c *config) connectRoom(ctx context.Context, ids []string) (*room, error) {
	ep := lab.Endpoints{}
	label := "Google Cloud"
	if c.attached {
		ep = c.endpoints
		label = "SIMULATOR"
	}
	r := &room{label: label}
	for _, id := range ids {
		cloud, err := gcp.Connect(ctx, id, ep)
		if err != nil {
			r.close()
			return nil, err
		}
		v := c.vars
		v.Project = id
		r.targets = append(r.targets, steps.Target{Cloud: cloud, Vars: v})
	}
	return r, nil
}

func (r *room) close() {
	for _, t := range r.targets {
		t.Cloud.Close()
	}
}

func (r *room) sweep(ctx context.Context, parallel int, probe steps.ProbeConfig) []steps.Report {
	out := make([]steps.Report, len(r.targets))
	steps.SweepAll(ctx, r.targets, parallel, probe, func(i int, rep steps.Report) { out[i] = rep })
	return out
}

// runClass is `beyond class`: the board, or with --once one sweep printed.
func runClass(ctx context.Context, cfg *config, stdin io.Reader, stdout, stderr io.Writer) int {
	ids, err := cfg.roomProjects()
	if err != nil {
		fmt.Fprintln(stderr, "beyond:", err)
		return exitUsage
	}
	if !cfg.class.once && !tui.IsTerminal(stdin, stdout) {
		fmt.Fprintln(stderr, "beyond: the class board needs a terminal; use `beyond class --once [--json]` to print one sweep")
		return exitUsage
	}
	r, err := cfg.connectRoom(ctx, ids)
	if err != nil {
		fmt.Fprintln(stderr, "beyond:", err)
		return exitFailed
	}
	defer r.close()
	probe := cfg.probe()
	if cfg.class.once {
		reports := r.sweep(ctx, cfg.class.parallel, probe)
		if ctx.Err() != nil {
			return exitCanceled
		}
		printReports(stdout, reports, cfg.json)
		return exitOK
	}
	err = tui.RunBoard(ctx, tui.BoardOptions{
		Projects:   ids,
		Steps:      steps.BoardSteps(),
		Target:     r.label,
		Refresh:    cfg.class.refresh,
		Accessible: cfg.accessible,
		NoColor:    cfg.noColor,
		Sweep: func(ctx context.Context, done func(int, steps.Report)) {
			steps.SweepAll(ctx, r.targets, cfg.class.parallel, probe, done)
		},
	})
	switch {
	case ctx.Err() != nil:
		return exitCanceled
	case err != nil:
		fmt.Fprintln(stderr, "beyond:", err)
		return exitFailed
	}
	return exitOK
}

// runCheck is `beyond check`: one project's sweep; exit 0 only when every
// step holds.
func runCheck(ctx context.Context, cfg *config, stdout, stderr io.Writer) int {
	if !cfg.explicitProject {
		fmt.Fprintln(stderr, "beyond: name the project to check: beyond check --project P (on the simulator that BEYOND_*_ENDPOINT name, or else on Google)")
		return exitUsage
	}
	t, err := cfg.connect(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "beyond:", err)
		return exitFailed
	}
	defer t.close()
	rep := steps.Sweep(ctx, t.cloud, cfg.vars, cfg.probe())
	if ctx.Err() != nil {
		return exitCanceled
	}
	if !cfg.json {
		fmt.Fprintf(stdout, "%s · project %s\n", t.label, cfg.vars.Project)
	}
	printReports(stdout, []steps.Report{rep}, cfg.json)
	if !rep.Holds() {
		return exitFailed
	}
	return exitOK
}

// stateMark is a state's glyph, with its word for those who cannot see it.
func stateMark(s steps.CheckState) string {
	switch s {
	case steps.CheckPassed:
		return "✓"
	case steps.CheckFailed:
		return "✗"
	case steps.CheckPending:
		return "·"
	}
	return "?"
}

// printReports prints one JSON object per project and line, or per project
// a line of marks and the first step that does not hold.
func printReports(w io.Writer, reports []steps.Report, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, r := range reports {
			enc.Encode(r)
		}
		return
	}
	for _, r := range reports {
		var marks strings.Builder
		for _, c := range r.Steps {
			marks.WriteString(stateMark(c.State))
		}
		fmt.Fprintf(w, "%-30s %2d/%d %s\n", r.Project, r.Passed, len(r.Steps), marks.String())
		if len(r.Health) > 0 {
			var hs []string
			for _, h := range r.Health {
				hs = append(hs, h.String())
			}
			fmt.Fprintf(w, "    service health: %s\n", strings.Join(hs, "; "))
		}
		for _, c := range r.Steps {
			if c.State == steps.CheckPassed {
				continue
			}
			fmt.Fprintf(w, "    %s %s (%s): %s\n", stateMark(c.State), c.ID, c.State, c.Reason)
			if c.Fix != "" {
				fmt.Fprintf(w, "      fix: %s\n", c.Fix)
			}
			if c.State != steps.CheckFailed {
				break // the first step not reached says where they are
			}
		}
	}
}

// runCleanupRoom is `beyond cleanup --projects-file F`: every project
// cleaned at once (at most --parallel at a time), then a summary.
func runCleanupRoom(ctx context.Context, cfg *config, stdout, stderr io.Writer) int {
	ids, err := cfg.roomProjects()
	if err != nil {
		fmt.Fprintln(stderr, "beyond:", err)
		return exitUsage
	}
	r, err := cfg.connectRoom(ctx, ids)
	if err != nil {
		fmt.Fprintln(stderr, "beyond:", err)
		return exitFailed
	}
	defer r.close()
	fmt.Fprintf(stdout, "beyond cleanup · %s · %d projects\n", r.label, len(ids))
	type outcome struct {
		deleted []string
		err     error
	}
	results := make([]outcome, len(r.targets))
	sem := make(chan struct{}, max(1, cfg.class.parallel))
	var wg sync.WaitGroup
	var printMu sync.Mutex
	for i, t := range r.targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var o outcome
			emit := func(e steps.Event) {
				switch {
				case e.Kind == steps.EventProgress && e.Deleted != "":
					o.deleted = append(o.deleted, e.Deleted)
				case e.Kind == steps.EventDone && e.Status != steps.StatusPassed:
					o.err = e.Err
					if o.err == nil {
						o.err = fmt.Errorf("cleanup %s", e.Status)
					}
				}
			}
			// No saved progress: the instructor's machine keeps none of
			// the attendees'.
			runner, err := steps.New(t.Cloud, t.Vars, steps.Options{Emit: emit})
			if err == nil {
				_, err = runner.RunStep(ctx, "cleanup")
			}
			if err != nil {
				o.err = err
			}
			results[i] = o
			printMu.Lock()
			defer printMu.Unlock()
			fmt.Fprintln(stdout, summaryLine(t.Vars.Project, o.deleted, o.err))
		}()
	}
	wg.Wait()
	failed := 0
	for _, o := range results {
		if o.err != nil {
			failed++
		}
	}
	fmt.Fprintf(stdout, "%d of %d projects clean", len(ids)-failed, len(ids))
	if failed > 0 {
		fmt.Fprintf(stdout, "; %d could not be cleaned (above, with why)\n", failed)
		if ctx.Err() != nil {
			return exitCanceled
		}
		return exitFailed
	}
	fmt.Fprintln(stdout)
	return exitOK
}

func summaryLine(project string, deleted []string, err error) string {
	what := "nothing to delete"
	if len(deleted) > 0 {
		what = "deleted " + strings.Join(deleted, ", ")
	}
	if err != nil {
		return fmt.Sprintf("✗ %s: %s; could not finish: %v", project, what, err)
	}
	return fmt.Sprintf("✓ %s: %s", project, what)
}
