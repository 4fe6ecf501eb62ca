package steps_test

import (
	"context"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/beyond-lab/beyond/steps"
	"google.golang.org/protobuf/proto"
)

// The lab's service runs as its own account. Skip the grant and the deploy
// itself succeeds, but Gemini refuses every check with Google's 403: the
// deploy step, which calls the service once at its own URL, fails with
// that answer, and the lab's fix names the role.
func TestSkippingTheGrantGivesGoogles403(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the service image")
	}
	withServiceImage(t)
	l := newLab(t)
	l.vars.Image = ""
	r := l.runner(t)
	for _, id := range []string{steps.ConfirmAI, "project", "enable-apis", steps.ServiceAccount, "repository", "build-image"} {
		if st, err := r.RunStep(context.Background(), id); st != steps.StatusPassed {
			t.Fatalf("%s: %v %v: %v", id, st, err, failures(l.take()))
		}
	}
	l.take()
	st, _ := r.RunStep(context.Background(), "deploy-a")
	if st != steps.StatusFailed {
		t.Fatalf("deploy-a without the grant: %v, want failed", st)
	}
	var got string
	for _, e := range l.take() {
		if e.Kind == steps.EventDone && e.Err != nil {
			got = e.Err.Error()
		}
	}
	for _, want := range []string{"403", "PERMISSION_DENIED", "Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/projects/beyond-steps-test/locations/", "roles/aiplatform.user", "Let the service call Vertex AI"} {
		if !strings.Contains(got, want) {
			t.Errorf("deploy-a's failure lacks %q:\n%s", want, got)
		}
	}

	// The grant fixes it, without a redeploy.
	if st, err := r.RunStep(context.Background(), steps.GrantVertexAI); st != steps.StatusPassed {
		t.Fatalf("grant: %v %v: %v", st, err, failures(l.take()))
	}
	for _, id := range []string{"deploy-a", "deploy-b", "neg-a", "neg-b", "backend-service", "backend-a", "backend-b", "url-map", "proxy", "forwarding-rule", "global-ip", "curl"} {
		if st, err := r.RunStep(context.Background(), id); st != steps.StatusPassed {
			t.Fatalf("%s after the grant: %v %v: %v", id, st, err, failures(l.take()))
		}
	}
	events := l.take()
	if !strings.Contains(dids(events)["deploy-a"], "running as gemini-service-sa@beyond-steps-test.iam.gserviceaccount.com") {
		t.Error("deploy-a does not say it runs as the lab's service account")
	}
	if did := dids(events)["curl"]; !strings.Contains(did, "answered 200") {
		t.Errorf("curl after the grant did %q; want a 200", did)
	}
}

// Deploying before the account exists fails with Google's error and a fix
// that names the step.
func TestDeployWithoutTheServiceAccount(t *testing.T) {
	l := newLab(t)
	r := l.runner(t)
	for _, id := range []string{"project", "enable-apis"} {
		if st, err := r.RunStep(context.Background(), id); st != steps.StatusPassed {
			t.Fatalf("%s: %v %v", id, st, err)
		}
	}
	st, _ := r.RunStep(context.Background(), "deploy-a")
	events := l.take()
	msg := strings.Join(failures(events), "\n")
	for _, e := range events {
		if e.Kind == steps.EventDone && e.Step == steps.DeployA && !strings.Contains(e.Fix, "Run the step 'Create the service's identity'") {
			t.Errorf("fix %q does not name the step that creates the account (%T %v)", e.Fix, e.Err, e.Err)
		}
	}
	if st != steps.StatusFailed || !strings.Contains(msg, "Permission 'iam.serviceaccounts.actAs' denied on service account gemini-service-sa@beyond-steps-test.iam.gserviceaccount.com (or it may not exist)") || !strings.Contains(msg, "Create the service account first") {
		t.Errorf("deploy-a without the account: %v:\n%s", st, msg)
	}
}

// A URL map whose retry policy lost numRetries and perTryTimeout (what
// `gcloud compute url-maps import` over an existing map does) fails the
// url-map step, which says why, instead of passing silently.
func TestURLMapWithoutRetryCountFails(t *testing.T) {
	l := newLab(t)
	r := l.runner(t)
	for _, id := range []string{"project", "enable-apis", "backend-service"} {
		if st, err := r.RunStep(context.Background(), id); st != steps.StatusPassed {
			t.Fatalf("%s: %v %v", id, st, err)
		}
	}
	err := l.cloud.CreateURLMap(context.Background(), &computepb.UrlMap{
		Name:           proto.String(l.vars.URLMap),
		DefaultService: proto.String(l.cloud.GlobalURL("backendServices", l.vars.Backend)),
		DefaultRouteAction: &computepb.HttpRouteAction{RetryPolicy: &computepb.HttpRetryPolicy{
			RetryConditions: []string{"5xx", "gateway-error", "connect-failure"},
		}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := r.RunStep(context.Background(), "url-map")
	msg := strings.Join(failures(l.take()), "\n")
	if st != steps.StatusFailed || !strings.Contains(msg, "retries 0 times, not 2") || !strings.Contains(msg, "url-maps import over an existing map drops numRetries") {
		t.Errorf("url-map over a map without numRetries: %v:\n%s", st, msg)
	}
}
