package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/steps"
)

// runSim runs the simulator alone until ctx ends, printing its endpoints.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 && args[0] == "env" {
		if len(args) > 1 {
			fmt.Fprintf(stderr, "beyond sim env: unexpected argument %q; it takes none\n", args[1])
			return exitUsage
		}
		return runSimEnv(stdout, stderr, getenv)
	}
	fs := flag.NewFlagSet("beyond sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1", "loopback address to listen on")
	// The same names as beyond's own flags (--sim-profile...), one name for
	// one thing; the shorter names this command had first stay as aliases.
	profile, faults, conditions := new(string), new(string), new(string)
	for _, f := range []struct {
		v                   *string
		name, alias, def, u string
	}{
		{profile, "sim-profile", "profile", "lab", "latency: instant, lab or realistic"},
		{faults, "sim-faults", "faults", "", "faults to inject, e.g. run.CreateService=503x2,compute.urlMaps.insert=503x1:after, or a random rate: rate=0.1,seed=7"},
		{conditions, "sim-conditions", "conditions", "", "conditions of a real project, e.g. billing=off,org-policy=domain-restricted-sharing,api-propagation=90s"},
	} {
		fs.StringVar(f.v, f.name, f.def, f.u)
		fs.StringVar(f.v, f.alias, f.def, "the same as --"+f.name)
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	ip := net.ParseIP(*addr)
	if ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(stderr, "beyond sim: --addr %q is not a loopback address; the simulator listens on loopback only (e.g. 127.0.0.1)\n", *addr)
		return exitUsage
	}
	cfg := newConfig(getenv)
	cfg.profile, cfg.faults, cfg.conditions = *profile, *faults, *conditions
	s, err := cfg.startSimAt(*addr)
	if err != nil {
		fmt.Fprintln(stderr, "beyond sim:", err)
		return exitUsage
	}
	defer s.Close()
	project := cfg.vars.Project
	if project == "" {
		project = defaultSimProject
	}
	lines := s.Endpoints().Env()
	if dir, err := steps.DefaultStateDir(getenv); err != nil {
		fmt.Fprintln(stderr, "beyond sim: gcloud and `beyond sim env` cannot be pointed at this simulator:", err)
	} else if all, err := simEnvLines(s, dir, project); err != nil {
		fmt.Fprintln(stderr, "beyond sim: gcloud cannot be pointed at this simulator:", err)
	} else if remove, err := publishSim(dir, all); err != nil {
		lines = all
		fmt.Fprintln(stderr, "beyond sim: `beyond sim env` will not find this simulator:", err)
	} else {
		lines = all
		defer remove()
	}
	for _, line := range lines {
		fmt.Fprintln(stdout, line)
	}
	if f, ok := stdout.(*os.File); ok {
		f.Sync()
	}
	fmt.Fprintf(stderr, "beyond sim: serving (profile %s); export the lines above (or run `eval \"$(beyond sim env)\"` in another terminal), then use gcloud, or run beyond --project NAME. Ctrl-C stops it.\n", *profile)
	<-ctx.Done()
	return exitOK
}

func (c *config) startSimAt(host string) (*sim.Sim, error) {
	profile, err := sim.ProfileNamed(c.profile)
	if err != nil {
		return nil, err
	}
	cond, err := sim.ParseConditions(c.conditions, profile.Conditions)
	if err != nil {
		return nil, fmt.Errorf("conditions: %w", err)
	}
	opts := sim.Options{Profile: profile, Host: host, Conditions: &cond}
	// Pushed images live on disk under the state directory, not in memory.
	if dir, err := steps.DefaultStateDir(c.getenv); err == nil {
		opts.BlobDir = filepath.Join(dir, "simulator-blobs")
	}
	if c.faults != "" {
		f, err := sim.ParseFaultSpec(c.faults)
		if err != nil {
			return nil, err
		}
		opts.Faults = f
	}
	s := sim.New(opts)
	return s, s.Start()
}
