package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/beyond-lab/beyond/lab"
)

// Checker is what the handler needs from a classifier; *Classifier is one.
type Checker interface {
	Check(ctx context.Context, text string) (Result, error)
}

// Options configure NewHandler.
type Options struct {
	// Checker answers /v1/check. Nil makes every check answer 503.
	Checker Checker
	// Who serves: Cloud Run's K_SERVICE, K_REVISION, K_CONFIGURATION, and
	// the region and project from the metadata server.
	Service, Revision, Configuration, Region, Project string
	// Outage makes every request, /healthz included, answer 503: a revision
	// that starts fine and then fails, so the load balancer's outlier
	// detection sees a failing region (lab.OutageEnv set to 1).
	Outage bool
	// Unready makes the readiness endpoint answer 503 while everything
	// else serves (lab.OutageEnv set to lab.UnreadyValue).
	Unready bool
	// Logger receives one line per check; nil discards them.
	Logger *slog.Logger
	// Now is the clock of the readiness endpoint's memory; nil is time.Now.
	Now func() time.Time
}

// CheckRequest is the body of POST /v1/check.
type CheckRequest struct {
	Text string `json:"text"`
}

// CheckResponse is the answer of POST /v1/check.
type CheckResponse struct {
	// Sentiment is null when Gemini's safety filters blocked the text.
	Sentiment    *string `json:"sentiment"`
	Allowed      bool    `json:"allowed"`
	Reason       string  `json:"reason,omitempty"`
	Blocked      string  `json:"blocked,omitempty"`
	Region       string  `json:"region"`
	Revision     string  `json:"revision"`
	Service      string  `json:"service"`
	Model        string  `json:"model"`
	ModelVersion string  `json:"model_version,omitempty"`
	Simulated    bool    `json:"simulated"`
	Usage        Usage   `json:"usage"`
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Region   string `json:"region"`
	Revision string `json:"revision"`
}

type handler struct {
	o     Options
	log   *slog.Logger
	mux   *http.ServeMux
	ready *readiness
}

// NewHandler returns the service's HTTP API:
//
//	POST /v1/check   {"text": "..."} → CheckResponse
//	GET  /           "It's running!" page; ?format=json or ?format=text
//	GET  /healthz    200 while serving (also /health: Cloud Run reserves
//	                 some paths ending in z)
//	GET  /ready      the readiness probe's answer (ready.go)
func NewHandler(o Options) http.Handler {
	if o.Region == "" {
		o.Region = UnknownRegion
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{o: o, log: log, mux: http.NewServeMux(), ready: newReadiness(o.Now)}
	h.mux.HandleFunc("/v1/check", h.check)
	h.mux.HandleFunc(lab.ReadyPath, h.readyz)
	h.mux.HandleFunc("/healthz", h.health)
	h.mux.HandleFunc(lab.HealthPath, h.health)
	h.mux.HandleFunc("/{$}", h.root)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, http.StatusNotFound, fmt.Sprintf("no such path %q: try POST /v1/check", r.URL.Path))
	})
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every response names who served it.
	w.Header().Set(lab.ServedRegionHeader, h.o.Region)
	w.Header().Set(lab.ServedRevisionHeader, h.o.Revision)
	w.Header().Set("Cache-Control", "no-store")
	if h.o.Outage {
		h.fail(w, http.StatusServiceUnavailable, fmt.Sprintf(
			"simulated outage: %s=1 is set on revision %s in region %s; deploy a revision without it to recover",
			lab.OutageEnv, h.o.Revision, h.o.Region))
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *handler) check(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, http.StatusMethodNotAllowed, r.Method+` is not allowed here: POST {"text": "..."} to /v1/check`)
		return
	}
	start := time.Now()
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	var req struct {
		Text *string `json:"text"`
	}
	dec := json.NewDecoder(body)
	err := dec.Decode(&req)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		// Read to the end, so that a body over the limit is caught even
		// when its first value is well formed.
		_, err = io.Copy(io.Discard, body)
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		h.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is over %d bytes", MaxBodyBytes))
		return
	case err != nil:
		h.fail(w, http.StatusBadRequest, `malformed JSON: send {"text": "..."}: `+truncate(err.Error(), 120))
		return
	case req.Text == nil:
		h.fail(w, http.StatusBadRequest, `missing "text": send {"text": "..."}`)
		return
	}
	if err := ValidateText(*req.Text); err != nil {
		h.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if h.o.Checker == nil {
		h.fail(w, http.StatusServiceUnavailable, "no Gemini classifier is configured in this revision")
		return
	}
	res, err := h.o.Checker.Check(r.Context(), *req.Text)
	h.ready.record(err)
	if err != nil {
		status, retryAfter := statusOf(err)
		if retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
		}
		h.log.LogAttrs(r.Context(), slog.LevelWarn, "check failed",
			slog.Int("status", status), slog.String("error", err.Error()),
			slog.Int("text_chars", len([]rune(*req.Text))), slog.Int("attempts", res.Attempts),
			slog.Int64("latency_ms", time.Since(start).Milliseconds()))
		h.fail(w, status, err.Error())
		return
	}
	out := CheckResponse{
		Allowed:      res.Allowed,
		Reason:       res.Reason,
		Blocked:      res.Blocked,
		Region:       h.o.Region,
		Revision:     h.o.Revision,
		Service:      h.o.Service,
		Model:        res.Model,
		ModelVersion: res.ModelVersion,
		Simulated:    res.Simulated,
		Usage:        res.Usage,
	}
	if res.Sentiment != "" {
		out.Sentiment = &res.Sentiment
	}
	for _, note := range res.Adjusted {
		// A setting Gemini refused: the classifier sends without it from
		// now on; say so once, where the operator looks.
		h.log.LogAttrs(r.Context(), slog.LevelWarn, "gemini refused a setting", slog.String("change", note))
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "check",
		slog.String("sentiment", res.Sentiment), slog.Bool("allowed", res.Allowed), slog.String("blocked", res.Blocked),
		slog.Int("text_chars", len([]rune(*req.Text))),
		slog.Int("prompt_tokens", int(res.Usage.PromptTokens)), slog.Int("output_tokens", int(res.Usage.OutputTokens)),
		slog.Int("total_tokens", int(res.Usage.TotalTokens)),
		slog.String("model_version", res.ModelVersion), slog.Bool("simulated", res.Simulated),
		slog.Int("attempts", res.Attempts), slog.Int64("latency_ms", time.Since(start).Milliseconds()))
	writeJSON(w, http.StatusOK, out)
}

// statusOf maps a check's error to the HTTP status of the answer, and how
// long the client should wait before trying again.
func statusOf(err error) (int, time.Duration) {
	var e *Error
	var after time.Duration
	if errors.As(err, &e) {
		after = e.RetryAfter
	}
	switch {
	case errors.Is(err, ErrInvalidText):
		return http.StatusBadRequest, 0
	case errors.Is(err, ErrRateLimited):
		return http.StatusTooManyRequests, max(after, time.Second)
	case errors.Is(err, ErrTimeout):
		return http.StatusGatewayTimeout, 0
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable, max(after, time.Second)
	case errors.Is(err, ErrBadOutput), errors.Is(err, ErrRejected), errors.Is(err, ErrNotServed):
		return http.StatusBadGateway, 0
	}
	return http.StatusInternalServerError, 0
}

func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.fail(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here: use GET")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "region": h.o.Region, "revision": h.o.Revision})
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Service}}</title>
<style>body{font-family:sans-serif;max-width:40em;margin:3em auto;line-height:1.5}code{background:#eee;padding:0 .2em}</style>
</head>
<body>
<h1>It's running!</h1>
<p>This is revision <code>{{.Revision}}</code> of service <code>{{.Service}}</code>,
serving from region <code>{{.Region}}</code>{{if .Project}} of project <code>{{.Project}}</code>{{end}}.</p>
<p>Ask for a check: <code>curl -X POST -d '{"text":"I love this!"}' URL/v1/check</code></p>
</body>
</html>
`))

func (h *handler) root(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.fail(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here: use GET, or POST to /v1/check")
		return
	}
	info := map[string]string{
		"message":  "It's running!",
		"service":  h.o.Service,
		"revision": h.o.Revision,
		"region":   h.o.Region,
		"project":  h.o.Project,
	}
	switch Format(r) {
	case "json":
		writeJSON(w, http.StatusOK, info)
	case "text":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "It's running! service=%s revision=%s region=%s\n", h.o.Service, h.o.Revision, h.o.Region)
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page.Execute(w, struct{ Service, Revision, Region, Project string }{h.o.Service, h.o.Revision, h.o.Region, h.o.Project})
	}
}

// Format picks the form of a hello-style page: "html", "json" or "text",
// from ?format= first, then the Accept header, as Google's hello sample does.
func Format(r *http.Request) string {
	switch f := r.URL.Query().Get("format"); f {
	case "json", "text", "html":
		return f
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/html":
			return "html"
		case "application/json":
			return "json"
		case "text/plain":
			return "text"
		}
	}
	return "html"
}

func (h *handler) fail(w http.ResponseWriter, status int, msg string) {
	var e ErrorResponse
	e.Error.Code = status
	e.Error.Message = msg
	e.Region, e.Revision = h.o.Region, h.o.Revision
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
