package image

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Digest asks the registry for the digest of ref, reached as Push reaches
// it. It fails when the image is not there.
func Digest(ctx context.Context, ref string, opts PushOptions) (string, error) {
	var nopts []name.Option
	if opts.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", ref, err)
	}
	ropts := []remote.Option{remote.WithContext(ctx)}
	if opts.Transport != nil {
		ropts = append(ropts, remote.WithTransport(opts.Transport))
	}
	if !opts.Insecure {
		ropts = append(ropts, remote.WithAuthFromKeychain(callKeychain{ctx}))
	}
	desc, err := remote.Head(r, ropts...)
	if err != nil {
		return "", pushError(r, err, opts.Insecure)
	}
	return desc.Digest.String(), nil
}
