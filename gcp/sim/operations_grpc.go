package sim

import (
	"context"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// opsServer is google.longrunning.Operations on the gRPC surface: each
// method hands its request to the core (operations.go). Faults are the
// interceptor's (injectFaults).
type opsServer struct {
	longrunningpb.UnimplementedOperationsServer
	s *Sim
}

func (s *Sim) registerOperations(g *grpc.Server) {
	longrunningpb.RegisterOperationsServer(g, &opsServer{s: s})
	s.onClose(s.stopOpTimers)
}

func (o *opsServer) GetOperation(ctx context.Context, req *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	return o.s.getOperation(req)
}

func (o *opsServer) ListOperations(ctx context.Context, req *longrunningpb.ListOperationsRequest) (*longrunningpb.ListOperationsResponse, error) {
	return o.s.listOperations(req)
}

func (o *opsServer) DeleteOperation(ctx context.Context, req *longrunningpb.DeleteOperationRequest) (*emptypb.Empty, error) {
	return o.s.deleteOperation(req)
}

func (o *opsServer) CancelOperation(ctx context.Context, req *longrunningpb.CancelOperationRequest) (*emptypb.Empty, error) {
	return o.s.cancelOperation(req)
}

func (o *opsServer) WaitOperation(ctx context.Context, req *longrunningpb.WaitOperationRequest) (*longrunningpb.Operation, error) {
	return o.s.waitOperation(ctx, req)
}
