// Package image builds the lab's service into an OCI image without Docker,
// and pushes it to Artifact Registry or to the simulator's registry.
//
// The image is one layer on nothing: a static linux/amd64 binary that serves
// the lab's Gemini service, Mozilla's CA roots, and an /etc/passwd naming the
// non-root user it runs as. The binary is, when it can be, a copy of the
// running beyond itself, started as `beyond gemini-service`: a beyond
// installed with `go install` then builds the image anywhere, at once, with
// no source tree and no compiler. Otherwise (a beyond built with cgo, or for
// another platform) it is ./cmd/gemini-service compiled from the checkout.
// Nothing else goes in (no timestamps, no build IDs, no host files), so the
// same beyond executable, or the same checkout, builds the same digest on any
// machine.
package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"debug/elf"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/beyond-lab/beyond/lab"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// Module is the Go module the service is built from.
const Module = "github.com/beyond-lab/beyond"

// Where things are in the image.
const (
	BinaryPath = "/app/gemini-service" // compiled from the checkout
	SelfPath   = "/app/beyond"         // a copy of beyond, run with lab.ServiceCommand
	CertsPath  = "/etc/ssl/certs/ca-certificates.crt"
	// User is the non-root user and group the service runs as: 65532 is
	// "nonroot" in Google's distroless images.
	User = "65532:65532"
)

// ErrNoToolchain means the image cannot be built here: this beyond cannot
// run in the image, and there is no Go, or no source of beyond, to compile
// the service with.
var ErrNoToolchain = errors.New("cannot build the service image here")

// Source says where the image's binary comes from.
type Source int

const (
	// Auto copies the running beyond when it can run in the image, and
	// compiles the service from the checkout otherwise.
	Auto Source = iota
	// Self copies a beyond executable (Options.Executable).
	Self
	// Compile builds Options.Package of the checkout around Options.Dir.
	Compile
)

// Options configure Build. The zero value copies the running beyond, or
// builds ./cmd/gemini-service of the module around the working directory.
type Options struct {
	Source Source
	// Executable is the beyond to copy; "" is the running one.
	Executable string
	// Progress, if set, hears what Build is doing.
	Progress func(string)
	// Dir is any directory inside a checkout of beyond; "" is the working
	// directory.
	Dir string
	// Package is the main package to build, relative to the module root.
	Package string
	// Created is the image's creation time, and every file's; zero means
	// the Unix epoch, as reproducible builds conventionally use.
	Created time.Time
	// Go is the go command; "" finds it on PATH.
	Go string
}

// Build makes the service's image for linux/amd64.
func Build(ctx context.Context, opts Options) (v1.Image, error) {
	if opts.Package == "" {
		opts.Package = "./cmd/gemini-service"
	}
	say := func(line string) {
		if opts.Progress != nil {
			opts.Progress(line)
		}
	}
	created := opts.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	created = created.UTC().Truncate(time.Second)
	var (
		bin        string // the executable's file
		path       string
		entrypoint []string
		createdBy  string
	)
	self, selfErr := selfBinary(opts.Executable)
	switch {
	case selfErr == nil && opts.Source != Compile:
		say("copying this beyond (a static linux/amd64 executable) into the image, to run as `beyond " + lab.ServiceCommand + "`")
		bin, path, entrypoint = self, SelfPath, []string{SelfPath, lab.ServiceCommand}
		createdBy = "beyond: a copy of beyond, run as `beyond " + lab.ServiceCommand + "`"
	case opts.Source == Self:
		return nil, selfErr
	default:
		root, gobin, err := moduleRoot(ctx, opts)
		if err != nil {
			if selfErr != nil && opts.Source == Auto {
				err = fmt.Errorf("%w (%v)", err, selfErr)
			}
			return nil, err
		}
		say("compiling " + opts.Package + " for linux/amd64 (static, reproducible)")
		tmp, err := os.MkdirTemp("", "beyond-image-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		bin = filepath.Join(tmp, "gemini-service")
		if err := compile(ctx, gobin, root, opts.Package, bin); err != nil {
			return nil, err
		}
		path, entrypoint, createdBy = BinaryPath, []string{BinaryPath}, "beyond: go build "+opts.Package
	}
	// The layer goes to a file, compressed as it is written, and is read
	// back from it by the push: the image never sits in memory (a copy of
	// beyond is some 60 MB).
	fl, err := writeLayer(path, bin, created)
	if err != nil {
		return nil, err
	}
	layer, err := partial.CompressedToLayer(fl)
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: created}, CreatedBy: createdBy, Comment: "static binary, CA roots, /etc/passwd"},
	})
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: created}
	cf.Author = Module
	cf.Config = v1.Config{
		Entrypoint:   entrypoint,
		User:         User,
		WorkingDir:   "/",
		Env:          []string{"PORT=8080"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Labels: map[string]string{
			"org.opencontainers.image.title":  "gemini-service",
			"org.opencontainers.image.source": "https://" + Module,
		},
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	return img, nil
}

// selfBinary finds the beyond executable at path ("" is the running one)
// and checks that it can run in the image: a static linux/amd64 program,
// with no dynamic loader to ask for (a binary built with cgo has one).
func selfBinary(path string) (string, error) {
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("find this beyond's executable: %w", err)
		}
		path = exe
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read this beyond's executable: %w", err)
	}
	defer f.Close()
	if err := runsInImage(f); err != nil {
		return "", fmt.Errorf("%s cannot run in the image: %w", path, err)
	}
	return path, nil
}

// runsInImage checks that an executable runs on Cloud Run with nothing
// beside it: ELF, x86-64, no interpreter (statically linked).
func runsInImage(exe io.ReaderAt) error {
	f, err := elf.NewFile(exe)
	if err != nil {
		return fmt.Errorf("it is not a linux executable (built for %s/%s; the image needs linux/amd64)", runtime.GOOS, runtime.GOARCH)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 || f.Class != elf.ELFCLASS64 {
		return fmt.Errorf("it is built for %s, and Cloud Run runs linux/amd64", f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("it is linked dynamically (built with cgo): install it with `CGO_ENABLED=0 go install " + Module + "/cmd/beyond@latest`")
		}
	}
	return nil
}

// moduleRoot finds the root of the beyond module around opts.Dir, and the go
// command to build it with.
func moduleRoot(ctx context.Context, opts Options) (root, gobin string, err error) {
	gobin = opts.Go
	if gobin == "" {
		gobin, err = exec.LookPath("go")
		if err != nil {
			return "", "", fmt.Errorf("%w: no Go toolchain on PATH: install beyond with `CGO_ENABLED=0 go install %s/cmd/beyond@latest` on linux/amd64 (Cloud Shell is), or run from a checkout with Go, or deploy Google's sample with --image %s", ErrNoToolchain, Module, lab.HelloImage)
		}
	}
	cmd := exec.CommandContext(ctx, gobin, "env", "GOMOD")
	cmd.Dir = opts.Dir
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("%w: `go env GOMOD` failed: %v: run from a checkout of beyond, or use --image %s", ErrNoToolchain, err, lab.HelloImage)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", "", fmt.Errorf("%w: %s is not inside a Go module: install beyond with `CGO_ENABLED=0 go install %s/cmd/beyond@latest` on linux/amd64 (Cloud Shell is), or run from a checkout of beyond, or use --image %s", ErrNoToolchain, dirName(opts.Dir), Module, lab.HelloImage)
	}
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrNoToolchain, err)
	}
	if mod := modulePath(data); mod != Module {
		return "", "", fmt.Errorf("%w: %s is module %q, not %s: run from a checkout of beyond, or use --image %s", ErrNoToolchain, gomod, mod, Module, lab.HelloImage)
	}
	return filepath.Dir(gomod), gobin, nil
}

func dirName(dir string) string {
	if dir == "" {
		if wd, err := os.Getwd(); err == nil {
			return wd
		}
		return "the working directory"
	}
	return dir
}

// modulePath reads the module line of a go.mod.
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// compile builds pkg into the file out as a static linux/amd64 binary
// whose bytes depend on the source alone: no cgo, no paths, no VCS stamp,
// no build ID.
func compile(ctx context.Context, gobin, root, pkg, out string) error {
	cmd := exec.CommandContext(ctx, gobin, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", out, pkg)
	cmd.Dir = root
	// GOAMD64=v1 runs on every amd64 machine Cloud Run has, and keeps a
	// GOAMD64 of the builder's from changing the bytes; GOFLAGS is cleared
	// so that no flag of the builder's joins in.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOAMD64=v1", "GOFLAGS=", "GOEXPERIMENT=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s in %s: %w\n%s", pkg, root, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// passwd and group name root and the non-root user the image runs as, so
// that tools and libraries asking "who am I" get an answer.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group  = "root:x:0:\nnonroot:x:65532:\n"
)

// layerDir holds the layers Build writes, one file per content (builds are
// reproducible, so a rebuild rewrites the same file), kept a day after
// their last build: an image reads its layer from there when pushed.
func layerDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("beyond-image-layers-%d", os.Getuid()))
}

// fileLayer is a compressed layer in a file, with the digests and size
// taken as it was written, so that nothing reads it again but the push.
type fileLayer struct {
	path           string
	digest, diffID v1.Hash
	size           int64
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

// writeLayer writes the layer's gzip-compressed tar (rootfs) to a file of
// layerDir named for its digest, streaming the binary from binFile.
// BestSpeed: the layer is mostly a Go binary, which compresses little
// better at higher levels for several times the CPU.
func writeLayer(binPath, binFile string, mtime time.Time) (*fileLayer, error) {
	dir := layerDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	f, err := os.CreateTemp(dir, "layer-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	defer os.Remove(f.Name()) // renamed away unless something failed
	defer f.Close()
	compressed, uncompressed := sha256.New(), sha256.New()
	counted := &countingWriter{w: io.MultiWriter(f, compressed)}
	zw, err := gzip.NewWriterLevel(counted, gzip.BestSpeed)
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	if err := rootfs(io.MultiWriter(zw, uncompressed), binPath, binFile, mtime); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	l := &fileLayer{
		digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(compressed.Sum(nil))},
		diffID: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(uncompressed.Sum(nil))},
		size:   counted.n,
	}
	l.path = filepath.Join(dir, l.digest.Hex+".tar.gz")
	if err := os.Rename(f.Name(), l.path); err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	// Layers no build has written for a day go: other processes may still
	// be pushing the recent ones.
	if old, err := filepath.Glob(filepath.Join(dir, "*.tar.gz")); err == nil {
		for _, o := range old {
			if st, err := os.Stat(o); err == nil && time.Since(st.ModTime()) > 24*time.Hour {
				os.Remove(o)
			}
		}
	}
	return l, nil
}

// countingWriter counts what passes through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// rootfs writes the layer's tar to w: the binary (streamed from binFile),
// the CA roots and the user database, every entry with fixed times and
// owners.
func rootfs(w io.Writer, binPath, binFile string, mtime time.Time) error {
	certs, err := CACertificates()
	if err != nil {
		return err
	}
	bin, err := os.Open(binFile)
	if err != nil {
		return fmt.Errorf("image layer: %w", err)
	}
	defer bin.Close()
	st, err := bin.Stat()
	if err != nil {
		return fmt.Errorf("image layer: %w", err)
	}
	tw := tar.NewWriter(w)
	dir := func(name string, mode int64, uid int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: uid, ModTime: mtime, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	binary := func(name string) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o755, Size: st.Size(), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := io.Copy(tw, bin)
		return err
	}
	steps := []func() error{
		func() error { return dir("app", 0o755, 0) },
		func() error { return binary(strings.TrimPrefix(binPath, "/")) },
		func() error { return dir("etc", 0o755, 0) },
		func() error { return file("etc/group", 0o644, []byte(group)) },
		func() error { return file("etc/passwd", 0o644, []byte(passwd)) },
		func() error { return dir("etc/ssl", 0o755, 0) },
		func() error { return dir("etc/ssl/certs", 0o755, 0) },
		func() error { return file("etc/ssl/certs/ca-certificates.crt", 0o644, certs) },
		func() error { return dir("home", 0o755, 0) },
		func() error { return dir("home/nonroot", 0o700, 65532) },
		func() error { return dir("tmp", 0o1777, 0) },
		tw.Close,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("image layer: %w", err)
		}
	}
	return nil
}

// CACertificates returns Mozilla's root certificates, as pinned by go.sum
// through golang.org/x/crypto/x509roots/fallback, in PEM. Roots that carry
// constraints PEM cannot express (a distrust-after date) are left out, which
// is stricter, never looser. Go reads this file at its usual path; the
// binary also embeds the same bundle, used only if the file is absent.
func CACertificates() ([]byte, error) {
	var buf bytes.Buffer
	n := 0
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			continue
		}
		if _, err := x509.ParseCertificate(r.Certificate); err != nil {
			return nil, fmt.Errorf("CA roots: %w", err)
		}
		pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate})
		n++
	}
	if n == 0 {
		return nil, errors.New("CA roots: the bundle is empty")
	}
	return buf.Bytes(), nil
}
