package sim

import (
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/protobuf/proto"
)

// Certificate Manager v1 on REST (certificatemanager.googleapis.com), as
// gcloud certificate-manager sends it: each route builds the request message
// and hands it to the gRPC surface's methods (certmanager.go), under their
// fault names.
func (s *Sim) registerCertManagerREST() {
	a := &restAPI{s: s, name: "Certificate Manager v1"}
	const loc = "v1/projects/{project}/locations/{location}"
	parent := func(q *restReq) string {
		return "projects/" + q.vars["project"] + "/locations/" + q.vars["location"]
	}
	cmRoutes(a, cmAuths, loc, parent)
	cmRoutes(a, cmCerts, loc, parent)
	cmRoutes(a, cmMaps, loc, parent)
	cmRoutes(a, cmEntries, loc+"/certificateMaps/{map}", func(q *restReq) string {
		return parent(q) + "/certificateMaps/" + q.vars["map"]
	})
	a.add("GET", loc+"/operations/{op}", "longrunning.GetOperation", func(q *restReq) (proto.Message, error) {
		return s.getOperation(&longrunningpb.GetOperationRequest{Name: parent(q) + "/operations/" + q.vars["op"]})
	})
	s.registerREST("certificatemanager.googleapis.com", a)
}

// cmRoutes adds kind k's four verbs under base, the path of the parent
// that parentOf names: POST and GET on the collection, GET and DELETE on
// one resource.
func cmRoutes[M proto.Message](a *restAPI, k *cmKind[M], base string, parentOf func(*restReq) string) {
	const f = "certificatemanager."
	coll := base + "/" + k.collection
	name := func(q *restReq) string { return parentOf(q) + "/" + k.collection + "/" + q.vars["id"] }
	a.add("POST", coll, f+"Create"+k.rpc, func(q *restReq) (proto.Message, error) {
		var zero M
		in := zero.ProtoReflect().New().Interface().(M)
		if err := q.decode(in); err != nil {
			return nil, err
		}
		return k.create(a.s, parentOf(q), q.query(k.idParam()), in)
	})
	a.add("GET", coll, f+"List"+k.rpcs, func(q *restReq) (proto.Message, error) {
		n, err := q.pageSize()
		if err != nil {
			return nil, err
		}
		return k.list(a.s, parentOf(q), n, q.query("pageToken"))
	})
	a.add("GET", coll+"/{id}", f+"Get"+k.rpc, func(q *restReq) (proto.Message, error) {
		return k.get(a.s, name(q))
	})
	a.add("DELETE", coll+"/{id}", f+"Delete"+k.rpc, func(q *restReq) (proto.Message, error) {
		return k.delete(a.s, name(q))
	})
}
