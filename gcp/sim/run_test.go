package sim

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/iam/apiv1/iampb"
	run "cloud.google.com/go/run/apiv2"
	"cloud.google.com/go/run/apiv2/runpb"
	"cloud.google.com/go/serviceusage/apiv1/serviceusagepb"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/beyond-lab/beyond/lab"
)

// testCtx is a context that ends with the test, or after 30 s, whichever
// comes first, so that a bug fails the test instead of hanging it.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// enableAPIs enables apis in project through Service Usage and waits.
func enableAPIs(t *testing.T, s *Sim, project string, apis ...string) {
	t.Helper()
	ctx := testCtx(t)
	op, err := newSUClient(t, s).BatchEnableServices(ctx, &serviceusagepb.BatchEnableServicesRequest{
		Parent: "projects/" + project, ServiceIds: apis,
	})
	if err != nil {
		t.Fatalf("BatchEnableServices(%v): %v", apis, err)
	}
	if _, err := op.Wait(ctx); err != nil {
		t.Fatalf("BatchEnableServices(%v).Wait: %v", apis, err)
	}
}

// projectNumber asks Service Usage for the number of project.
func projectNumber(t *testing.T, s *Sim, project string) string {
	t.Helper()
	svc, err := newSUClient(t, s).GetService(testCtx(t), &serviceusagepb.GetServiceRequest{Name: "projects/" + project + "/services/" + APIRun})
	if err != nil {
		t.Fatalf("GetService: %v", err)
	}
	return strings.TrimPrefix(svc.GetParent(), "projects/")
}

func helloService(image string, env ...string) *runpb.Service {
	c := &runpb.Container{Image: image}
	for i := 0; i+1 < len(env); i += 2 {
		c.Env = append(c.Env, &runpb.EnvVar{Name: env[i], Values: &runpb.EnvVar_Value{Value: env[i+1]}})
	}
	return &runpb.Service{
		Ingress:  runpb.IngressTraffic_INGRESS_TRAFFIC_ALL,
		Template: &runpb.RevisionTemplate{Containers: []*runpb.Container{c}},
	}
}

func parent(project, region string) string {
	return fmt.Sprintf("projects/%s/locations/%s", project, region)
}

// deploy creates service id and waits for it, failing the test on error.
func deploy(t *testing.T, c *run.ServicesClient, project, region, id string, svc *runpb.Service) *runpb.Service {
	t.Helper()
	ctx := testCtx(t)
	op, err := c.CreateService(ctx, &runpb.CreateServiceRequest{Parent: parent(project, region), ServiceId: id, Service: svc})
	if err != nil {
		t.Fatalf("CreateService(%s): %v", id, err)
	}
	got, err := op.Wait(ctx)
	if err != nil {
		t.Fatalf("CreateService(%s).Wait: %v", id, err)
	}
	return got
}

func update(t *testing.T, c *run.ServicesClient, svc *runpb.Service) (*runpb.Service, error) {
	t.Helper()
	ctx := testCtx(t)
	op, err := c.UpdateService(ctx, &runpb.UpdateServiceRequest{Service: svc})
	if err != nil {
		t.Fatalf("UpdateService(%s): %v", svc.GetName(), err)
	}
	return op.Wait(ctx)
}

func wantCode(t *testing.T, err error, code codes.Code, contains string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got error %v (code %v), want code %v", err, status.Code(err), code)
	}
	if !strings.Contains(status.Convert(err).Message(), contains) {
		t.Fatalf("error message %q does not contain %q", status.Convert(err).Message(), contains)
	}
}

func readyRevisions(s *Sim) []ReadyRevision {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readyRevisionsLocked()
}

func TestRunLifecycle(t *testing.T) {
	s := startSim(t, Options{})
	enableAPIs(t, s, testProject, APIRun)
	num := projectNumber(t, s, testProject)
	c := newRunClient(t, s)
	ctx := testCtx(t)

	const id = "gemini-service"
	name := parent(testProject, "us-central1") + "/services/" + id
	got := deploy(t, c, testProject, "us-central1", id, helloService(lab.HelloImage+":latest", "GREETING", "hi"))

	revPattern := regexp.MustCompile("^" + regexp.QuoteMeta(name) + `/revisions/gemini-service-0000(\d)-[a-z]{3}$`)
	checks := []struct {
		field string
		ok    bool
	}{
		{"name", got.Name == name},
		{"uid", got.Uid != ""},
		{"generation", got.Generation == 1},
		{"observed_generation", got.ObservedGeneration == 1},
		{"etag", got.Etag != ""},
		{"create_time", got.CreateTime.IsValid() && got.CreateTime.AsTime().After(time.Now().Add(-time.Minute))},
		{"update_time", got.UpdateTime.IsValid()},
		{"creator", got.Creator == runPrincipal},
		{"last_modifier", got.LastModifier == runPrincipal},
		{"uri", got.Uri == fmt.Sprintf("https://%s-%s.us-central1.run.app", id, num) || strings.HasPrefix(got.Uri, "http://127.0.0.1:")},
		{"urls", len(got.Urls) == 1 && got.Urls[0] == got.Uri},
		{"reconciling", !got.Reconciling},
		{"ingress", got.Ingress == runpb.IngressTraffic_INGRESS_TRAFFIC_ALL},
		{"launch_stage", got.LaunchStage.String() == "GA"},
		{"terminal_condition", got.TerminalCondition.GetType() == "Ready" && got.TerminalCondition.GetState() == runpb.Condition_CONDITION_SUCCEEDED},
		{"conditions", len(got.Conditions) == 2 && got.Conditions[0].Type == "RoutesReady" && got.Conditions[1].Type == "ConfigurationsReady" &&
			got.Conditions[0].State == runpb.Condition_CONDITION_SUCCEEDED && got.Conditions[1].State == runpb.Condition_CONDITION_SUCCEEDED},
		{"latest_created_revision", revPattern.FindStringSubmatch(got.LatestCreatedRevision) != nil && revPattern.FindStringSubmatch(got.LatestCreatedRevision)[1] == "1"},
		{"latest_ready_revision", got.LatestReadyRevision == got.LatestCreatedRevision},
		{"traffic", len(got.Traffic) == 1 && got.Traffic[0].Percent == 100},
		{"traffic_statuses", len(got.TrafficStatuses) == 1 && got.TrafficStatuses[0].Percent == 100 &&
			got.TrafficStatuses[0].Type == runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST},
		{"template.containers[0].image", got.Template.GetContainers()[0].GetImage() == lab.HelloImage+":latest"},
		{"template.containers[0].env", got.Template.GetContainers()[0].GetEnv()[0].GetValue() == "hi"},
		{"template.containers[0].ports", got.Template.GetContainers()[0].GetPorts()[0].GetContainerPort() == 8080},
		{"template.containers[0].resources", got.Template.GetContainers()[0].GetResources().GetLimits()["memory"] == "512Mi"},
		{"template.timeout", got.Template.GetTimeout().AsDuration() == 300*time.Second},
		{"template.max_instance_request_concurrency", got.Template.GetMaxInstanceRequestConcurrency() == 80},
		{"template.service_account", got.Template.GetServiceAccount() == num+"-compute@developer.gserviceaccount.com"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("created service: unexpected %s in %v", c.field, got)
		}
	}

	read, err := c.GetService(ctx, &runpb.GetServiceRequest{Name: name})
	if err != nil {
		t.Fatalf("GetService: %v", err)
	}
	if read.Etag != got.Etag || read.LatestReadyRevision != got.LatestReadyRevision {
		t.Errorf("GetService = etag %q, ready %q; the operation answered %q, %q", read.Etag, read.LatestReadyRevision, got.Etag, got.LatestReadyRevision)
	}
	// The project number works in names too.
	if _, err := c.GetService(ctx, &runpb.GetServiceRequest{Name: parent(num, "us-central1") + "/services/" + id}); err != nil {
		t.Errorf("GetService by project number: %v", err)
	}

	// An update of the template makes revision 2 and moves traffic to it.
	read.Template.Containers[0].Env[0].Values = &runpb.EnvVar_Value{Value: "hello"}
	v2, err := update(t, c, read)
	if err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	if m := revPattern.FindStringSubmatch(v2.LatestReadyRevision); m == nil || m[1] != "2" || v2.Generation != 2 || v2.LatestCreatedRevision != v2.LatestReadyRevision {
		t.Errorf("after update: generation %d, created %q, ready %q; want generation 2 and revision 00002 ready", v2.Generation, v2.LatestCreatedRevision, v2.LatestReadyRevision)
	}
	// An update that leaves the template alone makes no revision.
	v2.Labels = map[string]string{"lab": "beyond"}
	v3, err := update(t, c, v2)
	if err != nil {
		t.Fatalf("UpdateService (labels): %v", err)
	}
	if v3.LatestCreatedRevision != v2.LatestCreatedRevision || v3.Generation != 3 || v3.Labels["lab"] != "beyond" {
		t.Errorf("labels-only update: generation %d, created %q, labels %v; want generation 3, still %q", v3.Generation, v3.LatestCreatedRevision, v3.Labels, v2.LatestCreatedRevision)
	}

	// Listing, one per page, sorted by name, and across regions with "-".
	deploy(t, c, testProject, "europe-west1", id, helloService(lab.HelloImage))
	deploy(t, c, testProject, "us-central1", "another", helloService(lab.HelloImage))
	var names []string
	it := c.ListServices(ctx, &runpb.ListServicesRequest{Parent: parent(testProject, "-"), PageSize: 1})
	for {
		svc, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("ListServices: %v", err)
		}
		names = append(names, svc.Name)
	}
	want := []string{
		parent(testProject, "europe-west1") + "/services/" + id,
		parent(testProject, "us-central1") + "/services/another",
		name,
	}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("ListServices(-) = %v, want %v", names, want)
	}
	resp, err := c.ListServices(ctx, &runpb.ListServicesRequest{Parent: parent(testProject, "europe-west1")}).Next()
	if err != nil || resp.Name != want[0] {
		t.Errorf("ListServices(europe-west1) first = %v, %v; want %s", resp.GetName(), err, want[0])
	}

	// IAM: the lab's allUsers invoker binding, read-modify-write.
	pol, err := c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: name})
	if err != nil {
		t.Fatalf("GetIamPolicy: %v", err)
	}
	if len(pol.Bindings) != 0 || string(pol.Etag) != string(iamEmptyEtag) {
		t.Errorf("new policy = %v, want no bindings and etag ACAB", pol)
	}
	stale := pol.Etag
	pol.Bindings = append(pol.Bindings, &iampb.Binding{Role: "roles/run.invoker", Members: []string{"allUsers"}})
	set, err := c.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: name, Policy: pol})
	if err != nil {
		t.Fatalf("SetIamPolicy: %v", err)
	}
	if set.Version != 1 || len(set.Etag) == 0 || string(set.Etag) == string(stale) {
		t.Errorf("SetIamPolicy = %v, want version 1 and a new etag", set)
	}
	back, err := c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: name})
	if err != nil {
		t.Fatalf("GetIamPolicy: %v", err)
	}
	if len(back.Bindings) != 1 || back.Bindings[0].Role != "roles/run.invoker" || back.Bindings[0].Members[0] != "allUsers" {
		t.Errorf("GetIamPolicy after set = %v", back)
	}
	_, err = c.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: name, Policy: &iampb.Policy{Etag: stale}})
	wantCode(t, err, codes.Aborted, "concurrent policy changes")
	_, err = c.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: name, Policy: &iampb.Policy{
		Bindings: []*iampb.Binding{{Role: "roles/run.invoker", Members: []string{"everyone"}}},
	}})
	wantCode(t, err, codes.InvalidArgument, "everyone")
	perms, err := c.TestIamPermissions(ctx, &iampb.TestIamPermissionsRequest{Resource: name, Permissions: []string{"run.services.get", "run.services.delete"}})
	if err != nil || len(perms.Permissions) != 2 {
		t.Errorf("TestIamPermissions = %v, %v; want both permissions", perms, err)
	}

	// What the data plane sees. It gives the service its URL when it
	// reconciles, after the create answered: read the service again once
	// it has.
	if _, ok := s.ServiceURL(testProject, "us-central1", id); !ok {
		t.Fatalf("ServiceURL(%s): no front", id)
	}
	got, err = c.GetService(testCtx(t), &runpb.GetServiceRequest{Name: got.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	var mine *ReadyRevision
	rr := readyRevisions(s)
	for i := range rr {
		if rr[i].Region == "us-central1" && rr[i].Service == id {
			mine = &rr[i]
		}
	}
	if len(rr) != 3 || mine == nil {
		t.Fatalf("readyRevisionsLocked = %+v, want 3 entries with %s in us-central1", rr, id)
	}
	if !strings.HasSuffix(v2.LatestReadyRevision, "/"+mine.Revision) || mine.Env["GREETING"] != "hello" || !mine.Public ||
		mine.Port != 8080 || mine.URI != got.Uri || mine.Image != lab.HelloImage+":latest" || mine.Project != testProject {
		t.Errorf("ready revision = %+v", *mine)
	}

	// Delete: the operation answers with the deleted service.
	dop, err := c.DeleteService(ctx, &runpb.DeleteServiceRequest{Name: name})
	if err != nil {
		t.Fatalf("DeleteService: %v", err)
	}
	deleted, err := dop.Wait(ctx)
	if err != nil || deleted.GetName() != name || deleted.GetDeleteTime() == nil {
		t.Fatalf("DeleteService.Wait = %v, %v; want the deleted service", deleted, err)
	}
	_, err = c.GetService(ctx, &runpb.GetServiceRequest{Name: name})
	wantCode(t, err, codes.NotFound, fmt.Sprintf("Resource '%s' of kind 'SERVICE' in region 'us-central1' in project '%s' does not exist.", id, testProject))
	if n := len(readyRevisions(s)); n != 2 {
		t.Errorf("after delete, %d ready revisions, want 2", n)
	}
}

func TestRunBrokenImageKeepsServing(t *testing.T) {
	s := startSim(t, Options{})
	enableAPIs(t, s, testProject, APIRun)
	c := newRunClient(t, s)
	v1 := deploy(t, c, testProject, "us-central1", "hello", helloService(lab.HelloImage))

	v1.Template.Containers[0].Image = lab.BrokenImage
	_, err := update(t, c, v1)
	wantCode(t, err, codes.FailedPrecondition, "is not ready and cannot serve traffic. The user-provided container failed to start and listen on the port defined provided by the PORT=8080 environment variable")
	if !regexp.MustCompile(`Revision 'hello-00002-[a-z]{3}'`).MatchString(err.Error()) {
		t.Errorf("error %q does not name revision hello-00002", err)
	}

	got, err := c.GetService(testCtx(t), &runpb.GetServiceRequest{Name: v1.Name})
	if err != nil {
		t.Fatalf("GetService: %v", err)
	}
	if !strings.Contains(got.LatestCreatedRevision, "/hello-00002-") || got.LatestReadyRevision != v1.LatestReadyRevision {
		t.Errorf("created %q, ready %q; want 00002 created and %q still ready", got.LatestCreatedRevision, got.LatestReadyRevision, v1.LatestReadyRevision)
	}
	if tc := got.TerminalCondition; tc.GetState() != runpb.Condition_CONDITION_FAILED || !strings.Contains(tc.GetMessage(), "failed to start") {
		t.Errorf("terminal condition = %v, want FAILED with the reason", tc)
	}
	if len(got.TrafficStatuses) != 1 || got.TrafficStatuses[0].Percent != 100 {
		t.Errorf("traffic statuses = %v, want 100%% still routed", got.TrafficStatuses)
	}
	rr := readyRevisions(s)
	if len(rr) != 1 || !strings.HasSuffix(v1.LatestReadyRevision, "/"+rr[0].Revision) || rr[0].Image != lab.HelloImage {
		t.Errorf("ready revisions = %+v, want the first revision with the hello image", rr)
	}
}

func TestRunUnknownImage(t *testing.T) {
	s := startSim(t, Options{})
	enableAPIs(t, s, testProject, APIRun)
	c := newRunClient(t, s)
	ctx := testCtx(t)
	const image = "europe-docker.pkg.dev/nowhere/repo/app:v1"
	op, err := c.CreateService(ctx, &runpb.CreateServiceRequest{Parent: parent(testProject, "europe-west1"), ServiceId: "app", Service: helloService(image)})
	if err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	_, err = op.Wait(ctx)
	wantCode(t, err, codes.FailedPrecondition, "is not ready and cannot serve traffic. Image '"+image+"' not found.")

	got, err := c.GetService(ctx, &runpb.GetServiceRequest{Name: parent(testProject, "europe-west1") + "/services/app"})
	if err != nil {
		t.Fatalf("GetService: %v", err)
	}
	if got.LatestReadyRevision != "" || got.LatestCreatedRevision == "" || got.TerminalCondition.GetState() != runpb.Condition_CONDITION_FAILED ||
		got.Conditions[0].GetState() != runpb.Condition_CONDITION_FAILED || len(got.TrafficStatuses) != 0 {
		t.Errorf("service after a failed first revision = %v", got)
	}
	if rr := readyRevisions(s); len(rr) != 0 {
		t.Errorf("ready revisions = %+v, want none", rr)
	}
}

func TestRunServiceDisabled(t *testing.T) {
	s := startSim(t, Options{})
	c := newRunClient(t, s)
	num := projectNumber(t, s, testProject)
	_, err := c.CreateService(testCtx(t), &runpb.CreateServiceRequest{Parent: parent(testProject, "us-central1"), ServiceId: "hello", Service: helloService(lab.HelloImage)})
	wantCode(t, err, codes.PermissionDenied, "Cloud Run Admin API has not been used in project "+num+" before or it is disabled.")
	var ae *apierror.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %T is not an *apierror.APIError", err)
	}
	if ae.Reason() != "SERVICE_DISABLED" || ae.Domain() != "googleapis.com" || ae.Metadata()["service"] != APIRun ||
		ae.Metadata()["consumer"] != "projects/"+num || ae.Metadata()["activationUrl"] != activationURL(APIRun, mustAtoi(t, num)) {
		t.Errorf("ErrorInfo = reason %q domain %q metadata %v", ae.Reason(), ae.Domain(), ae.Metadata())
	}
	if h := ae.Details().Help; h == nil || len(h.Links) != 1 || h.Links[0].Url != activationURL(APIRun, mustAtoi(t, num)) {
		t.Errorf("Help = %v, want the activation link", h)
	}
	// Reads fail the same way.
	_, err = c.GetService(testCtx(t), &runpb.GetServiceRequest{Name: parent(testProject, "us-central1") + "/services/hello"})
	wantCode(t, err, codes.PermissionDenied, "Cloud Run Admin API has not been used")
}

func mustAtoi(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

func TestRunErrors(t *testing.T) {
	s := startSim(t, Options{})
	enableAPIs(t, s, testProject, APIRun)
	c := newRunClient(t, s)
	ctx := testCtx(t)
	existing := deploy(t, c, testProject, "us-central1", "hello", helloService(lab.HelloImage))

	create := func(proj, region, id string, svc *runpb.Service) error {
		_, err := c.CreateService(ctx, &runpb.CreateServiceRequest{Parent: parent(proj, region), ServiceId: id, Service: svc})
		return err
	}
	tests := []struct {
		name     string
		err      error
		code     codes.Code
		contains string
	}{
		{"already exists", create(testProject, "us-central1", "hello", helloService(lab.HelloImage)), codes.AlreadyExists, "Resource 'hello' already exists."},
		{"invalid service id", create(testProject, "us-central1", "Hello_World", helloService(lab.HelloImage)), codes.InvalidArgument, "Invalid service id 'Hello_World'"},
		{"service id too long", create(testProject, "us-central1", strings.Repeat("a", 50), helloService(lab.HelloImage)), codes.InvalidArgument, "at most 49 characters"},
		{"invalid project", create("Bad_Project", "us-central1", "hello", helloService(lab.HelloImage)), codes.PermissionDenied, "Permission denied on resource project Bad_Project."},
		{"unknown project number", create("999", "us-central1", "hello", helloService(lab.HelloImage)), codes.PermissionDenied, "Permission denied on resource project 999."},
		{"unknown region", create(testProject, "mars-north1", "hello", helloService(lab.HelloImage)), codes.InvalidArgument, "Location 'mars-north1' is not a valid location."},
		{"no containers", create(testProject, "us-central1", "empty", &runpb.Service{}), codes.InvalidArgument, "at least one container"},
		{"reserved env", create(testProject, "us-central1", "env", helloService(lab.HelloImage, "PORT", "9090")), codes.InvalidArgument, "The following reserved env names were provided: PORT."},
		{"get missing", func() error {
			_, err := c.GetService(ctx, &runpb.GetServiceRequest{Name: parent(testProject, "us-east1") + "/services/hello"})
			return err
		}(), codes.NotFound, "Resource 'hello' of kind 'SERVICE' in region 'us-east1' in project '" + testProject + "' does not exist."},
		{"update missing", func() error {
			svc := helloService(lab.HelloImage)
			svc.Name = parent(testProject, "us-east1") + "/services/hello"
			_, err := c.UpdateService(ctx, &runpb.UpdateServiceRequest{Service: svc})
			return err
		}(), codes.NotFound, "does not exist"},
		{"malformed name", func() error {
			_, err := c.GetService(ctx, &runpb.GetServiceRequest{Name: "hello"})
			return err
		}(), codes.InvalidArgument, "projects/PROJECT/locations/REGION/services/SERVICE"},
		{"stale etag on delete", func() error {
			_, err := c.DeleteService(ctx, &runpb.DeleteServiceRequest{Name: existing.Name, Etag: "stale"})
			return err
		}(), codes.Aborted, "etag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.err, tt.code, tt.contains) })
	}
}

func TestRunValidateOnlyAndAllowMissing(t *testing.T) {
	s := startSim(t, Options{})
	enableAPIs(t, s, testProject, APIRun)
	c := newRunClient(t, s)
	ctx := testCtx(t)
	op, err := c.CreateService(ctx, &runpb.CreateServiceRequest{Parent: parent(testProject, "us-central1"), ServiceId: "dry", Service: helloService(lab.HelloImage), ValidateOnly: true})
	if err != nil {
		t.Fatalf("CreateService(validate_only): %v", err)
	}
	if got, err := op.Wait(ctx); err != nil || got.GetName() != parent(testProject, "us-central1")+"/services/dry" {
		t.Errorf("validate_only Wait = %v, %v", got, err)
	}
	_, err = c.GetService(ctx, &runpb.GetServiceRequest{Name: parent(testProject, "us-central1") + "/services/dry"})
	wantCode(t, err, codes.NotFound, "does not exist")

	svc := helloService(lab.HelloImage)
	svc.Name = parent(testProject, "us-central1") + "/services/upserted"
	uop, err := c.UpdateService(ctx, &runpb.UpdateServiceRequest{Service: svc, AllowMissing: true})
	if err != nil {
		t.Fatalf("UpdateService(allow_missing): %v", err)
	}
	if got, err := uop.Wait(ctx); err != nil || got.Generation != 1 || got.LatestReadyRevision == "" {
		t.Errorf("allow_missing Wait = %v, %v; want a new ready service", got, err)
	}
}

func TestRunFaults(t *testing.T) {
	faults := NewFaults(1, 0, Fault{Method: "run.CreateService", Status: 429, Message: "Quota exceeded (injected)", Times: 1})
	s := startSim(t, Options{Faults: faults})
	enableAPIs(t, s, testProject, APIRun)
	c := newRunClient(t, s)
	req := &runpb.CreateServiceRequest{Parent: parent(testProject, "us-central1"), ServiceId: "hello", Service: helloService(lab.HelloImage)}
	_, err := c.CreateService(testCtx(t), req)
	wantCode(t, err, codes.ResourceExhausted, "Quota exceeded (injected)")
	// Spent after one call; other methods were never affected.
	if _, err := c.CreateService(testCtx(t), req); err != nil {
		t.Fatalf("second CreateService: %v", err)
	}
	if _, err := c.GetService(testCtx(t), &runpb.GetServiceRequest{Name: req.Parent + "/services/hello"}); err != nil {
		t.Fatalf("GetService: %v", err)
	}
}

func TestRunSlowDeployPolls(t *testing.T) {
	s := startSim(t, Options{Profile: Profile{RunDeploy: 50 * time.Millisecond}})
	enableAPIs(t, s, testProject, APIRun)
	c := newRunClient(t, s)
	ctx := testCtx(t)
	op, err := c.CreateService(ctx, &runpb.CreateServiceRequest{Parent: parent(testProject, "us-central1"), ServiceId: "slow", Service: helloService(lab.HelloImage)})
	if err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	if op.Done() {
		t.Fatal("operation done at once, want it running for RunDeploy")
	}
	if md, err := op.Metadata(); err != nil || !md.GetReconciling() {
		t.Errorf("running operation metadata = %v, %v; want the reconciling service", md, err)
	}
	svc, err := c.GetService(ctx, &runpb.GetServiceRequest{Name: parent(testProject, "us-central1") + "/services/slow"})
	if err != nil {
		t.Fatalf("GetService: %v", err)
	}
	if !svc.Reconciling || svc.TerminalCondition.GetState() != runpb.Condition_CONDITION_RECONCILING || svc.LatestReadyRevision != "" {
		t.Errorf("service while deploying = reconciling %v, terminal %v, ready %q", svc.Reconciling, svc.TerminalCondition, svc.LatestReadyRevision)
	}

	// The data plane hears of the new revision through Changes, with no
	// call to the API: the operation's timer applies it.
	for {
		s.mu.Lock()
		n := len(s.readyRevisionsLocked())
		changed := s.change
		s.mu.Unlock()
		if n == 1 {
			break
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatal("no change announced after the deploy duration")
		}
	}

	// Poll as a client does (op.Wait would back off for a second first).
	var got *runpb.Service
	for !op.Done() {
		got, err = op.Poll(ctx)
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		if !op.Done() {
			select {
			case <-time.After(5 * time.Millisecond):
			case <-ctx.Done():
				t.Fatal("operation never done")
			}
		}
	}
	if got.GetReconciling() || got.GetLatestReadyRevision() == "" || got.GetTerminalCondition().GetState() != runpb.Condition_CONDITION_SUCCEEDED {
		t.Errorf("service once done = %v", got)
	}
}

func TestRunUpdateMask(t *testing.T) {
	s := startSim(t, Options{})
	enableAPIs(t, s, testProject, APIRun)
	c := newRunClient(t, s)
	ctx := testCtx(t)
	v1 := deploy(t, c, testProject, "us-central1", "hello", helloService(lab.HelloImage, "MODE", "ok"))

	// Only the labels change; the template given (none) is ignored.
	op, err := c.UpdateService(ctx, &runpb.UpdateServiceRequest{
		Service:    &runpb.Service{Name: v1.Name, Labels: map[string]string{"team": "lab"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"labels"}},
	})
	if err != nil {
		t.Fatalf("UpdateService(labels): %v", err)
	}
	got, err := op.Wait(ctx)
	if err != nil {
		t.Fatalf("UpdateService(labels).Wait: %v", err)
	}
	if got.Labels["team"] != "lab" || got.LatestReadyRevision != v1.LatestReadyRevision || got.Template.GetContainers()[0].GetEnv()[0].GetValue() != "ok" {
		t.Errorf("after a labels-only update: labels %v, ready %q, template %v", got.Labels, got.LatestReadyRevision, got.Template)
	}

	// A nested template path replaces the template: a new revision.
	op, err = c.UpdateService(ctx, &runpb.UpdateServiceRequest{
		Service:    helloServiceNamed(v1.Name, lab.HelloImage, "MODE", "outage"),
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"template.containers"}},
	})
	if err != nil {
		t.Fatalf("UpdateService(template): %v", err)
	}
	if got, err = op.Wait(ctx); err != nil || !strings.Contains(got.LatestReadyRevision, "/hello-00002-") {
		t.Fatalf("UpdateService(template).Wait = %v, %v; want revision 00002", got.GetLatestReadyRevision(), err)
	}
	rr := readyRevisions(s)
	if len(rr) != 1 || rr[0].Env["MODE"] != "outage" {
		t.Errorf("ready revisions = %+v, want MODE=outage", rr)
	}

	_, err = c.UpdateService(ctx, &runpb.UpdateServiceRequest{
		Service:    &runpb.Service{Name: v1.Name},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"no_such_field"}},
	})
	wantCode(t, err, codes.InvalidArgument, "no_such_field")
}

func helloServiceNamed(name, image string, env ...string) *runpb.Service {
	svc := helloService(image, env...)
	svc.Name = name
	return svc
}
