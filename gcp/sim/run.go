package sim

import "google.golang.org/grpc"

// runState is one project's Cloud Run state. (stub: replaced by the Cloud Run simulator)
type runState struct{}

func newRunState() *runState { return &runState{} }

func (s *Sim) registerRun(g *grpc.Server) {}
