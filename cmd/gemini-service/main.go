// Command gemini-service is the container entrypoint of the lab's
// intelligent feature: the sentiment and pre-query check of package service,
// on Cloud Run's container contract. See service/README.md for its API and
// environment. (beyond itself runs the same service as `beyond
// gemini-service`, which is what the image it builds starts.)
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/beyond-lab/beyond/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "gemini-service:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends (service.Serve).
func run(ctx context.Context, stdout io.Writer, ready func(addr string)) error {
	return service.Serve(ctx, stdout, ready)
}
