// Command beyond is the interactive lab guide for the workshop "Beyond the
// Region". Run with no arguments, it walks the lab in the terminal against
// its embedded simulator of Google Cloud; with --project it works on Google.
//
// Usage:
//
//	beyond [flags]                   the lab, in the terminal
//	beyond --non-interactive [flags] the lab replayed unattended (--json for machines)
//	beyond cleanup [flags]           delete everything the lab creates
//	beyond class --projects-file F   watch a room of attendee projects, read-only
//	beyond check --project P         where one project stands
//	beyond export terraform|script   what the lab built, as Terraform or a gcloud script
//	beyond report [--out F]          a Markdown report of the run, with a failover chart
//	beyond show STEP                 print a step's command, with your variables
//	beyond sim [--addr A]            run the simulator alone and print its endpoints
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/beyond-lab/beyond/internal/initgc"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/service"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailed   = 1 // a step or its check failed
	exitUsage    = 2 // bad flags or values
	exitCanceled = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	// The collector has been paused since package init (initgc). The guide
	// resumes it after its first frame; everything else as soon as it
	// knows it is not the guide; the defer for the ways out in between.
	defer initgc.Resume()
	cmd := "lab"
	if len(args) > 0 && args[0] == lab.ServiceCommand {
		initgc.Resume()
		// Hidden: the image the lab builds runs a copy of beyond as the
		// lab's Gemini service (package image).
		if err := service.Serve(ctx, stdout, nil); err != nil {
			fmt.Fprintln(stderr, "beyond "+lab.ServiceCommand+":", err)
			return exitFailed
		}
		return exitOK
	}
	if len(args) > 0 && slices.Contains([]string{"sim", "cleanup", "class", "check", "show", "help", "export", "report"}, args[0]) {
		cmd, args = args[0], args[1:]
	}
	if cmd == "export" {
		if len(args) == 0 || (args[0] != "terraform" && args[0] != "script") {
			fmt.Fprintln(stderr, "beyond export: say what to export: `beyond export terraform [--dir D]` or `beyond export script [--out F]`")
			return exitUsage
		}
		cmd, args = "export "+args[0], args[1:]
	}
	if cmd != "lab" {
		initgc.Resume()
	}
	switch cmd {
	case "sim":
		return runSim(ctx, args, stdout, stderr, getenv)
	case "help":
		cfg := newConfig(getenv)
		fs := cfg.flags("lab", io.Discard)
		usage(stdout, fs)
		return exitOK
	}
	if cmd == "show" && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		// beyond show STEP --flags: the flag package stops at STEP.
		args = append(args[1:], args[0])
	}
	cfg := newConfig(getenv)
	fs := cfg.flags(cmd, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if cmd == "show" && fs.NArg() != 1 {
		fmt.Fprintln(stderr, "beyond show: name one step, e.g. `beyond show deploy-b`; `beyond show --help` lists the flags, and the README the step IDs")
		return exitUsage
	}
	if fs.NArg() > 0 && cmd != "show" {
		fmt.Fprintf(stderr, "beyond: unexpected argument %q; the subcommands are `sim`, `cleanup`, `class`, `check`, `show`, `export` and `report` (see `beyond --help`)\n", fs.Arg(0))
		return exitUsage
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "project" {
			cfg.explicitProject = true
		}
	})
	if err := cfg.check(); err != nil {
		fmt.Fprintln(stderr, "beyond:", err)
		return exitUsage
	}
	switch {
	case cmd == "show":
		return runShow(cfg, fs.Arg(0), stdout, stderr)
	case cmd == "class":
		return runClass(ctx, cfg, stdin, stdout, stderr)
	case cmd == "check":
		return runCheck(ctx, cfg, stdout, stderr)
	case cmd == "export terraform", cmd == "export script":
		return runExport(ctx, cfg, strings.TrimPrefix(cmd, "export "), stdout, stderr)
	case cmd == "report":
		return runReport(ctx, cfg, stdout, stderr)
	case cmd == "cleanup" && (cfg.class.projects != "" || cfg.class.projectsFile != ""):
		return runCleanupRoom(ctx, cfg, stdout, stderr)
	case cmd == "cleanup":
		return runCleanup(ctx, cfg, stdout, stderr)
	}
	if cfg.nonInteractive || cfg.checkOnly {
		initgc.Resume()
		return runReplay(ctx, cfg, stdout, stderr)
	}
	return runTUI(ctx, cfg, stdin, stdout, stderr)
}
