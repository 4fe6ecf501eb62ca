//go:build linux

package sim

import (
	"io"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// canRunImages reports whether this host runs Cloud Run's linux/amd64
// images as they are.
func canRunImages() bool { return runtime.GOARCH == "amd64" }

// startChild starts argv as a child in a process group of its own, killed
// if the simulator dies (Pdeathsig), and reaps it when it exits.
func startChild(argv []string, dir string, env []string, out io.Writer) (*process, error) {
	cmd := &exec.Cmd{
		Path:   argv[0],
		Args:   argv,
		Dir:    dir,
		Env:    env,
		Stdout: out,
		Stderr: out,
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:   true,
			Pdeathsig: syscall.SIGKILL,
		},
		// A grandchild holding the output pipe must not keep Wait waiting.
		WaitDelay: time.Second,
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that started the child ends, not
		// the process: keep this goroutine on its thread while the child
		// lives, so Go's scheduler cannot retire the thread under it.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// signal sends SIGTERM (or SIGKILL if kill) to the child's process group.
func (p *process) signal(kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
		p.cmd.Process.Signal(sig) // the group is gone: the child alone
	}
}

// processAlive reports whether a process with that PID exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
