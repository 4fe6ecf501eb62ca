package parity

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/gcp/sim/clock"
)

// recordings are the logs replayed, in testdata/ (provenance in
// testdata/SOURCES).
var recordings = []string{
	"artifactregistry-repository-gcloud.log",
	"compute-backendservice-gcloud.log",
	"iam-serviceaccount-kcc.log",
}

const project = "parity-project"

// names replaces the recorder's placeholders with the names the replay
// uses. ${operationID} is the simulator's own, taken from its last answer;
// ${projectNumber} and ${kccVersion} are left as they are and match any
// value.
var names = strings.NewReplacer(
	"${projectId}", project,
	"${uniqueId}", "p4r1ty",
	"${backendServiceID}", "backendservice-p4r1ty",
	"${urlMapID}", "urlmap-p4r1ty",
	"${healthCheckID}", "healthcheck-p4r1ty",
	"${backendBucketID}", "backendbucket-p4r1ty",
)

// normalised are the fields whose recorded values are the recorder's
// stand-ins (a fixed time, id, fingerprint or user), not Google's: their
// presence is compared, their value is not.
var normalised = map[string]bool{
	"creationTimestamp": true, "insertTime": true, "startTime": true, "endTime": true,
	"createTime": true, "updateTime": true, "lastEnableTime": true,
	"id": true, "targetId": true, "fingerprint": true, "etag": true, "labelFingerprint": true,
	"uniqueId": true, "oauth2ClientId": true, "user": true,
}

// apis are enabled in the replay's project first: the recordings were made
// in projects that had them.
var apis = []string{"compute.googleapis.com", "artifactregistry.googleapis.com", "iam.googleapis.com", "run.googleapis.com"}

func TestParity(t *testing.T) {
	for _, name := range recordings {
		t.Run(strings.TrimSuffix(name, ".log"), func(t *testing.T) {
			exs, err := readLog(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			// The lab profile, whose operations take time as Google's do,
			// on a clock that the replay moves an hour before each request:
			// a mutation answers a running operation, and the next request
			// (gcloud's poll, recorded once Google was done) finds it done.
			clk := clock.NewAdjustable()
			s := sim.New(sim.Options{Profile: sim.ProfileLab, Clock: clk})
			if err := s.Start(); err != nil {
				t.Fatalf("start the simulator: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			r := newReplayer(t, s)
			r.enable(apis)
			var diffs []difference
			for _, ex := range exs {
				clk.Advance(time.Hour)
				diffs = append(diffs, r.replay(ex)...)
			}
			used := map[int]bool{}
			for _, d := range diffs {
				if i := acceptedIndex(name, d); i >= 0 {
					used[i] = true
					continue
				}
				t.Errorf("%s:%d %s: %s", name, d.line, d.request, d.what)
			}
			for i, a := range accepted {
				if a.log == name && !used[i] {
					t.Errorf("accepted difference no longer seen, remove it: %s %q %q", a.log, a.request, a.diff)
				}
			}
		})
	}
}

// difference is one way the simulator's answer differs from Google's.
type difference struct {
	line    int
	request string // "METHOD URL" as recorded, placeholders kept
	what    string
}

type replayer struct {
	t      *testing.T
	client *http.Client
	lastOp string // the simulator's last operation ID
	// last holds the simulator's last answered value of each normalised
	// field (fingerprint, etag, id): a recorded request that sends back
	// what it read carries the recorder's stand-in, replaced by it.
	last map[string]any
}

// newReplayer sends requests as gcloud does: absolute-form, through the
// simulator's front door as an HTTP proxy.
func newReplayer(t *testing.T, s *sim.Sim) *replayer {
	proxy, err := url.Parse(s.Endpoints().Compute)
	if err != nil {
		t.Fatal(err)
	}
	return &replayer{t: t, client: &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}, last: map[string]any{}}
}

func (r *replayer) enable(apis []string) {
	body, _ := json.Marshal(map[string]any{"serviceIds": apis})
	code, resp := r.send("POST", "http://serviceusage.googleapis.com/v1/projects/"+project+"/services:batchEnable", "application/json", string(body))
	if code != http.StatusOK {
		r.t.Fatalf("enable %v: %d %s", apis, code, resp)
	}
}

func (r *replayer) send(method, u, ctype, body string) (int, []byte) {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("%s %s: reading the answer: %v", method, u, err)
	}
	return resp.StatusCode, b
}

var opName = regexp.MustCompile(`(?:^|/)operations/([^/]+)$`)

// replay sends one recorded request and compares the answers.
func (r *replayer) replay(ex exchange) []difference {
	request := ex.method + " " + ex.url
	fill := func(s string) string {
		return strings.ReplaceAll(names.Replace(s), "${operationID}", r.lastOp)
	}
	u := strings.Replace(fill(ex.url), "https://", "http://", 1)
	code, body := r.send(ex.method, u, ex.reqType, r.restore(fill(ex.reqBody)))
	var got any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &got); err != nil {
			return []difference{{ex.line, request, fmt.Sprintf("answer is not JSON: %.200s", body)}}
		}
	}
	if m, ok := got.(map[string]any); ok {
		for k, v := range m {
			if normalised[k] {
				r.last[k] = v
			}
		}
		if n, _ := m["name"].(string); n != "" {
			if op := opName.FindStringSubmatch(n); op != nil {
				r.lastOp = op[1]
			} else if m["kind"] == "compute#operation" {
				r.lastOp = n
			}
		}
	}
	if code != ex.status {
		return []difference{{ex.line, request, fmt.Sprintf("status: Google %d, simulator %d: %.300s", ex.status, code, body)}}
	}
	var want any
	if ex.body != "" {
		if err := json.Unmarshal([]byte(names.Replace(ex.body)), &want); err != nil {
			return []difference{{ex.line, request, fmt.Sprintf("recorded answer is not JSON: %v", err)}}
		}
	}
	var out []difference
	for _, w := range compare(want, got) {
		out = append(out, difference{ex.line, request, w})
	}
	return out
}

// restore replaces, in a request body, the top-level normalised fields
// (the recorder's stand-ins for what the client had read) with what the
// simulator last answered for them, or drops them if it never did.
func (r *replayer) restore(body string) string {
	var m map[string]any
	if body == "" || json.Unmarshal([]byte(body), &m) != nil {
		return body
	}
	for k := range m {
		if !normalised[k] {
			continue
		}
		if v, ok := r.last[k]; ok {
			m[k] = v
		} else {
			delete(m, k)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

// compare lists how got differs from want: fields missing or extra, and
// values that differ where want's is not a placeholder or a normalised
// field.
func compare(want, got any) []string {
	wf, gf := map[string]any{}, map[string]any{}
	flatten("", want, wf)
	flatten("", got, gf)
	var out []string
	for _, k := range sortedKeys(wf) {
		g, ok := gf[k]
		if !ok {
			out = append(out, "missing field "+k)
			continue
		}
		w := wf[k]
		if s, ok := w.(string); ok && strings.Contains(s, "${") {
			continue
		}
		if normalised[lastKey(k)] {
			continue
		}
		if fmt.Sprint(w) != fmt.Sprint(g) {
			out = append(out, fmt.Sprintf("value %s: Google %v, simulator %v", k, w, g))
		}
	}
	for _, k := range sortedKeys(gf) {
		if _, ok := wf[k]; !ok {
			out = append(out, "extra field "+k)
		}
	}
	return out
}

// flatten maps each leaf of a JSON value to its path: a.b[0].c. An empty
// object or array is a leaf.
func flatten(prefix string, v any, out map[string]any) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 && prefix != "" {
			out[prefix] = "{}"
		}
		for k, e := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, e, out)
		}
	case []any:
		if len(v) == 0 {
			out[prefix] = "[]"
		}
		for i, e := range v {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	case nil:
		if prefix != "" {
			out[prefix] = nil
		}
	default:
		out[prefix] = v
	}
}

func lastKey(path string) string {
	path = strings.TrimRight(path, "]0123456789[")
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[i+1:]
	}
	return path
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
