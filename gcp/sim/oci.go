package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// The simulator's OCI registry: go-containerregistry's in-memory registry on
// its own loopback listener, plain HTTP, no auth. Artifact Registry
// references map into it by prefixing its host:
//
//	us-central1-docker.pkg.dev/P/REPO/IMG:TAG
//	→ 127.0.0.1:PORT/us-central1-docker.pkg.dev/P/REPO/IMG:TAG
//
// (image.SimRef does the same). Under such a path, as in Artifact Registry,
// nothing can be pushed or pulled unless the repository REPO exists in
// project P and location REGION; other paths are open, for tests.

// ociRegistry is the simulator's registry. Its mutex may be taken with
// s.mu held (registryImage), never the reverse.
type ociRegistry struct {
	mu      sync.Mutex
	handler http.Handler // the registry itself, without the repository gate
	host    string
}

// registryOf returns the registry and its host, or nil before it runs and
// after Close.
func (s *Sim) registryOf() (http.Handler, string) {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	return s.reg.handler, s.reg.host
}

// startRegistry starts the OCI registry and records its address in
// s.endpoints.Registry.
func (s *Sim) startRegistry() error {
	lis, err := net.Listen("tcp", net.JoinHostPort(s.opts.Host, "0"))
	if err != nil {
		return fmt.Errorf("simulator: listen for the OCI registry on %s: %w", s.opts.Host, err)
	}
	// Blobs go to disk (go-containerregistry's disk handler, named by
	// digest): an image of the lab's service is tens of megabytes.
	if s.opts.BlobDir != "" {
		if err := os.MkdirAll(s.opts.BlobDir, 0o700); err != nil {
			lis.Close()
			return fmt.Errorf("simulator: the registry's blob directory: %w", err)
		}
	}
	dir, err := os.MkdirTemp(s.opts.BlobDir, "beyond-sim-blobs-")
	if err != nil {
		lis.Close()
		return fmt.Errorf("simulator: a directory for the registry's blobs: %w", err)
	}
	s.onClose(func() error { return os.RemoveAll(dir) })
	s.reg.mu.Lock()
	s.reg.handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithBlobHandler(registry.NewDiskBlobHandler(dir)))
	s.reg.host = lis.Addr().String()
	s.reg.mu.Unlock()
	srv := &http.Server{Handler: http.HandlerFunc(s.serveRegistry), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(lis)
	s.onClose(srv.Close)
	s.onClose(func() error {
		s.reg.mu.Lock()
		defer s.reg.mu.Unlock()
		s.reg.handler = nil
		return nil
	})
	s.mu.Lock()
	s.endpoints.Registry = lis.Addr().String()
	s.mu.Unlock()
	return nil
}

// serveRegistry gates Artifact Registry paths on their repository, then
// hands the request to the registry.
func (s *Sim) serveRegistry(w http.ResponseWriter, r *http.Request) {
	if repo, ok := strings.CutPrefix(r.URL.Path, "/v2/"); ok {
		if loc, project, arRepo, ok := ociARPath(repo); ok {
			s.mu.Lock()
			exists := s.repositoryExistsLocked(project, loc, arRepo)
			s.mu.Unlock()
			if !exists {
				s.log.Debug("registry", "method", r.Method, "path", r.URL.Path, "status", http.StatusNotFound)
				ociError(w, http.StatusNotFound, "NAME_UNKNOWN", fmt.Sprintf("Repository %q not found", arRepo))
				return
			}
		}
	}
	reg, _ := s.registryOf()
	if reg == nil {
		ociError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "the simulator is closed")
		return
	}
	s.log.Debug("registry", "method", r.Method, "path", r.URL.Path)
	reg.ServeHTTP(w, r)
}

// ociARPath reads LOCATION-docker.pkg.dev/PROJECT/REPO from the start of a
// registry path (what follows /v2/).
func ociARPath(p string) (location, project, repo string, ok bool) {
	parts := strings.SplitN(p, "/", 4)
	if len(parts) < 3 {
		return "", "", "", false
	}
	location, ok = strings.CutSuffix(parts[0], "-docker.pkg.dev")
	if !ok || location == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	return location, parts[1], parts[2], true
}

// ociError answers with the registry API's error body.
func ociError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}

// registryRef maps ref, in either form, to a reference into the simulator's
// registry. It fails for references to other registries (Docker Hub, gcr.io)
// or before the registry runs.
func (s *Sim) registryRef(ref string) (name.Reference, bool) {
	_, host := s.registryOf()
	if host == "" {
		return nil, false
	}
	if !strings.HasPrefix(ref, host+"/") {
		r, err := name.ParseReference(ref)
		if err != nil || !strings.HasSuffix(r.Context().RegistryStr(), "-docker.pkg.dev") {
			return nil, false
		}
		ref = host + "/" + ref
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil || r.Context().RegistryStr() != host {
		return nil, false
	}
	return r, true
}

// pullImage fetches ref (either form) from the simulator's registry, for the
// data plane. It goes through the registry's own listener, so the
// repository gate applies: do not call it with s.mu held.
func (s *Sim) pullImage(ctx context.Context, ref string) (v1.Image, error) {
	r, ok := s.registryRef(ref)
	if !ok {
		_, host := s.registryOf()
		return nil, fmt.Errorf("image %q is not in the simulator's registry: push it to %s or use an Artifact Registry reference", ref, host)
	}
	img, err := remote.Image(r, remote.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("pull %s from the simulator's registry: %w", r, err)
	}
	return img, nil
}

// ociHeadWriter is the least of an http.ResponseWriter: it keeps the status
// and headers of a HEAD answer.
type ociHeadWriter struct {
	h      http.Header
	status int
}

func (w *ociHeadWriter) Header() http.Header { return w.h }
func (w *ociHeadWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(b), nil
}
func (w *ociHeadWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}
