package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/x509"
	"debug/elf"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/lab"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Building takes a while on a small machine: build once per test binary.
var built = sync.OnceValues(func() (v1.Image, error) {
	return Build(context.Background(), Options{Source: Compile})
})

func buildOnce(t *testing.T) v1.Image {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the service with go build")
	}
	img, err := built()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return img
}

func TestBuildConfig(t *testing.T) {
	img := buildOnce(t)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want linux/amd64", cf.OS, cf.Architecture)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{BinaryPath}) || cf.Config.User != "65532:65532" {
		t.Errorf("entrypoint %v user %q", cf.Config.Entrypoint, cf.Config.User)
	}
	if !slices.Contains(cf.Config.Env, "PORT=8080") {
		t.Errorf("env %v lacks PORT=8080", cf.Config.Env)
	}
	if !cf.Created.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("created %v, want the fixed epoch", cf.Created.Time)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != "application/vnd.oci.image.manifest.v1+json" || len(m.Layers) != 1 {
		t.Errorf("manifest %s with %d layers, want one OCI layer", m.MediaType, len(m.Layers))
	}
}

func TestBuildLayer(t *testing.T) {
	img := buildOnce(t)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s has ModTime %v, want the fixed epoch", h.Name, h.ModTime)
		}
		if h.Name == "app/gemini-service" && h.Mode != 0o755 {
			t.Errorf("binary mode %o", h.Mode)
		}
		if h.Name == "tmp/" && h.Mode != 0o1777 {
			t.Errorf("tmp mode %o", h.Mode)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = b
	}
	if !strings.Contains(string(files["etc/passwd"]), "nonroot:x:65532:65532:") {
		t.Errorf("passwd: %q", files["etc/passwd"])
	}
	certs := files["etc/ssl/certs/ca-certificates.crt"]
	n := 0
	for rest := certs; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			t.Fatalf("CA file: %v", err)
		}
		n++
	}
	if n < 50 {
		t.Errorf("CA file has %d certificates, want Mozilla's roots", n)
	}
	f, err := elf.NewFile(bytes.NewReader(files["app/gemini-service"]))
	if err != nil {
		t.Fatalf("binary is not ELF: %v", err)
	}
	if f.Machine != elf.EM_X86_64 {
		t.Errorf("binary machine %v, want x86-64", f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("binary is dynamically linked; the image has no libc")
		}
	}
}

func TestBuildIsReproducible(t *testing.T) {
	img := buildOnce(t)
	again, err := Build(context.Background(), Options{Source: Compile})
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("two builds of the same source: %s and %s", d1, d2)
	}
}

func TestPushPull(t *testing.T) {
	img := buildOnce(t)
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	ref := SimRef("us-central1-docker.pkg.dev/beyond-sim/cloud-run/gemini-service:v1", host)

	digest, err := Push(context.Background(), img, ref, PushOptions{Insecure: true})
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	want, _ := img.Digest()
	if digest != want.String() {
		t.Errorf("Push returned %s, want %s", digest, want)
	}
	r, _ := name.ParseReference(ref, name.Insecure)
	pulled, err := remote.Image(r)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	if got, _ := pulled.Digest(); got != want {
		t.Errorf("pulled %s, pushed %s", got, want)
	}
}

func TestPushToMissingRepository(t *testing.T) {
	img := buildOnce(t)
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"errors":[{"code":"NAME_UNKNOWN","message":"Repository \"cloud-run\" not found"}]}`)
	}))
	defer reg.Close()
	ref := SimRef("us-central1-docker.pkg.dev/p/cloud-run/gemini-service:v1", strings.TrimPrefix(reg.URL, "http://"))
	_, err := Push(context.Background(), img, ref, PushOptions{Insecure: true})
	if err == nil || !strings.Contains(err.Error(), "create it first") {
		t.Fatalf("Push = %v; want advice to create the repository", err)
	}
}

func TestBuildOutsideTheModule(t *testing.T) {
	_, err := Build(context.Background(), Options{Source: Compile, Dir: t.TempDir()})
	if !errors.Is(err, ErrNoToolchain) || !strings.Contains(err.Error(), "--image "+lab.HelloImage) {
		t.Errorf("Build in an empty directory = %v; want ErrNoToolchain suggesting --image", err)
	}
	t.Setenv("PATH", "")
	_, err = Build(context.Background(), Options{Source: Compile})
	if !errors.Is(err, ErrNoToolchain) || !strings.Contains(err.Error(), "no Go toolchain") {
		t.Errorf("Build without go = %v; want ErrNoToolchain", err)
	}
}

func TestSimRef(t *testing.T) {
	const host = "127.0.0.1:5000"
	for in, want := range map[string]string{
		"us-central1-docker.pkg.dev/p/r/i:v1":               host + "/us-central1-docker.pkg.dev/p/r/i:v1",
		"europe-west1-docker.pkg.dev/p/r/i@sha256:" + hex64: host + "/europe-west1-docker.pkg.dev/p/r/i@sha256:" + hex64,
		host + "/us-central1-docker.pkg.dev/p/r/i:v1":       host + "/us-central1-docker.pkg.dev/p/r/i:v1",
	} {
		got := SimRef(in, host)
		if got != want {
			t.Errorf("SimRef(%q) = %q, want %q", in, got, want)
		}
		if _, err := name.ParseReference(got, name.Insecure); err != nil {
			t.Errorf("SimRef(%q) = %q is not a valid reference: %v", in, got, err)
		}
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestModulePath(t *testing.T) {
	for in, want := range map[string]string{
		"module github.com/beyond-lab/beyond\n\ngo 1.26\n": Module,
		"// c\nmodule \"example.com/x\"\n":                 "example.com/x",
		"modulex foo\n":                                    "",
	} {
		if got := modulePath([]byte(in)); got != want {
			t.Errorf("modulePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// staticProgram compiles a small static linux/amd64 program, standing in for
// a beyond installed with CGO_ENABLED=0; cgo set, a dynamic one.
func staticProgram(t *testing.T, cgo bool) string {
	t.Helper()
	if testing.Short() {
		t.Skip("compiles a program")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nimport \"net\"\n\nfunc main() { net.Dial(\"tcp\", \"\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "beyond")
	cmd := exec.Command("go", "build", "-o", out, src)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "GOFLAGS=", "GO111MODULE=off")
	if cgo {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=1")
	} else {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("cannot build the stand-in: %v\n%s", err, b)
	}
	return out
}

// TestBuildSelf: a static beyond goes into the image as it is, started as
// `beyond gemini-service`, with no compiler and outside any checkout; the
// same executable gives the same digest.
func TestBuildSelf(t *testing.T) {
	exe := staticProgram(t, false)
	want, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	t.Setenv("PATH", "") // no go command
	var said []string
	img, err := Build(context.Background(), Options{Executable: exe, Progress: func(s string) { said = append(said, s) }})
	if err != nil {
		t.Fatalf("Build from a static executable: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{SelfPath, lab.ServiceCommand}) || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("entrypoint %v on %s/%s", cf.Config.Entrypoint, cf.OS, cf.Architecture)
	}
	layers, _ := img.Layers()
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got []byte
	for tr := tar.NewReader(rc); ; {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.Name == strings.TrimPrefix(SelfPath, "/") {
			got, _ = io.ReadAll(tr)
		}
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the image's %s (%d bytes) is not the executable (%d bytes)", SelfPath, len(got), len(want))
	}
	if len(said) != 1 || !strings.Contains(said[0], "copying this beyond") {
		t.Errorf("progress %q", said)
	}
	again, err := Build(context.Background(), Options{Executable: exe})
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("the same executable built %s and %s", d1, d2)
	}
}

// TestBuildSelfRefusesDynamic: a beyond built with cgo cannot run in an
// image without libc; Self says how to reinstall it, Auto outside a
// checkout says it too.
func TestBuildSelfRefusesDynamic(t *testing.T) {
	exe := staticProgram(t, true)
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	dynamic := slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP })
	f.Close()
	if !dynamic {
		t.Skip("this machine's cgo build came out static")
	}
	_, err = Build(context.Background(), Options{Source: Self, Executable: exe})
	if err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0 go install") {
		t.Errorf("Build of a dynamic beyond = %v; want advice to install with CGO_ENABLED=0", err)
	}
	_, err = Build(context.Background(), Options{Executable: exe, Dir: t.TempDir()})
	if !errors.Is(err, ErrNoToolchain) || !strings.Contains(err.Error(), "linked dynamically") {
		t.Errorf("Build outside a checkout = %v; want ErrNoToolchain naming the dynamic link", err)
	}
}
