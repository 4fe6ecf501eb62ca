package sim

import (
	"context"

	cmpb "cloud.google.com/go/certificatemanager/apiv1/certificatemanagerpb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/protobuf/proto"
)

// Certificate Manager v1 on REST (certificatemanager.googleapis.com), as
// gcloud certificate-manager sends it: each route builds the request message
// and hands it to the gRPC surface's methods (certmanager.go), under their
// fault names.
func (s *Sim) registerCertManagerREST() {
	cm := &cmServer{s: s}
	ctx := context.Background()
	a := &restAPI{s: s, name: "Certificate Manager v1"}
	const loc = "v1/projects/{project}/locations/{location}"
	parent := func(q *restReq) string {
		return "projects/" + q.vars["project"] + "/locations/" + q.vars["location"]
	}
	page := func(q *restReq) (int32, string, error) {
		n, err := q.pageSize()
		return n, q.query("pageToken"), err
	}
	const f = "certificatemanager."

	a.add("POST", loc+"/dnsAuthorizations", f+"CreateDnsAuthorization", func(q *restReq) (proto.Message, error) {
		in := &cmpb.DnsAuthorization{}
		if err := q.decode(in); err != nil {
			return nil, err
		}
		return cm.CreateDnsAuthorization(ctx, &cmpb.CreateDnsAuthorizationRequest{Parent: parent(q), DnsAuthorizationId: q.query("dnsAuthorizationId"), DnsAuthorization: in})
	})
	a.add("GET", loc+"/dnsAuthorizations", f+"ListDnsAuthorizations", func(q *restReq) (proto.Message, error) {
		n, tok, err := page(q)
		if err != nil {
			return nil, err
		}
		return cm.ListDnsAuthorizations(ctx, &cmpb.ListDnsAuthorizationsRequest{Parent: parent(q), PageSize: n, PageToken: tok})
	})
	a.add("GET", loc+"/dnsAuthorizations/{id}", f+"GetDnsAuthorization", func(q *restReq) (proto.Message, error) {
		return cm.GetDnsAuthorization(ctx, &cmpb.GetDnsAuthorizationRequest{Name: parent(q) + "/dnsAuthorizations/" + q.vars["id"]})
	})
	a.add("DELETE", loc+"/dnsAuthorizations/{id}", f+"DeleteDnsAuthorization", func(q *restReq) (proto.Message, error) {
		return cm.DeleteDnsAuthorization(ctx, &cmpb.DeleteDnsAuthorizationRequest{Name: parent(q) + "/dnsAuthorizations/" + q.vars["id"]})
	})

	a.add("POST", loc+"/certificates", f+"CreateCertificate", func(q *restReq) (proto.Message, error) {
		in := &cmpb.Certificate{}
		if err := q.decode(in); err != nil {
			return nil, err
		}
		return cm.CreateCertificate(ctx, &cmpb.CreateCertificateRequest{Parent: parent(q), CertificateId: q.query("certificateId"), Certificate: in})
	})
	a.add("GET", loc+"/certificates", f+"ListCertificates", func(q *restReq) (proto.Message, error) {
		n, tok, err := page(q)
		if err != nil {
			return nil, err
		}
		return cm.ListCertificates(ctx, &cmpb.ListCertificatesRequest{Parent: parent(q), PageSize: n, PageToken: tok})
	})
	a.add("GET", loc+"/certificates/{id}", f+"GetCertificate", func(q *restReq) (proto.Message, error) {
		return cm.GetCertificate(ctx, &cmpb.GetCertificateRequest{Name: parent(q) + "/certificates/" + q.vars["id"]})
	})
	a.add("DELETE", loc+"/certificates/{id}", f+"DeleteCertificate", func(q *restReq) (proto.Message, error) {
		return cm.DeleteCertificate(ctx, &cmpb.DeleteCertificateRequest{Name: parent(q) + "/certificates/" + q.vars["id"]})
	})

	a.add("POST", loc+"/certificateMaps", f+"CreateCertificateMap", func(q *restReq) (proto.Message, error) {
		in := &cmpb.CertificateMap{}
		if err := q.decode(in); err != nil {
			return nil, err
		}
		return cm.CreateCertificateMap(ctx, &cmpb.CreateCertificateMapRequest{Parent: parent(q), CertificateMapId: q.query("certificateMapId"), CertificateMap: in})
	})
	a.add("GET", loc+"/certificateMaps", f+"ListCertificateMaps", func(q *restReq) (proto.Message, error) {
		n, tok, err := page(q)
		if err != nil {
			return nil, err
		}
		return cm.ListCertificateMaps(ctx, &cmpb.ListCertificateMapsRequest{Parent: parent(q), PageSize: n, PageToken: tok})
	})
	a.add("GET", loc+"/certificateMaps/{id}", f+"GetCertificateMap", func(q *restReq) (proto.Message, error) {
		return cm.GetCertificateMap(ctx, &cmpb.GetCertificateMapRequest{Name: parent(q) + "/certificateMaps/" + q.vars["id"]})
	})
	a.add("DELETE", loc+"/certificateMaps/{id}", f+"DeleteCertificateMap", func(q *restReq) (proto.Message, error) {
		return cm.DeleteCertificateMap(ctx, &cmpb.DeleteCertificateMapRequest{Name: parent(q) + "/certificateMaps/" + q.vars["id"]})
	})

	const entries = loc + "/certificateMaps/{map}/certificateMapEntries"
	mapName := func(q *restReq) string { return parent(q) + "/certificateMaps/" + q.vars["map"] }
	a.add("POST", entries, f+"CreateCertificateMapEntry", func(q *restReq) (proto.Message, error) {
		in := &cmpb.CertificateMapEntry{}
		if err := q.decode(in); err != nil {
			return nil, err
		}
		return cm.CreateCertificateMapEntry(ctx, &cmpb.CreateCertificateMapEntryRequest{Parent: mapName(q), CertificateMapEntryId: q.query("certificateMapEntryId"), CertificateMapEntry: in})
	})
	a.add("GET", entries, f+"ListCertificateMapEntries", func(q *restReq) (proto.Message, error) {
		n, tok, err := page(q)
		if err != nil {
			return nil, err
		}
		return cm.ListCertificateMapEntries(ctx, &cmpb.ListCertificateMapEntriesRequest{Parent: mapName(q), PageSize: n, PageToken: tok})
	})
	a.add("GET", entries+"/{id}", f+"GetCertificateMapEntry", func(q *restReq) (proto.Message, error) {
		return cm.GetCertificateMapEntry(ctx, &cmpb.GetCertificateMapEntryRequest{Name: mapName(q) + "/certificateMapEntries/" + q.vars["id"]})
	})
	a.add("DELETE", entries+"/{id}", f+"DeleteCertificateMapEntry", func(q *restReq) (proto.Message, error) {
		return cm.DeleteCertificateMapEntry(ctx, &cmpb.DeleteCertificateMapEntryRequest{Name: mapName(q) + "/certificateMapEntries/" + q.vars["id"]})
	})

	a.add("GET", loc+"/operations/{op}", "longrunning.GetOperation", func(q *restReq) (proto.Message, error) {
		return s.getOperation(&longrunningpb.GetOperationRequest{Name: parent(q) + "/operations/" + q.vars["op"]})
	})
	s.registerREST("certificatemanager.googleapis.com", a)
}
