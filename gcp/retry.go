package gcp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/googleapis/gax-go/v2"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/googleapi"
	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
)

// Retry is how the lab retries a call that failed for a reason that goes
// away by itself: a rate limit, an unavailable or overloaded service, a
// concurrent change. Every call of this package goes through it (Cloud.call),
// and the clients' own retries are turned off (noRetry), so a retry always
// shows as a progress line and the budget is this one.
type Retry struct {
	// Attempts is how many times a call is made in all, the first included.
	Attempts int
	// Initial is the wait before the second attempt; each later wait
	// doubles, up to Max. Each wait is jittered to between half and all of
	// it, so that thirty learners hitting the same limit do not retry in
	// step.
	Initial, Max time.Duration
	// Sleep waits d or until ctx ends; nil is a real timer. Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1); nil is math/rand.
	Jitter func() float64
}

// DefaultRetry is the budget on Google: 5 attempts over about 15 s at most,
// as Google's guidance on 429 and 503 asks (exponential backoff with jitter,
// starting near 1 s). SimRetry keeps a replay on the simulator short.
var (
	DefaultRetry = Retry{Attempts: 5, Initial: time.Second, Max: 8 * time.Second}
	SimRetry     = Retry{Attempts: 5, Initial: 100 * time.Millisecond, Max: 800 * time.Millisecond}
)

// delay is the jittered wait after the given failed attempt (1-based).
func (r Retry) delay(attempt int) time.Duration {
	d := r.Initial << (attempt - 1)
	if d > r.Max || d <= 0 {
		d = r.Max
	}
	j := rand.Float64
	if r.Jitter != nil {
		j = r.Jitter
	}
	return d/2 + time.Duration(j()*float64(d/2))
}

func (r Retry) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// noRetry turns off a Google client's own retries for one call: Cloud.call
// retries instead, with progress lines, in one budget.
var noRetry = gax.WithRetry(func() gax.Retryer { return nil })

// callKind says what a retried call does, for what a retry may take as done.
type callKind int

const (
	read   callKind = iota // a get or list: 500 / INTERNAL is retried too
	create                 // a retry answered "already exists" means an earlier attempt took effect
	update                 // a retry answered "condition not met" (a stale fingerprint) means an earlier attempt took effect
	remove                 // a retry answered "not found" means an earlier attempt took effect
	write                  // any other change
)

// call runs f, the attempt of one API call named method as Google names it
// ("compute.urlMaps.insert", "run.CreateService"), until it succeeds, fails
// for good, or the budget is spent. A change (create, update, delete) is
// retried whole: f sends the request and waits for its operation, so an
// operation that fails with a transient error is sent again. Because a
// transient error can be answered after the change took effect, a retried
// change answered by the conflict that change would cause counts as done.
// Each retry is a progress line, to progress or else to the context's
// (WithProgress).
func (c *Cloud) call(ctx context.Context, method string, kind callKind, progress Progress, f func(context.Context) error) error {
	if progress == nil {
		progress = progressFrom(ctx)
	}
	if c.snap != nil {
		// A Snapshot view counts every attempt of the reads it makes
		// itself, those it does not memoise from a list included.
		f = c.snap.counted(f)
	}
	r := c.Retry
	if r.Attempts < 1 {
		r.Attempts = 1
	}
	var last string // the transient error of the previous attempt
	for attempt := 1; ; attempt++ {
		err := f(ctx)
		if err == nil {
			return nil
		}
		if last != "" && tookEffect(kind, err) {
			if progress != nil {
				progress(fmt.Sprintf("%s answered %s after a %s: the earlier attempt took effect", method, effectName[kind], last))
			}
			return nil
		}
		why, ok := transient(err, kind == read)
		if !ok || ctx.Err() != nil {
			return err
		}
		if attempt >= r.Attempts {
			return &retriedError{err: err, attempts: attempt}
		}
		d := r.delay(attempt)
		if progress != nil {
			progress(fmt.Sprintf("%s from %s; retrying in %s, %d of %d", why, method, roundDelay(d), attempt+1, r.Attempts))
		}
		if err := r.sleep(ctx, d); err != nil {
			return err
		}
		last = why
	}
}

// roundDelay writes a wait as a learner reads it: "4 s", "0.3 s".
func roundDelay(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// retriedError is a transient error that outlasted the retry budget.
type retriedError struct {
	err      error
	attempts int
}

func (e *retriedError) Error() string {
	return fmt.Sprintf("%v (after %d attempts)", e.err, e.attempts)
}
func (e *retriedError) Unwrap() error { return e.err }

// tookEffect reports whether err, answering a retried change, is the
// conflict the change itself would cause had an earlier attempt taken effect.
func tookEffect(kind callKind, err error) bool {
	switch kind {
	case create:
		return KindOf(err) == KindAlreadyExists
	case remove:
		return KindOf(err) == KindNotFound
	case update:
		s := statusOf(err)
		return s.code == http.StatusPreconditionFailed || s.has("conditionNotMet")
	}
	return false
}

var effectName = map[callKind]string{create: "already exists", update: "condition not met", remove: "not found"}

// errStatus is what an error of either transport says: HTTP status, gRPC
// code and reasons (ErrorInfo's and Compute's errors[].reason).
type errStatus struct {
	code    int
	grpc    codes.Code
	reasons []string
}

func (s errStatus) has(r ...string) bool {
	for _, want := range r {
		if slices.Contains(s.reasons, want) {
			return true
		}
	}
	return false
}

func statusOf(err error) errStatus {
	var s errStatus
	ae, isAPI := apierror.FromError(err)
	if isAPI && ae.Reason() != "" {
		s.reasons = append(s.reasons, ae.Reason())
	}
	// A REST error is a googleapi.Error inside; its gRPC status is only
	// converted from the HTTP one (409 becomes ABORTED), so it does not count.
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		s.code = gerr.Code
		for _, item := range gerr.Errors {
			s.reasons = append(s.reasons, item.Reason)
		}
		return s
	}
	if isAPI {
		if st := ae.GRPCStatus(); st != nil {
			s.grpc = st.Code()
		}
	}
	return s
}

// Reasons that say a 429 / RESOURCE_EXHAUSTED is a quota, which waiting a
// few seconds does not lift, rather than a rate limit, which it does.
var quotaReasons = []string{"quotaExceeded", "QUOTA_EXCEEDED", "RESOURCE_QUOTA_EXCEEDED", "dailyLimitExceeded", "limitExceeded"}

// transient reports whether err goes away by itself, and how to name it in
// a progress line ("503", "UNAVAILABLE"). Never a 4xx that the learner must
// fix, nor a quota; a 500 / INTERNAL only on a read, which changes nothing.
func transient(err error, read bool) (string, bool) {
	var re *retriedError
	if errors.As(err, &re) {
		return "", false // already retried, by an inner call
	}
	s := statusOf(err)
	name := func(httpName string) string {
		if s.grpc != codes.OK {
			return rpccode.Code(s.grpc).String() // UNAVAILABLE, as Google writes it
		}
		return httpName
	}
	switch {
	case s.has(quotaReasons...):
		return "", false
	case s.code == http.StatusTooManyRequests || s.grpc == codes.ResourceExhausted || s.has("rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"):
		return name("429"), true
	case s.code == http.StatusServiceUnavailable || s.grpc == codes.Unavailable:
		return name("503"), true
	case s.grpc == codes.Aborted:
		return "ABORTED", true
	case s.has("resourceNotReady"):
		return "resourceNotReady", true
	case read && (s.code == http.StatusInternalServerError || s.grpc == codes.Internal):
		return name("500"), true
	}
	return "", false
}

type progressKey struct{}

// WithProgress returns a context whose calls report their retries to p,
// for calls that take no Progress of their own (reads).
func WithProgress(ctx context.Context, p Progress) context.Context {
	return context.WithValue(ctx, progressKey{}, p)
}

func progressFrom(ctx context.Context) Progress {
	p, _ := ctx.Value(progressKey{}).(Progress)
	return p
}
