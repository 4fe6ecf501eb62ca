package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
	handle  func(*restReq) (proto.Message, error)
}

// restReq is one routed request.
type restReq struct {
	r    *http.Request
	vars map[string]string
}

// decode reads the body into msg, ignoring fields it does not know, as
// Google does. An empty body is an empty message.
func (q *restReq) decode(msg proto.Message) error {
	body, err := io.ReadAll(io.LimitReader(q.r.Body, restMaxBody+1))
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "reading the request body: %v", err)
	}
	if len(body) > restMaxBody {
		return status.Errorf(codes.InvalidArgument, "the request body is larger than %d bytes", restMaxBody)
	}
	if strings.TrimSpace(string(body)) == "" {
		return nil
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, msg); err != nil {
		return status.Errorf(codes.InvalidArgument, "Invalid JSON payload received. %v", err)
	}
	return nil
}

// decodeJSON reads the body into v with encoding/json, for bodies that
// are not one proto message. An empty body leaves v as it is.
func (q *restReq) decodeJSON(v any) error {
	body, err := io.ReadAll(io.LimitReader(q.r.Body, restMaxBody+1))
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "reading the request body: %v", err)
	}
	if len(body) > restMaxBody {
		return status.Errorf(codes.InvalidArgument, "the request body is larger than %d bytes", restMaxBody)
	}
	if strings.TrimSpace(string(body)) == "" {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
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
func (q *restReq) pageSize() (int32, error) {
	v := q.query("pageSize")
	if v == "" {
		return 0, nil
	}
	var n int32
	if _, err := fmt.Sscan(v, &n); err != nil {
		return 0, status.Errorf(codes.InvalidArgument, "Invalid value at 'page_size' (TYPE_INT32), %q", v)
	}
	return n, nil
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
}

func (a *restAPI) add(verb, pattern, fault string, h func(*restReq) (proto.Message, error)) {
	a.routes = append(a.routes, restRoute{verb, strings.Split(strings.Trim(pattern, "/"), "/"), fault, h})
}

// restMatch matches path segments against a pattern; see restRoute.
func restMatch(pattern, segs []string) (map[string]string, bool) {
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
		} else if strings.Contains(seg, ":") {
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
		vars, ok := restMatch(rt.pattern, segs)
		if !ok {
			continue
		}
		if rt.verb != r.Method {
			allowed = append(allowed, rt.verb)
			continue
		}
		a.s.log.Debug("rest", "api", a.name, "method", rt.fault, "path", r.URL.Path)
		if f, ok := a.s.fault(rt.fault); ok {
			if f.After {
				if _, err := rt.handle(&restReq{r: r, vars: vars}); err != nil {
					a.writeError(w, err, 0)
					return
				}
			}
			a.writeError(w, faultStatus(f), f.Status)
			return
		}
		resp, err := rt.handle(&restReq{r: r, vars: vars})
		if err != nil {
			a.writeError(w, err, 0)
			return
		}
		restWriteProto(w, http.StatusOK, resp)
		return
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		a.writeError(w, status.Errorf(codes.Unimplemented, "Method %s is not allowed on %s.", r.Method, r.URL.Path), http.StatusMethodNotAllowed)
		return
	}
	a.writeError(w, status.Errorf(codes.NotFound, "The simulator's %s does not serve %s %s.", a.name, r.Method, r.URL.Path), 0)
}

// writeError answers err in this surface's error shape.
func (a *restAPI) writeError(w http.ResponseWriter, err error, httpStatus int) {
	writeStatusError(w, err, httpStatus, a.legacyErrors)
}

// restWriteProto answers msg as protojson: lowerCamel names, enums as
// their names, as Google's JSON APIs answer.
func restWriteProto(w http.ResponseWriter, code int, msg proto.Message) {
	b, err := protojson.Marshal(msg)
	if err != nil {
		restWriteError(w, status.Errorf(codes.Internal, "encoding the answer: %v", err), 0)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	w.Write(b)
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
