package gcp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/googleapi"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func grpcErr(c codes.Code, reason string) error {
	st := status.New(c, "m")
	if reason != "" {
		st, _ = st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "googleapis.com"})
	}
	ae, _ := apierror.FromError(st.Err())
	return ae
}

func restErr(code int, reason string) error {
	return &googleapi.Error{Code: code, Errors: []googleapi.ErrorItem{{Reason: reason}}}
}

func TestTransient(t *testing.T) {
	cases := []struct {
		err       error
		read      bool
		want      bool
		wantLabel string
	}{
		{restErr(429, "rateLimitExceeded"), false, true, "429"},
		{restErr(403, "rateLimitExceeded"), false, true, "429"}, // Compute answers some rate limits with 403
		{restErr(429, "quotaExceeded"), false, false, ""},
		{restErr(403, "QUOTA_EXCEEDED"), false, false, ""},
		{grpcErr(codes.ResourceExhausted, "RATE_LIMIT_EXCEEDED"), false, true, "RESOURCE_EXHAUSTED"},
		{grpcErr(codes.ResourceExhausted, "RESOURCE_QUOTA_EXCEEDED"), false, false, ""},
		{restErr(503, "backendError"), false, true, "503"},
		{grpcErr(codes.Unavailable, ""), false, true, "UNAVAILABLE"},
		{grpcErr(codes.Aborted, ""), false, true, "ABORTED"},
		{restErr(400, "resourceNotReady"), false, true, "resourceNotReady"},
		{restErr(500, "backendError"), true, true, "500"},
		{restErr(500, "backendError"), false, false, ""},
		{grpcErr(codes.Internal, ""), true, true, "INTERNAL"},
		{grpcErr(codes.Internal, ""), false, false, ""},
		{restErr(409, "alreadyExists"), false, false, ""}, // its gRPC status says ABORTED: not a reason
		{restErr(400, "invalid"), false, false, ""},
		{restErr(403, "forbidden"), false, false, ""},
		{restErr(404, "notFound"), true, false, ""},
		{grpcErr(codes.InvalidArgument, ""), false, false, ""},
		{grpcErr(codes.PermissionDenied, "SERVICE_DISABLED"), false, false, ""},
		{fmt.Errorf("plain"), true, false, ""},
		{&retriedError{err: restErr(503, ""), attempts: 5}, false, false, ""},
	}
	for _, c := range cases {
		label, ok := transient(c.err, c.read)
		if ok != c.want || label != c.wantLabel {
			t.Errorf("transient(%v, read=%v) = %q %v, want %q %v", c.err, c.read, label, ok, c.wantLabel, c.want)
		}
	}
}

// TestOperationFailureRetriesTheChange: an operation that ends failed with
// UNAVAILABLE is not a failed poll: the change that started it is sent again.
func TestOperationFailureRetriesTheChange(t *testing.T) {
	c := &Cloud{PollInterval: time.Millisecond, Retry: Retry{Attempts: 3, Initial: time.Millisecond, Max: time.Millisecond,
		Sleep: func(context.Context, time.Duration) error { return nil }}}
	starts, polls := 0, 0
	var got []string
	progress := func(s string) {
		if strings.Contains(s, "retrying") {
			got = append(got, s)
		}
	}
	err := c.call(context.Background(), "run.CreateService", create, progress, func(ctx context.Context) error {
		starts++
		done := false
		attempt := starts
		return c.waitOp(ctx, "deploy", "longrunning.GetOperation", progress, func() bool { return done }, func(context.Context) error {
			polls++
			switch {
			case attempt == 1 && polls == 1:
				return grpcErr(codes.Unavailable, "") // the poll's read fails: retried as a read
			case attempt == 1:
				done = true
				return grpcErr(codes.Unavailable, "") // the operation failed
			}
			done = true
			return nil
		})
	})
	if err != nil || starts != 2 || polls != 3 {
		t.Fatalf("err %v after %d starts and %d polls: want success after 2 starts and 3 polls", err, starts, polls)
	}
	want := []string{"UNAVAILABLE from longrunning.GetOperation; retrying in 0.0 s, 2 of 3", "UNAVAILABLE from run.CreateService; retrying in 0.0 s, 2 of 3"}
	if !slices.Equal(got, want) {
		t.Errorf("progress %q", got)
	}
}
