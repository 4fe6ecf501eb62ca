package service

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The handler's own cost, with models that answer at once. Run with
// go test -run '^$' -bench . -benchmem ./service/

const benchBody = `{"text":"The delivery was late, but the support team fixed everything within an hour. Great service!"}`

// stubChecker answers every check at once with the same verdict.
type stubChecker struct{}

func (stubChecker) Check(ctx context.Context, text string) (Result, error) {
	return Result{Sentiment: Positive, Allowed: true, Reason: "praise", Model: DefaultModel, Usage: Usage{180, 17, 197}, Attempts: 1}, nil
}

// cannedTransport is a Gemini that answers in memory, without a socket.
type cannedTransport struct{ body []byte }

func (c cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return &http.Response{
		StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"application/json; charset=UTF-8"}},
		Body:    io.NopCloser(bytes.NewReader(c.body)),
		Request: r,
	}, nil
}

func benchHandler(b *testing.B, h http.Handler) {
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/check", strings.NewReader(benchBody))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkHandlerOnly is the HTTP layer alone: decode, validate, answer,
// log (to a discarding logger).
func BenchmarkHandlerOnly(b *testing.B) {
	benchHandler(b, NewHandler(Options{Checker: stubChecker{}, Region: "us-central1", Revision: "r1"}))
}

// BenchmarkHandlerWithSDK adds the classifier and Google's SDK: building the
// request, encoding it, decoding and validating the answer.
func BenchmarkHandlerWithSDK(b *testing.B) {
	rec := httptest.NewRecorder()
	verdictAnswer("positive", true, "praise for quick support")(rec, httptest.NewRequest("POST", "/", nil))
	c, err := NewClassifier(context.Background(), Config{APIKey: testKey, BaseURL: "http://gemini.invalid",
		HTTPClient: &http.Client{Transport: cannedTransport{rec.Body.Bytes()}}})
	if err != nil {
		b.Fatal(err)
	}
	benchHandler(b, NewHandler(Options{Checker: c, Region: "us-central1", Revision: "r1"}))
}

// BenchmarkHandlerLoopback is the whole path over real loopback HTTP: client
// to handler, handler to a fake Gemini that answers at once.
func BenchmarkHandlerLoopback(b *testing.B) {
	f := newFakeGemini(b, verdictAnswer("positive", true, "praise for quick support"))
	c, _ := newTestClassifier(b, f)
	srv := httptest.NewServer(NewHandler(Options{Checker: c, Region: "us-central1", Revision: "r1"}))
	defer srv.Close()
	client := srv.Client()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Post(srv.URL+"/v1/check", "application/json", strings.NewReader(benchBody))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
