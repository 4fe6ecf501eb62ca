package image

import (
	"context"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/google"
)

// callKeychain resolves Google registry credentials for one call, with that
// call's context. go-containerregistry's google.Keychain resolves them once
// per process (under a sync.Once) with the first call's context: a first
// push that was canceled, or credentials changed since (a new `gcloud auth
// login`), would stay for the life of the process.
type callKeychain struct{ ctx context.Context }

// Resolve authenticates Artifact Registry and Container Registry hosts with
// Application Default Credentials, else gcloud's; anything else is anonymous,
// as google.Keychain does.
func (k callKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	if !googleRegistry(target.RegistryStr()) {
		return authn.Anonymous, nil
	}
	if a, err := google.NewEnvAuthenticator(k.ctx); err == nil {
		return a, nil
	}
	return google.NewGcloudAuthenticator(k.ctx)
}

// googleRegistry reports whether host is Google's: gcr.io and its regional
// hosts, or an Artifact Registry host (REGION-docker.pkg.dev).
func googleRegistry(host string) bool {
	return host == "gcr.io" || strings.HasSuffix(host, ".gcr.io") || strings.HasSuffix(host, ".pkg.dev")
}
