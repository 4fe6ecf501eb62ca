package sim

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	serviceusage "cloud.google.com/go/serviceusage/apiv1"
	"cloud.google.com/go/serviceusage/apiv1/serviceusagepb"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/iterator"
)

func newSURESTClient(t *testing.T, s *Sim) *serviceusage.Client {
	t.Helper()
	c, err := serviceusage.NewRESTClient(context.Background(), restOptions(t, s, "serviceusage.googleapis.com")...)
	if err != nil {
		t.Fatalf("serviceusage.NewRESTClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestServiceUsageREST drives Service Usage v1 over REST with the official
// REST client, and checks that the gRPC surface sees the same state.
func TestServiceUsageREST(t *testing.T) {
	s := startSim(t, Options{})
	su := newSURESTClient(t, s)
	ctx := testCtx(t)
	runName := "projects/" + testProject + "/services/" + APIRun

	svc, err := su.GetService(ctx, &serviceusagepb.GetServiceRequest{Name: runName})
	if err != nil {
		t.Fatalf("GetService over REST: %v", err)
	}
	num := projectNumber(t, s, testProject)
	if svc.State != serviceusagepb.State_DISABLED || svc.Name != "projects/"+num+"/services/"+APIRun || svc.Config.GetTitle() != "Cloud Run Admin API" {
		t.Errorf("GetService = %v", svc)
	}

	op, err := su.BatchEnableServices(ctx, &serviceusagepb.BatchEnableServicesRequest{
		Parent: "projects/" + testProject, ServiceIds: []string{APIRun, APICompute},
	})
	if err != nil {
		t.Fatalf("BatchEnableServices over REST: %v", err)
	}
	resp, err := op.Wait(ctx)
	if err != nil {
		t.Fatalf("BatchEnableServices Wait: %v", err)
	}
	if len(resp.GetServices()) != 2 || resp.Services[0].State != serviceusagepb.State_ENABLED {
		t.Errorf("BatchEnableServices response = %v", resp)
	}
	// The gRPC surface sees what REST did: one state behind both.
	got, err := newSUClient(t, s).GetService(ctx, &serviceusagepb.GetServiceRequest{Name: runName})
	if err != nil || got.State != serviceusagepb.State_ENABLED {
		t.Errorf("GetService over gRPC after a REST enable = %v, %v; want ENABLED", got, err)
	}

	var enabled []string
	it := su.ListServices(ctx, &serviceusagepb.ListServicesRequest{Parent: "projects/" + testProject, Filter: "state:ENABLED", PageSize: 2})
	for {
		svc, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("ListServices over REST: %v", err)
		}
		enabled = append(enabled, svc.GetConfig().GetName())
	}
	if len(enabled) != len(enabledAtStart)+2 {
		t.Errorf("enabled services = %v, want the %d at start and the 2 enabled", enabled, len(enabledAtStart))
	}

	bg, err := su.BatchGetServices(ctx, &serviceusagepb.BatchGetServicesRequest{Parent: "projects/" + testProject, Names: []string{runName, "projects/" + testProject + "/services/" + APIAIPlatform}})
	if err != nil || len(bg.GetServices()) != 2 || bg.Services[0].State != serviceusagepb.State_ENABLED || bg.Services[1].State != serviceusagepb.State_DISABLED {
		t.Errorf("BatchGetServices = %v, %v", bg, err)
	}

	dop, err := su.DisableService(ctx, &serviceusagepb.DisableServiceRequest{Name: runName})
	if err != nil {
		t.Fatalf("DisableService over REST: %v", err)
	}
	if d, err := dop.Wait(ctx); err != nil || d.GetService().GetState() != serviceusagepb.State_DISABLED {
		t.Errorf("DisableService Wait = %v, %v", d, err)
	}
	// Enabling what is enabled is a done no-op operation, as on Google.
	eop, err := su.EnableService(ctx, &serviceusagepb.EnableServiceRequest{Name: "projects/" + testProject + "/services/" + APICompute})
	if err != nil || !eop.Done() || eop.Name() != suNoopOperation {
		t.Errorf("EnableService of an enabled API = %v, %v; want the done no-op operation", eop, err)
	}

	// Errors carry Google's status and ErrorInfo.
	_, err = su.EnableService(ctx, &serviceusagepb.EnableServiceRequest{Name: "projects/" + testProject + "/services/nope.googleapis.com"})
	var ae *apierror.APIError
	if !errors.As(err, &ae) || ae.HTTPCode() != http.StatusForbidden || ae.Reason() != "SERVICE_CONFIG_NOT_FOUND_OR_PERMISSION_DENIED" {
		t.Errorf("enable an unknown service: %v; want 403 SERVICE_CONFIG_NOT_FOUND_OR_PERMISSION_DENIED", err)
	}

	// A real service outside the catalog: a get answers DISABLED, and an
	// enable beside the lab's succeeds, as on Google, instead of failing
	// the whole batch.
	const other = "secretmanager.googleapis.com"
	if g, err := su.GetService(ctx, &serviceusagepb.GetServiceRequest{Name: "projects/" + testProject + "/services/" + other}); err != nil || g.State != serviceusagepb.State_DISABLED {
		t.Errorf("GetService(%s) = %v, %v; want DISABLED", other, g, err)
	}
	bop, err := su.BatchEnableServices(ctx, &serviceusagepb.BatchEnableServicesRequest{Parent: "projects/" + testProject, ServiceIds: []string{APIRun, other}})
	if err != nil {
		t.Fatalf("BatchEnableServices with %s: %v", other, err)
	}
	if r, err := bop.Wait(ctx); err != nil || len(r.GetServices()) != 2 || r.Services[1].State != serviceusagepb.State_ENABLED {
		t.Errorf("BatchEnableServices with %s = %v, %v", other, r, err)
	}
	if g, err := su.GetService(ctx, &serviceusagepb.GetServiceRequest{Name: "projects/" + testProject + "/services/" + other}); err != nil || g.State != serviceusagepb.State_ENABLED {
		t.Errorf("GetService(%s) after enabling = %v, %v; want ENABLED", other, g, err)
	}

	_, err = su.GetService(ctx, &serviceusagepb.GetServiceRequest{Name: "projects/Bad_Project/services/" + APIRun})
	if !errors.As(err, &ae) || ae.HTTPCode() != http.StatusForbidden || ae.Reason() != "CONSUMER_INVALID" {
		t.Errorf("a malformed project: %v; want 403 CONSUMER_INVALID", err)
	}
}

// TestServiceUsageRESTWire checks what the clients never send or never
// show: the running operation read by name, faults under the gRPC names,
// unknown paths and methods, a malformed body.
func TestServiceUsageRESTWire(t *testing.T) {
	faults, err := ParseFaults("serviceusage.GetService=503x1")
	if err != nil {
		t.Fatal(err)
	}
	s := startSim(t, Options{Profile: Profile{EnableAPI: time.Hour}, Faults: NewFaults(1, 0, faults...)})
	base := "http://serviceusage.googleapis.com/v1/"

	code, body := restCall(t, s, "GET", base+"projects/"+testProject+"/services/run.googleapis.com", "")
	if e := restErr(t, body); code != 503 || e["status"] != "UNAVAILABLE" {
		t.Errorf("faulted GetService = %d %v, want 503 UNAVAILABLE", code, body)
	}
	if code, body = restCall(t, s, "GET", base+"projects/"+testProject+"/services/run.googleapis.com", ""); code != 200 || body["state"] != "DISABLED" {
		t.Errorf("GetService after the fault = %d %v, want 200 DISABLED (enums as names)", code, body)
	}

	code, body = restCall(t, s, "POST", base+"projects/"+testProject+"/services:batchEnable", `{"serviceIds":["run.googleapis.com"],"unknownField":1}`)
	name, _ := body["name"].(string)
	if code != 200 || body["done"] == true || name == "" {
		t.Fatalf("batchEnable = %d %v, want a running operation", code, body)
	}
	code, body = restCall(t, s, "GET", base+name, "")
	md, _ := body["metadata"].(map[string]any)
	if code != 200 || body["name"] != name || md["@type"] != "type.googleapis.com/google.api.serviceusage.v1.OperationMetadata" {
		t.Errorf("GET %s = %d %v", name, code, body)
	}
	code, body = restCall(t, s, "GET", base+"operations/acf.p2-1-nope", "")
	if code != 404 || restErr(t, body)["status"] != "NOT_FOUND" {
		t.Errorf("unknown operation = %d %v, want 404", code, body)
	}

	code, body = restCall(t, s, "POST", base+"projects/"+testProject+"/services:batchEnable", `{"serviceIds":`)
	if code != 400 || restErr(t, body)["status"] != "INVALID_ARGUMENT" {
		t.Errorf("malformed body = %d %v, want 400", code, body)
	}
	code, body = restCall(t, s, "GET", base+"projects/"+testProject+"/services:batchEnable", "")
	if code != 405 {
		t.Errorf("GET on batchEnable = %d %v, want 405", code, body)
	}
	code, body = restCall(t, s, "GET", base+"projects/"+testProject+"/nothing", "")
	if code != 404 || restErr(t, body)["status"] != "NOT_FOUND" {
		t.Errorf("unknown path = %d %v, want 404", code, body)
	}
	code, body = restCall(t, s, "GET", base+"projects/"+testProject+"/services?filter=state:ON", "")
	if code != 400 {
		t.Errorf("bad filter = %d %v, want 400", code, body)
	}
}
