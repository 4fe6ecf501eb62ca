package initgc

import (
	"os"
	"runtime/debug"
	"strconv"
	"testing"
)

// gcPercent reads the collector's setting without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}

// TestPausedUntilResumed: the collector is off from this package's init
// until Resume, which restores GOGC's setting (100 when unset), once.
func TestPausedUntilResumed(t *testing.T) {
	if got := gcPercent(); got != -1 {
		t.Fatalf("before Resume the collector's setting is %d, want -1 (paused)", got)
	}
	want := 100
	if v := os.Getenv("GOGC"); v != "" {
		if v == "off" {
			want = -1
		} else if n, err := strconv.Atoi(v); err == nil {
			want = n
		}
	}
	Resume()
	if got := gcPercent(); got != want {
		t.Fatalf("after Resume the collector's setting is %d, want %d (GOGC=%q)", got, want, os.Getenv("GOGC"))
	}
	debug.SetGCPercent(7)
	Resume() // only the first call acts: this one must not reset 7
	if got := gcPercent(); got != 7 {
		t.Errorf("a second Resume changed the setting to %d", got)
	}
	debug.SetGCPercent(want)
}
