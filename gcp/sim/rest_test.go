package sim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/api/option"
)

// frontDoorClient is an HTTP client that sends every request through the
// simulator's front door as its proxy, the way gcloud does once pointed at
// it: requests keep their googleapis.com Host.
func frontDoorClient(t *testing.T, s *Sim) *http.Client {
	t.Helper()
	u, err := url.Parse(s.Endpoints().Compute)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{Proxy: http.ProxyURL(u)}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// restOptions points an official REST client at the simulator's front door
// for host, e.g. "serviceusage.googleapis.com".
func restOptions(t *testing.T, s *Sim, host string) []option.ClientOption {
	return []option.ClientOption{
		option.WithEndpoint("http://" + host + "/"),
		option.WithHTTPClient(frontDoorClient(t, s)),
	}
}

// restCall sends one plain HTTP request through the front door and returns
// the status and the decoded JSON body.
func restCall(t *testing.T, s *Sim, method, rawURL, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := frontDoorClient(t, s).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, rawURL, err, b)
	}
	return resp.StatusCode, out
}

// restErr returns the error object of a Google JSON error body.
func restErr(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	if !ok {
		t.Fatalf("answer has no error object: %v", body)
	}
	return e
}

// errorInfoReason returns the reason of the ErrorInfo among an error
// body's details, "" if none.
func errorInfoReason(e map[string]any) string {
	ds, _ := e["details"].([]any)
	for _, d := range ds {
		m, _ := d.(map[string]any)
		if m["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" {
			r, _ := m["reason"].(string)
			return r
		}
	}
	return ""
}
