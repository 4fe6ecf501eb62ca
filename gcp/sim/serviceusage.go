package sim

import "google.golang.org/grpc"

func (s *Sim) registerServiceUsage(g *grpc.Server) {}
