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
