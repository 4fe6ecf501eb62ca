package sim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	run "cloud.google.com/go/run/apiv2"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// newRunRESTClient is the official Cloud Run v2 client on REST, pointed at
// the simulator's HTTP listener.
func newRunRESTClient(t *testing.T, s *Sim) *run.ServicesClient {
	t.Helper()
	c, err := run.NewServicesRESTClient(context.Background(), option.WithEndpoint(s.Endpoints().Compute), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("run.NewServicesRESTClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// wantAPIErr checks a REST client's error: the HTTP status, and the status
// name and message of Google's JSON error body the simulator sent.
func wantAPIErr(t *testing.T, err error, httpCode int, status, contains string) {
	t.Helper()
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v is not a googleapi.Error", err)
	}
	var body googleErr
	if jerr := json.Unmarshal([]byte(ge.Body), &body); jerr != nil {
		t.Fatalf("error body %q: %v", ge.Body, jerr)
	}
	if ge.Code != httpCode || body.Error.Status != status || !strings.Contains(ge.Body, contains) {
		t.Fatalf("got HTTP %d %s %s, want HTTP %d %s containing %q", ge.Code, body.Error.Status, ge.Body, httpCode, status, contains)
	}
}

// TestRunV2REST drives Cloud Run v2 with run.NewServicesRESTClient over a
// real socket: create and wait, get, list, a broken update that fails while
// the old revision keeps serving, IAM, operations, delete; a service made on
// REST is the one the gRPC client reads.
func TestRunV2REST(t *testing.T) {
	s := startSim(t, Options{Faults: NewFaults(1, 0, Fault{Method: "run.CreateService", Status: 429, Times: 1})})
	ctx := testCtx(t)
	c := newRunRESTClient(t, s)

	_, err := c.GetService(ctx, &runpb.GetServiceRequest{Name: parent(testProject, "us-central1") + "/services/hello"})
	wantAPIErr(t, err, 403, "PERMISSION_DENIED", "SERVICE_DISABLED")
	enableAPIs(t, s, testProject, APIRun)

	create := &runpb.CreateServiceRequest{Parent: parent(testProject, "us-central1"), ServiceId: "hello", Service: helloService("us-docker.pkg.dev/cloudrun/container/hello", "GREETING", "hi")}
	_, err = c.CreateService(ctx, create)
	wantAPIErr(t, err, 429, "RESOURCE_EXHAUSTED", "injected fault")
	op, err := c.CreateService(ctx, create)
	if err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	svc, err := op.Wait(ctx)
	if err != nil {
		t.Fatalf("CreateService.Wait: %v", err)
	}
	first := svc.GetLatestReadyRevision()
	if svc.GetTerminalCondition().GetState() != runpb.Condition_CONDITION_SUCCEEDED || first == "" || svc.GetIngress() != runpb.IngressTraffic_INGRESS_TRAFFIC_ALL {
		t.Fatalf("created = %v, want ready with ingress all", svc)
	}
	if _, err := c.CreateService(ctx, create); err == nil {
		t.Fatal("a second create of the same service succeeded")
	} else {
		wantAPIErr(t, err, 409, "ALREADY_EXISTS", "already exists")
	}

	// The gRPC client reads the same service.
	same, err := newRunClient(t, s).GetService(ctx, &runpb.GetServiceRequest{Name: svc.GetName()})
	if err != nil || same.GetUid() != svc.GetUid() {
		t.Fatalf("gRPC GetService = %v, %v; want uid %s", same, err, svc.GetUid())
	}

	it := c.ListServices(ctx, &runpb.ListServicesRequest{Parent: parent(testProject, "-")})
	var names []string
	for {
		got, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, got.GetName())
	}
	if len(names) != 1 || names[0] != svc.GetName() {
		t.Errorf("ListServices = %v, want %s", names, svc.GetName())
	}

	// A broken image: the operation fails with Cloud Run's reason, the old
	// revision keeps the traffic and keeps serving.
	svc.Template.Containers[0].Image = "gcr.io/cloudrun/service-broken"
	uop, err := c.UpdateService(ctx, &runpb.UpdateServiceRequest{Service: svc, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"template"}}})
	if err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	_, err = uop.Wait(ctx)
	wantCode(t, err, codes.FailedPrecondition, "is not ready and cannot serve traffic") // the operation's error, as on gRPC
	after, err := c.GetService(ctx, &runpb.GetServiceRequest{Name: svc.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if after.GetLatestReadyRevision() != first || after.GetLatestCreatedRevision() == first || after.GetTerminalCondition().GetState() != runpb.Condition_CONDITION_FAILED {
		t.Errorf("after the broken update = %v, want %s still ready and a failed latest revision", after, first)
	}
	inst := waitServing(t, s, "us-central1", "hello", first)
	url, ok := s.ServiceURL(testProject, "us-central1", "hello")
	if !ok {
		t.Fatal("the service has no URL on the data plane")
	}

	// IAM on REST, then the URL serves the old revision to anyone.
	pol, err := c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: svc.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	pol.Bindings = append(pol.Bindings, &iampb.Binding{Role: "roles/run.invoker", Members: []string{"allUsers"}})
	if _, err := c.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: svc.GetName(), Policy: pol}); err != nil {
		t.Fatalf("SetIamPolicy: %v", err)
	}
	waitDataPlane(t, s, "the service to be public", func() bool { return inst.access.Load().public })
	if code, body := httpGetStatus(t, url); code != http.StatusOK || !strings.Contains(body, knShort(first)) {
		t.Errorf("GET %s = %d, want the hello page of %s", url, code, first)
	}
	perms, err := c.TestIamPermissions(ctx, &iampb.TestIamPermissionsRequest{Resource: svc.GetName(), Permissions: []string{"run.services.get"}})
	if err != nil || len(perms.GetPermissions()) != 1 {
		t.Errorf("TestIamPermissions = %v, %v", perms, err)
	}

	// Operations on REST: the update's operation reads back failed.
	got, err := c.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: uop.Name()})
	if err != nil || !got.GetDone() || got.GetError().GetCode() != int32(codes.FailedPrecondition) {
		t.Errorf("GetOperation(%s) = %v, %v; want done with FAILED_PRECONDITION", uop.Name(), got, err)
	}
	ops := c.ListOperations(ctx, &longrunningpb.ListOperationsRequest{Name: parent(testProject, "us-central1")})
	count := 0
	for {
		_, err := ops.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	if count != 2 {
		t.Errorf("ListOperations = %d operations, want the create and the update", count)
	}
	if _, err := c.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: uop.Name()}); err != nil {
		t.Errorf("WaitOperation: %v", err)
	}

	dop, err := c.DeleteService(ctx, &runpb.DeleteServiceRequest{Name: svc.GetName()})
	if err != nil {
		t.Fatalf("DeleteService: %v", err)
	}
	if deleted, err := dop.Wait(ctx); err != nil || deleted.GetDeleteTime() == nil {
		t.Fatalf("DeleteService.Wait = %v, %v; want the deleted service", deleted, err)
	}
	_, err = c.GetService(ctx, &runpb.GetServiceRequest{Name: svc.GetName()})
	wantAPIErr(t, err, 404, "NOT_FOUND", "does not exist")
}
