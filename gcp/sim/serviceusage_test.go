package sim

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"cloud.google.com/go/artifactregistry/apiv1/artifactregistrypb"
	"cloud.google.com/go/run/apiv2/runpb"
	"cloud.google.com/go/serviceusage/apiv1/serviceusagepb"
	"github.com/beyond-lab/beyond/gcp/sim/clock"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
)

// listServiceNames lists the services of project matching filter, a page of
// pageSize at a time.
func listServiceNames(t *testing.T, s *Sim, filter string, pageSize int32) []string {
	t.Helper()
	it := newSUClient(t, s).ListServices(testCtx(t), &serviceusagepb.ListServicesRequest{
		Parent: "projects/" + testProject, Filter: filter, PageSize: pageSize,
	})
	var names []string
	for {
		svc, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return names
		}
		if err != nil {
			t.Fatalf("ListServices(%q): %v", filter, err)
		}
		names = append(names, svc.GetConfig().GetName())
	}
}

func TestServiceUsageListAndGet(t *testing.T) {
	s := startSim(t, Options{})
	su := newSUClient(t, s)
	ctx := testCtx(t)

	if got, want := fmt.Sprint(listServiceNames(t, s, "state:ENABLED", 2)), fmt.Sprint([]string{"cloudresourcemanager.googleapis.com", "iam.googleapis.com", "logging.googleapis.com", "serviceusage.googleapis.com"}); got != want {
		t.Errorf("enabled at start = %v, want %v", got, want)
	}
	disabled := listServiceNames(t, s, "state:DISABLED", 0)
	if len(disabled) != len(catalog)-len(enabledAtStart) {
		t.Errorf("disabled at start = %v, want the %d others of the catalog", disabled, len(catalog)-len(enabledAtStart))
	}
	if all := listServiceNames(t, s, "", 3); len(all) != len(catalog) {
		t.Errorf("all services = %v, want %d", all, len(catalog))
	}

	svc, err := su.GetService(ctx, &serviceusagepb.GetServiceRequest{Name: "projects/" + testProject + "/services/" + APIRun})
	if err != nil {
		t.Fatalf("GetService: %v", err)
	}
	num := projectNumber(t, s, testProject)
	if svc.State != serviceusagepb.State_DISABLED || svc.Name != "projects/"+num+"/services/"+APIRun ||
		svc.Parent != "projects/"+num || svc.Config.GetTitle() != "Cloud Run Admin API" {
		t.Errorf("GetService = %v", svc)
	}

	_, err = su.GetService(ctx, &serviceusagepb.GetServiceRequest{Name: "projects/" + testProject + "/services/nosuch.googleapis.com"})
	wantCode(t, err, codes.PermissionDenied, "Not found or permission denied for service(s): nosuch.googleapis.com.")
	_, err = su.ListServices(ctx, &serviceusagepb.ListServicesRequest{Parent: "projects/" + testProject, Filter: "name:run"}).Next()
	wantCode(t, err, codes.InvalidArgument, "state:ENABLED")
	_, err = su.ListServices(ctx, &serviceusagepb.ListServicesRequest{Parent: "projects/" + testProject, PageToken: "garbage"}).Next()
	wantCode(t, err, codes.InvalidArgument, "page_token")
	_, err = su.GetService(ctx, &serviceusagepb.GetServiceRequest{Name: "projects/Bad_Project/services/" + APIRun})
	wantCode(t, err, codes.PermissionDenied, "Permission denied on resource project Bad_Project.")
}

func TestServiceUsageEnable(t *testing.T) {
	s := startSim(t, Options{})
	su := newSUClient(t, s)
	ctx := testCtx(t)
	num := projectNumber(t, s, testProject)

	// By project number, as Google also accepts.
	op, err := su.EnableService(ctx, &serviceusagepb.EnableServiceRequest{Name: "projects/" + num + "/services/" + APIRun})
	if err != nil {
		t.Fatalf("EnableService: %v", err)
	}
	resp, err := op.Wait(ctx)
	if err != nil {
		t.Fatalf("EnableService.Wait: %v", err)
	}
	if resp.GetService().GetState() != serviceusagepb.State_ENABLED || resp.GetService().GetConfig().GetName() != APIRun {
		t.Errorf("EnableService response = %v", resp)
	}
	if md, err := op.Metadata(); err != nil || len(md.GetResourceNames()) != 1 {
		t.Errorf("metadata = %v, %v", md, err)
	}

	// Nothing to do: a done no-op operation, as Google answers.
	again, err := su.EnableService(ctx, &serviceusagepb.EnableServiceRequest{Name: "projects/" + testProject + "/services/" + APIRun})
	if err != nil || !again.Done() || again.Name() != "operations/noop.DONE_OPERATION" {
		t.Errorf("second EnableService = %v, %v; want the done no-op operation", again.Name(), err)
	}

	bop, err := su.BatchEnableServices(ctx, &serviceusagepb.BatchEnableServicesRequest{
		Parent: "projects/" + testProject, ServiceIds: []string{APICompute, APIArtifactRegistry},
	})
	if err != nil {
		t.Fatalf("BatchEnableServices: %v", err)
	}
	bresp, err := bop.Wait(ctx)
	if err != nil || len(bresp.GetServices()) != 2 || bresp.GetServices()[0].GetState() != serviceusagepb.State_ENABLED {
		t.Fatalf("BatchEnableServices.Wait = %v, %v", bresp, err)
	}
	got, err := su.BatchGetServices(ctx, &serviceusagepb.BatchGetServicesRequest{
		Parent: "projects/" + testProject,
		Names:  []string{"projects/" + testProject + "/services/" + APICompute, "projects/" + testProject + "/services/" + APIGenerativeAI},
	})
	if err != nil || got.Services[0].State != serviceusagepb.State_ENABLED || got.Services[1].State != serviceusagepb.State_DISABLED {
		t.Errorf("BatchGetServices = %v, %v", got, err)
	}

	_, err = su.BatchEnableServices(ctx, &serviceusagepb.BatchEnableServicesRequest{
		Parent: "projects/" + testProject, ServiceIds: []string{APIRun, "bogus.googleapis.com"},
	})
	wantCode(t, err, codes.PermissionDenied, "Not found or permission denied for service(s): bogus.googleapis.com.")
	var ae *apierror.APIError
	if !errors.As(err, &ae) || ae.Reason() != "SERVICE_CONFIG_NOT_FOUND_OR_PERMISSION_DENIED" {
		t.Errorf("unknown service error reason = %v, want SERVICE_CONFIG_NOT_FOUND_OR_PERMISSION_DENIED", err)
	}

	// Disabling turns Cloud Run off again.
	dop, err := su.DisableService(ctx, &serviceusagepb.DisableServiceRequest{Name: "projects/" + testProject + "/services/" + APIRun})
	if err != nil {
		t.Fatalf("DisableService: %v", err)
	}
	if d, err := dop.Wait(ctx); err != nil || d.GetService().GetState() != serviceusagepb.State_DISABLED {
		t.Fatalf("DisableService.Wait = %v, %v", d, err)
	}
	_, err = newRunClient(t, s).GetService(ctx, &runpb.GetServiceRequest{Name: parent(testProject, "us-central1") + "/services/x"})
	wantCode(t, err, codes.PermissionDenied, "Cloud Run Admin API has not been used")
}

func TestServiceUsageSlowEnable(t *testing.T) {
	faults := NewFaults(1, 0, Fault{Method: "serviceusage.EnableService", Status: 503, Times: 1})
	clk := clock.NewAdjustable() // the enable stays running until the test moves time
	s := startSim(t, Options{Profile: Profile{EnableAPI: 30 * time.Millisecond}, Faults: faults, Clock: clk})
	su := newSUClient(t, s)
	ctx := testCtx(t)
	req := &serviceusagepb.EnableServiceRequest{Name: "projects/" + testProject + "/services/" + APIRun}
	if _, err := su.EnableService(ctx, req); err == nil {
		t.Fatal("EnableService with an injected 503: no error")
	} else {
		wantCode(t, err, codes.Unavailable, "serviceusage.EnableService")
	}
	op, err := su.EnableService(ctx, req)
	if err != nil {
		t.Fatalf("EnableService: %v", err)
	}
	if op.Done() {
		t.Fatal("enable done at once, want it running for EnableAPI")
	}
	// Until the operation is done, the API is still off.
	_, err = newRunClient(t, s).GetService(ctx, &runpb.GetServiceRequest{Name: parent(testProject, "us-central1") + "/services/x"})
	wantCode(t, err, codes.PermissionDenied, "has not been used")
	clk.Advance(30 * time.Millisecond)
	for !op.Done() {
		if _, err := op.Poll(ctx); err != nil {
			t.Fatalf("Poll: %v", err)
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("enable never done")
		}
	}
	_, err = newRunClient(t, s).GetService(ctx, &runpb.GetServiceRequest{Name: parent(testProject, "us-central1") + "/services/x"})
	wantCode(t, err, codes.NotFound, "does not exist")
}

// TestOverdueEnableAnswers checks that an enable whose time has come is
// applied before any API asks whether it is on: Cloud Run, Artifact
// Registry and Compute, read first after the clock moved, without a
// Service Usage read to settle it.
func TestOverdueEnableAnswers(t *testing.T) {
	clk := &lateClock{Adjustable: clock.NewAdjustable()}
	s := startSim(t, Options{Profile: Profile{EnableAPI: time.Hour}, Clock: clk})
	ctx := testCtx(t)
	op, err := newSUClient(t, s).BatchEnableServices(ctx, &serviceusagepb.BatchEnableServicesRequest{
		Parent: "projects/" + testProject, ServiceIds: []string{APIRun, APIArtifactRegistry, APICompute}})
	if err != nil || op.Done() {
		t.Fatalf("BatchEnableServices = %v, %v; want a running operation", op, err)
	}
	clk.Advance(2 * time.Hour) // the timers never fire: only a read can apply the enable
	_, err = newRunClient(t, s).GetService(ctx, &runpb.GetServiceRequest{Name: parent(testProject, "us-central1") + "/services/x"})
	wantCode(t, err, codes.NotFound, "does not exist")
	_, err = newARClient(t, s).GetRepository(ctx, &artifactregistrypb.GetRepositoryRequest{Name: parent(testProject, "us-central1") + "/repositories/x"})
	wantCode(t, err, codes.NotFound, "Requested entity was not found.")
	resp, err := http.Get(s.Endpoints().Compute + "/compute/v1/projects/" + testProject + "/global/backendServices")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("Compute list after the enable was due = %d, want 200", resp.StatusCode)
	}
}

// lateClock is an adjustable clock whose timers never fire, as when a
// request arrives before the timer's goroutine has run.
type lateClock struct{ *clock.Adjustable }

func (lateClock) AfterFunc(time.Duration, func()) clock.Timer { return lateTimer{} }

type lateTimer struct{}

func (lateTimer) Stop() bool { return true }
