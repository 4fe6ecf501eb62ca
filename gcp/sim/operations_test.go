package sim

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"cloud.google.com/go/serviceusage/apiv1/serviceusagepb"
	"github.com/beyond-lab/beyond/lab"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
)

func TestOperationLifecycle(t *testing.T) {
	s := startSim(t, Options{Profile: Profile{RunDeploy: 50 * time.Millisecond}})
	enableAPIs(t, s, testProject, APIRun)
	c := newRunClient(t, s)
	ops := newOpsClient(t, s)
	ctx := testCtx(t)

	op, err := c.CreateService(ctx, &runpb.CreateServiceRequest{Parent: parent(testProject, "us-central1"), ServiceId: "hello", Service: helloService(lab.HelloImage)})
	if err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	if !strings.HasPrefix(op.Name(), parent(testProject, "us-central1")+"/operations/") {
		t.Errorf("operation name %q, want it under %s/operations/", op.Name(), parent(testProject, "us-central1"))
	}

	got, err := ops.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: op.Name()})
	if err != nil || got.Name != op.Name() {
		t.Fatalf("GetOperation = %v, %v", got, err)
	}

	var names []string
	it := ops.ListOperations(ctx, &longrunningpb.ListOperationsRequest{Name: parent(testProject, "us-central1")})
	for {
		o, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("ListOperations: %v", err)
		}
		names = append(names, o.Name)
	}
	if len(names) != 1 || names[0] != op.Name() {
		t.Errorf("ListOperations = %v, want [%s]", names, op.Name())
	}

	// WaitOperation blocks until the deploy is done, without polling.
	done, err := ops.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: op.Name(), Timeout: durationpb.New(20 * time.Second)})
	if err != nil {
		t.Fatalf("WaitOperation: %v", err)
	}
	if !done.Done || done.GetResponse() == nil {
		t.Fatalf("WaitOperation = %v, want done with a response", done)
	}
	var svc runpb.Service
	if err := done.GetResponse().UnmarshalTo(&svc); err != nil || svc.LatestReadyRevision == "" {
		t.Errorf("response = %v, %v; want the ready service", &svc, err)
	}

	if err := ops.DeleteOperation(ctx, &longrunningpb.DeleteOperationRequest{Name: op.Name()}); err != nil {
		t.Fatalf("DeleteOperation: %v", err)
	}
	_, err = ops.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: op.Name()})
	wantCode(t, err, codes.NotFound, "not found")
	_, err = ops.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: parent(testProject, "us-central1") + "/operations/no-such-thing"})
	wantCode(t, err, codes.NotFound, "not found")
}

func TestOperationCancel(t *testing.T) {
	s := startSim(t, Options{Profile: Profile{RunDeploy: time.Hour}})
	enableAPIs(t, s, testProject, APIRun)
	c := newRunClient(t, s)
	ops := newOpsClient(t, s)
	ctx := testCtx(t)

	op, err := c.CreateService(ctx, &runpb.CreateServiceRequest{Parent: parent(testProject, "europe-west1"), ServiceId: "hello", Service: helloService(lab.HelloImage)})
	if err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	if err := ops.CancelOperation(ctx, &longrunningpb.CancelOperationRequest{Name: op.Name()}); err != nil {
		t.Fatalf("CancelOperation: %v", err)
	}
	_, err = op.Poll(ctx)
	wantCode(t, err, codes.Canceled, "cancelled")
	svc, err := c.GetService(ctx, &runpb.GetServiceRequest{Name: parent(testProject, "europe-west1") + "/services/hello"})
	if err != nil {
		t.Fatalf("GetService: %v", err)
	}
	if svc.Reconciling || svc.LatestReadyRevision != "" || svc.TerminalCondition.GetState() != runpb.Condition_CONDITION_FAILED {
		t.Errorf("service after cancel = reconciling %v, ready %q, terminal %v", svc.Reconciling, svc.LatestReadyRevision, svc.TerminalCondition)
	}
	if rr := readyRevisions(s); len(rr) != 0 {
		t.Errorf("ready revisions after cancel = %+v", rr)
	}
}

func TestOperationServiceUsageNames(t *testing.T) {
	s := startSim(t, Options{Profile: Profile{EnableAPI: time.Hour}})
	su := newSUClient(t, s)
	ops := newOpsClient(t, s)
	ctx := testCtx(t)
	num := projectNumber(t, s, testProject)

	op, err := su.EnableService(ctx, &serviceusagepb.EnableServiceRequest{Name: "projects/" + testProject + "/services/" + APIRun})
	if err != nil {
		t.Fatalf("EnableService: %v", err)
	}
	if !strings.HasPrefix(op.Name(), "operations/acf.p2-"+num+"-") {
		t.Errorf("operation name %q, want operations/acf.p2-%s-UUID", op.Name(), num)
	}
	got, err := ops.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: op.Name()})
	if err != nil || got.Done {
		t.Fatalf("GetOperation = %v, %v; want running", got, err)
	}
	// A short WaitOperation returns the operation still running.
	still, err := ops.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: op.Name(), Timeout: durationpb.New(10 * time.Millisecond)})
	if err != nil || still.Done {
		t.Fatalf("WaitOperation(10ms) = %v, %v; want running", still, err)
	}
	_, err = ops.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: "operations/acf.p2-1-nothing"})
	wantCode(t, err, codes.NotFound, "not found")
}

// TestOperationsPruned checks that a project keeps its newest opKeep
// finished operations and forgets older ones (as Google expires them),
// while a running one is never dropped.
func TestOperationsPruned(t *testing.T) {
	s := startSim(t, Options{})
	s.mu.Lock()
	p, err := s.projectLocked(testProject)
	if err != nil {
		s.mu.Unlock()
		t.Fatal(err)
	}
	start := func(d time.Duration) string {
		op := &operation{
			name:   fmt.Sprintf("projects/%s/locations/us-central1/operations/%s", p.id, s.newUUIDLocked()),
			meta:   func() proto.Message { return &emptypb.Empty{} },
			finish: func() (proto.Message, error) { return &emptypb.Empty{}, nil },
		}
		s.startOpLocked(p, op, d)
		return op.name
	}
	running := start(time.Hour)
	first := start(0)
	var last string
	for range opKeep + 10 {
		last = start(0)
	}
	kept := len(s.ops.of(p).byName)
	s.mu.Unlock()
	if kept != opKeep+1 {
		t.Errorf("%d operations kept, want %d finished and the running one", kept, opKeep)
	}
	for name, want := range map[string]codes.Code{first: codes.NotFound, last: codes.OK, running: codes.OK} {
		if _, err := s.getOperation(&longrunningpb.GetOperationRequest{Name: name}); status.Code(err) != want {
			t.Errorf("GetOperation(%s) = %v, want %v", name, err, want)
		}
	}
}
