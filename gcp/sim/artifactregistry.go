package sim

import "google.golang.org/grpc"

// registryState is one project's Artifact Registry state. (stub)
type registryState struct{}

func newRegistryState() *registryState { return &registryState{} }

func (s *Sim) registerArtifactRegistry(g *grpc.Server) {}
