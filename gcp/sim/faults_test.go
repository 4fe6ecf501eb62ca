package sim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestParseFaultSpec(t *testing.T) {
	f, err := ParseFaultSpec("compute.urlMaps.insert=503x2:after, run.CreateService=429,rate=0.25,seed=7")
	if err != nil {
		t.Fatal(err)
	}
	if f.rate != 0.25 || len(f.faults) != 2 {
		t.Fatalf("parsed %+v", f)
	}
	if x := *f.faults[0]; x.Method != "compute.urlMaps.insert" || x.Status != 503 || x.Times != 2 || !x.After {
		t.Errorf("first fault %+v", x)
	}
	if x := *f.faults[1]; x.Method != "run.CreateService" || x.Status != 429 || x.Times != 0 || x.After {
		t.Errorf("second fault %+v", x)
	}
	for _, bad := range []string{"rate=2", "rate=x", "rate=NaN", "seed=1.5", "run.CreateService=200", "run.CreateService=503x0", "=503", "run.CreateService", "x=503:later"} {
		if _, err := ParseFaultSpec(bad); err == nil || !strings.Contains(err.Error(), "e.g.") && !strings.Contains(err.Error(), "must") && !strings.Contains(err.Error(), "the ") {
			t.Errorf("ParseFaultSpec(%q) = %v, want an error that says what to write", bad, err)
		}
	}
	if _, err := ParseFaults("rate=0.1"); err == nil {
		t.Error("ParseFaults took a random rate it cannot return")
	}
}

// TestRandomFaultsMix: a seeded rate fails about that share of calls, with
// both 429 and 503, the same calls for the same seed.
func TestRandomFaultsMix(t *testing.T) {
	run := func(seed int64) (hits map[int]int, pattern string) {
		f := NewFaults(seed, 0.1)
		hits = map[int]int{}
		var b strings.Builder
		for range 2000 {
			x, hit := f.take("compute.urlMaps.get")
			if hit {
				hits[x.Status]++
				b.WriteByte('x')
			} else {
				b.WriteByte('.')
			}
		}
		return hits, b.String()
	}
	hits, p1 := run(7)
	if n := hits[429] + hits[503]; n < 140 || n > 260 || hits[429] == 0 || hits[503] == 0 || len(hits) != 2 {
		t.Errorf("rate 0.1 over 2000 calls hit %v: want about 200, both 429 and 503", hits)
	}
	if _, p2 := run(7); p1 != p2 {
		t.Error("the same seed failed different calls")
	}
	if _, p3 := run(8); p1 == p3 {
		t.Error("another seed failed the same calls")
	}
}

// FuzzParseFaultSpec: any flag value is parsed or refused with a message,
// never a panic, and what parses has statuses from 400 to 599 and a rate
// from 0 to 1.
func FuzzParseFaultSpec(f *testing.F) {
	for _, s := range []string{"run.CreateService=503x2", "compute.urlMaps.insert=429:after", "rate=0.1,seed=7", "a=500x1:after,rate=1", "", ",,", "x=", "rate=-0", "seed=-9223372036854775808", "m=599x99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		faults, err := ParseFaultSpec(spec)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if faults.rate < 0 || faults.rate > 1 {
			t.Fatalf("%q: rate %v", spec, faults.rate)
		}
		for _, x := range faults.faults {
			if x.Status < 400 || x.Status > 599 || x.Times < 0 || x.Method == "" {
				t.Fatalf("%q: fault %+v", spec, x)
			}
		}
	})
}

// fuzzSim is one started simulator for a fuzz target's inputs, with the
// lab's APIs enabled in testProject; requests reach its HTTP handler in
// process, as the listener would hand them over.
func fuzzSim(f *testing.F) http.Handler {
	s := startSim(f, Options{})
	s.mu.Lock()
	p, err := s.projectLocked(testProject)
	if err == nil {
		for _, api := range []string{APICompute, "serviceusage.googleapis.com", "artifactregistry.googleapis.com", "run.googleapis.com"} {
			p.enabled[api] = true
		}
	}
	s.mu.Unlock()
	if err != nil {
		f.Fatal(err)
	}
	return s.http.Handler
}

// fuzzRequest sends one request to h and checks the answer is an HTTP
// status with a JSON body (Google's error shape or a resource), never a panic
// (the recorder would see none: net/http recovers, httptest does not).
func fuzzRequest(t *testing.T, h http.Handler, method, host, path, body string) {
	switch method {
	case "GET", "POST", "PUT", "PATCH", "DELETE":
	default:
		method = "GET"
	}
	if strings.ContainsAny(path, " \t\r\n#?") || !strings.HasPrefix(path, "/") {
		return
	}
	if _, err := url.ParseRequestURI("http://" + host + path); err != nil {
		return // no client can send it
	}
	req := httptest.NewRequest(method, "http://"+host+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code < 200 || rec.Code > 599 {
		t.Fatalf("%s %s%s: status %d", method, host, path, rec.Code)
	}
	if rec.Code >= 400 && !json.Valid(rec.Body.Bytes()) { // a 3xx is net/http cleaning a path such as /./
		t.Fatalf("%s %s%s: %d with a body that is not JSON: %q", method, host, path, rec.Code, rec.Body.String())
	}
}

// FuzzComputeREST: Compute Engine's path and body parsing, on any path
// under a project and any body.
func FuzzComputeREST(f *testing.F) {
	h := fuzzSim(f)
	base := "/compute/v1/projects/" + testProject
	for _, c := range [][3]string{
		{"POST", "/regions/us-central1/networkEndpointGroups", `{"name":"neg","networkEndpointType":"SERVERLESS","cloudRun":{"service":"s"}}`},
		{"POST", "/global/backendServices", `{"name":"bs","loadBalancingScheme":"EXTERNAL_MANAGED","outlierDetection":{"consecutiveErrors":3}}`},
		{"PATCH", "/global/backendServices/bs", `{"backends":[{"group":"regions/us-central1/networkEndpointGroups/neg"}],"fingerprint":null}`},
		{"POST", "/global/urlMaps", `{"name":"m","defaultService":"global/backendServices/bs","defaultRouteAction":{"retryPolicy":{"numRetries":2,"retryConditions":["5xx"]}}}`},
		{"POST", "/global/targetHttpProxies", `{"name":"p","urlMap":"global/urlMaps/m"}`},
		{"POST", "/targetHttpProxies/p/setUrlMap", `{"urlMap":"projects/beyond-test-1/global/urlMaps/m"}`},
		{"POST", "/global/forwardingRules", `{"name":"r","target":"global/targetHttpProxies/p","portRange":"80-80","IPAddress":"10.0.0.1"}`},
		{"GET", "/global/backendServices?filter=name%20eq%20b.*", ``},
		{"DELETE", "/global/urlMaps/m", ``},
		{"GET", "/global/operations/operation-1", ``},
		{"POST", "/global/backendServices", `{"name":1e999}`},
	} {
		f.Add(c[0], base+c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/compute/v1/") {
			path = "/compute/v1/" + strings.TrimPrefix(path, "/")
		}
		fuzzRequest(t, h, method, "127.0.0.1", path, body)
	})
}

// FuzzRESTAdapters: the REST surfaces gcloud uses (Service Usage, Artifact
// Registry), by Host through the front door, on any path and body.
func FuzzRESTAdapters(f *testing.F) {
	h := fuzzSim(f)
	p := "/v1/projects/" + testProject
	for _, c := range [][4]string{
		{"GET", "serviceusage.googleapis.com", p + "/services/run.googleapis.com", ""},
		{"POST", "serviceusage.googleapis.com", p + "/services:batchEnable", `{"serviceIds":["run.googleapis.com","compute.googleapis.com"]}`},
		{"POST", "serviceusage.googleapis.com", p + "/services/compute.googleapis.com:disable", `{}`},
		{"GET", "serviceusage.googleapis.com", p + "/services:batchGet", ""},
		{"GET", "serviceusage.googleapis.com", "/v1/operations/noop.DONE_OPERATION", ""},
		{"POST", "artifactregistry.googleapis.com", p + "/locations/us-central1/repositories", `{"format":"DOCKER","description":"d"}`},
		{"GET", "artifactregistry.googleapis.com", p + "/locations/us-central1/repositories/r", ""},
		{"DELETE", "artifactregistry.googleapis.com", p + "/locations/us-central1/repositories/r", ""},
		{"GET", "artifactregistry.googleapis.com", "/v1beta2" + p[3:] + "/locations", ""},
	} {
		f.Add(c[0], c[1], c[2], c[3])
	}
	f.Fuzz(func(t *testing.T, method, host, path, body string) {
		if host != "serviceusage.googleapis.com" && host != "artifactregistry.googleapis.com" {
			host = "serviceusage.googleapis.com"
		}
		fuzzRequest(t, h, method, host, path, body)
	})
}

// TestRandomFaultsSpareGemini: the random rate is the APIs' bad day; the
// Gemini endpoint is faulted by name only.
func TestRandomFaultsSpareGemini(t *testing.T) {
	f := NewFaults(1, 1)
	if _, hit := f.take("gemini.generateContent"); hit {
		t.Error("rate=1 failed a Gemini call")
	}
	if _, hit := f.take("run.GetService"); !hit {
		t.Error("rate=1 spared an API call")
	}
	f.Add(Fault{Method: "gemini.generateContent", Status: 429, Times: 1})
	if _, hit := f.take("gemini.generateContent"); !hit {
		t.Error("a named Gemini fault did not fire")
	}
}
