package sim

import (
	"strings"
	"testing"
)

// TestIAMREST checks the IAM and Resource Manager REST surfaces over plain
// HTTP: a service account made over REST, a stale policy etag refused as
// Google does, a fault under the gRPC name.
func TestIAMREST(t *testing.T) {
	faults, err := ParseFaults("resourcemanager.GetIamPolicy=503x1")
	if err != nil {
		t.Fatal(err)
	}
	s := startSim(t, Options{Faults: NewFaults(1, 0, faults...)})
	iam := "http://iam.googleapis.com/v1/projects/" + testProject + "/serviceAccounts"
	rm := "http://cloudresourcemanager.googleapis.com/v1/projects/" + testProject

	code, body := restCall(t, s, "POST", iam, `{"accountId":"lab-runner","serviceAccount":{"displayName":"runner"}}`)
	if code != 200 || body["email"] != "lab-runner@"+testProject+".iam.gserviceaccount.com" || body["displayName"] != "runner" {
		t.Fatalf("create service account = %d %v", code, body)
	}
	if code, body = restCall(t, s, "POST", iam, `{"accountId":"lab-runner"}`); code != 409 || restErr(t, body)["status"] != "ALREADY_EXISTS" {
		t.Errorf("second create = %d %v, want 409 ALREADY_EXISTS", code, body)
	}
	if code, body = restCall(t, s, "GET", iam+"/nobody@"+testProject+".iam.gserviceaccount.com", ""); code != 404 {
		t.Errorf("get a missing account = %d %v, want 404", code, body)
	} else if errs, _ := restErr(t, body)["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["reason"] != "notFound" || errs[0].(map[string]any)["domain"] != "global" {
		t.Errorf("404 body = %v, want errors[{domain: global, reason: notFound}] as IAM sends", body)
	}

	// gcloud iam service-accounts update: PATCH with a mask, in either
	// case; Google answers the name and the masked fields only.
	account := iam + "/lab-runner@" + testProject + ".iam.gserviceaccount.com"
	code, body = restCall(t, s, "PATCH", account, `{"serviceAccount":{"description":"runs the lab","displayName":"ignored"},"updateMask":"description"}`)
	if code != 200 || body["description"] != "runs the lab" || body["displayName"] != nil || body["email"] != nil {
		t.Errorf("patch description = %d %v, want the name and description only", code, body)
	}
	if code, body = restCall(t, s, "PATCH", account, `{"serviceAccount":{"displayName":"the runner"},"updateMask":"display_name"}`); code != 200 || body["displayName"] != "the runner" {
		t.Errorf("patch display_name = %d %v", code, body)
	}
	if code, body = restCall(t, s, "GET", account, ""); code != 200 || body["description"] != "runs the lab" || body["displayName"] != "the runner" {
		t.Errorf("after the patches = %d %v", code, body)
	}
	if code, body = restCall(t, s, "PATCH", account, `{"serviceAccount":{"email":"x@y"},"updateMask":"email"}`); code != 400 {
		t.Errorf("patch email = %d %v, want 400", code, body)
	}

	if code, body = restCall(t, s, "POST", rm+":getIamPolicy", `{}`); code != 503 {
		t.Errorf("faulted getIamPolicy = %d %v, want 503", code, body)
	}
	code, body = restCall(t, s, "POST", rm+":getIamPolicy", `{"options":{"requestedPolicyVersion":3}}`)
	etag, _ := body["etag"].(string)
	if code != 200 || etag == "" {
		t.Fatalf("getIamPolicy = %d %v", code, body)
	}
	set := `{"policy":{"etag":"` + etag + `","bindings":[{"role":"roles/aiplatform.user","members":["serviceAccount:lab-runner@` + testProject + `.iam.gserviceaccount.com"]}]}}`
	if code, body = restCall(t, s, "POST", rm+":setIamPolicy", set); code != 200 {
		t.Fatalf("setIamPolicy = %d %v", code, body)
	}
	// The same etag again is stale now.
	if code, body = restCall(t, s, "POST", rm+":setIamPolicy", set); code != 409 || !strings.Contains(restErr(t, body)["message"].(string), "concurrent policy changes") {
		t.Errorf("setIamPolicy with a stale etag = %d %v, want 409", code, body)
	}
}
