package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/run/apiv2/runpb"
	"cloud.google.com/go/serviceusage/apiv1/serviceusagepb"
	"github.com/beyond-lab/beyond/gcp/sim/clock"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestParseConditions(t *testing.T) {
	base := ProfileRealistic.Conditions
	got, err := ParseConditions("billing=off, org-policy=domain-restricted-sharing+allowed-ingress,api-propagation=90s,lb-flap=off", base)
	if err != nil {
		t.Fatal(err)
	}
	want := Conditions{BillingOff: true, DomainRestrictedSharing: true, AllowedIngress: "internal-and-cloud-load-balancing", APIPropagation: 90 * time.Second}
	if got != want {
		t.Errorf("parsed %+v, want %+v", got, want)
	}
	if s := got.String(); s != "billing=off,org-policy=domain-restricted-sharing+allowed-ingress,api-propagation=1m30s" {
		t.Errorf("String() = %q", s)
	}
	// A key the spec leaves out keeps the profile's value.
	if got, _ := ParseConditions("billing=off", base); got.APIPropagation != base.APIPropagation || got.LBFlap != base.LBFlap || !got.BillingOff {
		t.Errorf("billing=off over the realistic profile gave %+v", got)
	}
	if got, _ := ParseConditions("lb-flap=on", Conditions{}); got.LBFlap != defaultFlap {
		t.Errorf("lb-flap=on gave %v", got.LBFlap)
	}
	for spec, says := range map[string]string{
		"billing":              "want KEY=VALUE",
		"billing=maybe":        "off or on",
		"org-policy=strict":    "domain-restricted-sharing",
		"api-propagation=soon": "duration",
		"api-propagation=on":   "duration",
		"lb-flap=-1s":          "duration",
		"weather=rain":         "unknown condition",
	} {
		if _, err := ParseConditions(spec, base); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("ParseConditions(%q) = %v; want an error saying %q", spec, err, says)
		}
	}
}

// TestAPIPropagation: after the enable operation is done, Service Usage says
// ENABLED but the API itself answers SERVICE_DISABLED until the propagation
// time has passed, on gRPC and on Compute's REST alike.
func TestAPIPropagation(t *testing.T) {
	clk := clock.NewAdjustable()
	s := startSim(t, Options{Clock: clk, Conditions: &Conditions{APIPropagation: 90 * time.Second}})
	ctx := context.Background()
	su, runc, cc := newSUClient(t, s), newRunClient(t, s), newComputeClients(t, s)
	op, err := su.BatchEnableServices(ctx, &serviceusagepb.BatchEnableServicesRequest{Parent: "projects/" + testProject, ServiceIds: []string{APIRun, APICompute}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := su.GetService(ctx, &serviceusagepb.GetServiceRequest{Name: "projects/" + testProject + "/services/" + APIRun})
	if err != nil || got.GetState() != serviceusagepb.State_ENABLED {
		t.Fatalf("Service Usage says %v, %v; want ENABLED", got.GetState(), err)
	}
	listRun := func() error {
		_, err := runc.ListServices(ctx, &runpb.ListServicesRequest{Parent: "projects/" + testProject + "/locations/us-central1"}).Next()
		if err == iterator.Done {
			return nil
		}
		return err
	}
	listCompute := func() error {
		_, err := cc.bs.List(ctx, &computepb.ListBackendServicesRequest{Project: testProject}).Next()
		if err == iterator.Done {
			return nil
		}
		return err
	}
	if err := listRun(); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "SERVICE_DISABLED") {
		t.Errorf("Cloud Run just after the enable: %v; want PERMISSION_DENIED SERVICE_DISABLED", err)
	}
	if err := listCompute(); err == nil || !strings.Contains(err.Error(), "Error 403: Compute Engine API has not been used") {
		t.Errorf("Compute just after the enable: %v; want 403 with Google's disabled-API text", err)
	}
	clk.Advance(89 * time.Second)
	if err := listRun(); err == nil {
		t.Error("Cloud Run answered before the propagation time")
	}
	clk.Advance(2 * time.Second)
	if err := listRun(); err != nil {
		t.Errorf("Cloud Run after the propagation time: %v", err)
	}
	if err := listCompute(); err != nil {
		t.Errorf("Compute after the propagation time: %v", err)
	}
}
