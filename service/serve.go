package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/beyond-lab/beyond/lab"
)

// shutdownGrace is how long in-flight requests get after SIGTERM: Cloud Run
// sends SIGKILL 10 s after SIGTERM.
const shutdownGrace = 8 * time.Second

// Serve runs the service on Cloud Run's container contract (PORT, K_SERVICE,
// K_REVISION, the metadata server for the region) until ctx ends, then shuts
// down gracefully; it logs JSON lines for Cloud Logging to stdout. ready, if
// set, receives the address it listens on. The image's entrypoint calls it:
// cmd/gemini-service, or beyond itself as `beyond gemini-service`.
func Serve(ctx context.Context, stdout io.Writer, ready func(addr string)) error {
	useFallbackRoots()
	log := newLogger(stdout)

	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("PORT=%q is not a port number: Cloud Run sets it; unset it to use 8080", port)
	}
	inOutage := lab.Outage(os.Getenv(lab.OutageEnv))

	cfg, err := ConfigFromEnv()
	if err != nil {
		return fmt.Errorf("bad configuration: %w", err)
	}
	where := LookupPlacement(ctx, DefaultPlacementTimeout)
	if where.Err != nil {
		log.Warn("region unknown", "reason", where.Err.Error())
	}
	if cfg.VertexAI && cfg.Project == "" {
		cfg.Project = where.ProjectID // on Cloud Run, the service's own project
	}
	classifier, err := NewClassifier(ctx, cfg)
	switch {
	case err != nil && !inOutage:
		return err
	case err != nil:
		log.Warn("no classifier; serving the simulated outage anyway", "reason", err.Error())
	}

	opts := Options{
		Service:       os.Getenv("K_SERVICE"),
		Revision:      os.Getenv("K_REVISION"),
		Configuration: os.Getenv("K_CONFIGURATION"),
		Region:        where.Region,
		Project:       where.ProjectID,
		Outage:        inOutage,
		Unready:       lab.Unready(os.Getenv(lab.OutageEnv)),
		Logger:        log,
	}
	model := DefaultModel
	if classifier != nil {
		opts.Checker = classifier
		model = classifier.Model()
	}
	srv := &http.Server{
		Handler:           NewHandler(opts),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	lis, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return fmt.Errorf("listen on port %s: %w", port, err)
	}
	log.Info("serving", "addr", lis.Addr().String(), "service", opts.Service, "revision", opts.Revision,
		"region", opts.Region, "model", model, "mode", cfg.Mode(), "outage", inOutage)
	if ready != nil {
		ready(lis.Addr().String())
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", shutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// newLogger writes JSON lines with the field names Cloud Logging reads:
// severity and message.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.LevelKey:
				a.Key = "severity"
				if l, ok := a.Value.Any().(slog.Level); ok && l >= slog.LevelWarn && l < slog.LevelError {
					a.Value = slog.StringValue("WARNING")
				}
			case slog.MessageKey:
				a.Key = "message"
			}
			return a
		},
	}))
}
