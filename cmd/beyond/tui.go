package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/beyond-lab/beyond/internal/initgc"
	"github.com/beyond-lab/beyond/steps"
	"github.com/beyond-lab/beyond/tui"
)

// runTUI is the interactive front end: the terminal guide on the runner.
func runTUI(ctx context.Context, cfg *config, stdin io.Reader, stdout, stderr io.Writer) int {
	if !tui.IsTerminal(stdin, stdout) {
		fmt.Fprintln(stderr, "beyond:", tui.ErrNotTerminal)
		return exitUsage
	}
	t, err := cfg.connect(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "beyond:", err)
		return exitFailed
	}
	defer t.close()
	// Package init paused the collector (initgc); resume it once the first
	// screen is on the terminal. Bubble Tea writes a drawn screen on its
	// next frame, within 1/60 s, so a few frames later it is there, and the
	// collection of what init allocated no longer delays it.
	firstFrame := func() { time.AfterFunc(50*time.Millisecond, initgc.Resume) }
	var r *steps.Runner
	err = tui.Run(ctx, func(emit func(steps.Event)) (tui.Lab, error) {
		var err error
		r, err = steps.New(t.cloud, cfg.vars, steps.Options{Store: cfg.store(stderr), Emit: emit, Probe: cfg.probe(), GeminiKey: cfg.geminiKey()})
		if err != nil {
			return nil, err
		}
		return r, nil
	}, tui.Options{Accessible: cfg.accessible, NoColor: cfg.noColor, Target: t.label, Mouse: cfg.mouse, FirstFrame: firstFrame})
	if r != nil {
		r.Close()
	}
	switch {
	case ctx.Err() != nil:
		return exitCanceled
	case err != nil:
		fmt.Fprintln(stderr, "beyond:", err)
		return exitFailed
	}
	return exitOK
}
