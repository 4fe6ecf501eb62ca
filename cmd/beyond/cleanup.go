package main

import (
	"context"
	"fmt"
	"io"

	"github.com/beyond-lab/beyond/steps"
)

// runCleanup deletes everything the lab creates, found by name.
func runCleanup(ctx context.Context, cfg *config, stdout, stderr io.Writer) int {
	t, err := cfg.connect(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "beyond:", err)
		return exitFailed
	}
	defer t.close()
	p := &printer{out: stdout}
	r, err := steps.New(t.cloud, cfg.vars, steps.Options{Store: cfg.store(stderr), Emit: p.event})
	if err != nil {
		fmt.Fprintln(stderr, "beyond:", err)
		return exitUsage
	}
	defer r.Close()
	if w := t.Warning(); w != "" {
		fmt.Fprintln(stderr, "beyond:", w)
	}
	p.banner(t.label, cfg.vars.Project, t.conditions)
	st, err := r.RunStep(ctx, steps.Cleanup)
	switch {
	case err != nil:
		fmt.Fprintln(stderr, "beyond:", err)
		return exitFailed
	case st == steps.StatusCanceled:
		return exitCanceled
	case st != steps.StatusPassed:
		return exitFailed
	}
	return exitOK
}
