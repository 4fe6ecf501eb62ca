// Command testcost measures what the test pass costs, package by package:
// it runs `go test -race -count=1 -json` on each package in turn and prints
// its wall time and its CPU time (user and system, the test binary and its
// subprocesses included), then the slowest tests. CPU time is the figure to
// compare on a shared machine, where wall time follows the others' load; on
// 2 cores, `go test ./...` cannot take less wall time than the sum of CPU
// over 2.
//
//	go run ./bench/testcost [PACKAGE...]    (default: ./...)
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

type result struct {
	pkg       string
	wall, cpu time.Duration
	failed    bool
}

type testTime struct {
	pkg, name string
	seconds   float64
}

func main() {
	patterns := os.Args[1:]
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	list, err := exec.Command("go", append([]string{"list"}, patterns...)...).Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testcost: go list:", err)
		os.Exit(2)
	}
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average: %s\n", strings.Join(strings.Fields(string(load))[:3], " "))
	}
	var results []result
	var tests []testTime
	var wall, cpu time.Duration
	failed := false
	for _, pkg := range strings.Fields(string(list)) {
		r, ts := run(pkg)
		results = append(results, r)
		tests = append(tests, ts...)
		wall, cpu = wall+r.wall, cpu+r.cpu
		failed = failed || r.failed
		status := ""
		if r.failed {
			status = "  FAILED"
		}
		fmt.Printf("%-48s wall %6.1f s   CPU %6.1f s%s\n", strings.TrimPrefix(pkg, "github.com/beyond-lab/beyond/"), r.wall.Seconds(), r.cpu.Seconds(), status)
	}
	fmt.Printf("%-48s wall %6.1f s   CPU %6.1f s (one package at a time)\n", "total", wall.Seconds(), cpu.Seconds())
	slices.SortFunc(tests, func(a, b testTime) int {
		switch {
		case a.seconds > b.seconds:
			return -1
		case a.seconds < b.seconds:
			return 1
		}
		return 0
	})
	fmt.Println("slowest tests (wall; parallel tests overlap):")
	for _, t := range tests[:min(10, len(tests))] {
		fmt.Printf("  %6.1f s  %s %s\n", t.seconds, strings.TrimPrefix(t.pkg, "github.com/beyond-lab/beyond/"), t.name)
	}
	if failed {
		os.Exit(1)
	}
}

// run tests one package and reads its top-level tests' times from the
// JSON events.
func run(pkg string) (result, []testTime) {
	cmd := exec.Command("go", "test", "-race", "-count=1", "-json", pkg)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	start := time.Now()
	err := cmd.Run()
	r := result{pkg: pkg, wall: time.Since(start), failed: err != nil}
	if ps := cmd.ProcessState; ps != nil {
		r.cpu = ps.UserTime() + ps.SystemTime()
	}
	var tests []testTime
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var ev struct {
			Action, Package, Test string
			Elapsed               float64
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Test == "" || strings.Contains(ev.Test, "/") {
			continue
		}
		if ev.Action == "pass" || ev.Action == "fail" {
			tests = append(tests, testTime{ev.Package, ev.Test, ev.Elapsed})
		}
	}
	return r, tests
}
