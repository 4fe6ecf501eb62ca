package gcp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
)

// Kind sorts API errors by what the learner must do about them.
type Kind int

const (
	KindOther Kind = iota
	KindAPIDisabled
	KindPermission
	KindQuota
	KindAlreadyExists
	KindNotFound
	KindInvalid
	KindInUse
	KindUnavailable
	KindCanceled
	// KindBilling: the project has no billing account (enabling an API).
	KindBilling
	// KindChanged: the resource changed since it was read (412
	// conditionNotMet: a stale fingerprint). Reading it again and retrying
	// once is the cure; the retry policy is not decided here.
	KindChanged
	// KindOrgPolicy: an organisation policy refused the change (allUsers
	// under domain-restricted sharing, an ingress run.allowedIngress forbids).
	KindOrgPolicy
)

// Error is an API error explained for a learner: what was being done, what
// Google said, and what to do next.
type Error struct {
	Kind  Kind
	Op    string // what the lab was doing, e.g. "create backend service global-backend"
	Cause string // what the API answered
	Fix   string // what to do next; empty when nothing is to be done
	Err   error
}

func (e *Error) Error() string {
	msg := e.Op + ": " + e.Cause
	if e.Fix != "" {
		msg += ". " + e.Fix
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of err, KindOther when it is no API error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return classify(err).kind
}

// IsNotFound reports whether err says the resource does not exist.
func IsNotFound(err error) bool { return KindOf(err) == KindNotFound }

// apis names each API the lab uses, for messages.
var apis = map[string]string{
	"run.googleapis.com":                  "Cloud Run Admin API",
	"compute.googleapis.com":              "Compute Engine API",
	"artifactregistry.googleapis.com":     "Artifact Registry API",
	"serviceusage.googleapis.com":         "Service Usage API",
	"aiplatform.googleapis.com":           "Vertex AI API",
	"iam.googleapis.com":                  "Identity and Access Management (IAM) API",
	"cloudresourcemanager.googleapis.com": "Cloud Resource Manager API",
	"dns.googleapis.com":                  "Cloud DNS API",
	"certificatemanager.googleapis.com":   "Certificate Manager API",
}

type classified struct {
	kind    Kind
	message string
	api     string // for KindAPIDisabled, the service to enable
	policy  string // for KindOrgPolicy, the constraint when the error names it
}

// classify reads an error from either transport (gRPC status or REST
// googleapi.Error, both wrapped by gax's apierror) into a kind.
func classify(err error) classified {
	if err == nil {
		return classified{}
	}
	if errors.Is(err, context.Canceled) {
		return classified{kind: KindCanceled, message: "canceled"}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return classified{kind: KindUnavailable, message: "timed out"}
	}
	c := classified{message: err.Error()}
	var reasons []string
	code, grpc := 0, codes.OK
	if ae, ok := apierror.FromError(err); ok {
		c.message = firstLine(ae)
		reasons = append(reasons, ae.Reason())
		code = ae.HTTPCode()
		if st := ae.GRPCStatus(); st != nil {
			grpc = st.Code()
		}
		if info := ae.Details().ErrorInfo; info != nil {
			c.api = info.GetMetadata()["service"]
		}
		if pf := ae.Details().PreconditionFailure; pf != nil {
			for _, v := range pf.GetViolations() {
				reasons = append(reasons, v.GetType())
				if strings.HasPrefix(v.GetType(), "constraints/") {
					c.policy = v.GetType()
				}
			}
		}
	}
	// A REST error gax could not parse still has its status and reasons.
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		for _, item := range gerr.Errors {
			reasons = append(reasons, item.Reason)
		}
		if gerr.Message != "" {
			c.message = gerr.Message
		}
		if code <= 0 {
			code = gerr.Code
		}
	}
	if len(reasons) == 0 && code <= 0 && grpc == codes.OK {
		return c
	}
	has := func(r ...string) bool {
		for _, want := range r {
			for _, got := range reasons {
				if got == want {
					return true
				}
			}
		}
		return false
	}
	switch {
	case has("SERVICE_DISABLED", "accessNotConfigured"):
		c.kind = KindAPIDisabled
	case has("UREQ_PROJECT_BILLING_NOT_FOUND", "googleapis.com/billing-enabled"):
		c.kind = KindBilling
	case c.policy != "" || strings.Contains(c.message, "do not belong to a permitted customer"):
		c.kind = KindOrgPolicy
	case has("resourceInUseByAnotherResource"):
		c.kind = KindInUse
	case code == http.StatusConflict || grpc == codes.AlreadyExists || has("alreadyExists"):
		c.kind = KindAlreadyExists
	case code == http.StatusNotFound || grpc == codes.NotFound || has("notFound"):
		c.kind = KindNotFound
	case code == http.StatusPreconditionFailed || has("conditionNotMet", "CONDITION_NOT_MET"):
		c.kind = KindChanged
	case code == http.StatusTooManyRequests || grpc == codes.ResourceExhausted || has("rateLimitExceeded", "quotaExceeded", "RATE_LIMIT_EXCEEDED", "QUOTA_EXCEEDED"):
		c.kind = KindQuota
	case code == http.StatusForbidden || grpc == codes.PermissionDenied || code == http.StatusUnauthorized || grpc == codes.Unauthenticated:
		c.kind = KindPermission
	case code == http.StatusBadRequest || grpc == codes.InvalidArgument || grpc == codes.FailedPrecondition:
		c.kind = KindInvalid
	case code == http.StatusServiceUnavailable || code == http.StatusInternalServerError || grpc == codes.Unavailable || grpc == codes.Internal || grpc == codes.DeadlineExceeded:
		c.kind = KindUnavailable
	}
	return c
}

// firstLine is the API's own message without gax's decorations.
func firstLine(ae *apierror.APIError) string {
	if st := ae.GRPCStatus(); st != nil && st.Message() != "" {
		return st.Message()
	}
	msg := ae.Error()
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		msg = msg[:i]
	}
	return msg
}

// explain turns err from a call into an *Error for the learner. op says what
// was being done; api is the service the call needs (for a disabled API);
// role is the IAM role that grants the call (for a permission error).
func (c *Cloud) explain(err error, op, api, role string) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	cl := classify(err)
	e := &Error{Kind: cl.kind, Op: op, Cause: cl.message, Err: err}
	var re *retriedError
	if errors.As(err, &re) {
		e.Cause += fmt.Sprintf(" (tried %d times, waiting longer each time)", re.attempts)
	}
	if cl.api != "" {
		api = cl.api
	}
	switch cl.kind {
	case KindAPIDisabled:
		name := apis[api]
		if name == "" {
			name = api
		}
		e.Cause = fmt.Sprintf("the %s is not enabled in project %s", name, c.Project)
		e.Fix = fmt.Sprintf("Run the step 'Enable the APIs', or `gcloud services enable %s --project %s`, then retry", api, c.Project)
	case KindPermission:
		e.Fix = fmt.Sprintf("Your account needs the role %s on project %s: `gcloud projects add-iam-policy-binding %s --member=user:YOU --role=%s`", role, c.Project, c.Project, role)
		if strings.Contains(e.Cause, "iam.serviceaccounts.actAs") {
			// Google says the same whether the account is missing or
			// the deployer may not act as it.
			e.Fix = fmt.Sprintf("Create the service account first (step 'Create the service's identity'); if it exists, your account needs roles/iam.serviceAccountUser on it: `gcloud projects add-iam-policy-binding %s --member=user:YOU --role=roles/iam.serviceAccountUser`", c.Project)
		}
	case KindQuota:
		e.Fix = "A quota or rate limit was hit: wait a minute and run the step again, or see https://console.cloud.google.com/iam-admin/quotas"
	case KindNotFound:
		e.Fix = "Run the earlier step that creates it, or check the name and region"
	case KindAlreadyExists:
		e.Fix = "It exists already; the lab adopts resources that match what it wants"
	case KindInUse:
		e.Fix = "Delete what uses it first; `beyond cleanup` deletes in the right order"
	case KindInvalid:
		e.Fix = "Check the values of the lab's variables (see `beyond --help`)"
	case KindUnavailable:
		e.Fix = "The service did not answer in time or failed on its side: run the step again"
	case KindCanceled:
		e.Cause = "canceled"
	case KindChanged:
		e.Fix = "It changed since the lab read it (another tab, or gcloud): run the step again, which reads it afresh"
	case KindBilling:
		e.Cause = fmt.Sprintf("project %s has no billing account, so its APIs cannot be enabled (%s)", c.Project, cl.message)
		e.Fix = fmt.Sprintf("Link a billing account: `gcloud billing accounts list`, then `gcloud billing projects link %s --billing-account=ACCOUNT_ID`; then run the step again", c.Project)
	case KindOrgPolicy:
		switch {
		case strings.Contains(cl.policy, "allowedIngress"):
			e.Fix = "Your organisation's run.allowedIngress policy forbids this ingress. The load balancer needs ingress all or internal-and-cloud-load-balancing: ask an organisation policy administrator to allow one (`gcloud org-policies describe run.allowedIngress --project " + c.Project + "` shows the policy)"
		default:
			e.Fix = "An organisation policy refuses this (for allUsers: domain-restricted sharing, iam.allowedPolicyMemberDomains). `gcloud org-policies list --project " + c.Project + "` shows the policies; an organisation policy administrator can change them"
		}
	}
	return e
}
