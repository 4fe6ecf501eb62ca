package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// testKey is the API key tests configure; it must never come back out.
const testKey = "AIzaSy-test-secret-key-0123456789"

// call is one request the fake Gemini received.
type call struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// fakeGemini is a Gemini endpoint on real HTTP that answers from a script:
// answers are used in order, the last one for every further call.
type fakeGemini struct {
	srv *httptest.Server

	mu      sync.Mutex
	calls   []call
	answers []http.HandlerFunc
}

func newFakeGemini(t testing.TB, answers ...http.HandlerFunc) *fakeGemini {
	t.Helper()
	f := &fakeGemini{answers: answers}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGemini) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, call{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
	answer := f.answers[min(len(f.calls), len(f.answers))-1]
	f.mu.Unlock()
	answer(w, r)
}

func (f *fakeGemini) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// verdictAnswer answers as Gemini does with a JSON verdict in the text.
func verdictAnswer(sentiment string, allowed bool, reason string) http.HandlerFunc {
	v, _ := json.Marshal(map[string]any{"sentiment": sentiment, "allowed": allowed, "reason": reason})
	return textAnswer(string(v), "STOP")
}

// textAnswer answers with text as the first candidate's only part.
func textAnswer(text, finish string) http.HandlerFunc {
	return jsonAnswer(http.StatusOK, map[string]any{
		"candidates": []any{map[string]any{
			"content":      map[string]any{"role": "model", "parts": []any{map[string]any{"text": text}}},
			"finishReason": finish,
			"index":        0,
		}},
		"usageMetadata": map[string]any{"promptTokenCount": 142, "candidatesTokenCount": 17, "totalTokenCount": 159},
		"modelVersion":  "gemini-3.5-flash",
		"responseId":    "resp-1",
	})
}

// errorAnswer answers with Google's error JSON.
func errorAnswer(code int, status, msg string, details ...map[string]any) http.HandlerFunc {
	e := map[string]any{"code": code, "message": msg, "status": status}
	if len(details) > 0 {
		e["details"] = details
	}
	return jsonAnswer(code, map[string]any{"error": e})
}

func jsonAnswer(status int, v any) http.HandlerFunc {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(status)
		w.Write(b)
	}
}

// hangAnswer never answers before the client gives up.
func hangAnswer(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(30 * time.Second):
	}
}

// newTestClassifier returns a classifier that talks to f, with retries that
// do not sleep (the waits are recorded instead).
func newTestClassifier(t testing.TB, f *fakeGemini, edit ...func(*Config)) (*Classifier, *[]time.Duration) {
	t.Helper()
	cfg := Config{APIKey: testKey, BaseURL: f.srv.URL, Timeout: 5 * time.Second, Retries: DefaultRetries}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := NewClassifier(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewClassifier: %v", err)
	}
	var mu sync.Mutex
	waits := &[]time.Duration{}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*waits = append(*waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	return c, waits
}

func (c call) String() string { return fmt.Sprintf("%s %s?%s", c.Method, c.Path, c.RawQuery) }
