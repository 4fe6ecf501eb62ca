package sim

import (
	"context"

	"cloud.google.com/go/artifactregistry/apiv1/artifactregistrypb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
)

// arServer is google.devtools.artifactregistry.v1.ArtifactRegistry on the
// gRPC surface: each method hands its request to the core
// (artifactregistry.go). Faults are the interceptor's (injectFaults).
type arServer struct {
	artifactregistrypb.UnimplementedArtifactRegistryServer
	s *Sim
}

func (s *Sim) registerArtifactRegistry(g *grpc.Server) {
	artifactregistrypb.RegisterArtifactRegistryServer(g, &arServer{s: s})
}

func (a *arServer) CreateRepository(ctx context.Context, req *artifactregistrypb.CreateRepositoryRequest) (*longrunningpb.Operation, error) {
	return a.s.arCreateRepository(req)
}

func (a *arServer) GetRepository(ctx context.Context, req *artifactregistrypb.GetRepositoryRequest) (*artifactregistrypb.Repository, error) {
	return a.s.arGetRepository(req)
}

func (a *arServer) ListRepositories(ctx context.Context, req *artifactregistrypb.ListRepositoriesRequest) (*artifactregistrypb.ListRepositoriesResponse, error) {
	return a.s.arListRepositories(req)
}

func (a *arServer) UpdateRepository(ctx context.Context, req *artifactregistrypb.UpdateRepositoryRequest) (*artifactregistrypb.Repository, error) {
	return a.s.arUpdateRepository(req)
}

func (a *arServer) DeleteRepository(ctx context.Context, req *artifactregistrypb.DeleteRepositoryRequest) (*longrunningpb.Operation, error) {
	return a.s.arDeleteRepository(req)
}
