package main

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// pausedAtStart is whether package init left the collector paused (package
// initgc), read by TestMain before any test ran.
var pausedAtStart bool

// gcPercent reads the collector's setting without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}

// TestRunResumesTheCollector: init paused the collector, and run, whatever
// the command, leaves it running.
func TestRunResumesTheCollector(t *testing.T) {
	if !pausedAtStart {
		t.Fatal("package init did not pause the collector (initgc)")
	}
	if code := run(context.Background(), []string{"help"}, strings.NewReader(""), io.Discard, io.Discard, func(string) string { return "" }); code != exitOK {
		t.Fatalf("beyond help: exit %d", code)
	}
	if p := gcPercent(); p == -1 {
		t.Fatal("the collector is still paused after run returned")
	}
}

// TestInitPausesBeforeTheHeavyPackages: in the built binary, Go initializes
// initgc before the packages whose init allocates most (the protobuf
// descriptors of Compute Engine's API, gRPC, goldmark, genai), and the
// collector does not run from there to the end of init.
func TestInitPausesBeforeTheHeavyPackages(t *testing.T) {
	cmd := exec.Command(beyondBinary(t), "--help")
	cmd.Env = append(cmd.Environ(), "GODEBUG=inittrace=1,gctrace=1", "BEYOND_STATE_DIR="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("beyond --help: %v\n%s", err, stderr.String())
	}
	var order []string // package paths, and "gc" for each collection
	for l := range strings.Lines(stderr.String()) {
		f := strings.Fields(l)
		switch {
		case len(f) > 1 && f[0] == "init":
			order = append(order, f[1])
		case len(f) > 1 && f[0] == "gc" && len(order) > 0:
			order = append(order, "gc")
		}
	}
	pause := slices.Index(order, "github.com/beyond-lab/beyond/internal/initgc")
	if pause < 0 {
		t.Fatalf("no init line for initgc in:\n%s", strings.Join(order, "\n"))
	}
	for _, heavy := range []string{
		"cloud.google.com/go/compute/apiv1/computepb",
		"google.golang.org/grpc",
		"github.com/yuin/goldmark/parser",
		"google.golang.org/genai",
	} {
		i := slices.Index(order, heavy)
		if i < 0 {
			t.Errorf("no init line for %s: is it still linked?", heavy)
			continue
		}
		if i < pause {
			t.Errorf("%s initializes before initgc pauses the collector", heavy)
		}
	}
	last := len(order) - 1
	for last >= 0 && order[last] == "gc" {
		last-- // collections after the last init are main's
	}
	if n := slices.Index(order[pause:last+1], "gc"); n >= 0 {
		t.Errorf("the collector ran during init after initgc, before %s", order[pause+n+1])
	}
}
