package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/steps"
)

// runShow prints one step's command with the learner's variables and what
// their saved progress learned (the global IP), and nothing else, so that
// `beyond show deploy-b | bash` runs it. It calls no API.
func runShow(cfg *config, id string, stdout, stderr io.Writer) int {
	ep := cfg.endpoints
	target := "simulator"
	if !cfg.attached && cfg.explicitProject {
		target = "google"
	}
	if target == "simulator" && !cfg.attached {
		// The guide's embedded simulator publishes its endpoints here.
		if dir, err := steps.DefaultStateDir(cfg.getenv); err == nil {
			if _, lines, err := readSimFile(filepath.Join(dir, simFileName)); err == nil {
				ep, _, _ = lab.EndpointsFromEnv(func(k string) string { return lookup(lines, k) })
			}
		}
	}
	saved, err := cfg.store(stderr).Load(target, cfg.vars.Project)
	if err != nil {
		fmt.Fprintln(stderr, "beyond show:", err)
		return exitFailed
	}
	c, err := steps.CommandFor(id, &gcp.Cloud{Project: cfg.vars.Project, Endpoints: ep}, cfg.vars, saved.Outputs)
	if err != nil {
		fmt.Fprintln(stderr, "beyond show:", err)
		return exitUsage
	}
	fmt.Fprintln(stdout, c)
	return exitOK
}

// lookup is the value of NAME in NAME=VALUE lines.
func lookup(lines []string, name string) string {
	for _, l := range lines {
		if k, v, ok := strings.Cut(l, "="); ok && k == name {
			return v
		}
	}
	return ""
}
