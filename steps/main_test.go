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
const parallelTests = 8

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", strconv.Itoa(max(parallelTests, runtime.GOMAXPROCS(0))))
	}
	m.Run()
}
