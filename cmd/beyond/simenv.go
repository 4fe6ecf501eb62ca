package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/steps"
)

// A running simulator (`beyond sim`, or the one embedded in `beyond`)
// publishes how to reach it in a file of the state directory, so that
// `beyond sim env` in a second terminal can print the lines that point the
// lab and gcloud at it, in the manner of `gcloud beta emulators ... env-init`.

// simFileName is the published file, in the state directory.
const simFileName = "simulator.env"

// simEnvLines are the NAME=VALUE lines that reach s: its endpoints, then the
// settings that point gcloud at it with a private configuration directory
// under stateDir (the user's own gcloud settings are never touched).
func simEnvLines(s *sim.Sim, stateDir, project string) ([]string, error) {
	lines := s.Endpoints().Env()
	dir := filepath.Join(stateDir, "gcloud")
	if err := sim.WriteGcloudConfig(dir, project); err != nil {
		return nil, err
	}
	gcloud, err := sim.GcloudEnv(s.Endpoints().Compute, dir)
	if err != nil {
		return nil, err
	}
	ca, err := writeSimCA(s, stateDir)
	if err != nil {
		return nil, err
	}
	return append(append(lines, caFileEnv+"="+ca), gcloud...), nil
}

// caFileEnv names the simulator CA's file, for `curl --cacert`: the
// certificates its HTTPS load balancers serve chain to it.
const caFileEnv = "BEYOND_CA_FILE"

// writeSimCA writes the simulator's CA certificate (public; no key) under
// stateDir and returns its path.
func writeSimCA(s *sim.Sim, stateDir string) (string, error) {
	pem, err := s.CACertPEM()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(stateDir, "simulator-ca.pem")
	return path, os.WriteFile(path, pem, 0o644)
}

// publishSim writes lines to the state directory for `beyond sim env`. The
// returned function removes the file if it is still this process's.
func publishSim(stateDir string, lines []string) (func(), error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(stateDir, simFileName)
	pid := os.Getpid()
	body := fmt.Sprintf("# beyond simulator, pid %d; print these as exports with: beyond sim env\n%s\n", pid, strings.Join(lines, "\n"))
	tmp := path + ".tmp" + strconv.Itoa(pid)
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	return func() {
		if got, _, err := readSimFile(path); err == nil && got == pid {
			os.Remove(path)
		}
	}, nil
}

// readSimFile reads a published file: the publisher's PID and its lines.
func readSimFile(path string) (int, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	pid := 0
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "# beyond simulator, pid "); ok {
			n, _, _ := strings.Cut(rest, ";")
			pid, _ = strconv.Atoi(n)
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.Contains(line, "=") {
			return 0, nil, fmt.Errorf("%s: line %q is not NAME=VALUE", path, line)
		}
		lines = append(lines, line)
	}
	return pid, lines, sc.Err()
}

// runSimEnv prints `export` lines for the simulator running on this
// machine, for `eval "$(beyond sim env)"`.
func runSimEnv(stdout, stderr io.Writer, getenv func(string) string) int {
	dir, err := steps.DefaultStateDir(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "beyond sim env:", err)
		return exitFailed
	}
	path := filepath.Join(dir, simFileName)
	pid, lines, err := readSimFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintln(stderr, "beyond sim env: no simulator is running on this machine: start one with `beyond sim` (or run the lab with `beyond`) in another terminal, then run this again")
		return exitFailed
	}
	if err != nil {
		fmt.Fprintln(stderr, "beyond sim env:", err)
		return exitFailed
	}
	if !simAlive(pid, lines) {
		fmt.Fprintf(stderr, "beyond sim env: the simulator that wrote %s (pid %d) is no longer running: start one with `beyond sim` (or `beyond`), then run this again\n", path, pid)
		return exitFailed
	}
	for _, line := range lines {
		name, value, _ := strings.Cut(line, "=")
		fmt.Fprintf(stdout, "export %s=%s\n", name, shellQuote(value))
	}
	return exitOK
}

// simAlive reports whether the publishing process lives and its HTTP
// listener answers.
func simAlive(pid int, lines []string) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil && !errors.Is(syscall.Kill(pid, 0), syscall.EPERM) {
		return false
	}
	for _, line := range lines {
		if v, ok := strings.CutPrefix(line, "BEYOND_COMPUTE_ENDPOINT="); ok {
			u, err := url.Parse(v)
			if err != nil {
				return false
			}
			c, err := net.DialTimeout("tcp", u.Host, time.Second)
			if err != nil {
				return false
			}
			c.Close()
			return true
		}
	}
	return false
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
