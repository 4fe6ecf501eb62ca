package sim

import (
	"net/http"
	"strconv"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// Cloud Run Admin API v2 on REST: google.cloud.run.v2.Services and its
// operations by the protos' HTTP bindings (POST /v2/{parent}/services,
// PATCH /v2/{service.name}, ...:getIamPolicy, /v2/{name=.../operations/*}),
// which is what run.NewServicesRESTClient sends. Each route builds the
// request message the gRPC surface takes and hands it to the same core.

// serveRunV2 serves /v2/projects/P/locations/L/{services,operations}[/NAME[:VERB]].
func (s *Sim) serveRunV2(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) < 6 || len(segs) > 7 || segs[0] != "v2" || segs[1] != "projects" || segs[3] != "locations" || segs[2] == "" || segs[4] == "" {
		restWriteError(w, status.Errorf(codes.NotFound, "The simulator's Cloud Run v2 does not serve %s %s: want /v2/projects/P/locations/L/services[/S] or .../operations[/ID].", r.Method, r.URL.Path), 0)
		return
	}
	parent := strings.Join(segs[1:5], "/")
	switch segs[5] {
	case "services":
		s.serveRunV2Services(w, r, parent, segs[6:])
	case "operations":
		s.serveRunV2Operations(w, r, parent, segs[6:])
	default:
		restWriteError(w, status.Errorf(codes.NotFound, "The simulator's Cloud Run v2 serves services and operations, not %s.", segs[5]), 0)
	}
}

// runV2Bool reads a boolean query parameter.
func runV2Bool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, grpcInvalid("Invalid value at '%s' (TYPE_BOOL), %q", name, v)
	}
	return b, nil
}

// runV2Call answers a Cloud Run v2 REST call by the REST surfaces' one
// path (restAnswer), which honours the REST client's
// $alt=json;enum-encoding=int.
func (s *Sim) runV2Call(w http.ResponseWriter, r *http.Request, method string, call func() (any, error)) {
	s.restAnswer(w, r, "Cloud Run v2", method, false, call)
}

func (s *Sim) serveRunV2Services(w http.ResponseWriter, r *http.Request, parent string, rest []string) {
	q := r.URL.Query()
	if len(rest) == 0 {
		switch r.Method {
		case http.MethodGet:
			s.runV2Call(w, r, "run.ListServices", func() (any, error) {
				size, err := restPageSize(r)
				if err != nil {
					return nil, err
				}
				deleted, err := runV2Bool(r, "showDeleted")
				if err != nil {
					return nil, err
				}
				return s.runListServices(&runpb.ListServicesRequest{Parent: parent, PageSize: size, PageToken: q.Get("pageToken"), ShowDeleted: deleted})
			})
		case http.MethodPost:
			s.runV2Call(w, r, "run.CreateService", func() (any, error) {
				svc := &runpb.Service{}
				if err := runV1Decode(r, svc); err != nil {
					return nil, err
				}
				validate, err := runV2Bool(r, "validateOnly")
				if err != nil {
					return nil, err
				}
				return s.runCreateService(&runpb.CreateServiceRequest{Parent: parent, ServiceId: q.Get("serviceId"), Service: svc, ValidateOnly: validate})
			})
		default:
			runV1MethodNotAllowed(w, r, "GET, POST")
		}
		return
	}
	id, verb, _ := strings.Cut(rest[0], ":")
	name := parent + "/services/" + id
	switch {
	case verb == "" && r.Method == http.MethodGet:
		s.runV2Call(w, r, "run.GetService", func() (any, error) {
			return s.runGetService(&runpb.GetServiceRequest{Name: name})
		})
	case verb == "" && r.Method == http.MethodPatch:
		s.runV2Call(w, r, "run.UpdateService", func() (any, error) {
			svc := &runpb.Service{}
			if err := runV1Decode(r, svc); err != nil {
				return nil, err
			}
			svc.Name = name
			req := &runpb.UpdateServiceRequest{Service: svc}
			var err error
			if req.ValidateOnly, err = runV2Bool(r, "validateOnly"); err != nil {
				return nil, err
			}
			if req.AllowMissing, err = runV2Bool(r, "allowMissing"); err != nil {
				return nil, err
			}
			if req.ForceNewRevision, err = runV2Bool(r, "forceNewRevision"); err != nil {
				return nil, err
			}
			if m := q.Get("updateMask"); m != "" {
				req.UpdateMask = &fieldmaskpb.FieldMask{Paths: strings.Split(m, ",")}
			}
			return s.runUpdateService(req)
		})
	case verb == "" && r.Method == http.MethodDelete:
		s.runV2Call(w, r, "run.DeleteService", func() (any, error) {
			validate, err := runV2Bool(r, "validateOnly")
			if err != nil {
				return nil, err
			}
			return s.runDeleteService(&runpb.DeleteServiceRequest{Name: name, Etag: q.Get("etag"), ValidateOnly: validate})
		})
	case verb == "":
		runV1MethodNotAllowed(w, r, "GET, PATCH, DELETE")
	case isIAMVerb(verb):
		s.serveRunIAM(w, r, verb, name)
	default:
		restWriteError(w, status.Errorf(codes.NotFound, "The simulator's Cloud Run v2 has no method %q on services.", verb), 0)
	}
}

func (s *Sim) serveRunV2Operations(w http.ResponseWriter, r *http.Request, parent string, rest []string) {
	q := r.URL.Query()
	if len(rest) == 0 {
		if r.Method != http.MethodGet {
			runV1MethodNotAllowed(w, r, "GET")
			return
		}
		s.runV2Call(w, r, "longrunning.ListOperations", func() (any, error) {
			size, err := restPageSize(r)
			if err != nil {
				return nil, err
			}
			return s.listOperations(&longrunningpb.ListOperationsRequest{Name: parent, Filter: q.Get("filter"), PageSize: size, PageToken: q.Get("pageToken")})
		})
		return
	}
	id, verb, _ := strings.Cut(rest[0], ":")
	name := parent + "/operations/" + id
	switch {
	case verb == "" && r.Method == http.MethodGet:
		s.runV2Call(w, r, "longrunning.GetOperation", func() (any, error) {
			return s.getOperation(&longrunningpb.GetOperationRequest{Name: name})
		})
	case verb == "" && r.Method == http.MethodDelete:
		s.runV2Call(w, r, "longrunning.DeleteOperation", func() (any, error) {
			return s.deleteOperation(&longrunningpb.DeleteOperationRequest{Name: name})
		})
	case verb == "wait" && r.Method == http.MethodPost:
		s.runV2Call(w, r, "longrunning.WaitOperation", func() (any, error) {
			req := &longrunningpb.WaitOperationRequest{}
			if err := runV1Decode(r, req); err != nil {
				return nil, err
			}
			req.Name = name
			return s.waitOperation(r.Context(), req)
		})
	case verb == "":
		runV1MethodNotAllowed(w, r, "GET, DELETE")
	case verb == "wait":
		runV1MethodNotAllowed(w, r, "POST")
	default:
		restWriteError(w, status.Errorf(codes.NotFound, "The simulator's Cloud Run v2 has no method %q on operations.", verb), 0)
	}
}
