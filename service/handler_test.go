package service

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/lab"
)

// syncBuffer is a log sink safe for the server's goroutines.
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

// serve starts the handler on real HTTP in front of a classifier that talks
// to a fake Gemini answering with answers.
func serve(t *testing.T, edit func(*Options), answers ...http.HandlerFunc) (*httptest.Server, *syncBuffer) {
	t.Helper()
	f := newFakeGemini(t, answers...)
	c, _ := newTestClassifier(t, f, func(c *Config) { c.Timeout = 300 * time.Millisecond })
	logs := &syncBuffer{}
	o := Options{
		Checker: c, Service: "gemini-service", Revision: "gemini-service-00001-abc",
		Configuration: "gemini-service", Region: "europe-west1", Project: "beyond-sim",
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	}
	if edit != nil {
		edit(&o)
	}
	srv := httptest.NewServer(NewHandler(o))
	t.Cleanup(srv.Close)
	return srv, logs
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url, contentType string, body io.Reader) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func postCheck(t *testing.T, srv *httptest.Server, body string) answer {
	return do(t, http.MethodPost, srv.URL+"/v1/check", "application/json", strings.NewReader(body))
}

// servedBy checks that a response says who served it, in headers and body.
func servedBy(t *testing.T, a answer) {
	t.Helper()
	if a.header.Get(lab.ServedRegionHeader) != "europe-west1" || a.header.Get(lab.ServedRevisionHeader) != "gemini-service-00001-abc" {
		t.Errorf("headers %s=%q %s=%q", lab.ServedRegionHeader, a.header.Get(lab.ServedRegionHeader), lab.ServedRevisionHeader, a.header.Get(lab.ServedRevisionHeader))
	}
	if strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
		var v struct{ Region, Revision string }
		if err := json.Unmarshal(a.body, &v); err != nil || v.Region != "europe-west1" || v.Revision != "gemini-service-00001-abc" {
			t.Errorf("body does not name region and revision: %s", a.body)
		}
	}
}

func TestHandlerCheck(t *testing.T) {
	srv, logs := serve(t, nil, verdictAnswer("positive", true, "enthusiastic praise"))
	a := postCheck(t, srv, `{"text":"I love this product!"}`)
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	servedBy(t, a)
	var got CheckResponse
	if err := json.Unmarshal(a.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Sentiment == nil || *got.Sentiment != "positive" || !got.Allowed || got.Service != "gemini-service" ||
		got.Model != DefaultModel || got.Simulated || got.Usage != (Usage{142, 17, 159}) {
		t.Errorf("got %s", a.body)
	}
	log := logs.String()
	for _, want := range []string{`"msg":"check"`, `"total_tokens":159`, `"sentiment":"positive"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, "I love this product") {
		t.Errorf("the user's text was logged")
	}
}

func TestHandlerErrors(t *testing.T) {
	quota := errorAnswer(429, "RESOURCE_EXHAUSTED", "quota", map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"})
	tests := []struct {
		name       string
		answer     http.HandlerFunc
		method     string
		body       string
		status     int
		retryAfter string
		allow      string
	}{
		{"body too big", verdictAnswer("positive", true, ""), "POST", `{"text":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, 413, "", ""},
		{"malformed JSON", verdictAnswer("positive", true, ""), "POST", `{"text":`, 400, "", ""},
		{"two JSON values", verdictAnswer("positive", true, ""), "POST", `{"text":"a"}{"text":"b"}`, 400, "", ""},
		{"text not a string", verdictAnswer("positive", true, ""), "POST", `{"text":42}`, 400, "", ""},
		{"no text", verdictAnswer("positive", true, ""), "POST", `{}`, 400, "", ""},
		{"empty text", verdictAnswer("positive", true, ""), "POST", `{"text":"  "}`, 400, "", ""},
		{"text too long", verdictAnswer("positive", true, ""), "POST", `{"text":"` + strings.Repeat("a", MaxTextChars+1) + `"}`, 400, "", ""},
		{"wrong method", verdictAnswer("positive", true, ""), "GET", ``, 405, "", "POST"},
		{"Gemini 429", quota, "POST", `{"text":"hi"}`, 429, "7", ""},
		{"Gemini 503", errorAnswer(503, "UNAVAILABLE", "The model is overloaded."), "POST", `{"text":"hi"}`, 503, "1", ""},
		{"Gemini timeout", hangAnswer, "POST", `{"text":"hi"}`, 504, "", ""},
		{"unusable output", textAnswer(`{"sentiment":"great"}`, "STOP"), "POST", `{"text":"hi"}`, 502, "", ""},
		{"Gemini refuses", errorAnswer(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers"), "POST", `{"text":"hi"}`, 502, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := serve(t, nil, tt.answer)
			a := do(t, tt.method, srv.URL+"/v1/check", "application/json", strings.NewReader(tt.body))
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			servedBy(t, a)
			var e ErrorResponse
			if err := json.Unmarshal(a.body, &e); err != nil || e.Error.Code != tt.status || e.Error.Message == "" {
				t.Errorf("error body %s", a.body)
			}
			if got := a.header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			if got := a.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
}

// A text Gemini blocks is answered 200 with allowed=false and sentiment
// null: the pre-query check worked and its verdict is "no"; there is no
// label, and none is invented.
func TestHandlerBlocked(t *testing.T) {
	srv, _ := serve(t, nil, jsonAnswer(200, map[string]any{"promptFeedback": map[string]any{"blockReason": "SAFETY"}}))
	a := postCheck(t, srv, `{"text":"something nasty"}`)
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	var got map[string]any
	json.Unmarshal(a.body, &got)
	if s, ok := got["sentiment"]; !ok || s != nil || got["allowed"] != false || got["blocked"] != "SAFETY" {
		t.Errorf("got %s; want sentiment null, allowed false, blocked SAFETY", a.body)
	}
}

func TestHandlerKeyNeverLeaks(t *testing.T) {
	srv, logs := serve(t, nil, errorAnswer(400, "INVALID_ARGUMENT", "API key not valid: "+testKey))
	a := postCheck(t, srv, `{"text":"hi"}`)
	if a.status != 502 {
		t.Fatalf("status %d", a.status)
	}
	if bytes.Contains(a.body, []byte(testKey)) || strings.Contains(logs.String(), testKey) {
		t.Errorf("the key leaked:\nbody %s\nlogs %s", a.body, logs)
	}
	if !strings.Contains(logs.String(), "check failed") {
		t.Errorf("the failure was not logged: %s", logs)
	}
}

func TestHandlerOutage(t *testing.T) {
	srv, _ := serve(t, func(o *Options) { o.Outage = true }, verdictAnswer("positive", true, ""))
	for _, path := range []string{"/v1/check", "/healthz", "/", "/nope"} {
		a := do(t, http.MethodPost, srv.URL+path, "application/json", strings.NewReader(`{"text":"hi"}`))
		if a.status != 503 || !bytes.Contains(a.body, []byte("simulated outage")) {
			t.Errorf("%s: status %d %s; want 503 saying the outage is simulated", path, a.status, a.body)
		}
		servedBy(t, a)
	}
}

func TestHandlerPages(t *testing.T) {
	srv, _ := serve(t, nil, verdictAnswer("positive", true, ""))
	tests := []struct {
		path, accept, wantType, wantText string
		status                           int
	}{
		{"/", "", "text/html", "It's running!", 200},
		{"/", "text/html,application/xhtml+xml", "text/html", "europe-west1", 200},
		{"/?format=json", "", "application/json", `"message":"It's running!"`, 200},
		{"/", "application/json", "application/json", `"service":"gemini-service"`, 200},
		{"/?format=text", "", "text/plain", "revision=gemini-service-00001-abc region=europe-west1", 200},
		{"/healthz", "", "application/json", `"status":"ok"`, 200},
		{"/health", "", "application/json", `"status":"ok"`, 200},
		{"/nope", "", "application/json", `"code":404`, 404},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
		if tt.accept != "" {
			req.Header.Set("Accept", tt.accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		a := answer{resp.StatusCode, resp.Header, b}
		if a.status != tt.status || !strings.HasPrefix(a.header.Get("Content-Type"), tt.wantType) || !strings.Contains(string(b), tt.wantText) {
			t.Errorf("GET %s (Accept %q) = %d %s %q; want %d %s containing %q", tt.path, tt.accept, a.status, a.header.Get("Content-Type"), b, tt.status, tt.wantType, tt.wantText)
		}
		servedBy(t, a)
	}
	a := do(t, http.MethodDelete, srv.URL+"/", "", nil)
	if a.status != 405 || a.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("DELETE / = %d Allow %q", a.status, a.header.Get("Allow"))
	}
}

func TestHandlerNoChecker(t *testing.T) {
	srv := httptest.NewServer(NewHandler(Options{Revision: "r1"}))
	defer srv.Close()
	a := postCheck(t, srv, `{"text":"hi"}`)
	if a.status != 503 || a.header.Get(lab.ServedRegionHeader) != UnknownRegion {
		t.Errorf("status %d region %q; want 503 from region unknown", a.status, a.header.Get(lab.ServedRegionHeader))
	}
}
