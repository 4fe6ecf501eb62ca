package sim

import (
	"fmt"
	"strings"
	"testing"

	"cloud.google.com/go/artifactregistry/apiv1/artifactregistrypb"
	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/run/apiv2/runpb"
	"cloud.google.com/go/serviceusage/apiv1/serviceusagepb"
	"google.golang.org/api/iterator"
)

// storedProjects is how many projects the simulator keeps.
func storedProjects(s *Sim) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.projects)
}

// TestReadsStoreNoProject reads many projects through several APIs and
// checks that none is kept, that each answers as a new project does, and
// that a write then stores exactly one, under the number it was read with.
func TestReadsStoreNoProject(t *testing.T) {
	s := startSim(t, Options{})
	ctx := testCtx(t)
	su := newSUClient(t, s)
	runc := newRunClient(t, s)
	ar := newARClient(t, s)
	cc := newComputeClients(t, s)

	numbers := map[string]string{}
	for i := range 20 {
		id := fmt.Sprintf("read-only-%02d", i)
		svc, err := su.GetService(ctx, &serviceusagepb.GetServiceRequest{Name: "projects/" + id + "/services/" + APIRun})
		if err != nil {
			t.Fatalf("GetService(%s): %v", id, err)
		}
		if svc.GetState() != serviceusagepb.State_DISABLED {
			t.Errorf("%s: run.googleapis.com is %v, want DISABLED as in a new project", id, svc.GetState())
		}
		numbers[id] = strings.TrimPrefix(svc.GetParent(), "projects/")
		// The number answered names the project, though nothing is stored.
		again, err := su.GetService(ctx, &serviceusagepb.GetServiceRequest{Name: "projects/" + numbers[id] + "/services/" + apiServiceUsage})
		if err != nil || again.GetState() != serviceusagepb.State_ENABLED {
			t.Errorf("GetService by number %s: %v, %v; want ENABLED", numbers[id], again.GetState(), err)
		}
		if _, err := runc.ListServices(ctx, &runpb.ListServicesRequest{Parent: "projects/" + id + "/locations/us-central1"}).Next(); err == nil || err == iterator.Done {
			t.Errorf("%s: Run ListServices = %v, want SERVICE_DISABLED as in a new project", id, err)
		}
		if _, err := ar.ListRepositories(ctx, &artifactregistrypb.ListRepositoriesRequest{Parent: "projects/" + id + "/locations/us-central1"}).Next(); err == nil || err == iterator.Done {
			t.Errorf("%s: ListRepositories = %v, want SERVICE_DISABLED", id, err)
		}
		if _, err := cc.bs.List(ctx, &computepb.ListBackendServicesRequest{Project: id}).Next(); err == nil || err == iterator.Done {
			t.Errorf("%s: backendServices.list = %v, want 403 accessNotConfigured", id, err)
		}
	}
	if n := storedProjects(s); n != 0 {
		t.Fatalf("after reads of 20 projects the simulator stores %d, want 0", n)
	}
	seen := map[string]bool{}
	for id, n := range numbers {
		if seen[n] || len(n) != 12 {
			t.Errorf("%s answered number %q: want twelve digits, unique", id, n)
		}
		seen[n] = true
	}

	const written = "read-only-07"
	op, err := su.EnableService(ctx, &serviceusagepb.EnableServiceRequest{Name: "projects/" + written + "/services/" + APIRun})
	if err != nil {
		t.Fatalf("EnableService: %v", err)
	}
	if _, err := op.Wait(ctx); err != nil {
		t.Fatalf("EnableService wait: %v", err)
	}
	if n := storedProjects(s); n != 1 {
		t.Fatalf("after one write the simulator stores %d projects, want 1", n)
	}
	svc, err := su.GetService(ctx, &serviceusagepb.GetServiceRequest{Name: "projects/" + written + "/services/" + APIRun})
	if err != nil {
		t.Fatalf("GetService after enable: %v", err)
	}
	if svc.GetState() != serviceusagepb.State_ENABLED {
		t.Errorf("run.googleapis.com after enable is %v, want ENABLED (the write was kept)", svc.GetState())
	}
	if got := strings.TrimPrefix(svc.GetParent(), "projects/"); got != numbers[written] {
		t.Errorf("project number after the write = %s, want %s, the number its reads answered", got, numbers[written])
	}
}

// TestFailedWriteStoresNoProject: a write Google refuses (a delete of
// something that is not there) changes nothing, so stores nothing.
func TestFailedWriteStoresNoProject(t *testing.T) {
	s := startSim(t, Options{})
	ctx := testCtx(t)
	if _, err := newARClient(t, s).DeleteRepository(ctx, &artifactregistrypb.DeleteRepositoryRequest{Name: "projects/never-written/locations/us-central1/repositories/r"}); err == nil {
		t.Fatal("DeleteRepository of a repository that does not exist succeeded")
	}
	if n := storedProjects(s); n != 0 {
		t.Errorf("after a refused write the simulator stores %d projects, want 0", n)
	}
}

// TestNumbersShownAreBounded: the numbers reads answered with stay
// resolvable, but only the newest numbersKept of them.
func TestNumbersShownAreBounded(t *testing.T) {
	var ns numbersShown
	for i := range numbersKept + 10 {
		ns.add(int64(i), fmt.Sprintf("p-%d", i))
	}
	if len(ns.ids) != numbersKept || len(ns.order) != numbersKept {
		t.Fatalf("kept %d ids and %d in order, want %d", len(ns.ids), len(ns.order), numbersKept)
	}
	if _, ok := ns.ids[0]; ok {
		t.Error("the oldest number is still kept")
	}
	if id := ns.ids[numbersKept+9]; id != fmt.Sprintf("p-%d", numbersKept+9) {
		t.Errorf("the newest number names %q", id)
	}
}

// TestDNSRoutesOnTheSharedRouter: Cloud DNS answers paths and methods it
// does not serve as Google's JSON errors, as Compute does.
func TestDNSRoutesOnTheSharedRouter(t *testing.T) {
	s := startSim(t, Options{})
	base := s.Endpoints().Compute + "/dns/v1/projects/" + testProject
	for _, tc := range []struct {
		method, path string
		code         int
		reason       string
	}{
		{"GET", "/managedZones/z/unknown", 404, "notFound"},
		{"PUT", "/managedZones", 405, "httpMethodNotAllowed"},
		{"GET", "/managedZones", 403, "accessNotConfigured"}, // routed: the API is off in a new project
	} {
		code, out := restCall(t, s, tc.method, base+tc.path, "")
		e, _ := out["error"].(map[string]any)
		errs, _ := e["errors"].([]any)
		var reason string
		if len(errs) > 0 {
			reason, _ = errs[0].(map[string]any)["reason"].(string)
		}
		if code != tc.code || reason != tc.reason {
			t.Errorf("%s %s: %d %q (%v), want %d %q", tc.method, tc.path, code, reason, out, tc.code, tc.reason)
		}
	}
	if n := storedProjects(s); n != 0 {
		t.Errorf("DNS reads stored %d projects, want 0", n)
	}
}
