package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// built is the beyond binary the terminal tests and the bare-binary test
// run, built once per test binary (each build costs seconds of CPU, tens on
// a cold cache) as the README's `CGO_ENABLED=0 go install` builds it.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// beyondBinary builds beyond once and returns its path.
func beyondBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "beyond-bin-")
		if built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "beyond")
		build := exec.Command("go", "build", "-o", built.path, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		built.out, built.err = build.CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.out)
	}
	return built.path
}

func TestMain(m *testing.M) {
	pausedAtStart = gcPercent() == -1
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}
