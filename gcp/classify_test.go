package gcp

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/api/googleapi"
)

func TestClassifyBareErrors(t *testing.T) {
	cases := []struct {
		err  error
		want Kind
	}{
		{nil, KindOther},
		{fmt.Errorf("wrapped: %w", context.Canceled), KindCanceled},
		{&googleapi.Error{Code: 403, Errors: []googleapi.ErrorItem{{Reason: "accessNotConfigured"}}}, KindAPIDisabled},
		{&googleapi.Error{Code: 400, Errors: []googleapi.ErrorItem{{Reason: "resourceInUseByAnotherResource"}}}, KindInUse},
		{&googleapi.Error{Code: 409}, KindAlreadyExists},
		{&googleapi.Error{Code: 404}, KindNotFound},
		{&googleapi.Error{Code: 429}, KindQuota},
		{&googleapi.Error{Code: 403}, KindPermission},
		{fmt.Errorf("plain"), KindOther},
	}
	for _, c := range cases {
		if got := classify(c.err).kind; got != c.want {
			t.Errorf("classify(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
