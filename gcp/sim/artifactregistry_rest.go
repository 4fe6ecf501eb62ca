package sim

import (
	"cloud.google.com/go/artifactregistry/apiv1/artifactregistrypb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/beyond-lab/beyond/lab"
	"google.golang.org/genproto/googleapis/cloud/location"
	"google.golang.org/protobuf/proto"
)

// Artifact Registry v1 on REST (artifactregistry.googleapis.com), as gcloud
// artifacts repositories create / describe / list / delete send it: each
// route builds the request message and hands it to the core
// (artifactregistry.go), under the gRPC surface's fault names.
func (s *Sim) registerArtifactRegistryREST() {
	a := &restAPI{s: s, name: "Artifact Registry v1"}
	const repos = "v1/projects/{project}/locations/{location}/repositories"
	parent := func(q *restReq) string {
		return "projects/" + q.vars["project"] + "/locations/" + q.vars["location"]
	}
	a.add("POST", repos, "artifactregistry.CreateRepository", func(q *restReq) (proto.Message, error) {
		repo := &artifactregistrypb.Repository{}
		if err := q.decode(repo); err != nil {
			return nil, err
		}
		return s.arCreateRepository(&artifactregistrypb.CreateRepositoryRequest{
			Parent: parent(q), RepositoryId: q.query("repositoryId"), Repository: repo,
		})
	})
	a.add("GET", repos, "artifactregistry.ListRepositories", func(q *restReq) (proto.Message, error) {
		size, err := q.pageSize()
		if err != nil {
			return nil, err
		}
		return s.arListRepositories(&artifactregistrypb.ListRepositoriesRequest{
			Parent: parent(q), PageSize: size, PageToken: q.query("pageToken"),
			Filter: q.query("filter"), OrderBy: q.query("orderBy"),
		})
	})
	a.add("GET", repos+"/{repository}", "artifactregistry.GetRepository", func(q *restReq) (proto.Message, error) {
		return s.arGetRepository(&artifactregistrypb.GetRepositoryRequest{Name: parent(q) + "/repositories/" + q.vars["repository"]})
	})
	a.add("PATCH", repos+"/{repository}", "artifactregistry.UpdateRepository", func(q *restReq) (proto.Message, error) {
		repo := &artifactregistrypb.Repository{}
		if err := q.decode(repo); err != nil {
			return nil, err
		}
		repo.Name = parent(q) + "/repositories/" + q.vars["repository"]
		return s.arUpdateRepository(&artifactregistrypb.UpdateRepositoryRequest{Repository: repo, UpdateMask: q.updateMask()})
	})
	a.add("DELETE", repos+"/{repository}", "artifactregistry.DeleteRepository", func(q *restReq) (proto.Message, error) {
		return s.arDeleteRepository(&artifactregistrypb.DeleteRepositoryRequest{Name: parent(q) + "/repositories/" + q.vars["repository"]})
	})
	a.add("GET", "v1/projects/{project}/locations/{location}/operations/{op}", "longrunning.GetOperation", func(q *restReq) (proto.Message, error) {
		return s.getOperation(&longrunningpb.GetOperationRequest{Name: parent(q) + "/operations/" + q.vars["op"]})
	})
	// gcloud artifacts repositories list without --location asks v1beta2
	// for the locations first.
	for _, v := range []string{"v1", "v1beta2"} {
		a.add("GET", v+"/projects/{project}/locations", "artifactregistry.ListLocations", func(q *restReq) (proto.Message, error) {
			return s.arListLocations(q.vars["project"])
		})
	}
	s.registerREST(lab.APIArtifactRegistry, a)
}

// arListLocations answers the Locations mixin's ListLocations: every region
// and multi-region Artifact Registry takes, in one page.
func (s *Sim) arListLocations(proj string) (*location.ListLocationsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupProjectLocked(proj, APIArtifactRegistry)
	if err != nil {
		return nil, err
	}
	if err := s.requireEnabledLocked(p, APIArtifactRegistry); err != nil {
		return nil, err
	}
	resp := &location.ListLocationsResponse{}
	for _, l := range append(append([]string{}, registryMultiRegions...), lab.Regions...) {
		resp.Locations = append(resp.Locations, &location.Location{Name: "projects/" + proj + "/locations/" + l, LocationId: l})
	}
	return resp, nil
}
