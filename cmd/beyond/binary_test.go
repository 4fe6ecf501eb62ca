package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// built is the beyond binary the terminal tests run, built once per test
// binary: each build costs tens of seconds of CPU.
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
		built.out, built.err = exec.Command("go", "build", "-o", built.path, ".").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.out)
	}
	return built.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}
