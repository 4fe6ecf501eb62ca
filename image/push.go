package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// PushOptions choose how Push reaches the registry.
type PushOptions struct {
	// Insecure pushes over plain HTTP with no credentials: the simulator's
	// registry. Otherwise Push uses HTTPS and Google's credentials
	// (Application Default Credentials, then gcloud's), as Artifact
	// Registry wants.
	Insecure bool
	// Transport, if set, carries the requests (tests).
	Transport http.RoundTripper
}

// Push uploads img to ref (REGISTRY/REPO[:TAG]) and returns its digest,
// "sha256:...". Errors say what to fix: a missing repository, missing
// permission, no credentials.
func Push(ctx context.Context, img v1.Image, ref string, opts PushOptions) (string, error) {
	var nopts []name.Option
	if opts.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w: want HOST/PATH[:TAG], e.g. us-central1-docker.pkg.dev/PROJECT/REPO/gemini-service:v1", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("image digest: %w", err)
	}
	ropts := []remote.Option{remote.WithContext(ctx)}
	if opts.Transport != nil {
		ropts = append(ropts, remote.WithTransport(opts.Transport))
	}
	if !opts.Insecure {
		ropts = append(ropts, remote.WithAuthFromKeychain(callKeychain{ctx}))
	}
	if err := remote.Write(r, img, ropts...); err != nil {
		return "", pushError(r, err, opts.Insecure)
	}
	return d.String(), nil
}

// pushError explains a failed push in the learner's terms.
func pushError(r name.Reference, err error, insecure bool) error {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return fmt.Errorf("push %s: %w", r, err)
	}
	host := r.Context().RegistryStr()
	switch {
	case terr.StatusCode == http.StatusNotFound || hasCode(terr, transport.NameUnknownErrorCode):
		return fmt.Errorf("push %s: the repository does not exist: create it first (the lab's repository step, or `gcloud artifacts repositories create REPO --repository-format=docker --location=LOCATION`): %w", r, err)
	case !insecure && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden):
		return fmt.Errorf("push %s: %s refused the credentials: run `gcloud auth application-default login` (or `gcloud auth login`) and make sure you have roles/artifactregistry.writer on the repository: %w", r, host, err)
	}
	return fmt.Errorf("push %s: %w", r, err)
}

func hasCode(e *transport.Error, code transport.ErrorCode) bool {
	for _, d := range e.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

// SimRef maps an image reference into the simulator's registry at
// registryHost: "us-central1-docker.pkg.dev/P/REPO/IMG:TAG" becomes
// "REGISTRYHOST/us-central1-docker.pkg.dev/P/REPO/IMG:TAG", a valid
// repository path that keeps the Artifact Registry name readable. A
// reference already in the simulator's registry is returned as it is.
func SimRef(ref, registryHost string) string {
	if registryHost == "" || strings.HasPrefix(ref, registryHost+"/") {
		return ref
	}
	return registryHost + "/" + ref
}
