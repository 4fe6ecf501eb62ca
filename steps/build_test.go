package steps

import (
	"context"
	"sync"

	"github.com/beyond-lab/beyond/image"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The service's image is reproducible (image.Build: same source, same
// bytes), so the tests build it once and every replay pushes that image to
// its own simulator's registry and deploys it from there. Only a successful
// build is kept: a build a test interrupts is built again by the next.
func init() {
	var (
		mu    sync.Mutex
		built v1.Image
	)
	buildImage = func(ctx context.Context, opts image.Options) (v1.Image, error) {
		mu.Lock()
		defer mu.Unlock()
		if built != nil {
			return built, nil
		}
		img, err := image.Build(ctx, opts)
		if err != nil {
			return nil, err
		}
		// Compute the manifest now, under the lock, so that concurrent
		// pushes only read it.
		if _, err := img.Digest(); err != nil {
			return nil, err
		}
		built = img
		return img, nil
	}
}
