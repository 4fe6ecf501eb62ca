package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	run "cloud.google.com/go/run/apiv2"
	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/beyond-lab/beyond/gcp/sim/clock"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Cloud Run calls a revision ready only once its container listens on its
// port (the default TCP startup probe): a deploy of an image that does not
// fails, and one that is slow to listen returns only once it listens.

// needProcesses skips a test where images cannot run as processes.
func needProcesses(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("images run as processes on linux/amd64 only")
	}
}

// processSim starts a simulator with opts, Cloud Run enabled, and the test
// server pushed to its registry as test/REPO:v1, the image's reference.
func processSim(t *testing.T, opts Options, repo string) (*Sim, *run.ServicesClient, string) {
	t.Helper()
	img := testImage(t, buildTestServer(t), "amd64")
	s := startSim(t, opts)
	setGrace(s, 300*time.Millisecond)
	enableAPIs(t, s, testProject, APIRun)
	return s, newRunClient(t, s), pushTestImage(t, s.Endpoints().Registry, repo, img)
}

// publicService is helloService open to all without an IAM binding, so
// that its first request is answered as the deploy left it.
func publicService(image string, env ...string) *runpb.Service {
	svc := helloService(image, env...)
	svc.InvokerIamDisabled = true
	return svc
}

// pidOf asks the test server which process answered at url.
func pidOf(t *testing.T, url string) (int, dpAnswer) {
	t.Helper()
	a := dpGet(t, url, "")
	var env map[string]string
	if a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &env) != nil {
		return 0, a
	}
	pid, _ := strconv.Atoi(env["pid"])
	return pid, a
}

func TestDeployFailsWhenTheContainerDoesNotListen(t *testing.T) {
	needProcesses(t)
	t.Parallel() // it waits on go build and on child processes
	s, rc, ref := processSim(t, Options{}, "echo")
	dir := t.TempDir()

	good := deploy(t, rc, testProject, labRegionA, "echo", publicService(ref))
	url, _ := s.ServiceURL(testProject, labRegionA, "echo")
	pid1, a := pidOf(t, url)
	if pid1 == 0 {
		t.Fatalf("the first revision answered %d %q; want 200 from the test server", a.status, a.body)
	}

	for _, c := range []struct {
		name string
		env  []string
	}{
		{"exits at once", []string{"EXIT_AT_ONCE", "1"}},
		{"never listens", []string{"NEVER_LISTEN", "1", "PIDFILE", filepath.Join(dir, "never")}},
	} {
		if c.name == "never listens" {
			s.dataPlaneOf().mu.Lock()
			s.dataPlaneOf().startTimeout = 500 * time.Millisecond
			s.dataPlaneOf().mu.Unlock()
		}
		next := publicService(ref, c.env...)
		next.Name = good.GetName()
		got, err := update(t, rc, next)
		want := "Revision '"
		if status.Code(err) != codes.FailedPrecondition || !strings.HasPrefix(status.Convert(err).Message(), want) ||
			!strings.Contains(err.Error(), "is not ready and cannot serve traffic. The user-provided container failed to start and listen on the port defined provided by the PORT=8080 environment variable within the allocated timeout.") {
			t.Fatalf("%s: update = %v, %v; want FAILED_PRECONDITION with Cloud Run's text", c.name, got, err)
		}
		svc, err := rc.GetService(testCtx(t), &runpb.GetServiceRequest{Name: good.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		if svc.GetLatestReadyRevision() != good.GetLatestReadyRevision() || svc.GetLatestCreatedRevision() == good.GetLatestReadyRevision() {
			t.Errorf("%s: latest ready %s, latest created %s; want the first still ready (%s) and a newer one created",
				c.name, svc.GetLatestReadyRevision(), svc.GetLatestCreatedRevision(), good.GetLatestReadyRevision())
		}
		if tc := svc.GetTerminalCondition(); tc.GetState() != runpb.Condition_CONDITION_FAILED || !strings.Contains(tc.GetMessage(), "failed to start and listen") {
			t.Errorf("%s: terminal condition %v; want FAILED, failed to start and listen", c.name, tc)
		}
		if pid, a := pidOf(t, url); pid != pid1 {
			t.Errorf("%s: the service answered %d %q (pid %d); want the first revision's process %d", c.name, a.status, a.body, pid, pid1)
		}
	}
	// The process that never listened was stopped, not left behind.
	if pid := readPID(t, filepath.Join(dir, "never")); procAlive(pid) {
		t.Errorf("the process that never listened (%d) is still running", pid)
	}
	dp := s.dataPlaneOf()
	dp.mu.Lock()
	staged := len(dp.staged)
	dp.mu.Unlock()
	if staged != 0 {
		t.Errorf("%d instances kept aside after every deploy ended; want none", staged)
	}
}

func TestDeployReturnsOnceTheContainerListens(t *testing.T) {
	needProcesses(t)
	t.Parallel() // it waits on go build and on child processes

	t.Run("instant", func(t *testing.T) {
		t.Parallel()
		s, rc, ref := processSim(t, Options{}, "slow")
		listen := filepath.Join(t.TempDir(), "listen")
		// The child listens once the file exists: write it a moment after
		// the deploy is asked for, while the deploy's answer waits.
		go func() {
			time.Sleep(300 * time.Millisecond)
			os.WriteFile(listen, nil, 0o644)
		}()
		op, err := rc.CreateService(testCtx(t), &runpb.CreateServiceRequest{Parent: parent(testProject, labRegionA), ServiceId: "slow", Service: publicService(ref, "LISTEN_WHEN", listen)})
		if err != nil {
			t.Fatal(err)
		}
		if !op.Done() {
			t.Errorf("the instant profile answered a deploy not done")
		}
		if _, err := os.Stat(listen); err != nil {
			t.Errorf("the deploy answered before its container could listen")
		}
		firstRequest(t, s, rc, op, "slow")
	})

	t.Run("instant, slower than the caller's deadline", func(t *testing.T) {
		t.Parallel()
		s, rc, ref := processSim(t, Options{}, "slow")
		listen := filepath.Join(t.TempDir(), "listen")
		// The answer cannot wait for a container that does not listen
		// before the caller gives up: it comes running, in time.
		ctx, cancel := context.WithTimeout(testCtx(t), 2500*time.Millisecond)
		defer cancel()
		op, err := rc.CreateService(ctx, &runpb.CreateServiceRequest{Parent: parent(testProject, labRegionA), ServiceId: "slow", Service: publicService(ref, "LISTEN_WHEN", listen)})
		if err != nil {
			t.Fatalf("CreateService with a container still starting at the caller's deadline: %v", err)
		}
		if op.Done() {
			t.Fatal("the deploy is done before its container listens")
		}
		if err := os.WriteFile(listen, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		firstRequest(t, s, rc, op, "slow")
	})

	t.Run("lab", func(t *testing.T) {
		t.Parallel()
		clk := clock.NewAdjustable()
		s, rc, ref := processSim(t, Options{Clock: clk, Profile: Profile{Name: "test", RunDeploy: time.Minute, ReadySuccesses: 1}}, "slow")
		listen := filepath.Join(t.TempDir(), "listen")
		op, err := rc.CreateService(testCtx(t), &runpb.CreateServiceRequest{Parent: parent(testProject, labRegionA), ServiceId: "slow", Service: publicService(ref, "LISTEN_WHEN", listen)})
		if err != nil {
			t.Fatal(err)
		}
		// The deploy's time passes; the container does not listen yet,
		// and cannot until the file exists: the deploy is still running.
		clk.Advance(2 * time.Minute)
		got, err := rc.LROClient.GetOperation(testCtx(t), &longrunningpb.GetOperationRequest{Name: op.Name()})
		if err != nil {
			t.Fatal(err)
		}
		if got.GetDone() {
			t.Fatalf("the deploy is done before its container listens: %v", got)
		}
		if err := os.WriteFile(listen, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		firstRequest(t, s, rc, op, "slow")
	})
}

// firstRequest waits for a deploy and checks that the first request to the
// service is answered by its new container.
func firstRequest(t *testing.T, s *Sim, rc *run.ServicesClient, op *run.CreateServiceOperation, id string) {
	t.Helper()
	svc, err := op.Wait(testCtx(t))
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	url, _ := s.ServiceURL(testProject, labRegionA, id)
	if pid, a := pidOf(t, url); pid == 0 {
		t.Errorf("the first request after the deploy of %s got %d %q; want 200 from its container", svc.GetLatestReadyRevision(), a.status, a.body)
	}
}

// TestGcloudDeployOfAContainerThatExits: gcloud run deploy of an image whose
// container exits at once fails with Cloud Run's message, and the service
// keeps serving its previous revision.
func TestGcloudDeployOfAContainerThatExits(t *testing.T) {
	needProcesses(t)
	t.Parallel()
	s, _, ref := processSim(t, Options{Profile: ProfileLab}, "echo")
	g := newGcloud(t, s, testProject)

	g.must("run", "deploy", "echo", "--image", ref, "--region", labRegionA, "--allow-unauthenticated", "--platform", "managed")
	url := strings.TrimSpace(g.must("run", "services", "describe", "echo", "--region", labRegionA, "--format=value(status.url)"))
	// The invoker binding reaches the data plane as IAM does: not at once.
	waitDataPlane(t, s, "the service to be public", func() bool {
		inst := s.dataPlaneOf().instanceFor(testProject, labRegionA, "echo")
		return inst != nil && inst.access.Load().public
	})
	pid1, a := pidOf(t, url)
	if pid1 == 0 {
		t.Fatalf("curl %s = %d %q; want the test server", url, a.status, a.body)
	}

	_, errOut, err := g.run("run", "deploy", "echo", "--image", ref, "--region", labRegionA, "--update-env-vars", "EXIT_AT_ONCE=1")
	if err == nil || !strings.Contains(errOut, "is not ready and cannot serve traffic") || !strings.Contains(errOut, "failed to start and listen on the port") {
		t.Errorf("deploy of a container that exits: err %v, stderr %q; want Cloud Run's failure", err, errOut)
	}
	t.Logf("gcloud run deploy said:\n%s", errOut)
	if pid, a := pidOf(t, url); pid != pid1 {
		t.Errorf("after the failed deploy, curl = %d %q; want the first revision's process %d", a.status, a.body, pid1)
	}
}

// TestCloseStopsARevisionStillStarting: closing the simulator while a
// deploy waits for its container to listen stops that container; nothing
// is left running.
func TestCloseStopsARevisionStillStarting(t *testing.T) {
	needProcesses(t)
	t.Parallel() // it waits on go build and on child processes
	s, rc, ref := processSim(t, Options{Profile: ProfileLab}, "never")
	pidFile := filepath.Join(t.TempDir(), "pid")
	op, err := rc.CreateService(testCtx(t), &runpb.CreateServiceRequest{Parent: parent(testProject, labRegionA), ServiceId: "never",
		Service: publicService(ref, "NEVER_LISTEN", "1", "IGNORE_TERM", "1", "PIDFILE", pidFile)})
	if err != nil {
		t.Fatal(err)
	}
	// The data plane starts the container as the deploy begins; nothing in
	// the API says when, so watch for the file it writes.
	ctx := testCtx(t)
	for tick := time.NewTicker(20 * time.Millisecond); ; {
		if _, err := os.Stat(pidFile); err == nil {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the container never started")
		}
	}
	pid := readPID(t, pidFile)
	if op.Done() {
		t.Fatal("the deploy is done though its container never listens")
	}
	s.Close() // returns once every start and stop of the data plane has ended
	if procAlive(pid) {
		t.Errorf("the starting container %d outlived Close", pid)
	}
}
