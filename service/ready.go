package service

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/beyond-lab/beyond/lab"
)

// Readiness, for Cloud Run service health: every instance runs the readiness
// probe every few seconds, and Cloud Run takes a region out of the load
// balancer when fewer than 60% of its instances pass. The probe must never
// call the model (that would bill Gemini on every probe of every instance,
// and a probe's own 429 would take a healthy region out), so the answer
// comes from what recent checks saw: a region whose model calls fail is not
// ready, one whose calls succeed (or that had none) is.

// Readiness settings.
const (
	// unreadyAfter consecutive failed model calls make the instance unready.
	unreadyAfter = 3
	// readyMemory is how long failures are remembered. Once unready, the
	// load balancer sends no more requests to learn from, so after this
	// long the instance says ready again and the next requests tell.
	readyMemory = time.Minute
)

// readiness remembers the outcome of the latest model calls.
type readiness struct {
	now func() time.Time

	mu       sync.Mutex
	failures int       // consecutive failed model calls
	lastFail time.Time // when the latest of them failed
	lastErr  string
}

func newReadiness(now func() time.Time) *readiness {
	if now == nil {
		now = time.Now
	}
	return &readiness{now: now}
}

// record notes the outcome of one model call.
func (r *readiness) record(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !modelFailure(err) {
		if err == nil {
			r.failures = 0
		}
		return
	}
	r.failures++
	r.lastFail = r.now()
	r.lastErr = err.Error()
}

// modelFailure reports whether err says the model cannot answer from this
// region: unavailable, timed out, not served here, or refused. A rate limit
// (429) is not one: it passes, and moving the traffic moves the load too.
// Bad input is the caller's fault.
func modelFailure(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrTimeout) ||
		errors.Is(err, ErrNotServed) || errors.Is(err, ErrRejected)
}

// state reports whether the instance is ready, and why not.
func (r *readiness) state() (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failures >= unreadyAfter && r.now().Sub(r.lastFail) < readyMemory {
		return false, fmt.Sprintf("the last %d model calls failed (latest: %s)", r.failures, truncate(r.lastErr, 160))
	}
	return true, ""
}

// readyz answers the readiness probe: 200 when ready, 503 when not. The
// outage switch answers 503 before it gets here (ServeHTTP).
func (h *handler) readyz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.fail(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here: use GET")
		return
	}
	if h.o.Unready {
		h.fail(w, http.StatusServiceUnavailable, fmt.Sprintf("not ready: %s=%s is set on revision %s (the lab's readiness-only outage); deploy a revision without it to recover", lab.OutageEnv, lab.UnreadyValue, h.o.Revision))
		return
	}
	if h.o.Checker == nil {
		h.fail(w, http.StatusServiceUnavailable, "not ready: no Gemini classifier is configured in this revision")
		return
	}
	if ok, why := h.ready.state(); !ok {
		h.fail(w, http.StatusServiceUnavailable, "not ready: "+why)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "region": h.o.Region, "revision": h.o.Revision})
}
