package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/run/apiv2/runpb"
)

// knCall sends a request to the simulator's front door for host, as gcloud
// does through its proxy setting, and decodes the JSON answer into out (if
// not nil). It returns the status and the raw body.
func knCall(t *testing.T, s *Sim, method, host, path string, body any, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			buf, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(buf)
		}
	}
	req, err := http.NewRequestWithContext(testCtx(t), method, s.Endpoints().Compute+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, string(raw)
}

// googleErr is Google's JSON error body.
type googleErr struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type   string `json:"@type"`
			Reason string `json:"reason"`
		} `json:"details"`
	} `json:"error"`
}

func wantGoogleErr(t *testing.T, code int, raw string, gotCode int, status, contains string) googleErr {
	t.Helper()
	var e googleErr
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		t.Fatalf("error body %q is not Google's JSON error: %v", raw, err)
	}
	if gotCode != code || e.Error.Code != code || e.Error.Status != status || !strings.Contains(e.Error.Message, contains) {
		t.Fatalf("got %d %s %q, want %d %s containing %q", gotCode, e.Error.Status, e.Error.Message, code, status, contains)
	}
	return e
}

func knConditionOf(svc *knService, typ string) knCondition {
	for _, c := range svc.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return knCondition{}
}

// gcloudCreateBody is the body `gcloud run deploy hello --image IMAGE
// --ingress all --set-env-vars GREETING=hi` sends (SDK 528, from --log-http).
const gcloudCreateBody = `{"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"annotations": {"run.googleapis.com/client-name": "gcloud", "run.googleapis.com/client-version": "528.0.0", "run.googleapis.com/ingress": "all"}, "labels": {}, "name": "hello", "namespace": "beyond-test-1"}, "spec": {"template": {"metadata": {"annotations": {"run.googleapis.com/client-name": "gcloud", "run.googleapis.com/client-version": "528.0.0", "run.googleapis.com/startup-cpu-boost": "True"}, "labels": {"client.knative.dev/nonce": "yniwzqyryi"}}, "spec": {"containers": [{"image": "us-docker.pkg.dev/cloudrun/container/hello", "name": "", "env": [{"name": "GREETING", "value": "hi"}]}], "nodeSelector": {}}}}, "status": {"address": {}}}`

func httpGetStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestRunV1Knative drives Cloud Run v1 as gcloud does, by Host through the
// front door: create, read, IAM, a replace with a broken image that leaves
// the old revision serving, revisions, configurations, routes, locations,
// the cross-region list, delete; and checks that the Go clients see the
// same service and the data plane serves it.
func TestRunV1Knative(t *testing.T) {
	s := startSim(t, Options{})
	enableAPIs(t, s, testProject, APIRun)
	number := projectNumber(t, s, testProject)
	const host = "us-central1-run.googleapis.com"
	const base = "/apis/serving.knative.dev/v1/namespaces/" + testProject

	code, raw := knCall(t, s, "GET", host, base+"/services/hello", nil, nil)
	wantGoogleErr(t, 404, raw, code, "NOT_FOUND", "Resource 'hello' of kind 'SERVICE' in region 'us-central1' in project 'beyond-test-1' does not exist.")

	var created knService
	if code, raw := knCall(t, s, "POST", host, base+"/services", gcloudCreateBody, &created); code != 200 {
		t.Fatalf("create: %d %s", code, raw)
	}
	if created.Metadata.Namespace != number || created.Metadata.Labels[knLabelLocation] != "us-central1" || created.Metadata.Generation != 1 || created.Metadata.UID == "" {
		t.Errorf("created metadata = %+v, want namespace %s, the location label, generation 1, a uid", created.Metadata, number)
	}
	if a := created.Metadata.Annotations; a[knAnnIngress] != "all" || a[knAnnCreator] == "" || a[knAnnClientName] != "gcloud" {
		t.Errorf("created annotations = %v, want ingress all, a creator, client-name gcloud", a)
	}
	if a := created.Spec.Template.Metadata.Annotations; a[knAnnMaxScale] != "100" || a[knAnnStartupBoost] != "true" {
		t.Errorf("template annotations = %v, want maxScale 100 (the default) and the startup CPU boost asked for", a)
	}

	var svc knService
	if code, raw := knCall(t, s, "GET", host, base+"/services/hello", nil, &svc); code != 200 {
		t.Fatalf("get: %d %s", code, raw)
	}
	first := svc.Status.LatestReadyRevisionName
	if c := knConditionOf(&svc, "Ready"); c.Status != "True" || first == "" || svc.Status.LatestCreatedRevisionName != first || svc.Status.ObservedGeneration != 1 {
		t.Fatalf("status = %+v, want Ready True on the first revision", svc.Status)
	}
	if len(svc.Status.Traffic) != 1 || svc.Status.Traffic[0].RevisionName != first || svc.Status.Traffic[0].Percent != 100 || svc.Status.Traffic[0].LatestRevision == nil || !*svc.Status.Traffic[0].LatestRevision {
		t.Errorf("status.traffic = %+v, want 100%% LATEST on %s", svc.Status.Traffic, first)
	}

	// One state: the Go client reads the service gcloud created.
	v2, err := newRunClient(t, s).GetService(testCtx(t), &runpb.GetServiceRequest{Name: parent(testProject, "us-central1") + "/services/hello"})
	if err != nil {
		t.Fatal(err)
	}
	if v2.GetUid() != svc.Metadata.UID || v2.GetUri() != svc.Status.URL || v2.GetTemplate().GetContainers()[0].GetEnv()[0].GetValue() != "hi" || !v2.GetTemplate().GetContainers()[0].GetResources().GetStartupCpuBoost() {
		t.Errorf("the v2 service %v differs from the v1 one %+v", v2, svc)
	}
	if !strings.HasPrefix(svc.Status.URL, "http://127.0.0.1:") || svc.Status.Address.URL != svc.Status.URL {
		t.Errorf("status.url = %q, address %+v: want the service's front on the data plane", svc.Status.URL, svc.Status.Address)
	}
	inst := waitServing(t, s, "us-central1", "hello", first)
	// Not public yet: the data plane asks for a token, as Google does.
	if code, _ := httpGetStatus(t, svc.Status.URL); code != http.StatusForbidden {
		t.Errorf("GET the URL before IAM = %d, want 403", code)
	}
	iamPath := "/v1/projects/" + testProject + "/locations/us-central1/services/hello"
	var policy struct {
		Etag     string `json:"etag"`
		Bindings []struct {
			Role    string   `json:"role"`
			Members []string `json:"members"`
		} `json:"bindings"`
	}
	if code, raw := knCall(t, s, "GET", "run.googleapis.com", iamPath+":getIamPolicy", nil, &policy); code != 200 || policy.Etag == "" {
		t.Fatalf("getIamPolicy: %d %s", code, raw)
	}
	set := `{"policy": {"bindings": [{"members": ["allUsers"], "role": "roles/run.invoker"}], "etag": "` + policy.Etag + `"}}`
	if code, raw := knCall(t, s, "POST", "run.googleapis.com", iamPath+":setIamPolicy", set, &policy); code != 200 || len(policy.Bindings) != 1 {
		t.Fatalf("setIamPolicy: %d %s", code, raw)
	}
	code, raw = knCall(t, s, "POST", "run.googleapis.com", iamPath+":setIamPolicy", set, nil)
	wantGoogleErr(t, 409, raw, code, "ABORTED", "concurrent policy changes")
	waitDataPlane(t, s, "the service to be public", func() bool { return inst.access.Load().public })
	if code, body := httpGetStatus(t, svc.Status.URL); code != 200 || !strings.Contains(body, first) {
		t.Fatalf("GET the URL after allUsers = %d %q, want the hello page of %s", code, body, first)
	}

	// Replace with a broken image, as `gcloud run services update --image`
	// does: the PUT succeeds, the new revision fails, the old one serves.
	stale := svc.Metadata.ResourceVersion
	svc.Spec.Template.Spec.Containers[0].Image = "gcr.io/cloudrun/service-broken"
	svc.Spec.Template.Metadata.Labels["client.knative.dev/nonce"] = "second"
	if code, raw := knCall(t, s, "PUT", host, base+"/services/hello", svc, nil); code != 200 {
		t.Fatalf("replace: %d %s", code, raw)
	}
	var broken knService
	knCall(t, s, "GET", host, base+"/services/hello", nil, &broken)
	ready, routes, configs := knConditionOf(&broken, "Ready"), knConditionOf(&broken, "RoutesReady"), knConditionOf(&broken, "ConfigurationsReady")
	second := broken.Status.LatestCreatedRevisionName
	if ready.Status != "False" || !strings.Contains(ready.Message, "Revision '"+second+"' is not ready and cannot serve traffic.") || configs.Status != "False" || routes.Status != "True" {
		t.Errorf("conditions after the broken image = %+v, want Ready and ConfigurationsReady False naming %s, RoutesReady True", broken.Status.Conditions, second)
	}
	if second == first || broken.Status.LatestReadyRevisionName != first || broken.Status.Traffic[0].RevisionName != first || broken.Metadata.Generation != 2 || broken.Status.ObservedGeneration != 2 {
		t.Errorf("status = %+v, want the new revision created, %s still ready and serving, generation 2 observed", broken.Status, first)
	}
	if code, body := httpGetStatus(t, broken.Status.URL); code != 200 || !strings.Contains(body, first) {
		t.Errorf("the URL after the broken update = %d, want the old revision %s serving", code, first)
	}
	svc.Metadata.ResourceVersion = stale
	code, raw = knCall(t, s, "PUT", host, base+"/services/hello", svc, nil)
	wantGoogleErr(t, 409, raw, code, "ABORTED", "Read it again and retry")

	// Revisions, newest first, with the labels gcloud filters on.
	var revs struct{ Items []knRevision }
	if code, raw := knCall(t, s, "GET", host, base+"/revisions?labelSelector=serving.knative.dev/service+%3D+hello", nil, &revs); code != 200 {
		t.Fatalf("revisions list: %d %s", code, raw)
	}
	if len(revs.Items) != 2 || revs.Items[0].Metadata.Name != second || revs.Items[1].Metadata.Name != first {
		t.Fatalf("revisions = %+v, want %s then %s", revs.Items, second, first)
	}
	cond := func(r knRevision, typ string) string {
		for _, c := range r.Status.Conditions {
			if c.Type == typ {
				return c.Status
			}
		}
		return ""
	}
	if cond(revs.Items[0], "Ready") != "False" || cond(revs.Items[1], "Ready") != "True" || cond(revs.Items[1], "Active") != "True" || cond(revs.Items[0], "Active") != "False" {
		t.Errorf("revision conditions = %+v / %+v: want the broken one not ready, the first ready and active", revs.Items[0].Status, revs.Items[1].Status)
	}
	if revs.Items[1].Metadata.Labels[knLabelService] != "hello" || revs.Items[1].Metadata.Labels["client.knative.dev/nonce"] != "yniwzqyryi" || revs.Items[1].Spec.Containers[0].Image != "us-docker.pkg.dev/cloudrun/container/hello" {
		t.Errorf("first revision = %+v, want its service label, gcloud's nonce and its image", revs.Items[1])
	}
	knCall(t, s, "GET", host, base+"/revisions?labelSelector=serving.knative.dev/service+%3D+other", nil, &revs)
	if len(revs.Items) != 0 {
		t.Errorf("revisions of another service = %d, want none", len(revs.Items))
	}
	code, raw = knCall(t, s, "DELETE", host, base+"/revisions/"+first, nil, nil)
	wantGoogleErr(t, 400, raw, code, "FAILED_PRECONDITION", "serving traffic")
	var route, config map[string]any
	if code, _ := knCall(t, s, "GET", host, base+"/routes/hello", nil, &route); code != 200 || route["status"].(map[string]any)["url"] != broken.Status.URL {
		t.Errorf("route = %v, want the service's URL", route)
	}
	if code, _ := knCall(t, s, "GET", host, base+"/configurations/hello", nil, &config); code != 200 || config["status"].(map[string]any)["latestCreatedRevisionName"] != second {
		t.Errorf("configuration = %v, want latest created %s", config, second)
	}

	// The global side: locations, and a list across regions that includes
	// a service the Go client made.
	var locs struct{ Locations []struct{ LocationID string } }
	knCall(t, s, "GET", "run.googleapis.com", "/v1/projects/"+testProject+"/locations", nil, &locs)
	found := map[string]bool{}
	for _, l := range locs.Locations {
		found[l.LocationID] = true
	}
	if !found["us-central1"] || !found["europe-west1"] {
		t.Errorf("locations = %v, want the lab's regions", locs.Locations)
	}
	deploy(t, newRunClient(t, s), testProject, "europe-west1", "hello", helloService("us-docker.pkg.dev/cloudrun/container/hello"))
	var all struct{ Items []knService }
	knCall(t, s, "GET", "run.googleapis.com", "/v1/projects/"+testProject+"/locations/-/services", nil, &all)
	if len(all.Items) != 2 || all.Items[0].Metadata.Labels[knLabelLocation] != "europe-west1" || all.Items[1].Metadata.Labels[knLabelLocation] != "us-central1" {
		t.Errorf("services in every region = %+v, want hello in europe-west1 and us-central1", all.Items)
	}

	var st map[string]any
	if code, raw := knCall(t, s, "DELETE", host, base+"/services/hello", nil, &st); code != 200 || st["status"] != "Success" {
		t.Fatalf("delete: %d %s", code, raw)
	}
	code, raw = knCall(t, s, "GET", host, base+"/services/hello", nil, nil)
	wantGoogleErr(t, 404, raw, code, "NOT_FOUND", "does not exist")
}

// TestRunV1Edges covers what gcloud rarely sends: bad input, the global
// host for a regional API, a disabled API, unknown paths and methods, and
// injected faults under the gRPC surface's names.
func TestRunV1Edges(t *testing.T) {
	s := startSim(t, Options{Faults: NewFaults(1, 0, Fault{Method: "run.CreateService", Status: 503, Times: 1})})
	const host = "us-central1-run.googleapis.com"
	const base = "/apis/serving.knative.dev/v1/namespaces/" + testProject

	code, raw := knCall(t, s, "GET", host, base+"/services", nil, nil)
	e := wantGoogleErr(t, 403, raw, code, "PERMISSION_DENIED", "Cloud Run Admin API has not been used in project")
	if len(e.Error.Details) == 0 || e.Error.Details[0].Reason != "SERVICE_DISABLED" {
		t.Errorf("disabled API details = %+v, want ErrorInfo SERVICE_DISABLED", e.Error.Details)
	}
	enableAPIs(t, s, testProject, APIRun)

	code, raw = knCall(t, s, "POST", host, base+"/services", gcloudCreateBody, nil)
	wantGoogleErr(t, 503, raw, code, "UNAVAILABLE", "injected fault")
	if code, raw := knCall(t, s, "POST", host, base+"/services", gcloudCreateBody, nil); code != 200 {
		t.Fatalf("create after the fault is spent: %d %s", code, raw)
	}
	code, raw = knCall(t, s, "POST", host, base+"/services", gcloudCreateBody, nil)
	wantGoogleErr(t, 409, raw, code, "ALREADY_EXISTS", "already exists")

	for _, c := range []struct {
		name, method, host, path, body string
		code                           int
		status, contains               string
	}{
		{"malformed JSON", "POST", host, base + "/services", `{"metadata": `, 400, "INVALID_ARGUMENT", "Invalid JSON payload"},
		{"no template", "POST", host, base + "/services", `{"metadata": {"name": "x"}}`, 400, "INVALID_ARGUMENT", "spec.template is required"},
		{"no name", "POST", host, base + "/services", `{"spec": {"template": {"spec": {"containers": [{"image": "gcr.io/cloudrun/hello"}]}}}}`, 400, "INVALID_ARGUMENT", "metadata.name is required"},
		{"bad ingress", "POST", host, base + "/services", `{"metadata": {"name": "x", "annotations": {"run.googleapis.com/ingress": "everyone"}}, "spec": {"template": {"spec": {"containers": [{"image": "gcr.io/cloudrun/hello"}]}}}}`, 400, "INVALID_ARGUMENT", "not an ingress setting"},
		{"secret env", "POST", host, base + "/services", `{"metadata": {"name": "x"}, "spec": {"template": {"spec": {"containers": [{"image": "gcr.io/cloudrun/hello", "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "s", "key": "latest"}}}]}]}}}}`, 400, "INVALID_ARGUMENT", "Secret Manager are not simulated"},
		{"wrong kind", "POST", host, base + "/services", `{"apiVersion": "serving.knative.dev/v1", "kind": "Job", "metadata": {"name": "x"}}`, 400, "INVALID_ARGUMENT", `kind "Job"`},
		{"name mismatch", "PUT", host, base + "/services/hello", `{"metadata": {"name": "other"}, "spec": {"template": {"spec": {"containers": [{"image": "gcr.io/cloudrun/hello"}]}}}}`, 400, "INVALID_ARGUMENT", "does not match"},
		{"bad selector", "GET", host, base + "/revisions?labelSelector=a+in+(b)", "", 400, "INVALID_ARGUMENT", "labelSelector term"},
		{"global host", "GET", "run.googleapis.com", base + "/services", "", 400, "INVALID_ARGUMENT", "REGION-run.googleapis.com"},
		{"unknown region", "GET", "us-nowhere1-run.googleapis.com", base + "/services", "", 404, "NOT_FOUND", "does not serve us-nowhere1-run.googleapis.com"},
		{"unknown kind", "GET", host, base + "/domainmappings", "", 404, "NOT_FOUND", "does not serve GET /apis/serving.knative.dev/v1/namespaces/" + testProject + "/domainmappings"},
		{"unknown path", "GET", host, "/apis/other/v1/x", "", 404, "NOT_FOUND", "does not serve"},
		{"PATCH a service", "PATCH", host, base + "/services/hello", "{}", 405, "UNIMPLEMENTED", "use GET, PUT, DELETE"},
		{"missing revision", "GET", host, base + "/revisions/hello-09999-zzz", "", 404, "NOT_FOUND", "of kind 'REVISION'"},
		{"IAM by POST", "POST", "run.googleapis.com", "/v1/projects/" + testProject + "/locations/us-central1/services/hello:getIamPolicy", "", 405, "UNIMPLEMENTED", "use GET"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = c.body
			}
			code, raw := knCall(t, s, c.method, c.host, c.path, body, nil)
			wantGoogleErr(t, c.code, raw, code, c.status, c.contains)
		})
	}
}

// TestRunRESTFaults checks that Cloud Run's v1 and v2 REST surfaces meet
// faults as every other surface does: one that comes :after lets the
// create take effect first, and a 429 carries the RATE_LIMIT_EXCEEDED
// ErrorInfo; and that v2 answers enums as numbers when the REST client
// asks with $alt=json;enum-encoding=int.
func TestRunRESTFaults(t *testing.T) {
	faults, err := ParseFaults("run.CreateService=503x1:after,run.GetService=429x1")
	if err != nil {
		t.Fatal(err)
	}
	s := startSim(t, Options{Faults: NewFaults(1, 0, faults...)})
	enableAPIs(t, s, testProject, APIRun)
	const host = "us-central1-run.googleapis.com"
	code, raw := knCall(t, s, "POST", host, "/apis/serving.knative.dev/v1/namespaces/"+testProject+"/services", gcloudCreateBody, nil)
	wantGoogleErr(t, 503, raw, code, "UNAVAILABLE", "")
	// The create took effect before the 503: a retry meets 409.
	code, raw = knCall(t, s, "POST", host, "/apis/serving.knative.dev/v1/namespaces/"+testProject+"/services", gcloudCreateBody, nil)
	wantGoogleErr(t, 409, raw, code, "ALREADY_EXISTS", "")

	code, raw = knCall(t, s, "GET", host, "/apis/serving.knative.dev/v1/namespaces/"+testProject+"/services/hello", nil, nil)
	e := wantGoogleErr(t, 429, raw, code, "RESOURCE_EXHAUSTED", "")
	if len(e.Error.Details) == 0 || e.Error.Details[0].Reason != "RATE_LIMIT_EXCEEDED" {
		t.Errorf("429 details = %+v, want an ErrorInfo with reason RATE_LIMIT_EXCEEDED", e.Error.Details)
	}

	path := "/v2/projects/" + testProject + "/locations/us-central1/services/hello"
	var named, numbered map[string]any
	if code, raw = knCall(t, s, "GET", "run.googleapis.com", path, nil, &named); code != 200 {
		t.Fatalf("v2 get = %d %s", code, raw)
	}
	if code, raw = knCall(t, s, "GET", "run.googleapis.com", path+"?%24alt=json%3Benum-encoding%3Dint", nil, &numbered); code != 200 {
		t.Fatalf("v2 get with enum-encoding=int = %d %s", code, raw)
	}
	if named["ingress"] != "INGRESS_TRAFFIC_ALL" || numbered["ingress"] != 1.0 {
		t.Errorf("ingress = %v by default and %v with enum-encoding=int; want INGRESS_TRAFFIC_ALL and 1", named["ingress"], numbered["ingress"])
	}
}
