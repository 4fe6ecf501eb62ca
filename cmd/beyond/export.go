package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/beyond-lab/beyond/export"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/steps"
)

// embeddedEmpty is what export and report say on an embedded simulator,
// which starts empty in every process.
const embeddedEmpty = "the embedded simulator starts empty in every process, so there is nothing of your run to read: " +
	"while the guide runs, export from a second terminal pointed at its simulator (`eval \"$(beyond sim env)\"`, then this command again); " +
	"or export at the end of a replay (`beyond --non-interactive --export DIR`); or name your Google project with --project"

// runExport writes what the lab built in the project as Terraform or as
// a gcloud script, read from the cloud.
func runExport(ctx context.Context, cfg *config, what string, stdout, stderr io.Writer) int {
	if !cfg.attached && !cfg.explicitProject {
		fmt.Fprintln(stderr, "beyond export:", embeddedEmpty)
		return exitUsage
	}
	t, err := cfg.connect(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "beyond:", err)
		return exitFailed
	}
	defer t.close()
	l, err := export.Read(ctx, t.cloud, cfg.vars)
	if err != nil {
		fmt.Fprintln(stderr, "beyond export:", err)
		return exitFailed
	}
	if l.Empty() {
		fmt.Fprintf(stderr, "beyond export: nothing of the lab exists in project %s under its names (see `beyond check --project %s`)\n", cfg.vars.Project, cfg.vars.Project)
		return exitFailed
	}
	var paths []string
	switch what {
	case "terraform":
		paths, err = export.WriteTerraform(cfg.out, l)
	case "script":
		err, paths = export.WriteScript(cfg.out, l), []string{cfg.out}
	}
	if err != nil {
		fmt.Fprintln(stderr, "beyond export:", err)
		return exitFailed
	}
	for _, p := range paths {
		fmt.Fprintln(stdout, "wrote", p)
	}
	return exitOK
}

// runReport writes the Markdown report of the run and its failover chart,
// from the saved progress and measurements and a read-only check of the
// project.
func runReport(ctx context.Context, cfg *config, stdout, stderr io.Writer) int {
	t, err := cfg.connect(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "beyond:", err)
		return exitFailed
	}
	defer t.close()
	fresh := !cfg.attached && !cfg.explicitProject
	paths, err := writeReport(ctx, t, cfg, cfg.out, nil, !fresh)
	if err != nil {
		fmt.Fprintln(stderr, "beyond report:", err)
		return exitFailed
	}
	if fresh {
		fmt.Fprintln(stderr, "beyond report: the checks were not run:", embeddedEmpty)
	}
	for _, p := range paths {
		fmt.Fprintln(stdout, "wrote", p)
	}
	return exitOK
}

// writeReport writes the report to path: who did each step (saved
// progress, or r's when a run is in this process), what the verification
// measured, and, with check, where each step stands now.
func writeReport(ctx context.Context, t *target, cfg *config, path string, r *steps.Runner, check bool) ([]string, error) {
	store := cfg.store(io.Discard)
	kind := targetKind(t.cloud)
	saved, err := store.Load(kind, cfg.vars.Project)
	if err != nil {
		return nil, err
	}
	if r != nil {
		saved = r.Saved()
	}
	rec, err := store.LoadRecord(kind, cfg.vars.Project)
	if err != nil {
		return nil, err
	}
	run := export.Run{Label: t.label, Vars: cfg.vars, Steps: steps.Lab(), Saved: saved, Record: rec, At: time.Now()}
	if check {
		run.Check = steps.Sweep(ctx, t.cloud, cfg.vars, cfg.probe())
	}
	return export.WriteReport(path, run)
}

// targetKind is how saved progress names the target.
func targetKind(c *gcp.Cloud) string {
	if c.Simulated() {
		return "simulator"
	}
	return "google"
}

// writeExports writes, at the end of a replay, the Terraform, the script
// and the report into dir, from the cloud the replay ran on.
func writeExports(ctx context.Context, t *target, cfg *config, r *steps.Runner, dir string) ([]string, error) {
	l, err := export.Read(ctx, t.cloud, cfg.vars)
	if err != nil {
		return nil, err
	}
	paths, err := export.WriteTerraform(filepath.Join(dir, export.TerraformDir), l)
	if err != nil {
		return paths, err
	}
	script := filepath.Join(dir, export.ScriptFile)
	if err := export.WriteScript(script, l); err != nil {
		return paths, err
	}
	paths = append(paths, script)
	more, err := writeReport(ctx, t, cfg, filepath.Join(dir, export.ReportFile), r, true)
	return append(paths, more...), err
}
