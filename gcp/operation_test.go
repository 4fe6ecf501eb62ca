package gcp

import (
	"net/http"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/googleapi"
	"google.golang.org/protobuf/proto"
)

// TestOperationErrorsKeepTheirReason: a failed Compute operation comes back
// from the library as a bare googleapi.Error (status and message). Its own
// error codes decide the kind: a quota error inside an operation is a
// quota error, not a missing role; a 412 conditionNotMet says the resource
// changed.
func TestOperationErrorsKeepTheirReason(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
		want   Kind
	}{
		{http.StatusForbidden, "QUOTA_EXCEEDED", KindQuota},
		{http.StatusPreconditionFailed, "CONDITION_NOT_MET", KindChanged},
		{http.StatusForbidden, "", KindPermission}, // no codes: the status decides
	} {
		bare := &googleapi.Error{Code: tc.status, Message: "Operation failed"}
		var items []*computepb.Errors
		if tc.code != "" {
			items = []*computepb.Errors{{Code: proto.String(tc.code), Message: proto.String("what happened")}}
		}
		if got := KindOf(withOperationReasons(bare, items)); got != tc.want {
			t.Errorf("%d with code %q: kind %v, want %v", tc.status, tc.code, got, tc.want)
		}
	}
	if got := KindOf(&googleapi.Error{Code: http.StatusForbidden}); got != KindPermission {
		t.Errorf("a bare 403 is %v; the test above must differ from it", got)
	}
}
