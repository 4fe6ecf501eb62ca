package steps_test

import (
	"flag"
	"sync"
	"testing"

	"github.com/beyond-lab/beyond/steps"
)

// The package's long tests mostly wait: a replay probes the global IP at 20
// requests a second and waits on the wall clock for traffic to move and
// come back; a gcloud test waits for one gcloud process at a time. Each
// runs on a simulator of its own, so more of them run at once than go
// test's default -parallel (one per CPU) lets. They take turns here rather
// than through -parallel, which counts a test waiting for its turn
// (withServiceImage) as running: parallel(t) runs at most turns tests at
// once, and of those one gcloud test (withGcloud) and one running the
// lab's own service (withServiceImage); TestDisplayedCommandsRun, the
// longest, starts at once beside them. An explicit -test.parallel still
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

// serviceImage lets one test at a time start the lab's own service: its
// simulator unpacks the image's 19 MB layer under -race, seconds of CPU,
// and two such starts at once on two busy cores can outlast the 15 s the
// deploy step gives a new service to answer at its own URL. The turn ends
// once region A's service is deployed (serviceStarted): the simulator's
// later starts of that image reuse what it unpacked.
var serviceImage = make(chan struct{}, 1)

// serviceTurns ends, per test, the service's turn it holds.
var serviceTurns = struct {
	sync.Mutex
	end map[*testing.T]func()
}{end: map[*testing.T]func(){}}

// withServiceImage waits for the service's turn, then for one of the
// turns; the test keeps the latter to its end. Call it after t.Parallel.
func withServiceImage(t *testing.T) {
	t.Helper()
	serviceImage <- struct{}{}
	var once sync.Once
	end := func() { once.Do(func() { <-serviceImage }) }
	serviceTurns.Lock()
	serviceTurns.end[t] = end
	serviceTurns.Unlock()
	turn <- struct{}{}
	t.Cleanup(func() {
		<-turn
		end()
		serviceTurns.Lock()
		delete(serviceTurns.end, t)
		serviceTurns.Unlock()
	})
}

// serviceStarted ends t's service turn, if it holds one, when e says the
// deploy to region A is done.
func serviceStarted(t *testing.T, e steps.Event) {
	if e.Kind != steps.EventDone || e.Step != steps.DeployA {
		return
	}
	serviceTurns.Lock()
	end := serviceTurns.end[t]
	serviceTurns.Unlock()
	if end != nil {
		end()
	}
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
