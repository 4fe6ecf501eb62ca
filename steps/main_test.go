package steps_test

import (
	"flag"
	"testing"
)

// The package's long tests mostly wait: a replay probes the global IP at 20
// requests a second and waits on the wall clock for traffic to move and
// come back; a gcloud test waits for one gcloud process at a time. Each
// runs on a simulator of its own, so more of them run at once than go
// test's default -parallel (one per CPU) lets. They take turns here rather
// than through -parallel, which counts a test waiting for its turn
// (withGcloud) as running: parallel(t) runs at most turns tests at
// once, and of those one gcloud test (withGcloud); TestDisplayedCommandsRun,
// the longest, starts at once beside them. An explicit -test.parallel still
// bounds them all.
const turns = 4

var turn = make(chan struct{}, turns)

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", "64")
	}
	m.Run()
}

// parallel runs t in parallel with the package's other tests, in one of the
// turns.
func parallel(t *testing.T) {
	t.Helper()
	t.Parallel()
	turn <- struct{}{}
	t.Cleanup(func() { <-turn })
}

// withServiceImage takes one of the turns for a test that runs the lab's
// own service, to its end. Call it after t.Parallel. (Such tests once also
// took turns starting the service: two 19 MB unpacks at once under -race
// could outlast the deploy step's 15 s call to the new service. A deploy
// now ends only once its instance listens, so the call finds it started.)
func withServiceImage(t *testing.T) {
	t.Helper()
	turn <- struct{}{}
	t.Cleanup(func() { <-turn })
}

// gcloud lets one gcloud test at a time (TestDisplayedCommandsRun aside)
// take a turn: gcloud keeps a CPU busy for about a second a command.
var gcloud = make(chan struct{}, 1)

// withGcloud runs t in parallel with the package's other tests, once it is
// the gcloud tests' turn, in one of the turns.
func withGcloud(t *testing.T) {
	t.Helper()
	t.Parallel()
	gcloud <- struct{}{}
	turn <- struct{}{}
	t.Cleanup(func() { <-turn; <-gcloud })
}
