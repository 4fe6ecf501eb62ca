package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/steps"
)

// BenchmarkClassRefresh builds a room of 50 attendee projects on one
// simulator (a third replayed to deploy-a, a third to forwarding-rule, a
// third complete), and times one refresh of the class board: every project
// swept, 8 at a time, as `beyond class` does. It reports the API calls per
// project per refresh, then cleans the room with `beyond cleanup
// --projects-file` and fails unless every project is left empty.
func BenchmarkClassRefresh(b *testing.B) {
	const size, parallel = 50, defaultParallel
	s := sim.New(sim.Options{})
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var targets []steps.Target
	var ids []string
	for i := range size {
		v := steps.DefaultVars()
		v.Project = fmt.Sprintf("attendee-%02d", i)
		v.Image = lab.HelloImage
		cloud, err := gcp.Connect(ctx, v.Project, s.Endpoints())
		if err != nil {
			b.Fatal(err)
		}
		defer cloud.Close()
		targets = append(targets, steps.Target{Cloud: cloud, Vars: v})
		ids = append(ids, v.Project)
	}
	points := []string{"deploy-a", "forwarding-rule", ""}
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	errs := make([]error, size)
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var failed error
			r, err := steps.New(t.Cloud, t.Vars, steps.Options{Emit: func(e steps.Event) {
				if e.Kind == steps.EventDone && e.Status != steps.StatusPassed {
					failed = fmt.Errorf("%s: %v", e.Step, e.Err)
				}
			}})
			// Under this load the simulator's data plane can open a new
			// forwarding rule's listener after the curl step first asks
			// for it: a resumed replay carries on from there.
			for try := 0; err == nil && try < 3; try++ {
				var sum steps.Summary
				failed = nil
				sum, err = r.Run(ctx, steps.Range{To: points[i%len(points)], Resume: try > 0})
				if err == nil && sum.OK() {
					break
				}
				if err == nil {
					err = failed
					if try < 2 {
						err = nil
					}
				}
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			b.Fatalf("replay of %s: %v", ids[i], err)
		}
	}

	var calls, passed int
	b.ResetTimer()
	for b.Loop() {
		calls, passed = 0, 0
		var mu sync.Mutex
		steps.SweepAll(ctx, targets, parallel, steps.DefaultProbe(), func(i int, r steps.Report) {
			mu.Lock()
			defer mu.Unlock()
			calls += r.Calls
			passed += r.Passed
		})
	}
	b.StopTimer()
	b.ReportMetric(float64(calls)/size, "calls/project")
	b.ReportMetric(float64(passed)/size, "passed/project")

	// The room cleaned at once, through the command.
	file := filepath.Join(b.TempDir(), "room.txt")
	os.WriteFile(file, []byte(strings.Join(ids, "\n")+"\n"), 0o644)
	env := map[string]string{"BEYOND_STATE_DIR": b.TempDir(), "IMAGE": lab.HelloImage}
	for _, kv := range s.Endpoints().Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	var out, errOut strings.Builder
	if code := run(ctx, []string{"cleanup", "--projects-file", file}, strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] }); code != exitOK {
		b.Fatalf("cleanup --projects-file: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	for _, t := range targets {
		left, err := steps.Remaining(ctx, &steps.Session{Cloud: t.Cloud, Vars: t.Vars})
		if err != nil || len(left) > 0 {
			b.Fatalf("%s after cleanup: %v %v", t.Vars.Project, left, err)
		}
	}
}
