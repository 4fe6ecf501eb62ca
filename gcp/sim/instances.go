package sim

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/service"
)

// Instances: one per ready revision that serves, and one per revision still
// deploying, which its startup probe needs (startup.go). A revision of the
// hello image is served in-process (hello.go). A revision of an image from
// the simulator's registry runs for real, as a child process on Cloud Run's
// container contract; where this host cannot run it (not linux/amd64, or
// exec fails) the lab's service runs in-process instead.
//
// The child process is not sandboxed: it runs as the user running the
// simulator, from a copy of the image's files in a temporary directory
// (no chroot, no namespaces). Run only images you built.

// InstanceGeminiKey starts the Gemini API key every instance gets
// (GEMINI_API_KEY; see instanceKey). It is not a secret: the simulated
// network routes Gemini calls to the simulator's fake, which takes any key.
const InstanceGeminiKey = "beyond-simulator-not-a-secret"

// Limits of unpacking an image.
const (
	maxImageBytes   = 1 << 30 // total size of its files
	maxImageEntries = 100000
)

// errCannotRun means this host cannot run the image as a process; the
// instance falls back to the in-process service.
var errCannotRun = errors.New("cannot run the image as a process on this host")

// instanceAccess is who may reach an instance: Cloud Run's ingress setting
// and whether allUsers may invoke. They change without a new revision.
type instanceAccess struct {
	public    bool
	ingress   runpb.IngressTraffic
	noDefault bool // the default run.app URL is disabled
}

// instance is one running revision.
type instance struct {
	dp     *dataPlane
	rr     ReadyRevision
	kind   string // "hello", "process", "service" (in-process fallback), "failed"
	addr   string // host:port it listens on
	proxy  *httputil.ReverseProxy
	access atomic.Pointer[instanceAccess]

	srv   *http.Server // in-process kinds
	proc  *process     // the child, for "process"
	ready *readiness   // its readiness probe (health.go), or nil

	stopOnce sync.Once
}

func (dp *dataPlane) newInstance(rr ReadyRevision) *instance {
	inst := &instance{dp: dp, rr: rr, ready: newReadiness(rr.Readiness, dp.s.opts.Profile.ReadySuccesses)}
	inst.setAccess(rr)
	return inst
}

func (inst *instance) setAccess(rr ReadyRevision) {
	inst.access.Store(&instanceAccess{public: rr.Public, ingress: rr.Ingress, noDefault: rr.DefaultURLDisabled})
}

// isHelloImage reports whether ref is Google's hello sample.
func isHelloImage(ref string) bool {
	switch runImageRepo(ref) {
	case lab.HelloImage, runHelloImageLegacy:
		return true
	}
	return false
}

// startInstance starts inst, by the kind its image calls for. It always
// leaves inst listening: an instance that cannot serve answers 503.
func (dp *dataPlane) startInstance(ctx context.Context, inst *instance) {
	if err := dp.runInstance(ctx, inst); err != nil {
		// A revision is called ready only once an instance of it passed
		// its startup probe (startup.go), so this is one started again
		// whose process no longer comes up: on Google its requests fail
		// too.
		dp.log.Warn("instance failed: it answers 503", "project", inst.rr.Project, "region", inst.rr.Region,
			"service", inst.rr.Service, "revision", inst.rr.Revision, "image", inst.rr.Image, "reason", err.Error())
		inst.serveInProcess("failed", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			googleError(w, r, http.StatusServiceUnavailable)
		}))
	}
}

// runInstance starts inst, by the kind its image calls for, and returns
// once it listens on its port (Cloud Run's default TCP startup probe), or
// why it did not: a process that exited first or never listened.
func (dp *dataPlane) runInstance(ctx context.Context, inst *instance) error {
	rr := inst.rr
	log := dp.log.With("project", rr.Project, "region", rr.Region, "service", rr.Service, "revision", rr.Revision)
	if isHelloImage(rr.Image) {
		inst.serveInProcess("hello", helloHandler(helloInfo{
			Project: rr.Project, Region: rr.Region, Service: rr.Service, Revision: rr.Revision, Outage: outageOn(rr.Env),
		}))
		return nil
	}
	err := dp.startProcess(ctx, inst, log)
	switch {
	case err == nil:
		inst.kind = "process"
	case errors.Is(err, errCannotRun):
		log.Info("running the lab's service in-process instead of the image", "image", rr.Image, "reason", err.Error())
		inst.serveInProcess("service", dp.serviceHandler(rr))
	default:
		return err
	}
	return nil
}

// serveInProcess serves h on a loopback port of its own.
func (inst *instance) serveInProcess(kind string, h http.Handler) {
	inst.kind = kind
	lis, err := net.Listen("tcp", net.JoinHostPort(inst.dp.host, "0"))
	if err != nil {
		inst.dp.log.Warn("instance cannot listen: it answers 503", "revision", inst.rr.Revision, "reason", err.Error())
		inst.kind = "failed"
		inst.proxy = inst.dp.newInstanceProxy(net.JoinHostPort(inst.dp.host, "1")) // nothing listens: 503
		return
	}
	inst.addr = lis.Addr().String()
	inst.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: discardLog}
	go inst.srv.Serve(lis)
	inst.proxy = inst.dp.newInstanceProxy(inst.addr)
}

// serviceHandler is the lab's service in-process, configured as the image
// would be on the simulated network.
func (dp *dataPlane) serviceHandler(rr ReadyRevision) http.Handler {
	opts := service.Options{
		Service:       rr.Service,
		Revision:      rr.Revision,
		Configuration: rr.Service,
		Region:        rr.Region,
		Project:       rr.Project,
		Outage:        outageOn(rr.Env),
		Unready:       lab.Unready(rr.Env[lab.OutageEnv]),
		Logger:        dp.log.With("revision", rr.Revision),
	}
	if gemini := dp.s.Endpoints().Gemini; gemini != "" {
		cfg := service.Config{Model: strings.TrimSpace(rr.Env["GEMINI_MODEL"]), APIKey: instanceKey(rr), BaseURL: gemini}
		if geminiVertexEnv(rr.Env) {
			// Vertex AI at the location the revision names, as its
			// service account, as the image would.
			cfg = service.Config{Model: cfg.Model, VertexAI: true, BaseURL: gemini,
				Project: rr.Env["GOOGLE_CLOUD_PROJECT"], Location: rr.Env["GOOGLE_CLOUD_LOCATION"],
				HTTPClient: &http.Client{Transport: bearerTransport(instanceKey(rr))}}
		}
		c, err := service.NewClassifier(dp.ctx, cfg)
		if err != nil {
			dp.log.Warn("in-process service has no classifier: checks answer 503", "revision", rr.Revision, "reason", err.Error())
		} else {
			opts.Checker = c
		}
	}
	return service.NewHandler(opts)
}

// stop ends the instance: an in-process server at once, a process with
// SIGTERM and, after grace, SIGKILL.
func (inst *instance) stop(grace time.Duration) {
	inst.stopOnce.Do(func() {
		inst.ready.stop()
		if inst.srv != nil {
			// Like Cloud Run, let requests in flight finish within the
			// grace period: a replaced revision drains, it is not cut off.
			ctx, cancel := context.WithTimeout(context.Background(), grace)
			if inst.srv.Shutdown(ctx) != nil {
				inst.srv.Close()
			}
			cancel()
		}
		if inst.proc != nil {
			inst.proc.stop(grace)
		}
	})
}

// startProcess runs inst's image as a child process and waits until it
// listens on its PORT.
func (dp *dataPlane) startProcess(ctx context.Context, inst *instance, log *slog.Logger) error {
	rr := inst.rr
	if !canRunImages() {
		return fmt.Errorf("%w: images are linux/amd64 and this host is %s/%s", errCannotRun, runtime.GOOS, runtime.GOARCH)
	}
	ref := rr.Image
	if rr.Digest != "" {
		ref = runImageRepo(ref) + "@" + rr.Digest
	}
	img, err := dp.s.pullImage(ctx, ref)
	if err != nil {
		return fmt.Errorf("%w: %w", errCannotRun, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("%w: read the image's configuration: %w", errCannotRun, err)
	}
	if (cf.OS != "" && cf.OS != "linux") || (cf.Architecture != "" && cf.Architecture != "amd64") {
		return fmt.Errorf("%w: the image is %s/%s; Cloud Run runs linux/amd64 images", errCannotRun, cf.OS, cf.Architecture)
	}
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("%w: %w", errCannotRun, err)
	}
	root, err := dp.images.rootfs(ctx, digest.String(), img)
	if err != nil {
		return err
	}
	var c *runpb.Container
	for _, x := range rr.Containers {
		if x.GetImage() == rr.Image {
			c = x
			break
		}
	}
	argv, dir, err := entrypoint(root, cf.Config, c)
	if err != nil {
		return err
	}
	port, err := freePort(dp.host)
	if err != nil {
		return fmt.Errorf("%w: %w", errCannotRun, err)
	}
	md, err := dp.s.metadataHostAs(rr.Project, rr.Region, rr.ServiceAccount)
	if err != nil {
		log.Info("instance has no metadata server", "reason", err.Error())
	}
	env := instanceEnv(cf.Config.Env, rr, port, md, dp.s.Endpoints().Gemini)
	out := &lineLog{log: dp.log, revision: rr.Revision}
	proc, err := startChild(argv, dir, env, out)
	if err != nil {
		return fmt.Errorf("%w: start %s: %w", errCannotRun, argv[0], err)
	}
	inst.proc = proc
	inst.addr = net.JoinHostPort(dp.host, strconv.Itoa(port))
	inst.proxy = dp.newInstanceProxy(inst.addr)
	dp.mu.Lock()
	timeout := dp.startTimeout
	dp.mu.Unlock()
	if err := waitListening(ctx, inst.addr, proc, timeout); err != nil {
		proc.stop(0)
		inst.proc, inst.addr = nil, ""
		return err
	}
	return nil
}

// instanceEnv is the child's environment: the image's, then the
// revision's, then Cloud Run's contract, which wins. On the simulated
// network Gemini is the simulator's fake, reached with the Gemini Developer
// API and a fixed key, whatever the revision set for Vertex AI.
func instanceEnv(imageEnv []string, rr ReadyRevision, port int, metadataHost, gemini string) []string {
	env := map[string]string{}
	for _, kv := range imageEnv {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for k, v := range rr.Env {
		env[k] = v
	}
	env["PORT"] = strconv.Itoa(port)
	env["K_SERVICE"] = rr.Service
	env["K_REVISION"] = rr.Revision
	env["K_CONFIGURATION"] = rr.Service
	if metadataHost != "" {
		env["GCE_METADATA_HOST"] = metadataHost
	}
	switch {
	case gemini != "" && geminiVertexEnv(env):
		// Vertex AI at the location the revision names, with the token
		// of its metadata server, as on Cloud Run.
		env["GOOGLE_VERTEX_BASE_URL"] = gemini
	case gemini != "":
		env["GOOGLE_GEMINI_BASE_URL"] = gemini
		env["GEMINI_API_KEY"] = instanceKey(rr)
		env["GOOGLE_GENAI_USE_VERTEXAI"] = "false"
		delete(env, "GOOGLE_API_KEY") // it would win over GEMINI_API_KEY
	}
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = defaultPath
	}
	out := make([]string, 0, len(env))
	for _, k := range sortedKeys(env) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// defaultPath is the PATH of an image that sets none, as Docker uses.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// entrypoint resolves the command to run inside root: the container's
// command and args override the image's entrypoint and cmd, as on Cloud Run.
// It returns the host path of the program with its arguments, and the
// working directory.
func entrypoint(root string, cfg v1.Config, c *runpb.Container) (argv []string, dir string, err error) {
	cmd, args := cfg.Entrypoint, cfg.Cmd
	if len(c.GetCommand()) > 0 {
		cmd, args = c.GetCommand(), nil
	}
	if len(c.GetArgs()) > 0 {
		args = c.GetArgs()
	}
	argv = append(slices.Clone(cmd), args...)
	if len(argv) == 0 || argv[0] == "" {
		return nil, "", errors.New("the image has no entrypoint or cmd, and the container sets no command")
	}
	wd := cfg.WorkingDir
	if c.GetWorkingDir() != "" {
		wd = c.GetWorkingDir()
	}
	if wd == "" {
		wd = "/"
	}
	dir, err = inRoot(root, path.Clean("/"+wd))
	if err != nil {
		return nil, "", fmt.Errorf("working directory %q: %w", wd, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", fmt.Errorf("working directory %q: %w", wd, err)
	}
	prog := argv[0]
	var candidates []string
	switch {
	case path.IsAbs(prog):
		candidates = []string{prog}
	case strings.Contains(prog, "/"):
		candidates = []string{path.Join("/", wd, prog)}
	default:
		p := defaultPath
		for _, kv := range cfg.Env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				p = v
			}
		}
		for _, d := range strings.Split(p, ":") {
			if path.IsAbs(d) {
				candidates = append(candidates, path.Join(d, prog))
			}
		}
	}
	for _, cand := range candidates {
		host, err := inRoot(root, cand)
		if err != nil {
			continue
		}
		if fi, err := os.Stat(host); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			argv[0] = host
			return argv, dir, nil
		}
	}
	return nil, "", fmt.Errorf("the entrypoint %q is not an executable file in the image", prog)
}

// inRoot maps an absolute path inside the image to the host, following
// symbolic links, and fails if it leads out of root.
func inRoot(root, p string) (string, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	host := filepath.Join(realRoot, filepath.FromSlash(path.Clean("/"+p)))
	real, err := filepath.EvalSymlinks(host)
	if errors.Is(err, fs.ErrNotExist) && p != "/" {
		// Not there (yet): a working directory to make, or a dangling
		// link. Resolve its parent, then check where it would lead.
		parent, perr := inRoot(realRoot, path.Dir(p))
		if perr != nil {
			return "", perr
		}
		real = filepath.Join(parent, path.Base(p))
		if target, lerr := os.Readlink(real); lerr == nil {
			if filepath.IsAbs(target) {
				return "", fmt.Errorf("%s is a link to the absolute path %s, out of the image", p, target)
			}
			real = filepath.Join(parent, target)
		}
		err = nil
	}
	if err != nil {
		return "", err
	}
	if !within(realRoot, real) {
		return "", fmt.Errorf("%s leads out of the image", p)
	}
	return real, nil
}

// within reports whether p is root or under it.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// freePort returns a port of host nothing listens on now.
func freePort(host string) (int, error) {
	lis, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer lis.Close()
	return lis.Addr().(*net.TCPAddr).Port, nil
}

// waitListening polls addr until it accepts a connection, the process
// exits, ctx ends or timeout passes: Cloud Run's default TCP startup probe.
func waitListening(ctx context.Context, addr string, proc *process, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-proc.done:
			return fmt.Errorf("the container exited before listening on its port (%v): see its output in the simulator's log", proc.err)
		case <-deadline.C:
			return fmt.Errorf("the container did not listen on its port %s within %s", addr, timeout)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// process is a running child.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it exited and was reaped
	err  error         // what Wait said; read after done
}

// stop sends SIGTERM to the child's process group, then SIGKILL after
// grace, and waits until it is reaped.
func (p *process) stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	if grace > 0 {
		p.signal(false)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-p.done:
			return
		case <-t.C:
		}
	}
	p.signal(true)
	<-p.done
}

// lineLog writes a child's output to the simulator's log, a line at a time.
type lineLog struct {
	log      interface{ Debug(string, ...any) }
	revision string
	mu       sync.Mutex
	buf      []byte
}

func (l *lineLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.log.Debug("instance output", "revision", l.revision, "line", string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 4096 { // a very long line: log it in pieces
		l.log.Debug("instance output", "revision", l.revision, "line", string(l.buf))
		l.buf = l.buf[:0]
	}
	return len(b), nil
}

// imageCache unpacks each image once, by digest, into a temporary
// directory removed at Close.
type imageCache struct {
	dp      *dataPlane
	mu      sync.Mutex
	dir     string
	entries map[string]*rootfsEntry
}

type rootfsEntry struct {
	done chan struct{}
	dir  string
	err  error
}

func newImageCache(dp *dataPlane) *imageCache {
	return &imageCache{dp: dp, entries: map[string]*rootfsEntry{}}
}

// rootfs returns the directory holding img's files, unpacking it on first
// use.
func (c *imageCache) rootfs(ctx context.Context, digest string, img v1.Image) (string, error) {
	c.mu.Lock()
	if c.dir == "" {
		removeStaleImageDirs()
		dir, err := os.MkdirTemp("", fmt.Sprintf("beyond-sim-images-%d-", os.Getpid()))
		if err != nil {
			c.mu.Unlock()
			return "", fmt.Errorf("%w: make a directory for images: %w", errCannotRun, err)
		}
		c.dir = dir
	}
	e, ok := c.entries[digest]
	if !ok {
		e = &rootfsEntry{done: make(chan struct{}), dir: filepath.Join(c.dir, strings.ReplaceAll(digest, ":", "-"))}
		c.entries[digest] = e
	}
	c.mu.Unlock()
	if !ok {
		e.err = unpackImage(img, e.dir, maxImageBytes)
		if e.err != nil {
			os.RemoveAll(e.dir)
		}
		close(e.done)
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return e.dir, e.err
}

// removeStaleImageDirs removes the image directories of simulators that
// are gone: a SIGKILLed one cannot remove its own.
func removeStaleImageDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "beyond-sim-images-*-*"))
	for _, d := range dirs {
		pid, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(d), "beyond-sim-images-"), "-")
		if n, err := strconv.Atoi(pid); err == nil && n != os.Getpid() && !processAlive(n) {
			os.RemoveAll(d)
		}
	}
}

func (c *imageCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
}

// unpackImage writes img's flattened file system under dir, refusing what
// could reach outside it: names with "..", absolute symbolic links or ones
// that lead out, hard links out, device files; and more than limit bytes.
func unpackImage(img v1.Image, dir string, limit int64) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	return unpackTar(rc, dir, limit)
}

func unpackTar(r io.Reader, dir string, limit int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	var total int64
	var links []string
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read the image's layers: %w", err)
		}
		if n >= maxImageEntries {
			return fmt.Errorf("the image has more than %d files", maxImageEntries)
		}
		name, err := entryName(h.Name)
		if err != nil {
			return err
		}
		if name == "." {
			continue
		}
		if d := path.Dir(name); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("image file %q: %w", h.Name, err)
			}
		}
		mode := h.FileInfo().Mode().Perm() // no setuid, setgid or sticky bits
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, mode|0o700); err != nil {
				return fmt.Errorf("image directory %q: %w", h.Name, err)
			}
		case tar.TypeReg:
			total += h.Size
			if total > limit {
				return fmt.Errorf("the image's files are over %d bytes", limit)
			}
			f, err := root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode|0o600)
			if err != nil {
				return fmt.Errorf("image file %q: %w", h.Name, err)
			}
			_, err = io.CopyN(f, tr, h.Size)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("image file %q: %w", h.Name, err)
			}
		case tar.TypeSymlink:
			target := h.Linkname
			if path.IsAbs(target) {
				return fmt.Errorf("image file %q is a symbolic link to the absolute path %q: absolute links would point out of the image here", h.Name, target)
			}
			if to := path.Join(path.Dir(name), target); to == ".." || strings.HasPrefix(to, "../") {
				return fmt.Errorf("image file %q is a symbolic link out of the image (%q)", h.Name, target)
			}
			root.Remove(name)
			if err := root.Symlink(target, name); err != nil {
				return fmt.Errorf("image file %q: %w", h.Name, err)
			}
			links = append(links, name)
		case tar.TypeLink:
			target, err := entryName(h.Linkname)
			if err != nil {
				return fmt.Errorf("image file %q links to %q: %w", h.Name, h.Linkname, err)
			}
			root.Remove(name)
			if err := root.Link(target, name); err != nil {
				return fmt.Errorf("image file %q: hard link to %q: %w", h.Name, h.Linkname, err)
			}
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			return fmt.Errorf("image file %q is a device or pipe: the simulator does not create those", h.Name)
		default:
			// Extended headers are read by archive/tar; anything else
			// (sockets, vendor types) has no place in a file system copy.
		}
	}
	// Links were checked by name as they came; check them again now that
	// every directory they pass through exists and may itself be a link.
	for _, l := range links {
		if _, err := inRoot(dir, "/"+l); err != nil {
			return fmt.Errorf("image file %q: %w", l, err)
		}
	}
	return nil
}

// entryName cleans a tar entry name to a path relative to the image's
// root, refusing any ".." component.
func entryName(name string) (string, error) {
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("image file %q has a \"..\" in its path", name)
		}
	}
	clean := path.Clean("/" + name)[1:]
	if clean == "" {
		clean = "."
	}
	return clean, nil
}

// geminiVertexEnv reports whether a revision's environment asks for Vertex
// AI (GOOGLE_GENAI_USE_VERTEXAI, as Google's SDK reads it).
func geminiVertexEnv(env map[string]string) bool {
	v := strings.ToLower(strings.TrimSpace(env["GOOGLE_GENAI_USE_VERTEXAI"]))
	return v == "true" || v == "1"
}

// bearerTransport adds an instance's access token to every request, as
// Google's credentials transport does on Cloud Run.
type bearerTransport string

func (t bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(t))
	return http.DefaultTransport.RoundTrip(r)
}
