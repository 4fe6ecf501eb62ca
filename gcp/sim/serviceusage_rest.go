package sim

import (
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/serviceusage/apiv1/serviceusagepb"
	"google.golang.org/protobuf/proto"

	"github.com/beyond-lab/beyond/lab"
)

// Service Usage v1 on REST (serviceusage.googleapis.com), as gcloud
// services enable / disable / list and `gcloud run deploy`'s first call
// send it: each route builds the request message and hands it to the core
// (serviceusage.go), under the gRPC surface's fault names.
func (s *Sim) registerServiceUsageREST() {
	a := &restAPI{s: s, name: "Service Usage v1"}
	a.add("POST", "v1/projects/{project}/services:batchEnable", "serviceusage.BatchEnableServices", func(q *restReq) (proto.Message, error) {
		req := &serviceusagepb.BatchEnableServicesRequest{}
		if err := q.decode(req); err != nil {
			return nil, err
		}
		req.Parent = "projects/" + q.vars["project"]
		return s.suBatchEnableServices(req)
	})
	a.add("GET", "v1/projects/{project}/services:batchGet", "serviceusage.BatchGetServices", func(q *restReq) (proto.Message, error) {
		return s.suBatchGetServices(&serviceusagepb.BatchGetServicesRequest{
			Parent: "projects/" + q.vars["project"],
			Names:  q.r.URL.Query()["names"],
		})
	})
	a.add("GET", "v1/projects/{project}/services", "serviceusage.ListServices", func(q *restReq) (proto.Message, error) {
		size, err := q.pageSize()
		if err != nil {
			return nil, err
		}
		return s.suListServices(&serviceusagepb.ListServicesRequest{
			Parent:    "projects/" + q.vars["project"],
			Filter:    q.query("filter"),
			PageSize:  size,
			PageToken: q.query("pageToken"),
		})
	})
	a.add("GET", "v1/projects/{project}/services/{service}", "serviceusage.GetService", func(q *restReq) (proto.Message, error) {
		return s.suGetService(&serviceusagepb.GetServiceRequest{Name: suRESTName(q)})
	})
	a.add("POST", "v1/projects/{project}/services/{service}:enable", "serviceusage.EnableService", func(q *restReq) (proto.Message, error) {
		req := &serviceusagepb.EnableServiceRequest{}
		if err := q.decode(req); err != nil {
			return nil, err
		}
		req.Name = suRESTName(q)
		return s.suEnableService(req)
	})
	a.add("POST", "v1/projects/{project}/services/{service}:disable", "serviceusage.DisableService", func(q *restReq) (proto.Message, error) {
		req := &serviceusagepb.DisableServiceRequest{}
		if err := q.decode(req); err != nil {
			return nil, err
		}
		req.Name = suRESTName(q)
		return s.suDisableService(req)
	})
	a.add("GET", "v1/operations/{op...}", "longrunning.GetOperation", func(q *restReq) (proto.Message, error) {
		return s.getOperation(&longrunningpb.GetOperationRequest{Name: "operations/" + q.vars["op"]})
	})
	a.add("GET", "v1/operations", "longrunning.ListOperations", func(q *restReq) (proto.Message, error) {
		size, err := q.pageSize()
		if err != nil {
			return nil, err
		}
		return s.listOperations(&longrunningpb.ListOperationsRequest{
			Name:      "operations",
			Filter:    q.query("filter"),
			PageSize:  size,
			PageToken: q.query("pageToken"),
		})
	})
	s.registerREST(lab.APIServiceUsage, a)
}

func suRESTName(q *restReq) string {
	return "projects/" + q.vars["project"] + "/services/" + q.vars["service"]
}
