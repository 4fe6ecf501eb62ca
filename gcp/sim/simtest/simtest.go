// Package simtest starts the simulator for the tests of other packages and
// connects the lab's gcp package to it, so that each test file does not
// repeat the wiring. (The simulator's own tests, inside package sim, share
// theirs in gcp/sim/clients_test.go: a package's internal tests cannot
// import a package that imports it.)
package simtest

import (
	"context"
	"testing"

	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/gcp/sim"
)

// Start starts a simulator with opts and closes it when the test ends. Pass
// a clock.Adjustable as opts.Clock to move simulated time forward instead of
// waiting for it.
func Start(t testing.TB, opts sim.Options) *sim.Sim {
	t.Helper()
	s := sim.New(opts)
	if err := s.Start(); err != nil {
		t.Fatalf("start the simulator: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Connect connects package gcp to s, for project, through Google's official
// clients over loopback, and closes the connection when the test ends.
func Connect(t testing.TB, s *sim.Sim, project string) *gcp.Cloud {
	t.Helper()
	c, err := gcp.Connect(context.Background(), project, s.Endpoints())
	if err != nil {
		t.Fatalf("connect to the simulator: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
