package service

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/lab"
)

// countingChecker answers every check with err, counting calls.
type countingChecker struct {
	mu    sync.Mutex
	err   error
	calls int
}

func (s *countingChecker) Check(ctx context.Context, text string) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return Result{}, s.err
	}
	return Result{Sentiment: "positive", Allowed: true}, nil
}

func (s *countingChecker) fail(err error) { s.mu.Lock(); s.err = err; s.mu.Unlock() }

func readyStatus(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, lab.ReadyPath, nil))
	return rec.Code, rec.Body.String()
}

func sendCheck(h http.Handler) {
	req := httptest.NewRequest(http.MethodPost, "/v1/check", strings.NewReader(`{"text":"I love this product!"}`))
	h.ServeHTTP(httptest.NewRecorder(), req)
}

// The readiness probe never calls the model; it turns unready after three
// failed model calls in a row (not after rate limits), ready again after a
// success or once the failures are a minute old.
func TestReadyFollowsWhatChecksSaw(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	c := &countingChecker{}
	h := NewHandler(Options{Checker: c, Region: "us-central1", Revision: "r1", Now: func() time.Time { return now }})

	if code, body := readyStatus(t, h); code != http.StatusOK || !strings.Contains(body, `"ready"`) {
		t.Fatalf("fresh instance: %d %s; want 200 ready", code, body)
	}
	c.fail(fmt.Errorf("%w: 429", ErrRateLimited))
	for range 5 {
		sendCheck(h)
	}
	if code, _ := readyStatus(t, h); code != http.StatusOK {
		t.Errorf("after rate limits: %d; want ready (a 429 is not a regional failure)", code)
	}
	c.fail(fmt.Errorf("%w: 503 from the model", ErrUnavailable))
	sendCheck(h)
	sendCheck(h)
	if code, _ := readyStatus(t, h); code != http.StatusOK {
		t.Errorf("after 2 failures: %d; want still ready", code)
	}
	sendCheck(h)
	code, body := readyStatus(t, h)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "the last 3 model calls failed") {
		t.Errorf("after 3 failures: %d %s; want 503 saying why", code, body)
	}
	c.mu.Lock()
	calls := c.calls
	c.mu.Unlock()
	readyStatus(t, h)
	c.mu.Lock()
	if c.calls != calls {
		t.Errorf("the readiness probe called the model")
	}
	c.mu.Unlock()

	now = now.Add(time.Minute)
	if code, _ := readyStatus(t, h); code != http.StatusOK {
		t.Errorf("a minute later: %d; want ready again, so that new requests can tell", code)
	}
	sendCheck(h)
	sendCheck(h)
	sendCheck(h)
	c.fail(nil)
	sendCheck(h)
	if code, _ := readyStatus(t, h); code != http.StatusOK {
		t.Errorf("after a success: %d; want ready", code)
	}
}

func TestReadyWithOutageSwitchOrNoModel(t *testing.T) {
	h := NewHandler(Options{Checker: &countingChecker{}, Outage: true})
	if code, _ := readyStatus(t, h); code != http.StatusServiceUnavailable {
		t.Errorf("outage switch on: %d; want 503", code)
	}
	h = NewHandler(Options{})
	if code, body := readyStatus(t, h); code != http.StatusServiceUnavailable || !strings.Contains(body, "no Gemini classifier") {
		t.Errorf("no classifier: %d %s; want 503 saying why", code, body)
	}
}
