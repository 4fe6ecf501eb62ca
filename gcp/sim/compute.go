package sim

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beyond-lab/beyond/lab"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The Compute Engine v1 REST API, as the clients of
// cloud.google.com/go/compute/apiv1 reach it: protojson bodies with
// lowerCamel names and enums as strings, every mutation answered with a
// compute#operation, errors as Google's JSON error body.
//
// Every resource is kept as its computepb message under a key that is its
// path relative to the project ("global/backendServices/web",
// "regions/us-central1/networkEndpointGroups/neg-a"). References between
// resources are stored as full URLs and resolved back to keys, so one
// generic check can refuse to delete what another resource still uses.

// computeBase is the prefix of every selfLink, as Google writes them.
const computeBase = "https://www.googleapis.com/compute/v1/"

// computeMaxBody caps request bodies; Google's own limit is far larger, but
// nothing the lab sends comes near it.
const computeMaxBody = 1 << 20

// computeState is one project's Compute Engine state. Guarded by Sim.mu.
type computeState struct {
	res map[string]proto.Message // by key, e.g. "global/urlMaps/web-map"
	ops map[string]*computeOp    // by key, e.g. "global/operations/operation-..."
}

func newComputeState() *computeState {
	return &computeState{res: map[string]proto.Message{}, ops: map[string]*computeOp{}}
}

// computeAPI serves the Compute Engine REST API of one simulator.
type computeAPI struct {
	s    *Sim
	rest *restAPI      // its routes, on the shared REST router (router)
	quit chan struct{} // closed when the simulator closes, to end waits
}

// registerCompute serves Compute Engine v1 under /compute/v1/.
func (s *Sim) registerCompute(mux *http.ServeMux) {
	a := &computeAPI{s: s, quit: make(chan struct{})}
	a.rest = a.router()
	s.onClose(func() error { close(a.quit); return nil })
	mux.Handle("/compute/", a.rest)
	mux.HandleFunc("POST /batch/compute/v1", a.serveBatch)
	host := http.NewServeMux()
	host.Handle("/compute/", a.rest)
	host.HandleFunc("POST /batch/compute/v1", a.serveBatch)
	s.hosts[lab.APICompute] = googleHost{"Compute Engine v1", func(string) http.Handler { return host }}
}

// computeReq is one request, routed and checked.
type computeReq struct {
	w      http.ResponseWriter
	r      *http.Request
	method string            // discovery name, e.g. "compute.urlMaps.insert"
	vars   map[string]string // project, region, name
	body   []byte
	p      *project
	late   *computeError // an injected fault answered after the call took effect
}

// scope is where the request's resources live: "global" or "regions/R".
func (c *computeReq) scope() string {
	if r := c.vars["region"]; r != "" {
		return "regions/" + r
	}
	return "global"
}

// router puts Compute's methods on the shared REST router (rest.go): one
// way to match a path, find the verbs it takes and answer 405. Compute
// answers in a shape of its own (errors with errors[] and reasons, faults
// as those errors, handlers that write their answer, lists written as
// they are built), so each route serves its request (restRoute.serve) and
// the router's 404 and 405 are Compute's (computeUnrouted). Paths are
// relative to /compute/v1/projects/{project}/.
func (a *computeAPI) router() *restAPI {
	api := &restAPI{s: a.s, name: "Compute Engine v1", plainColons: true, unrouted: computeUnrouted}
	add := func(verb, pattern, method string, h func(*computeReq)) {
		method = "compute." + method
		api.addServe(verb, "compute/v1/projects/{project}/"+pattern, method, func(w http.ResponseWriter, r *http.Request, vars map[string]string) {
			a.serve(&computeReq{w: w, r: r, method: method, vars: vars}, h)
		})
	}
	for _, k := range computeKinds {
		col := k.scope + "/" + k.collection
		add("GET", col, k.discovery+".list", a.lister(k))
		add("POST", col, k.discovery+".insert", a.inserter(k))
		add("GET", col+"/{name}", k.discovery+".get", a.getter(k))
		add("DELETE", col+"/{name}", k.discovery+".delete", a.deleter(k))
		if k.mutable && !k.patchOnly {
			add("PUT", col+"/{name}", k.discovery+".update", a.updater(k, false))
		}
		if k.mutable {
			add("PATCH", col+"/{name}", k.discovery+".patch", a.updater(k, true))
		}
		add("GET", "aggregated/"+k.collection, k.discovery+".aggregatedList", a.aggregatedLister(k))
	}
	add("POST", "targetHttpProxies/{name}/setUrlMap", "targetHttpProxies.setUrlMap", a.setURLMap)
	add("POST", "global/forwardingRules/{name}/setLabels", "globalForwardingRules.setLabels", a.setRuleLabels)
	add("POST", "global/forwardingRules/{name}/setTarget", "globalForwardingRules.setTarget", a.setRuleTarget)
	add("POST", "global/urlMaps/{name}/validate", "urlMaps.validate", a.validateURLMap)
	add("POST", "global/backendServices/{name}/getHealth", "backendServices.getHealth", a.getHealth)
	add("POST", "global/backendServices/{name}/setSecurityPolicy", "backendServices.setSecurityPolicy", a.setSecurityPolicy)
	add("POST", "global/securityPolicies/{name}/addRule", "securityPolicies.addRule", a.addRule)
	add("GET", "global/securityPolicies/{name}/getRule", "securityPolicies.getRule", a.getRule)
	add("POST", "global/securityPolicies/{name}/patchRule", "securityPolicies.patchRule", a.patchRule)
	add("POST", "global/securityPolicies/{name}/removeRule", "securityPolicies.removeRule", a.removeRule)
	add("GET", "", "projects.get", a.getProject)
	add("GET", "regions", "regions.list", a.listRegions)
	add("GET", "regions/{name}", "regions.get", a.getRegion)
	for _, scope := range []string{"global", "regions/{region}"} {
		d := "globalOperations"
		if scope != "global" {
			d = "regionOperations"
		}
		add("GET", scope+"/operations", d+".list", a.listOps)
		add("GET", scope+"/operations/{name}", d+".get", a.getOp)
		add("DELETE", scope+"/operations/{name}", d+".delete", a.deleteOp)
		add("POST", scope+"/operations/{name}/wait", d+".wait", a.waitOp)
	}
	return api
}

// computeUnrouted answers a path Compute does not serve, or a verb it
// does not take there, in Compute's error shape.
func computeUnrouted(w http.ResponseWriter, r *http.Request, allowed []string) {
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		computeWriteError(w, &computeError{http.StatusMethodNotAllowed, fmt.Sprintf("Method %s is not allowed on %s.", r.Method, r.URL.Path), "httpMethodNotAllowed"})
		return
	}
	computeWriteError(w, &computeError{http.StatusNotFound, fmt.Sprintf("The requested URL %s was not found on this server.", r.URL.Path), "notFound"})
}

// serve admits a routed call and runs its handler.
func (a *computeAPI) serve(c *computeReq, handle func(*computeReq)) {
	a.s.log.Debug("compute", "method", c.method, "path", c.r.URL.Path)
	if err := a.admit(c); err != nil {
		// A disabled API gets Google's fuller body, with the ErrorInfo.
		if err.code == http.StatusForbidden && err.reason == "accessNotConfigured" {
			computeWriteDisabled(c.w, c.p)
			return
		}
		computeWriteError(c.w, err)
		return
	}
	if c.late != nil {
		w := c.w
		c.w = discard{}
		handle(c)
		computeWriteError(w, c.late)
		return
	}
	handle(c)
}

// admit runs the checks every call passes before its handler: injected
// faults, the body, the project, the API being enabled, the region.
func (a *computeAPI) admit(c *computeReq) *computeError {
	if f, hit := a.s.fault(c.method); hit {
		e := &computeError{f.Status, f.Message, computeReason(f.Status)}
		if !f.After {
			return e
		}
		c.late = e
	}
	if c.r.Method == "POST" || c.r.Method == "PUT" || c.r.Method == "PATCH" {
		body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, computeMaxBody))
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				return &computeError{http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", computeMaxBody), "requestTooLarge"}
			}
			return &computeError{http.StatusBadRequest, "Could not read the request body: " + err.Error(), "badRequest"}
		}
		c.body = body
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	id := c.vars["project"]
	if !computeProjectParam().MatchString(id) {
		return &computeError{http.StatusBadRequest, fmt.Sprintf("Invalid value '%s'. Values must match the following regular expression: '%s'", id, computeProjectRegex), "invalidParameter"}
	}
	p, err := a.s.readProjectLocked(id)
	if err != nil {
		return computeNotFound("projects/" + id)
	}
	c.p = p
	if !a.s.answersLocked(p, APICompute) {
		return &computeError{http.StatusForbidden, "", "accessNotConfigured"}
	}
	if r, ok := c.vars["region"]; ok && !lab.IsRegion(r) {
		return &computeError{http.StatusBadRequest, fmt.Sprintf("Invalid value for field 'region': '%s'. Unknown region.", r), "invalid"}
	}
	return nil
}

// computeProjectRegex is the pattern Google checks a project path parameter
// against (a 400 when it fails); an ID that matches it but is not a project
// ID the simulator can create is a 404, as for a project that does not exist.
const computeProjectRegex = `(?:(?:[-a-z0-9]{1,63}\.)*(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?):)?(?:[0-9]{1,19}|(?:[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?))`

// computeProjectParam and the simulator's other patterns are compiled on
// first use, not in package init, which runs at every start of beyond,
// before the guide's first frame.
var computeProjectParam = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:` + computeProjectRegex + `)$`) })

// computeError is an error answered as Google's JSON error body.
type computeError struct {
	code    int
	message string
	reason  string
}

func (e *computeError) Error() string { return e.message }

func computeNotFound(path string) *computeError {
	return &computeError{http.StatusNotFound, fmt.Sprintf("The resource '%s' was not found", path), "notFound"}
}

func computeInvalid(field, value, why string) *computeError {
	return &computeError{http.StatusBadRequest, fmt.Sprintf("Invalid value for field '%s': '%s'. %s", field, value, why), "invalid"}
}

func computeRequired(field string) *computeError {
	return &computeError{http.StatusBadRequest, fmt.Sprintf("Required field '%s' not specified", field), "required"}
}

// computeReason is the reason Google pairs with a status, for injected faults.
func computeReason(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "badRequest"
	case http.StatusUnauthorized:
		return "required"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "notFound"
	case http.StatusConflict:
		return "alreadyExists"
	case http.StatusPreconditionFailed:
		return "conditionNotMet"
	case http.StatusTooManyRequests:
		return "rateLimitExceeded"
	default:
		return "backendError"
	}
}

type computeErrorItem struct {
	Message      string `json:"message"`
	Domain       string `json:"domain"`
	Reason       string `json:"reason"`
	ExtendedHelp string `json:"extendedHelp,omitempty"`
}

type computeErrorBody struct {
	Code    int                `json:"code"`
	Message string             `json:"message"`
	Errors  []computeErrorItem `json:"errors"`
	Status  string             `json:"status,omitempty"`
	Details []any              `json:"details,omitempty"`
}

func computeWriteError(w http.ResponseWriter, e *computeError) {
	computeWriteJSON(w, e.code, computeErrorBody{
		Code:    e.code,
		Message: e.message,
		Errors:  []computeErrorItem{{Message: e.message, Domain: "global", Reason: e.reason}},
	})
}

// computeWriteDisabled answers a call to a project where Compute Engine is
// not enabled, with the body Google sends.
func computeWriteDisabled(w http.ResponseWriter, p *project) {
	msg := disabledMessage("Compute Engine API", APICompute, p.number)
	computeWriteJSON(w, http.StatusForbidden, computeErrorBody{
		Code:    http.StatusForbidden,
		Message: msg,
		Errors: []computeErrorItem{{
			Message: msg, Domain: "usageLimits", Reason: "accessNotConfigured",
			ExtendedHelp: "https://console.developers.google.com",
		}},
		Status: "PERMISSION_DENIED",
		Details: []any{map[string]any{
			"@type":  "type.googleapis.com/google.rpc.ErrorInfo",
			"reason": "SERVICE_DISABLED",
			"domain": "googleapis.com",
			"metadata": map[string]string{
				"service":       APICompute,
				"consumer":      fmt.Sprintf("projects/%d", p.number),
				"activationUrl": activationURL(APICompute, p.number),
			},
		}},
	})
}

// computeWriteJSON answers v as the error of Google's JSON error body.
func computeWriteJSON(w http.ResponseWriter, code int, v any) {
	writeJSON(w, code, map[string]any{"error": v})
}

// writeJSON answers v as JSON with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	w.Write(b)
}

// computeWrite answers m as protojson.
func computeWrite(w http.ResponseWriter, m proto.Message) {
	b, err := protojson.Marshal(m)
	if err != nil {
		computeWriteError(w, &computeError{http.StatusInternalServerError, "encode response: " + err.Error(), "backendError"})
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Write(b)
}

// computeDecode reads a request body into m, tolerating unknown and empty
// fields as Google does.
func computeDecode(body []byte, m proto.Message) *computeError {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, m); err != nil {
		return &computeError{http.StatusBadRequest, "Invalid JSON payload received. " + err.Error(), "parseError"}
	}
	return nil
}

// computeTime is how Google writes timestamps: RFC 3339 with milliseconds.
func computeTime(t time.Time) string {
	return t.Format("2006-01-02T15:04:05.000-07:00")
}

// computeMix scrambles a sequence number into an ID that looks like
// Google's: splitmix64, a bijection, so distinct inputs stay distinct.
func computeMix(n uint64) uint64 {
	n += 0x9e3779b97f4a7c15
	n = (n ^ (n >> 30)) * 0xbf58476d1ce4e5b9
	n = (n ^ (n >> 27)) * 0x94d049bb133111eb
	return n ^ (n >> 31)
}

// computeFingerprint is a fresh fingerprint, unique within the simulator.
// Call with s.mu held.
func (s *Sim) computeFingerprint() string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], computeMix(uint64(s.nextSeq())))
	return base64.StdEncoding.EncodeToString(b[:])
}

// computePageToken and computePageOffset make list page tokens: the offset
// of the next item, opaque to clients.
func computePageToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

func computePageOffset(token string) (int, bool) {
	if token == "" {
		return 0, true
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
	return n, err == nil && n >= 0 && strings.HasPrefix(string(b), "offset:")
}

// computePage cuts one page out of n items as the list query asks.
func computePage(c *computeReq, n int) (lo, hi int, next string, err *computeError) {
	q := c.r.URL.Query()
	max := 500
	if v := q.Get("maxResults"); v != "" {
		m, perr := strconv.Atoi(v)
		if perr != nil || m < 0 {
			return 0, 0, "", &computeError{http.StatusBadRequest, fmt.Sprintf("Invalid value for field 'maxResults': '%s'. Must be a non-negative integer.", v), "invalid"}
		}
		if m > 0 && m < max {
			max = m
		}
	}
	lo, ok := computePageOffset(q.Get("pageToken"))
	if !ok {
		return 0, 0, "", &computeError{http.StatusBadRequest, fmt.Sprintf("Invalid value for field 'pageToken': '%s'. Invalid page token.", q.Get("pageToken")), "invalid"}
	}
	lo = min(lo, n)
	hi = min(lo+max, n)
	if hi < n {
		next = computePageToken(hi)
	}
	return lo, hi, next, nil
}

// computeFilter is a list filter of the simple forms gcloud and the clients
// send: `FIELD = "VALUE"`, `FIELD != VALUE`, `FIELD eq VALUE` (a regular
// expression matching the whole value), `FIELD ne VALUE`, on top-level
// fields. Nil matches everything.
type computeFilter struct {
	field string
	value string
	re    *regexp.Regexp // for eq and ne
	neg   bool
}

var computeFilterPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\(?\s*([A-Za-z][A-Za-z0-9]*)\s*(=|!=|eq|ne)\s*(?:"([^"]*)"|'([^']*)'|(\S+?))\s*\)?$`)
})

func computeParseFilter(s string) (*computeFilter, *computeError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	m := computeFilterPattern().FindStringSubmatch(s)
	if m == nil {
		return nil, &computeError{http.StatusBadRequest, fmt.Sprintf("Invalid list filter expression '%s'. The simulator understands FIELD = \"VALUE\", FIELD != \"VALUE\", FIELD eq REGEX and FIELD ne REGEX.", s), "invalid"}
	}
	f := &computeFilter{field: m[1], value: m[3] + m[4] + m[5], neg: m[2] == "!=" || m[2] == "ne"}
	if m[2] == "eq" || m[2] == "ne" {
		re, err := regexp.Compile("^(?:" + f.value + ")$")
		if err != nil {
			return nil, &computeError{http.StatusBadRequest, fmt.Sprintf("Invalid regular expression '%s' in list filter: %v", f.value, err), "invalid"}
		}
		f.re = re
	}
	return f, nil
}

func (f *computeFilter) match(m proto.Message) bool {
	if f == nil {
		return true
	}
	b, err := protojson.Marshal(m)
	if err != nil {
		return false
	}
	var fields map[string]any
	if json.Unmarshal(b, &fields) != nil {
		return false
	}
	v := ""
	switch x := fields[f.field].(type) {
	case string:
		v = x
	case nil:
	default:
		v = fmt.Sprint(x)
	}
	ok := v == f.value
	if f.re != nil {
		ok = f.re.MatchString(v)
	}
	return ok != f.neg
}

// computeMergePatch applies a JSON merge patch (RFC 7396) to a document, as
// Google's PATCH methods do: objects merge key by key, null removes a key,
// anything else (lists included) replaces.
func computeMergePatch(doc, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	dm, ok := doc.(map[string]any)
	if !ok {
		dm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(dm, k)
			continue
		}
		dm[k] = computeMergePatch(dm[k], v)
	}
	return dm
}

// computeNew returns an empty message of m's type.
func computeNew[M proto.Message](m M) M {
	return m.ProtoReflect().New().Interface().(M)
}

// discard is a ResponseWriter that drops the answer: a call whose fault is
// answered after it took effect.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
