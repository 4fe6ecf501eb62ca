package steps_test

import (
	"flag"
	"runtime"
	"strconv"
	"testing"
)

// parallelTests is how many of the package's parallel tests run at once
// unless -test.parallel says otherwise. Go's default is one per CPU, but
// these tests mostly wait: a replay probes the global IP at 20 requests a
// second and waits on the wall clock for traffic to move and come back,
// and a gcloud test waits for one gcloud process at a time. Each runs on a
// simulator of its own.
const parallelTests = 6

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", strconv.Itoa(max(parallelTests, runtime.GOMAXPROCS(0))))
	}
	m.Run()
}

// serviceImage lets one test at a time run the lab's own service: its
// simulator unpacks the image's 19 MB layer under -race, seconds of CPU,
// and two such starts at once on two busy cores can outlast the 15 s the
// deploy step gives a new service to answer at its own URL.
var serviceImage = make(chan struct{}, 1)

// withServiceImage waits for the service's turn; the test keeps it to its end.
func withServiceImage(t *testing.T) {
	t.Helper()
	serviceImage <- struct{}{}
	t.Cleanup(func() { <-serviceImage })
}
