package sim

import (
	"net/http"
	"strconv"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/protobuf/proto"
)

// Cloud Run Admin API v2 on REST: google.cloud.run.v2.Services and its
// operations by the protos' HTTP bindings (POST /v2/{parent}/services,
// PATCH /v2/{service.name}, ...:getIamPolicy, /v2/{name=.../operations/*}),
// which is what run.NewServicesRESTClient sends. It is a surface of the
// shared REST router (rest.go): each route builds the request message the
// gRPC surface takes and hands it to the same core.

// runV2REST is the surface, built once (registerRunREST).
func (s *Sim) runV2REST() *restAPI {
	a := &restAPI{s: s, name: "Cloud Run v2"}
	const loc = "v2/projects/{project}/locations/{location}"
	parent := func(q *restReq) string {
		return "projects/" + q.vars["project"] + "/locations/" + q.vars["location"]
	}
	service := func(q *restReq) string { return parent(q) + "/services/" + q.vars["service"] }
	a.add("GET", loc+"/services", "run.ListServices", func(q *restReq) (proto.Message, error) {
		size, err := q.pageSize()
		if err != nil {
			return nil, err
		}
		deleted, err := runV2Bool(q.r, "showDeleted")
		if err != nil {
			return nil, err
		}
		return s.runListServices(&runpb.ListServicesRequest{Parent: parent(q), PageSize: size, PageToken: q.query("pageToken"), ShowDeleted: deleted})
	})
	a.add("POST", loc+"/services", "run.CreateService", func(q *restReq) (proto.Message, error) {
		svc := &runpb.Service{}
		if err := q.decode(svc); err != nil {
			return nil, err
		}
		validate, err := runV2Bool(q.r, "validateOnly")
		if err != nil {
			return nil, err
		}
		return s.runCreateService(q.r.Context(), &runpb.CreateServiceRequest{Parent: parent(q), ServiceId: q.query("serviceId"), Service: svc, ValidateOnly: validate})
	})
	a.add("GET", loc+"/services/{service}", "run.GetService", func(q *restReq) (proto.Message, error) {
		return s.runGetService(&runpb.GetServiceRequest{Name: service(q)})
	})
	a.add("PATCH", loc+"/services/{service}", "run.UpdateService", func(q *restReq) (proto.Message, error) {
		svc := &runpb.Service{}
		if err := q.decode(svc); err != nil {
			return nil, err
		}
		svc.Name = service(q)
		req := &runpb.UpdateServiceRequest{Service: svc, UpdateMask: q.updateMask()}
		var err error
		if req.ValidateOnly, err = runV2Bool(q.r, "validateOnly"); err != nil {
			return nil, err
		}
		if req.AllowMissing, err = runV2Bool(q.r, "allowMissing"); err != nil {
			return nil, err
		}
		if req.ForceNewRevision, err = runV2Bool(q.r, "forceNewRevision"); err != nil {
			return nil, err
		}
		return s.runUpdateService(q.r.Context(), req)
	})
	a.add("DELETE", loc+"/services/{service}", "run.DeleteService", func(q *restReq) (proto.Message, error) {
		validate, err := runV2Bool(q.r, "validateOnly")
		if err != nil {
			return nil, err
		}
		return s.runDeleteService(&runpb.DeleteServiceRequest{Name: service(q), Etag: q.query("etag"), ValidateOnly: validate})
	})
	s.addRunIAM(a, loc+"/services/{service}", service)
	a.add("GET", loc+"/operations", "longrunning.ListOperations", func(q *restReq) (proto.Message, error) {
		size, err := q.pageSize()
		if err != nil {
			return nil, err
		}
		return s.listOperations(&longrunningpb.ListOperationsRequest{Name: parent(q), Filter: q.query("filter"), PageSize: size, PageToken: q.query("pageToken")})
	})
	op := func(q *restReq) string { return parent(q) + "/operations/" + q.vars["op"] }
	a.add("GET", loc+"/operations/{op}", "longrunning.GetOperation", func(q *restReq) (proto.Message, error) {
		return s.getOperation(&longrunningpb.GetOperationRequest{Name: op(q)})
	})
	a.add("DELETE", loc+"/operations/{op}", "longrunning.DeleteOperation", func(q *restReq) (proto.Message, error) {
		return s.deleteOperation(&longrunningpb.DeleteOperationRequest{Name: op(q)})
	})
	a.add("POST", loc+"/operations/{op}:wait", "longrunning.WaitOperation", func(q *restReq) (proto.Message, error) {
		req := &longrunningpb.WaitOperationRequest{}
		if err := q.decode(req); err != nil {
			return nil, err
		}
		req.Name = op(q)
		return s.waitOperation(q.r.Context(), req)
	})
	return a
}

// addRunIAM adds a Cloud Run service's IAM methods at pattern, the same on
// v1 and v2 REST: getIamPolicy (GET), setIamPolicy and testIamPermissions
// (POST).
func (s *Sim) addRunIAM(a *restAPI, pattern string, resource func(*restReq) string) {
	a.add("GET", pattern+":getIamPolicy", "run.GetIamPolicy", func(q *restReq) (proto.Message, error) {
		req := &iampb.GetIamPolicyRequest{Resource: resource(q)}
		if v := q.query("options.requestedPolicyVersion"); v != "" {
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return nil, grpcInvalid("Invalid value at 'options.requested_policy_version' (TYPE_INT32), %q", v)
			}
			req.Options = &iampb.GetPolicyOptions{RequestedPolicyVersion: int32(n)}
		}
		return s.runGetIamPolicy(req)
	})
	a.add("POST", pattern+":setIamPolicy", "run.SetIamPolicy", func(q *restReq) (proto.Message, error) {
		req := &iampb.SetIamPolicyRequest{}
		if err := q.decode(req); err != nil {
			return nil, err
		}
		req.Resource = resource(q)
		return s.runSetIamPolicy(req)
	})
	a.add("POST", pattern+":testIamPermissions", "run.TestIamPermissions", func(q *restReq) (proto.Message, error) {
		req := &iampb.TestIamPermissionsRequest{}
		if err := q.decode(req); err != nil {
			return nil, err
		}
		req.Resource = resource(q)
		return s.runTestIamPermissions(req)
	})
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
