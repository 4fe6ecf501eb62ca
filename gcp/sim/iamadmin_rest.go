package sim

import (
	"encoding/json"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"cloud.google.com/go/iam/admin/apiv1/adminpb"
	"cloud.google.com/go/iam/apiv1/iampb"
	"google.golang.org/protobuf/proto"

	"github.com/beyond-lab/beyond/lab"
)

// IAM admin v1 (service accounts, iam.googleapis.com) and the project IAM
// policy (cloudresourcemanager.googleapis.com v1, which gcloud projects
// get-iam-policy / add-iam-policy-binding / remove-iam-policy-binding use)
// on REST: each route builds the request message and hands it to the
// handlers of the gRPC surface (iamadmin.go, projects.go), under its fault
// names. Resource Manager v1's policy messages are v3's (google.iam.v1).
func (s *Sim) registerIAMREST() {
	iam := &iamAdminServer{s: s}
	a := &restAPI{s: s, name: "IAM v1", legacyErrors: true}
	const accounts = "v1/projects/{project}/serviceAccounts"
	a.add("POST", accounts, "iam.CreateServiceAccount", func(q *restReq) (proto.Message, error) {
		req := &adminpb.CreateServiceAccountRequest{}
		if err := q.decode(req); err != nil {
			return nil, err
		}
		req.Name = "projects/" + q.vars["project"]
		return iam.CreateServiceAccount(q.r.Context(), req)
	})
	a.add("GET", accounts, "iam.ListServiceAccounts", func(q *restReq) (proto.Message, error) {
		size, err := q.pageSize()
		if err != nil {
			return nil, err
		}
		return iam.ListServiceAccounts(q.r.Context(), &adminpb.ListServiceAccountsRequest{
			Name: "projects/" + q.vars["project"], PageSize: size, PageToken: q.query("pageToken"),
		})
	})
	accountName := func(q *restReq) string {
		return "projects/" + q.vars["project"] + "/serviceAccounts/" + q.vars["account"]
	}
	a.add("GET", accounts+"/{account}", "iam.GetServiceAccount", func(q *restReq) (proto.Message, error) {
		return iam.GetServiceAccount(q.r.Context(), &adminpb.GetServiceAccountRequest{Name: accountName(q)})
	})
	// PATCH carries {"serviceAccount": {...}, "updateMask": "a,b"}; the
	// mask's paths come in either case (display_name or displayName).
	a.add("PATCH", accounts+"/{account}", "iam.PatchServiceAccount", func(q *restReq) (proto.Message, error) {
		var body struct {
			ServiceAccount json.RawMessage `json:"serviceAccount"`
			UpdateMask     string          `json:"updateMask"`
		}
		if err := q.decodeJSON(&body); err != nil {
			return nil, err
		}
		sa := &adminpb.ServiceAccount{}
		if len(body.ServiceAccount) > 0 {
			if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body.ServiceAccount, sa); err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "Invalid JSON payload received. %v", err)
			}
		}
		sa.Name = accountName(q)
		mask := &fieldmaskpb.FieldMask{}
		for _, p := range strings.Split(body.UpdateMask, ",") {
			if p = strings.TrimSpace(p); p != "" {
				mask.Paths = append(mask.Paths, snakeCase(p))
			}
		}
		return iam.PatchServiceAccount(q.r.Context(), &adminpb.PatchServiceAccountRequest{ServiceAccount: sa, UpdateMask: mask})
	})
	a.add("DELETE", accounts+"/{account}", "iam.DeleteServiceAccount", func(q *restReq) (proto.Message, error) {
		return iam.DeleteServiceAccount(q.r.Context(), &adminpb.DeleteServiceAccountRequest{Name: accountName(q)})
	})
	s.registerREST(lab.APIIAM, a)

	ps := &projectsServer{s: s}
	rm := &restAPI{s: s, name: "Resource Manager v1"}
	rm.add("POST", "v1/projects/{project}:getIamPolicy", "resourcemanager.GetIamPolicy", func(q *restReq) (proto.Message, error) {
		req := &iampb.GetIamPolicyRequest{}
		if err := q.decode(req); err != nil {
			return nil, err
		}
		req.Resource = "projects/" + q.vars["project"]
		return ps.GetIamPolicy(q.r.Context(), req)
	})
	rm.add("POST", "v1/projects/{project}:setIamPolicy", "resourcemanager.SetIamPolicy", func(q *restReq) (proto.Message, error) {
		req := &iampb.SetIamPolicyRequest{}
		if err := q.decode(req); err != nil {
			return nil, err
		}
		req.Resource = "projects/" + q.vars["project"]
		return ps.SetIamPolicy(q.r.Context(), req)
	})
	s.registerREST(lab.APIResourceManager, rm)
}
