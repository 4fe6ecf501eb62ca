package sim

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Cloud Run's service methods, as the core answers them. Each takes the
// API's request message and returns its response (or operation) and a gRPC
// status error, whatever wire surface the call came on: the gRPC adapter
// (run_grpc.go) passes requests through, and a REST adapter decodes its
// JSON into the same request messages.

// runCreateService creates a service (CreateService).
func (s *Sim) runCreateService(ctx context.Context, req *runpb.CreateServiceRequest) (*longrunningpb.Operation, error) {
	proj, region, err := parseRunParent(req.GetParent())
	if err != nil {
		return nil, err
	}
	return s.runWrite(ctx, proj, region, req.GetService(), func(p *project, verdicts []runImageVerdict) (*longrunningpb.Operation, error) {
		id := req.GetServiceId()
		if err := runValidServiceID(id); err != nil {
			return nil, err
		}
		if n := req.GetService().GetName(); n != "" && n != req.GetParent()+"/services/"+id {
			return nil, grpcInvalid("service.name %q does not match the parent and service_id: leave it empty", n)
		}
		spec, err := s.runCheckSpecLocked(p, req.GetService())
		if err != nil {
			return nil, err
		}
		if _, ok := p.run.services[region+"/"+id]; ok {
			return nil, status.Errorf(codes.AlreadyExists, "Resource '%s' already exists.", id)
		}
		return s.createServiceLocked(p, region, id, spec, verdicts, false, req.GetValidateOnly())
	})
}

// runWrite is how CreateService and UpdateService start: svc's images are
// judged first, without s.mu (that asks the registry), then, with s.mu
// held, the project is resolved and do runs; then, without s.mu, an
// instant deploy waits for its revision's startup probe (awaitStartup).
func (s *Sim) runWrite(ctx context.Context, proj, region string, svc *runpb.Service, do func(p *project, verdicts []runImageVerdict) (*longrunningpb.Operation, error)) (*longrunningpb.Operation, error) {
	verdicts := s.judgeImages(svc.GetTemplate())
	op, err := func() (*longrunningpb.Operation, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		p, err := s.runProjectLocked(proj, region, false)
		if err != nil {
			return nil, err
		}
		return do(p, verdicts)
	}()
	if err != nil {
		return nil, err
	}
	return s.awaitStartup(ctx, op), nil
}

// createServiceLocked is the one way a service comes to be: CreateService,
// and UpdateService with allow_missing. spec is checked and has its
// defaults (runCheckSpec); verdicts are what its images came to.
func (s *Sim) createServiceLocked(p *project, region, id string, spec *runpb.Service, verdicts []runImageVerdict, force, validateOnly bool) (*longrunningpb.Operation, error) {
	if err := runCheckRevisionName(nil, id, spec.Template); err != nil {
		return nil, err
	}
	now := s.now()
	rs := &runService{id: id, region: region, spec: spec, generation: 1, created: now, updated: now}
	if validateOnly {
		return s.validatedOpLocked(p, region, rs.protoLocked(p)), nil
	}
	rs.uid = s.newUUIDLocked()
	p.run.services[rs.key()] = rs
	return s.deployLocked(p, rs, verdicts, force), nil
}

// validatedOpLocked answers a validate_only request: a done operation with
// the service as it would be, and nothing changed.
func (s *Sim) validatedOpLocked(p *project, region string, svc *runpb.Service) *longrunningpb.Operation {
	op := &operation{
		name:   fmt.Sprintf("projects/%s/locations/%s/operations/%s", p.id, region, s.newUUIDLocked()),
		meta:   func() proto.Message { return svc },
		finish: func() (proto.Message, error) { return svc, nil },
	}
	return s.startOpLocked(p, op, 0)
}

// namedServiceLocked finds the service projects/P/locations/R/services/S,
// checking in Google's order the name, the project, the API and the region.
// Call with s.mu held.
func (s *Sim) namedServiceLocked(name string) (*project, *runService, error) {
	proj, region, id, err := parseRunName(name)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.runProjectLocked(proj, region, false)
	if err != nil {
		return nil, nil, err
	}
	rs, err := s.findServiceLocked(p, region, id)
	if err != nil {
		return nil, nil, err
	}
	return p, rs, nil
}

// runGetService reads a service (GetService).
func (s *Sim) runGetService(req *runpb.GetServiceRequest) (*runpb.Service, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, rs, err := s.namedServiceLocked(req.GetName())
	if err != nil {
		return nil, err
	}
	return rs.protoLocked(p), nil
}

// runListServices lists services (ListServices).
func (s *Sim) runListServices(req *runpb.ListServicesRequest) (*runpb.ListServicesResponse, error) {
	proj, region, err := parseRunParent(req.GetParent())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.runProjectLocked(proj, region, true)
	if err != nil {
		return nil, err
	}
	var all []*runService
	for _, rs := range p.run.services {
		if region == "-" || rs.region == region {
			all = append(all, rs)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].name(p) < all[j].name(p) })
	page, next, err := grpcPage(all, req.GetPageSize(), req.GetPageToken(), 100, 1000)
	if err != nil {
		return nil, err
	}
	resp := &runpb.ListServicesResponse{NextPageToken: next}
	for _, rs := range page {
		resp.Services = append(resp.Services, rs.protoLocked(p))
	}
	return resp, nil
}

// runUpdateService changes a service (UpdateService); with allow_missing it creates one through the same path as runCreateService.
func (s *Sim) runUpdateService(ctx context.Context, req *runpb.UpdateServiceRequest) (*longrunningpb.Operation, error) {
	proj, region, id, err := parseRunName(req.GetService().GetName())
	if err != nil {
		return nil, err
	}
	return s.runWrite(ctx, proj, region, req.GetService(), func(p *project, verdicts []runImageVerdict) (*longrunningpb.Operation, error) {
		if err := runValidServiceID(id); err != nil {
			return nil, err
		}
		rs, ok := p.run.services[region+"/"+id]
		if !ok {
			if !req.GetAllowMissing() {
				return nil, runNotFound(p, region, id)
			}
			spec, err := s.runCheckSpecLocked(p, req.GetService())
			if err != nil {
				return nil, err
			}
			return s.createServiceLocked(p, region, id, spec, verdicts, req.GetForceNewRevision(), req.GetValidateOnly())
		}
		if rs.deleting {
			return nil, status.Errorf(codes.FailedPrecondition, "Resource '%s' is being deleted: wait for the deletion to finish, then create it again.", id)
		}
		if e := req.GetService().GetEtag(); e != "" && e != rs.etag() {
			return nil, status.Errorf(codes.Aborted, "The etag %q does not match the current one: the service changed since you read it. Read it again and retry.", e)
		}
		in, err := runApplyMask(rs.spec, req.GetService(), req.GetUpdateMask().GetPaths())
		if err != nil {
			return nil, err
		}
		spec, err := s.runCheckSpecLocked(p, in)
		if err != nil {
			return nil, err
		}
		if err := runCheckRevisionName(rs, id, spec.Template); err != nil {
			return nil, err
		}
		if paths := req.GetUpdateMask().GetPaths(); len(paths) > 0 && !slices.ContainsFunc(paths, func(p string) bool {
			return p == "template" || strings.HasPrefix(p, "template.")
		}) {
			verdicts = rs.lastVerdicts() // the template is kept: so is what its images came to
		}
		if req.GetValidateOnly() {
			preview := *rs
			preview.spec = spec
			preview.generation++
			return s.validatedOpLocked(p, region, preview.protoLocked(p)), nil
		}
		rs.spec = spec
		rs.generation++
		rs.updated = s.now()
		return s.deployLocked(p, rs, verdicts, req.GetForceNewRevision()), nil
	})
}

// runDeleteService deletes a service (DeleteService).
func (s *Sim) runDeleteService(req *runpb.DeleteServiceRequest) (*longrunningpb.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, rs, err := s.namedServiceLocked(req.GetName())
	if err != nil {
		return nil, err
	}
	if e := req.GetEtag(); e != "" && e != rs.etag() {
		return nil, status.Errorf(codes.Aborted, "The etag %q does not match the current one: the service changed since you read it. Read it again and retry.", e)
	}
	if req.GetValidateOnly() {
		return s.validatedOpLocked(p, rs.region, rs.protoLocked(p)), nil
	}
	rs.deleting = true
	rs.version++
	op := &operation{
		name: fmt.Sprintf("projects/%s/locations/%s/operations/%s", p.id, rs.region, s.newUUIDLocked()),
		meta: func() proto.Message { return rs.protoLocked(p) },
		finish: func() (proto.Message, error) {
			if p.run.services[rs.key()] == rs {
				delete(p.run.services, rs.key())
			}
			rs.deleting = false
			svc := rs.protoLocked(p)
			svc.DeleteTime = timestamppb.New(s.now())
			return svc, nil
		},
		cancel: func() { rs.deleting = false; rs.version++ },
	}
	out := s.startOpLocked(p, op, s.opts.Profile.RunDelete)
	s.changedLocked()
	return out, nil
}
