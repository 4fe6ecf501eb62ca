//go:build !linux

package sim

import (
	"fmt"
	"io"
	"runtime"
)

// canRunImages reports whether this host runs Cloud Run's linux/amd64
// images as they are: only Linux does.
func canRunImages() bool { return false }

func startChild(argv []string, dir string, env []string, out io.Writer) (*process, error) {
	return nil, fmt.Errorf("%w: %s/%s cannot run linux/amd64 images", errCannotRun, runtime.GOOS, runtime.GOARCH)
}

func (p *process) signal(kill bool) {
	if kill {
		p.cmd.Process.Kill()
	}
}

// processAlive reports whether a process with that PID exists; here no
// image ever runs as a process, so there is nothing to clean up.
func processAlive(pid int) bool { return true }
