package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

const secret = "AIzaSy-main-test-secret"

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// setEnv gives run a clean Cloud Run-like environment: a fake Gemini, a
// fake metadata server, and no variable leaking in from the machine.
func setEnv(t *testing.T, key string) {
	t.Helper()
	gemini := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-goog-api-key") != secret {
			w.WriteHeader(403)
			w.Write([]byte(`{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}`))
			return
		}
		w.Write([]byte(`{"candidates":[{"content":{"role":"model","parts":[{"text":"{\"sentiment\":\"positive\",\"allowed\":true,\"reason\":\"praise\"}"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"totalTokenCount":15},"modelVersion":"gemini-2.5-flash"}`))
	}))
	t.Cleanup(gemini.Close)
	md := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Metadata-Flavor", "Google")
		switch r.URL.Path {
		case "/computeMetadata/v1/instance/region":
			io.WriteString(w, "projects/1234/regions/us-central1")
		case "/computeMetadata/v1/project/project-id":
			io.WriteString(w, "beyond-sim")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(md.Close)
	for k, v := range map[string]string{
		"PORT": "0", "K_SERVICE": "gemini-service", "K_REVISION": "gemini-service-00001-xyz", "K_CONFIGURATION": "gemini-service",
		"GEMINI_API_KEY": key, "GOOGLE_API_KEY": "", "GOOGLE_GENAI_USE_VERTEXAI": "", "GEMINI_MODEL": "",
		"GOOGLE_GEMINI_BASE_URL": gemini.URL, "GCE_METADATA_HOST": strings.TrimPrefix(md.URL, "http://"),
		"BEYOND_OUTAGE": "", "CHECK_TIMEOUT": "", "CHECK_RETRIES": "",
	} {
		t.Setenv(k, v)
	}
}

// start runs the service until the test ends and returns its base URL.
func start(t *testing.T) (url string, logs *syncBuffer, stop func() error) {
	t.Helper()
	logs = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, logs, func(a string) { addrc <- a }) }()
	select {
	case a := <-addrc:
		url = "http://" + strings.Replace(a, "[::]", "127.0.0.1", 1)
	case err := <-errc:
		cancel()
		t.Fatalf("run: %v\n%s", err, logs)
	}
	stopped := false
	stop = func() error {
		stopped = true
		cancel()
		return <-errc
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return url, logs, stop
}

func TestServe(t *testing.T) {
	setEnv(t, secret)
	url, logs, stop := start(t)

	resp, err := http.Post(url+"/v1/check", "application/json", strings.NewReader(`{"text":"I love it"}`))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if resp.StatusCode != 200 || got["sentiment"] != "positive" || got["region"] != "us-central1" ||
		got["revision"] != "gemini-service-00001-xyz" || resp.Header.Get("X-Served-Region") != "us-central1" {
		t.Errorf("status %d %v %v", resp.StatusCode, got, resp.Header)
	}
	if err := stop(); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
	out := logs.String()
	for _, want := range []string{`"severity":"INFO"`, `"message":"serving"`, `"region":"us-central1"`, `"message":"check"`, `"total_tokens":15`, `"message":"stopped"`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, secret) {
		t.Errorf("the API key was logged")
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON: %s", line)
		}
	}
}

func TestBadConfigFails(t *testing.T) {
	setEnv(t, "")
	err := run(context.Background(), io.Discard, func(string) { t.Error("started without a key") })
	if err == nil || !strings.Contains(err.Error(), "GEMINI_API_KEY") {
		t.Fatalf("run = %v; want an error naming GEMINI_API_KEY", err)
	}
	t.Setenv("PORT", "http")
	if err := run(context.Background(), io.Discard, nil); err == nil || !strings.Contains(err.Error(), "PORT") {
		t.Errorf("run = %v; want an error naming PORT", err)
	}
	t.Setenv("PORT", "0")
	t.Setenv("CHECK_TIMEOUT", "soon")
	if err := run(context.Background(), io.Discard, nil); err == nil || !strings.Contains(err.Error(), "CHECK_TIMEOUT") {
		t.Errorf("run = %v; want an error naming CHECK_TIMEOUT", err)
	}
}

// The outage switch starts a revision that fails every request, even one
// with no usable model configuration.
func TestOutage(t *testing.T) {
	setEnv(t, "")
	t.Setenv("BEYOND_OUTAGE", "1")
	url, _, _ := start(t)
	for _, path := range []string{"/healthz", "/"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || !strings.Contains(string(b), "simulated outage") || !strings.Contains(string(b), "us-central1") {
			t.Errorf("GET %s = %d %s", path, resp.StatusCode, b)
		}
	}
}
