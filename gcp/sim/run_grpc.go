package sim

import (
	"context"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc"
)

// runServer is google.cloud.run.v2.Services on the gRPC surface: each method
// hands its request to the core (run_services.go, run_iam.go). Faults are
// the interceptor's (injectFaults).
type runServer struct {
	runpb.UnimplementedServicesServer
	s *Sim
}

func (s *Sim) registerRun(g *grpc.Server) {
	runpb.RegisterServicesServer(g, &runServer{s: s})
	s.registerOperations(g) // one Operations service for every gRPC API
}

func (r *runServer) CreateService(ctx context.Context, req *runpb.CreateServiceRequest) (*longrunningpb.Operation, error) {
	return r.s.runCreateService(ctx, req)
}

func (r *runServer) GetService(ctx context.Context, req *runpb.GetServiceRequest) (*runpb.Service, error) {
	return r.s.runGetService(req)
}

func (r *runServer) ListServices(ctx context.Context, req *runpb.ListServicesRequest) (*runpb.ListServicesResponse, error) {
	return r.s.runListServices(req)
}

func (r *runServer) UpdateService(ctx context.Context, req *runpb.UpdateServiceRequest) (*longrunningpb.Operation, error) {
	return r.s.runUpdateService(ctx, req)
}

func (r *runServer) DeleteService(ctx context.Context, req *runpb.DeleteServiceRequest) (*longrunningpb.Operation, error) {
	return r.s.runDeleteService(req)
}

func (r *runServer) GetIamPolicy(ctx context.Context, req *iampb.GetIamPolicyRequest) (*iampb.Policy, error) {
	return r.s.runGetIamPolicy(req)
}

func (r *runServer) SetIamPolicy(ctx context.Context, req *iampb.SetIamPolicyRequest) (*iampb.Policy, error) {
	return r.s.runSetIamPolicy(req)
}

func (r *runServer) TestIamPermissions(ctx context.Context, req *iampb.TestIamPermissionsRequest) (*iampb.TestIamPermissionsResponse, error) {
	return r.s.runTestIamPermissions(req)
}
