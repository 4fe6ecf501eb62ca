package sim

import (
	"testing"
)

// startSim starts a simulator for one test and closes it when the test ends.
func startSim(t testing.TB, opts Options) *Sim {
	t.Helper()
	s := New(opts)
	if err := s.Start(); err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testProject is a valid project ID for tests.
const testProject = "beyond-test-1"
