package service

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// echoChecker answers every check and remembers the text it was given.
type echoChecker struct{ got *string }

func (c echoChecker) Check(_ context.Context, text string) (Result, error) {
	*c.got = text
	return Result{Sentiment: "Neutral", Allowed: true, Model: DefaultModel}, nil
}

// FuzzCheckRequest: any body POSTed to /v1/check is answered 200 with the
// check, or 400 / 413 with Google-style JSON saying what to send; never a
// 5xx or a panic. A text reaches the model only when it is a valid one,
// exactly as sent.
func FuzzCheckRequest(f *testing.F) {
	for _, s := range []string{`{"text":"I love this"}`, `{"text":""}`, `{}`, `{"text":null}`, `{"text":1}`, `[]`, `{"text":"a"}{"text":"b"}`,
		`{"text":"\u0000"}`, `{"text":"\ud800"}`, `{"TEXT":"case"}`, `{"text":"a","text":"b"}`, `not json`, ``, `{"text":"` + strings.Repeat("é", MaxTextChars+1) + `"}`,
		`{"text":"` + strings.Repeat("x", MaxBodyBytes) + `"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var got string
		called := false
		h := NewHandler(Options{Checker: checkerFunc(func(ctx context.Context, text string) (Result, error) {
			called = true
			return echoChecker{&got}.Check(ctx, text)
		}), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		req := httptest.NewRequest(http.MethodPost, "/v1/check", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%q: %d answer is not JSON: %q", body, rec.Code, rec.Body.String())
		}
		switch rec.Code {
		case http.StatusOK:
			if !called || ValidateText(got) != nil {
				t.Fatalf("%q: 200 for text %q", body, got)
			}
			var req struct{ Text string }
			if json.Unmarshal([]byte(body), &req) != nil || req.Text != got {
				t.Fatalf("%q: the model got %q", body, got)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if called {
				t.Fatalf("%q: refused with %d after calling the model", body, rec.Code)
			}
		default:
			t.Fatalf("%q: status %d", body, rec.Code)
		}
	})
}

type checkerFunc func(context.Context, string) (Result, error)

func (f checkerFunc) Check(ctx context.Context, text string) (Result, error) { return f(ctx, text) }
