package main

import (
	"context"
	"fmt"
	"io"
)

// runTUI is the interactive front end.
func runTUI(ctx context.Context, cfg *config, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "beyond: the interactive guide is not built yet; use --non-interactive")
	return exitUsage
}
