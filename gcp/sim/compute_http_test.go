package sim

import (
	"strings"
	"testing"
)

// TestComputeHTTPEdges checks what the official clients never send: unknown
// paths and methods, oversized and malformed bodies, and the unknown or
// empty fields other clients (Node.js, gcloud) do send. Plain HTTP here.
func TestComputeHTTPEdges(t *testing.T) {
	s, _ := startCompute(t, Options{})
	base := s.Endpoints().Compute + "/compute/v1/projects/" + testProject

	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		return restCall(t, s, method, base+path, body)
	}
	reason := func(out map[string]any) string {
		e, _ := out["error"].(map[string]any)
		errs, _ := e["errors"].([]any)
		if len(errs) == 0 {
			return ""
		}
		first, _ := errs[0].(map[string]any)
		r, _ := first["reason"].(string)
		return r
	}

	for _, tc := range []struct {
		method, path, body string
		code               int
		reason             string
	}{
		{"GET", "/global/instances", "", 404, "notFound"},
		{"GET", "/global/backendServices/a/b/c", "", 404, "notFound"},
		{"PUT", "/global/targetHttpProxies/web-proxy", "{}", 405, "httpMethodNotAllowed"},
		{"POST", "/global/backendServices", `{"name":`, 400, "parseError"},
		{"POST", "/global/backendServices", `{"name":"big","description":"` + strings.Repeat("x", computeMaxBody) + `"}`, 413, "requestTooLarge"},
		{"POST", "/global/backendServices", "", 400, "required"},
		{"GET", "/global/backendServices?maxResults=-1", "", 400, "invalid"},
		{"GET", "/global/backendServices?pageToken=garbage", "", 400, "invalid"},
		{"GET", "/global/backendServices?filter=" + "name%20~%20x", "", 400, "invalid"},
	} {
		code, out := do(tc.method, tc.path, tc.body)
		if code != tc.code || reason(out) != tc.reason {
			t.Errorf("%s %s: got %d %s (%v), want %d %s", tc.method, tc.path, code, reason(out), out["error"], tc.code, tc.reason)
		}
	}

	// Unknown and empty fields are tolerated, as Google tolerates them.
	code, out := do("POST", "/regions/us-central1/networkEndpointGroups",
		`{"name":"neg-a","networkEndpointType":"SERVERLESS","cloudRun":{"service":"gemini-service"},"annotations":{},"futureField":{"x":1}}`)
	if code != 200 || out["kind"] != "compute#operation" || out["status"] != "DONE" {
		t.Errorf("insert with unknown fields: %d %v", code, out)
	}
	// An update keeps what Google sets: ID, creation time, selfLink.
	_, before := do("GET", "/regions/us-central1/networkEndpointGroups/neg-a", "")
	code, _ = do("POST", "/global/backendServices", `{"name":"web","loadBalancingScheme":"EXTERNAL_MANAGED"}`)
	if code != 200 {
		t.Fatalf("insert backend service: %d", code)
	}
	_, bs := do("GET", "/global/backendServices/web", "")
	code, _ = do("PUT", "/global/backendServices/web", `{"name":"web","loadBalancingScheme":"EXTERNAL_MANAGED","description":"d","id":"1"}`)
	_, after := do("GET", "/global/backendServices/web", "")
	if code != 200 || after["id"] != bs["id"] || after["creationTimestamp"] != bs["creationTimestamp"] || after["description"] != "d" || after["fingerprint"] == bs["fingerprint"] {
		t.Errorf("update: %d, before %v, after %v", code, bs, after)
	}
	// Get by numeric ID, as Google allows.
	code, byID := do("GET", "/regions/us-central1/networkEndpointGroups/"+before["id"].(string), "")
	if code != 200 || byID["name"] != "neg-a" {
		t.Errorf("get by ID: %d %v", code, byID)
	}
}

// TestComputeIAPSecretWriteOnly checks that a backend service's IAP OAuth
// client secret is kept as its SHA-256, as Google answers it, and that a
// read-modify-write (which cannot send the secret back) keeps the hash.
func TestComputeIAPSecretWriteOnly(t *testing.T) {
	s, _ := startCompute(t, Options{})
	base := s.Endpoints().Compute + "/compute/v1/projects/" + testProject + "/global/backendServices"
	do := func(method, url, body string) map[string]any {
		t.Helper()
		code, out := restCall(t, s, method, url, body)
		if code != 200 {
			t.Fatalf("%s %s: %d %v", method, url, code, out)
		}
		return out
	}
	do("POST", base, `{"name":"web","loadBalancingScheme":"EXTERNAL_MANAGED","iap":{"enabled":false,"oauth2ClientSecret":"s3cret"}}`)
	const sum = "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0" // sha256("s3cret")
	check := func(when, description string) {
		t.Helper()
		bs := do("GET", base+"/web", "")
		iap, _ := bs["iap"].(map[string]any)
		if iap["oauth2ClientSecretSha256"] != sum || iap["oauth2ClientSecret"] != nil || iap["oauth2ClientId"] != "" || iap["enabled"] != false {
			t.Errorf("%s: iap = %v, want the secret's SHA-256 only", when, iap)
		}
		if bs["affinityCookieTtlSec"] != 0.0 || bs["description"] != description || bs["enableCDN"] != false {
			t.Errorf("%s: defaults = %v %v %v, want 0, %q, false", when, bs["affinityCookieTtlSec"], bs["description"], bs["enableCDN"], description)
		}
	}
	check("after insert", "")
	do("PATCH", base+"/web", `{"description":"d","iap":{"enabled":false}}`)
	check("after a patch without the secret", "d")
}
