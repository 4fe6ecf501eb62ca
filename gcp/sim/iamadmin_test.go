package sim

import (
	"context"
	"strings"
	"testing"

	admin "cloud.google.com/go/iam/admin/apiv1"
	"cloud.google.com/go/iam/admin/apiv1/adminpb"
	"cloud.google.com/go/iam/apiv1/iampb"
	resourcemanager "cloud.google.com/go/resourcemanager/apiv3"
	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/beyond-lab/beyond/lab"
	"google.golang.org/genai"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

func newIAMClients(t *testing.T, s *Sim) (*admin.IamClient, *resourcemanager.ProjectsClient) {
	t.Helper()
	iam, err := admin.NewIamClient(context.Background(), clientOptions(s.Endpoints().Run)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { iam.Close() })
	rm, err := resourcemanager.NewProjectsClient(context.Background(), clientOptions(s.Endpoints().Run)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rm.Close() })
	return iam, rm
}

func TestServiceAccounts(t *testing.T) {
	s := startSim(t, Options{})
	iam, _ := newIAMClients(t, s)
	ctx := testCtx(t)
	email := "gemini-service-sa@" + testProject + ".iam.gserviceaccount.com"

	sa, err := iam.CreateServiceAccount(ctx, &adminpb.CreateServiceAccountRequest{
		Name: "projects/" + testProject, AccountId: "gemini-service-sa",
		ServiceAccount: &adminpb.ServiceAccount{DisplayName: "Gemini service"},
	})
	if err != nil {
		t.Fatalf("CreateServiceAccount: %v", err)
	}
	if sa.GetEmail() != email || sa.GetName() != "projects/"+testProject+"/serviceAccounts/"+email || len(sa.GetUniqueId()) != 21 || sa.GetDisplayName() != "Gemini service" {
		t.Errorf("created %v", sa)
	}
	_, err = iam.CreateServiceAccount(ctx, &adminpb.CreateServiceAccountRequest{Name: "projects/" + testProject, AccountId: "gemini-service-sa"})
	wantCode(t, err, codes.AlreadyExists, "Service account gemini-service-sa already exists within project projects/"+testProject+".")

	for _, bad := range []string{"short", "Upper-case-id", "ends-with-hyphen-", "a-name-that-is-much-too-long-for-iam"} {
		_, err = iam.CreateServiceAccount(ctx, &adminpb.CreateServiceAccountRequest{Name: "projects/" + testProject, AccountId: bad})
		wantCode(t, err, codes.InvalidArgument, "6 to 30 characters")
	}

	for _, name := range []string{"projects/" + testProject + "/serviceAccounts/" + email, "projects/-/serviceAccounts/" + email, "projects/-/serviceAccounts/" + sa.GetUniqueId()} {
		got, err := iam.GetServiceAccount(ctx, &adminpb.GetServiceAccountRequest{Name: name})
		if name == "projects/-/serviceAccounts/"+sa.GetUniqueId() {
			wantCode(t, err, codes.NotFound, "Unknown service account") // "-" needs an email
			continue
		}
		if err != nil || !proto.Equal(got, sa) {
			t.Errorf("GetServiceAccount(%s) = %v, %v", name, got, err)
		}
	}
	list, err := iam.ListServiceAccounts(ctx, &adminpb.ListServiceAccountsRequest{Name: "projects/" + testProject}).Next()
	if err != nil || !strings.HasSuffix(list.GetEmail(), "-compute@developer.gserviceaccount.com") {
		t.Errorf("first listed account %v, %v; want the Compute Engine default one", list, err)
	}

	if err := iam.DeleteServiceAccount(ctx, &adminpb.DeleteServiceAccountRequest{Name: "projects/-/serviceAccounts/" + email}); err != nil {
		t.Fatalf("DeleteServiceAccount: %v", err)
	}
	_, err = iam.GetServiceAccount(ctx, &adminpb.GetServiceAccountRequest{Name: "projects/-/serviceAccounts/" + email})
	wantCode(t, err, codes.NotFound, "Unknown service account")
	err = iam.DeleteServiceAccount(ctx, &adminpb.DeleteServiceAccountRequest{Name: "projects/-/serviceAccounts/" + email})
	wantCode(t, err, codes.NotFound, "Unknown service account")
}

// The project's policy: etags for read-modify-write, bindings only for
// accounts that exist, and a deleted account's bindings grant nothing.
func TestProjectPolicy(t *testing.T) {
	s := startSim(t, Options{})
	iam, rm := newIAMClients(t, s)
	ctx := testCtx(t)
	res := "projects/" + testProject
	email := "gemini-service-sa@" + testProject + ".iam.gserviceaccount.com"
	member := "serviceAccount:" + email

	pol, err := rm.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: res})
	if err != nil {
		t.Fatal(err)
	}
	grant := proto.Clone(pol).(*iampb.Policy)
	grant.Bindings = append(grant.Bindings, &iampb.Binding{Role: "roles/aiplatform.user", Members: []string{member}})
	_, err = rm.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: res, Policy: grant})
	wantCode(t, err, codes.InvalidArgument, "Service account "+email+" does not exist.")

	if _, err := iam.CreateServiceAccount(ctx, &adminpb.CreateServiceAccountRequest{Name: res, AccountId: "gemini-service-sa"}); err != nil {
		t.Fatal(err)
	}
	set, err := rm.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: res, Policy: grant})
	if err != nil {
		t.Fatalf("SetIamPolicy: %v", err)
	}
	if string(set.GetEtag()) == string(pol.GetEtag()) {
		t.Error("the etag did not change")
	}
	// A write with the old etag lost the race: ABORTED, as on Google.
	_, err = rm.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: res, Policy: grant})
	wantCode(t, err, codes.Aborted, "concurrent policy changes")

	s.mu.Lock()
	holds := s.projects[testProject].iam.holds(email, "roles/aiplatform.user")
	s.mu.Unlock()
	if !holds {
		t.Fatal("the account does not hold the role it was granted")
	}
	if err := iam.DeleteServiceAccount(ctx, &adminpb.DeleteServiceAccountRequest{Name: res + "/serviceAccounts/" + email}); err != nil {
		t.Fatal(err)
	}
	after, _ := rm.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: res})
	var deleted bool
	for _, b := range after.GetBindings() {
		for _, m := range b.GetMembers() {
			if m == member {
				t.Errorf("binding %s still names the deleted account", b.GetRole())
			}
			deleted = deleted || strings.HasPrefix(m, "deleted:"+member+"?uid=")
		}
	}
	if !deleted {
		t.Errorf("policy after delete = %v; want a deleted:serviceAccount member, as Google leaves", after.GetBindings())
	}
}

// Cloud Run refuses a revision that runs as an account that does not exist.
func TestRunRefusesMissingServiceAccount(t *testing.T) {
	s := startSim(t, Options{})
	enableAPIs(t, s, testProject, APIRun)
	c := newRunClient(t, s)
	svc := helloService(lab.HelloImage)
	svc.Template.ServiceAccount = "nobody-here@" + testProject + ".iam.gserviceaccount.com"
	_, err := c.CreateService(testCtx(t), &runpb.CreateServiceRequest{Parent: parent(testProject, "us-central1"), ServiceId: "hello", Service: svc})
	wantCode(t, err, codes.PermissionDenied, "Permission 'iam.serviceaccounts.actAs' denied on service account nobody-here@"+testProject+".iam.gserviceaccount.com (or it may not exist).")
}

// An instance whose service account lacks roles/aiplatform.user gets
// Google's 403 from Gemini; granted, it gets its answer.
func TestGeminiRefusesAnUngrantedServiceAccount(t *testing.T) {
	s := startSim(t, Options{})
	iam, rm := newIAMClients(t, s)
	ctx := testCtx(t)
	res := "projects/" + testProject
	sa, err := iam.CreateServiceAccount(ctx, &adminpb.CreateServiceAccountRequest{Name: res, AccountId: "gemini-service-sa"})
	if err != nil {
		t.Fatal(err)
	}
	key := instanceKey(ReadyRevision{Project: testProject, Region: "europe-west1", ServiceAccount: sa.GetEmail()})
	c, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: key, Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: s.Endpoints().Gemini}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Models.GenerateContent(ctx, "gemini-3.5-flash", genai.Text("hi"), nil)
	geminiWantAPIError(t, err, 403, "PERMISSION_DENIED", "Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/projects/"+testProject+"/locations/europe-west1/publishers/google/models/gemini-3.5-flash' (or it may not exist).")

	pol, _ := rm.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: res})
	pol.Bindings = append(pol.Bindings, &iampb.Binding{Role: "roles/aiplatform.user", Members: []string{"serviceAccount:" + sa.GetEmail()}})
	if _, err := rm.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: res, Policy: pol}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Models.GenerateContent(ctx, "gemini-3.5-flash", genai.Text("hi"), nil); err != nil {
		t.Errorf("after the grant: %v", err)
	}
	// The default account holds roles/editor in a new simulated project.
	s.mu.Lock()
	number := s.projects[testProject].number
	s.mu.Unlock()
	def := instanceKey(ReadyRevision{Project: testProject, Region: "us-central1", ServiceAccount: defaultServiceAccount(number)})
	c2, _ := genai.NewClient(ctx, &genai.ClientConfig{APIKey: def, Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: s.Endpoints().Gemini}})
	if _, err := c2.Models.GenerateContent(ctx, "gemini-3.5-flash", genai.Text("hi"), nil); err != nil {
		t.Errorf("the default account (editor): %v", err)
	}
}
