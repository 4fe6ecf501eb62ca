package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// The REST surfaces of APIs whose core speaks request protos and gRPC
// status errors (Service Usage, Artifact Registry, IAM, Resource Manager):
// each handler decodes the path, query and body into the request message,
// calls the core, and answers protojson, the way Google's HTTP/JSON
// transcoding does. gcloud and the official REST clients both reach them
// through the front door (frontdoor.go), by Host.

// restMaxBody caps request bodies, as Compute's does.
const restMaxBody = 1 << 20

// restRoute is one method of a REST surface: an HTTP verb and a path
// pattern relative to the host, in which {name} takes one segment and
// {name...} the rest of the path. A literal tail after a colon
// ("services:batchEnable") is matched as part of its segment.
type restRoute struct {
	verb    string
	pattern []string
	fault   string // the gRPC surface's method name, e.g. "serviceusage.GetService"
	// handle answers a proto message (protojson) or, for surfaces whose
	// resources are not protos (Cloud Run v1's Knative objects), any value
	// encoding/json writes.
	handle func(*restReq) (any, error)
	// serve, when set instead of handle, answers the request itself: for
	// a surface whose answers and errors have a shape of their own
	// (Compute, Cloud DNS), which the router only routes to.
	serve func(w http.ResponseWriter, r *http.Request, vars map[string]string)
}

// restReq is one routed request.
type restReq struct {
	r    *http.Request
	vars map[string]string
}

// decode reads the body into msg, ignoring fields it does not know, as
// Google does. An empty body is an empty message.
func (q *restReq) decode(msg proto.Message) error { return restDecode(q.r, msg) }

// decodeJSON reads the body into v with encoding/json, for bodies that
// are not one proto message. An empty body leaves v as it is.
func (q *restReq) decodeJSON(v any) error { return restDecode(q.r, v) }

// restDecode reads a request body of at most restMaxBody bytes into v:
// protojson for a proto message (unknown fields ignored, as Google ignores
// them), encoding/json otherwise. An empty body leaves v as it is. Every
// REST surface reads its bodies here.
func restDecode(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, restMaxBody+1))
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "reading the request body: %v", err)
	}
	if len(body) > restMaxBody {
		return status.Errorf(codes.InvalidArgument, "the request body is larger than %d bytes", restMaxBody)
	}
	if strings.TrimSpace(string(body)) == "" {
		return nil
	}
	if m, ok := v.(proto.Message); ok {
		err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(body, m)
	} else {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "Invalid JSON payload received. %v", err)
	}
	return nil
}

// query returns a query parameter.
func (q *restReq) query(name string) string { return q.r.URL.Query().Get(name) }

// updateMask reads the updateMask query parameter, a comma-separated list
// of paths in lowerCamel or snake_case, as snake_case field paths (nil
// when absent).
func (q *restReq) updateMask() *fieldmaskpb.FieldMask {
	v := q.query("updateMask")
	if v == "" {
		return nil
	}
	m := &fieldmaskpb.FieldMask{}
	for _, p := range strings.Split(v, ",") {
		m.Paths = append(m.Paths, snakeCase(strings.TrimSpace(p)))
	}
	return m
}

// snakeCase turns a lowerCamel field path into snake_case (displayName:
// display_name), as Google's transcoding accepts both.
func snakeCase(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// pageSize reads the pageSize query parameter (0 when absent).
func (q *restReq) pageSize() (int32, error) { return restPageSize(q.r) }

// restPageSize reads the pageSize query parameter (0 when absent).
func restPageSize(r *http.Request) (int32, error) {
	v := r.URL.Query().Get("pageSize")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, status.Errorf(codes.InvalidArgument, "Invalid value at 'page_size' (TYPE_INT32), %q", v)
	}
	return int32(n), nil
}

// restAPI is one REST surface: its routes, tried in order.
type restAPI struct {
	s      *Sim
	name   string // for messages, e.g. "Service Usage v1"
	routes []restRoute
	// legacyErrors adds the errors[] list of Google's older JSON APIs to
	// error bodies ({message, domain: "global", reason}), as IAM v1 sends
	// it (recorded in parity/testdata) and Artifact Registry does not.
	legacyErrors bool
	// plainColons reads a colon as part of a path segment: for surfaces
	// with no custom verbs, whose IDs may hold one (Compute's domain-scoped
	// projects, example.com:my-project).
	plainColons bool
	// unrouted, if set, answers a request no route takes in the surface's
	// own error shape; allowed are the verbs the path does take.
	unrouted func(w http.ResponseWriter, r *http.Request, allowed []string)
}

func (a *restAPI) add(verb, pattern, fault string, h func(*restReq) (proto.Message, error)) {
	a.addAny(verb, pattern, fault, func(q *restReq) (any, error) {
		m, err := h(q)
		if err != nil {
			return nil, err
		}
		return m, nil
	})
}

// addAny adds a route whose answer is not a proto message.
func (a *restAPI) addAny(verb, pattern, fault string, h func(*restReq) (any, error)) {
	a.routes = append(a.routes, restRoute{verb: verb, pattern: restPattern(pattern), fault: fault, handle: h})
}

// addServe adds a route that answers the request itself (restRoute.serve).
func (a *restAPI) addServe(verb, pattern, fault string, serve func(http.ResponseWriter, *http.Request, map[string]string)) {
	a.routes = append(a.routes, restRoute{verb: verb, pattern: restPattern(pattern), fault: fault, serve: serve})
}

func restPattern(pattern string) []string { return strings.Split(strings.Trim(pattern, "/"), "/") }

// restMatch matches path segments against a pattern; see restRoute. With
// plainColons a colon is part of a segment, not a custom verb.
func restMatch(pattern, segs []string, plainColons bool) (map[string]string, bool) {
	vars := map[string]string{}
	for i, p := range pattern {
		if rest, ok := strings.CutSuffix(p, "...}"); ok {
			if i >= len(segs) || segs[i] == "" {
				return nil, false
			}
			vars[strings.TrimPrefix(rest, "{")] = strings.Join(segs[i:], "/")
			return vars, true
		}
		if i >= len(segs) {
			return nil, false
		}
		seg := segs[i]
		if !strings.HasPrefix(p, "{") {
			if p != seg {
				return nil, false
			}
			continue
		}
		// {name} or {name}:verb
		key, verb, hasVerb := strings.Cut(strings.TrimPrefix(p, "{"), "}")
		if hasVerb && verb != "" {
			v, ok := strings.CutSuffix(seg, verb)
			if !ok {
				return nil, false
			}
			seg = v
		} else if strings.Contains(seg, ":") && !plainColons {
			// A custom verb the pattern does not name.
			return nil, false
		}
		if seg == "" {
			return nil, false
		}
		vars[key] = seg
	}
	if len(segs) != len(pattern) {
		return nil, false
	}
	return vars, true
}

func (a *restAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var allowed []string
	for i := range a.routes {
		rt := &a.routes[i]
		vars, ok := restMatch(rt.pattern, segs, a.plainColons)
		if !ok {
			continue
		}
		if rt.verb != r.Method {
			allowed = append(allowed, rt.verb)
			continue
		}
		if rt.serve != nil {
			rt.serve(w, r, vars)
			return
		}
		q := &restReq{r: r, vars: vars}
		a.s.restAnswer(w, r, a.name, rt.fault, a.legacyErrors, func() (any, error) { return rt.handle(q) })
		return
	}
	if a.unrouted != nil {
		a.unrouted(w, r, allowed)
		return
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		a.writeError(w, status.Errorf(codes.Unimplemented, "Method %s is not allowed on %s: use %s.", r.Method, r.URL.Path, strings.Join(allowed, ", ")), http.StatusMethodNotAllowed)
		return
	}
	a.writeError(w, status.Errorf(codes.NotFound, "The simulator's %s does not serve %s %s.", a.name, r.Method, r.URL.Path), 0)
}

// restAnswer is how every REST call is answered, whatever its router:
// the fault named method first (one that comes :after lets the call take
// effect, then answers the error), then the call; its result as JSON
// (protojson for a message, with enums as numbers when the client asked
// for $alt=json;enum-encoding=int, as Google's REST clients do) or its
// error as Google's JSON error, with errors[] where legacy is set. r may
// be nil when the client cannot ask for number enums.
func (s *Sim) restAnswer(w http.ResponseWriter, r *http.Request, api, method string, legacy bool, call func() (any, error)) {
	s.log.Debug("rest", "api", api, "method", method)
	if f, ok := s.fault(method); ok {
		if f.After {
			if _, err := call(); err != nil {
				writeStatusError(w, err, 0, legacy)
				return
			}
		}
		writeStatusError(w, faultStatus(f), f.Status, legacy)
		return
	}
	out, err := call()
	if err != nil {
		writeStatusError(w, err, 0, legacy)
		return
	}
	var b []byte
	if m, ok := out.(proto.Message); ok {
		b, err = protojson.MarshalOptions{UseEnumNumbers: restEnumNumbers(r)}.Marshal(m)
	} else {
		b, err = json.Marshal(out)
	}
	if err != nil {
		writeStatusError(w, status.Errorf(codes.Internal, "encoding the answer: %v", err), 0, legacy)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// restEnumNumbers reports whether the request asks for enums as numbers:
// Google's generated REST clients send $alt=json;enum-encoding=int.
func restEnumNumbers(r *http.Request) bool {
	if r == nil {
		return false
	}
	for _, part := range strings.Split(r.URL.Query().Get("$alt"), ";") {
		if strings.TrimSpace(part) == "enum-encoding=int" {
			return true
		}
	}
	return false
}

// writeError answers err in this surface's error shape.
func (a *restAPI) writeError(w http.ResponseWriter, err error, httpStatus int) {
	writeStatusError(w, err, httpStatus, a.legacyErrors)
}

// restWriteError answers a gRPC status error as Google's JSON error body,
// {"error": {"code", "message", "status", "details"}}, with the HTTP status
// for its code (or httpStatus when not 0, for an injected fault).
func restWriteError(w http.ResponseWriter, err error, httpStatus int) {
	writeStatusError(w, err, httpStatus, false)
}

// writeStatusError is restWriteError, with the errors[] list of Google's
// older JSON APIs when legacy is set.
func writeStatusError(w http.ResponseWriter, err error, httpStatus int, legacy bool) {
	st := status.Convert(err)
	if httpStatus == 0 {
		httpStatus = httpStatusFromCode(st.Code())
	}
	details := []json.RawMessage{}
	for _, d := range st.Proto().GetDetails() {
		if b, err := protojson.Marshal(d); err == nil {
			details = append(details, b)
		}
	}
	body := map[string]any{"code": httpStatus, "message": st.Message(), "status": rpccode.Code(st.Code()).String()}
	if len(details) > 0 {
		body["details"] = details
	}
	if legacy {
		body["errors"] = []computeErrorItem{{Message: st.Message(), Domain: "global", Reason: computeReason(httpStatus)}}
	}
	b, _ := json.Marshal(map[string]any{"error": body})
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(httpStatus)
	w.Write(b)
}

// httpStatusFromCode is the HTTP status Google's JSON APIs answer for a
// gRPC code (google.rpc.Code's documented mapping).
func httpStatusFromCode(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.Canceled:
		return 499
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// registerREST puts a REST surface on the front door under host.
func (s *Sim) registerREST(host string, a *restAPI) {
	s.hosts[host] = googleHost{a.name, func(string) http.Handler { return a }}
}
