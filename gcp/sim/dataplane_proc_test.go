package sim

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	run "cloud.google.com/go/run/apiv2"
	"cloud.google.com/go/run/apiv2/runpb"
	serviceusage "cloud.google.com/go/serviceusage/apiv1"
	"cloud.google.com/go/serviceusage/apiv1/serviceusagepb"
)

// TestDataPlaneSimKilledLeavesNoChild runs `beyond sim` as its own process,
// deploys an image that runs as a child of it, SIGKILLs the simulator and
// checks that the child died with it.
func TestDataPlaneSimKilledLeavesNoChild(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("images run as processes on linux/amd64 only")
	}
	if testing.Short() {
		t.Skip("builds beyond: not in -short mode")
	}
	t.Parallel() // it waits on go build and on child processes
	img := testImage(t, buildTestServer(t), "amd64")
	bin := filepath.Join(t.TempDir(), "beyond")
	build := exec.Command("go", "build", "-o", bin, "github.com/beyond-lab/beyond/cmd/beyond")
	// Built as cmd/beyond's tests build it, so that a cold build cache
	// compiles beyond's packages for one configuration, not two.
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build beyond: %v\n%s", err, out)
	}

	sim := exec.Command(bin, "sim", "--profile", "instant")
	stdout, err := sim.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			sim.Process.Kill()
			sim.Wait()
		}
	})
	env := map[string]string{}
	lines := bufio.NewScanner(stdout)
	for env["BEYOND_RUN_ENDPOINT"] == "" || env["BEYOND_REGISTRY_ENDPOINT"] == "" || env["BEYOND_SERVICEUSAGE_ENDPOINT"] == "" {
		if !lines.Scan() {
			t.Fatalf("beyond sim ended its output before naming its endpoints (%v): %v", lines.Err(), env)
		}
		if k, v, ok := strings.Cut(lines.Text(), "="); ok {
			env[k] = v
		}
	}
	go func() { // keep the pipe drained
		for lines.Scan() {
		}
	}()

	ctx := testCtx(t)
	su, err := serviceusage.NewClient(ctx, clientOptions(env["BEYOND_SERVICEUSAGE_ENDPOINT"])...)
	if err != nil {
		t.Fatal(err)
	}
	defer su.Close()
	eop, err := su.BatchEnableServices(ctx, &serviceusagepb.BatchEnableServicesRequest{Parent: "projects/" + testProject, ServiceIds: []string{APIRun}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eop.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	ref := pushTestImage(t, env["BEYOND_REGISTRY_ENDPOINT"], "orphan", img)
	rc, err := run.NewServicesClient(ctx, clientOptions(env["BEYOND_RUN_ENDPOINT"])...)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	pidFile := filepath.Join(t.TempDir(), "pid")
	op, err := rc.CreateService(ctx, &runpb.CreateServiceRequest{
		Parent: parent(testProject, labRegionA), ServiceId: "orphan",
		Service: helloService(ref, "PIDFILE", pidFile, "IGNORE_TERM", "1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// The deploy is done only once the child listens (its startup probe),
	// and it writes its PID before it listens.
	pid := readPID(t, pidFile)
	if !procAlive(pid) {
		t.Fatalf("child %d is not running", pid)
	}

	killed = true
	sim.Process.Kill() // SIGKILL: no chance to clean up
	sim.Wait()
	for tick := time.NewTicker(10 * time.Millisecond); procAlive(pid) || len(groupMembers(pid)) > 0; {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("child %d (process group members %v) outlived the SIGKILLed simulator", pid, groupMembers(pid))
		}
	}
	removeStaleImageDirs() // what the killed simulator left in the temporary directory
}

// groupMembers lists live processes in process group pgid.
func groupMembers(pgid int) []int {
	dirs, _ := os.ReadDir("/proc")
	var out []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // state ppid pgrp ...
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			out = append(out, pid)
		}
	}
	return out
}
