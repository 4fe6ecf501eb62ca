package steps

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/gcp"
)

// TestBurstWaitsForAnswers: answers slower than the burst's time (a loaded
// machine, a client far from Google) still come back: a check must not
// judge traffic on "no answers".
func TestBurstWaitsForAnswers(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	s := &Session{Cloud: &gcp.Cloud{}, Probe: ProbeConfig{Rate: 20}, feed: &feed{}}
	got := make(chan []Sample, 1)
	go func() { got <- s.burst(context.Background(), srv.URL, 10*time.Millisecond) }()
	// Nothing has answered when the burst's 10 ms are over; answers come
	// once released, well within its patience.
	time.AfterFunc(100*time.Millisecond, func() { close(release) })
	seen := <-got
	ok := 0
	for _, sm := range seen {
		if sm.Status == http.StatusOK {
			ok++
		}
	}
	if ok == 0 {
		t.Fatalf("the burst returned %d samples, none answered: %+v", len(seen), seen)
	}
}
