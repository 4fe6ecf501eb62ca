package sim

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// testServerSource is a tiny server on Cloud Run's contract: it answers
// with its environment, writes its PID to $PIDFILE, exits at once with
// EXIT_AT_ONCE=1, ignores SIGTERM with IGNORE_TERM=1, and listens only once
// the file $LISTEN_WHEN exists (it never listens with NEVER_LISTEN=1).
const testServerSource = `package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if f := os.Getenv("PIDFILE"); f != "" {
		os.WriteFile(f+".tmp", []byte(strconv.Itoa(os.Getpid())), 0o644)
		os.Rename(f+".tmp", f)
	}
	if os.Getenv("EXIT_AT_ONCE") == "1" {
		os.Exit(3)
	}
	for f := os.Getenv("LISTEN_WHEN"); f != ""; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(f); err == nil {
			break
		}
	}
	if os.Getenv("NEVER_LISTEN") == "1" {
		time.Sleep(time.Hour) // until stopped
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	go func() {
		for range sigs {
			if os.Getenv("IGNORE_TERM") != "1" {
				os.Exit(0)
			}
		}
	}()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		env := map[string]string{"pid": strconv.Itoa(os.Getpid())}
		for _, kv := range os.Environ() {
			for i := 0; i < len(kv); i++ {
				if kv[i] == '=' {
					env[kv[:i]] = kv[i+1:]
					break
				}
			}
		}
		env["cwd"], _ = os.Getwd()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(env)
	})
	http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil)
}
`

// buildTestServer compiles testServerSource for linux/amd64, once per test
// binary: the tests that run it share the program.
func buildTestServer(t testing.TB) []byte {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build the test server")
	}
	b, err := testServer()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var testServer = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "beyond-testserver-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(testServerSource), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module testserver\n\ngo 1.22\n"), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", "server", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the test server: %v\n%s", err, out)
	}
	return os.ReadFile(filepath.Join(dir, "server"))
})

// tarOf makes a tar of entries.
func tarOf(t testing.TB, entries ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		if h.Typeflag == tar.TypeReg && h.Size == 0 && h.Linkname != "" {
			h.Size = int64(len(h.Linkname)) // body carried in Linkname for brevity
			body := h.Linkname
			h.Linkname = ""
			tw.WriteHeader(h)
			tw.Write([]byte(body))
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	return buf.Bytes()
}

// testImage is an image of one file, the server at /app/server.
func testImage(t testing.TB, server []byte, arch string) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(0, 0)
	tw.WriteHeader(&tar.Header{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime})
	tw.WriteHeader(&tar.Header{Name: "app/server", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(server)), ModTime: mtime})
	tw.Write(server)
	tw.WriteHeader(&tar.Header{Name: "bin", Typeflag: tar.TypeSymlink, Linkname: "app", ModTime: mtime})
	tw.Close()
	layer, err := tarball.LayerFromReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Entrypoint = []string{"server"}
	cf.Config.Env = []string{"PATH=/bin", "FROM_IMAGE=yes"}
	cf.Config.WorkingDir = "/work"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// pushTestImage pushes img to the simulator's registry as test/REPO:v1 and
// returns its reference.
func pushTestImage(t testing.TB, registry, repo string, img v1.Image) string {
	t.Helper()
	ref := registry + "/test/" + repo + ":v1"
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref
}

func setGrace(s *Sim, d time.Duration) {
	dp := s.dataPlaneOf()
	dp.mu.Lock()
	defer dp.mu.Unlock()
	dp.grace = d
	dp.startTimeout = 20 * time.Second
}

func readPID(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read the child's PID: %v", err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestInstanceProcess(t *testing.T) {
	needProcesses(t)
	t.Parallel() // it waits on go build and on child processes
	s, rc, ref := processSim(t, Options{}, "echo")
	dir := t.TempDir()

	svc := deploy(t, rc, testProject, labRegionB, "echo", helloService(ref,
		"FOO", "bar", "GOOGLE_GENAI_USE_VERTEXAI", "true", "PIDFILE", filepath.Join(dir, "1")))
	makePublic(t, rc, svc.GetName())
	first := waitServing(t, s, labRegionB, "echo", svc.GetLatestReadyRevision())
	// The invoker binding reaches the data plane as IAM does: not at once.
	waitDataPlane(t, s, "the service to be public", func() bool { return first.access.Load().public })
	if first.kind != "process" {
		t.Fatalf("instance kind %q; want process", first.kind)
	}
	url, _ := s.ServiceURL(testProject, labRegionB, "echo")
	a := dpGet(t, url, "")
	var env map[string]string
	if err := json.Unmarshal([]byte(a.body), &env); err != nil {
		t.Fatalf("%d %q: %v", a.status, a.body, err)
	}
	_, port, _ := net.SplitHostPort(first.addr)
	for k, want := range map[string]string{
		"PORT":            port,
		"K_SERVICE":       "echo",
		"K_REVISION":      first.rr.Revision,
		"K_CONFIGURATION": "echo",
		"FOO":             "bar",
		"FROM_IMAGE":      "yes",
		// Vertex AI, as the revision asks, at the simulator's endpoint,
		// with the metadata server's token (below): no key.
		"GOOGLE_VERTEX_BASE_URL":    s.Endpoints().Gemini,
		"GEMINI_API_KEY":            "",
		"GOOGLE_GENAI_USE_VERTEXAI": "true",
	} {
		if env[k] != want {
			t.Errorf("child's %s = %q; want %q", k, env[k], want)
		}
	}
	if !strings.HasSuffix(env["cwd"], string(filepath.Separator)+"work") {
		t.Errorf("child's working directory %q; want the image's /work", env["cwd"])
	}
	md := dpGet(t, "http://"+env["GCE_METADATA_HOST"]+"/computeMetadata/v1/instance/region", "", "Metadata-Flavor", "Google")
	if !strings.HasSuffix(md.body, "/regions/"+labRegionB) {
		t.Errorf("the child's metadata server says region %q; want .../regions/%s", md.body, labRegionB)
	}
	tok := dpGet(t, "http://"+env["GCE_METADATA_HOST"]+"/computeMetadata/v1/instance/service-accounts/default/token", "", "Metadata-Flavor", "Google")
	var token struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal([]byte(tok.body), &token); err != nil || token.ExpiresIn <= 0 {
		t.Errorf("token: %q: %v", tok.body, err)
	} else if p, r, _, ok := parseInstanceKey(token.AccessToken); !ok || p != testProject || r != labRegionB {
		t.Errorf("the token %q does not name the instance's project and region", token.AccessToken)
	}
	pid1 := readPID(t, filepath.Join(dir, "1"))
	if env["pid"] != strconv.Itoa(pid1) {
		t.Errorf("answered by pid %s; the child wrote %d", env["pid"], pid1)
	}

	// A new revision replaces the process; the old one gets SIGTERM.
	got, err := update(t, rc, helloServiceNamed(svc.GetName(), ref, "IGNORE_TERM", "1", "PIDFILE", filepath.Join(dir, "2")))
	if err != nil {
		t.Fatal(err)
	}
	second := waitServing(t, s, labRegionB, "echo", got.GetLatestReadyRevision())
	<-first.proc.done
	if procAlive(pid1) {
		t.Errorf("the replaced revision's process %d is still there", pid1)
	}
	pid2 := readPID(t, filepath.Join(dir, "2"))

	// A process that exits at once: its revision never becomes ready, the
	// deploy fails (TestDeployFailsWhenTheContainerDoesNotListen has the
	// whole of it) and the service has nothing to serve: 503.
	cop, err := rc.CreateService(testCtx(t), &runpb.CreateServiceRequest{Parent: parent(testProject, labRegionA), ServiceId: "crash", Service: helloService(ref, "EXIT_AT_ONCE", "1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cop.Wait(testCtx(t)); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "failed to start and listen on the port") {
		t.Errorf("deploy of a process that exits at once: %v; want FAILED_PRECONDITION, failed to start and listen", err)
	}
	crashURL, _ := s.ServiceURL(testProject, labRegionA, "crash")
	if a := dpGet(t, crashURL, ""); a.status != http.StatusServiceUnavailable {
		t.Errorf("a service whose only revision failed answered %d; want 503", a.status)
	}

	// Close: the one that ignores SIGTERM is killed after the grace period.
	start := time.Now()
	s.Close()
	select {
	case <-second.proc.done:
	default:
		t.Fatal("Close returned with the child still running")
	}
	if procAlive(pid2) {
		t.Errorf("process %d outlived the simulator", pid2)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("Close took %v; the child ignoring SIGTERM should have had its 300 ms", d)
	}
}

// alive reports whether pid is a process that is not a zombie.
func procAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) S ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestInstanceFallsBackToTheService(t *testing.T) {
	// An arm64 image cannot run here: the lab's service runs in-process.
	img := testImage(t, []byte("not a program"), "arm64")
	s := startSim(t, Options{})
	enableAPIs(t, s, testProject, APIRun)
	rc := newRunClient(t, s)
	ref := pushTestImage(t, s.Endpoints().Registry, "arm", img)
	svc := deploy(t, rc, testProject, labRegionA, "gemini-service", helloService(ref))
	makePublic(t, rc, svc.GetName())
	inst := waitServing(t, s, labRegionA, "gemini-service", svc.GetLatestReadyRevision())
	if inst.kind != "service" {
		t.Fatalf("kind %q; want service", inst.kind)
	}
	waitDataPlane(t, s, "the service to be public", func() bool { return inst.access.Load().public })
	url, _ := s.ServiceURL(testProject, labRegionA, "gemini-service")
	a := dpGet(t, url+"/healthz", "")
	if a.status != http.StatusOK || a.region != labRegionA || a.header.Get("X-Served-Region") != labRegionA {
		t.Errorf("/healthz = %d %q %v", a.status, a.body, a.header)
	}
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/check", strings.NewReader(`{"text":"I love this product!"}`))
	resp, err := dpHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"sentiment":"positive"`) {
		t.Errorf("check = %d %s; want a positive verdict from the simulated Gemini", resp.StatusCode, body)
	}
}

func TestInstanceUnpackRefusesEscapes(t *testing.T) {
	reg := func(name, body string) *tar.Header {
		return &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Linkname: body}
	}
	dir := func(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755} }
	sym := func(name, to string) *tar.Header {
		return &tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: to}
	}
	for _, c := range []struct {
		name    string
		entries []*tar.Header
		limit   int64
		want    string
	}{
		{"dot-dot", []*tar.Header{reg("../evil", "x")}, 0, `".."`},
		{"dot-dot inside", []*tar.Header{reg("a/../../evil", "x")}, 0, `".."`},
		{"absolute link", []*tar.Header{sym("etc", "/etc")}, 0, "absolute"},
		{"link out", []*tar.Header{dir("a"), sym("a/up", "../../..")}, 0, "out of the image"},
		{"write through a link out", []*tar.Header{sym("a", "."), sym("a/b", "x"), sym("c", "a/../..")}, 0, "out of the image"},
		{"link via a link dir", []*tar.Header{dir("d"), sym("d/self", "."), sym("d/self/l", "../x")}, 0, ""},
		{"link out through a link dir", []*tar.Header{dir("p"), sym("p/q", "."), sym("p/q/l", "../../x")}, 0, "out of the image"},
		{"device", []*tar.Header{{Name: "dev/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}}, 0, "device"},
		{"fifo", []*tar.Header{{Name: "p", Typeflag: tar.TypeFifo}}, 0, "device"},
		{"too big", []*tar.Header{reg("a", "12345"), reg("b", "67890")}, 8, "over 8 bytes"},
		{"hard link out", []*tar.Header{{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"}}, 0, `".."`},
		{"fine", []*tar.Header{dir("app"), reg("app/x", "hi"), sym("app/y", "x"), {Name: "app/z", Typeflag: tar.TypeLink, Linkname: "app/x"}}, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			limit := c.limit
			if limit == 0 {
				limit = 1 << 20
			}
			err := unpackTar(bytes.NewReader(tarOf(t, c.entries...)), filepath.Join(root, "fs"), limit)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unpack: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("unpack = %v; want an error containing %q", err, c.want)
			}
			// Nothing was ever written beside the root.
			entries, _ := os.ReadDir(root)
			if len(entries) != 1 {
				t.Errorf("files written outside the image's root: %v", entries)
			}
		})
	}
	// The fine one reads back.
	root := filepath.Join(t.TempDir(), "fs")
	err := unpackTar(bytes.NewReader(tarOf(t, dir("app"), reg("app/x", "hi"), sym("app/y", "x"))), root, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "app", "y")); err != nil || string(b) != "hi" {
		t.Errorf("app/y = %q, %v", b, err)
	}
}

func TestInstanceEntrypoint(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "usr", "bin"), 0o755)
	os.WriteFile(filepath.Join(root, "usr", "bin", "tool"), []byte("#!"), 0o755)
	os.WriteFile(filepath.Join(root, "usr", "bin", "data"), []byte("x"), 0o644)
	os.Symlink("../../../../../bin/sh", filepath.Join(root, "usr", "bin", "escape"))
	for _, c := range []struct {
		cfg  v1.Config
		want string // argv joined, with ROOT for root; "" for an error
	}{
		{v1.Config{Entrypoint: []string{"tool"}, Cmd: []string{"a"}}, "ROOT/usr/bin/tool a"},
		{v1.Config{Entrypoint: []string{"/usr/bin/tool"}}, "ROOT/usr/bin/tool"},
		{v1.Config{Cmd: []string{"tool", "x"}, Env: []string{"PATH=/usr/bin"}}, "ROOT/usr/bin/tool x"},
		{v1.Config{Entrypoint: []string{"data"}}, ""},
		{v1.Config{Entrypoint: []string{"escape"}}, ""},
		{v1.Config{Entrypoint: []string{"/../../bin/sh"}}, ""},
		{v1.Config{}, ""},
	} {
		argv, _, err := entrypoint(root, c.cfg, nil)
		got := strings.ReplaceAll(strings.Join(argv, " "), root, "ROOT")
		if c.want == "" && err == nil || c.want != "" && got != c.want {
			t.Errorf("entrypoint(%+v) = %q, %v; want %q", c.cfg, got, err, c.want)
		}
	}
	if !errors.Is(errCannotRun, errCannotRun) {
		t.Fatal("unreachable")
	}
}
