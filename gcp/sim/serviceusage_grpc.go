package sim

import (
	"context"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/serviceusage/apiv1/serviceusagepb"
	"google.golang.org/grpc"
)

// suServer is google.api.serviceusage.v1.ServiceUsage on the gRPC surface:
// each method hands its request to the core (serviceusage.go). Faults are
// the interceptor's (injectFaults).
type suServer struct {
	serviceusagepb.UnimplementedServiceUsageServer
	s *Sim
}

func (s *Sim) registerServiceUsage(g *grpc.Server) {
	serviceusagepb.RegisterServiceUsageServer(g, &suServer{s: s})
}

func (u *suServer) EnableService(ctx context.Context, req *serviceusagepb.EnableServiceRequest) (*longrunningpb.Operation, error) {
	return u.s.suEnableService(req)
}

func (u *suServer) DisableService(ctx context.Context, req *serviceusagepb.DisableServiceRequest) (*longrunningpb.Operation, error) {
	return u.s.suDisableService(req)
}

func (u *suServer) BatchEnableServices(ctx context.Context, req *serviceusagepb.BatchEnableServicesRequest) (*longrunningpb.Operation, error) {
	return u.s.suBatchEnableServices(req)
}

func (u *suServer) GetService(ctx context.Context, req *serviceusagepb.GetServiceRequest) (*serviceusagepb.Service, error) {
	return u.s.suGetService(req)
}

func (u *suServer) BatchGetServices(ctx context.Context, req *serviceusagepb.BatchGetServicesRequest) (*serviceusagepb.BatchGetServicesResponse, error) {
	return u.s.suBatchGetServices(req)
}

func (u *suServer) ListServices(ctx context.Context, req *serviceusagepb.ListServicesRequest) (*serviceusagepb.ListServicesResponse, error) {
	return u.s.suListServices(req)
}
