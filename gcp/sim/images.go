package sim

import (
	"net/http"
	"strings"
)

// registryImage reports whether ref names an image present in the
// simulator's registry, and its digest. ref may be in the registry's own
// form (REGISTRYHOST/PATH[:TAG|@DIGEST]) or a bare Artifact Registry
// reference (REGION-docker.pkg.dev/P/REPO/IMG[:TAG|@DIGEST]), which maps
// into the registry; a missing tag means "latest".
//
// It may be called with s.mu held: it asks the registry in-process, without
// the repository gate, and never takes s.mu.
func (s *Sim) registryImage(ref string) (digest string, ok bool) {
	r, ok := s.registryRef(ref)
	if !ok {
		return "", false
	}
	reg, _ := s.registryOf()
	if reg == nil {
		return "", false
	}
	path := "/v2/" + r.Context().RepositoryStr() + "/manifests/" + r.Identifier()
	req, err := http.NewRequest(http.MethodHead, path, nil)
	if err != nil {
		return "", false
	}
	req.Header.Set("Accept", strings.Join([]string{
		"application/vnd.oci.image.manifest.v1+json",
		"application/vnd.docker.distribution.manifest.v2+json",
		"application/vnd.oci.image.index.v1+json",
		"application/vnd.docker.distribution.manifest.list.v2+json",
	}, ", "))
	w := &ociHeadWriter{h: http.Header{}}
	reg.ServeHTTP(w, req)
	if w.status != http.StatusOK {
		return "", false
	}
	digest = w.h.Get("Docker-Content-Digest")
	return digest, digest != ""
}
