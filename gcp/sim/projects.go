package sim

import (
	"context"
	"strings"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/resourcemanager/apiv3/resourcemanagerpb"
	"google.golang.org/grpc"
)

// Resource Manager v3 (google.cloud.resourcemanager.v3.Projects): a
// project's IAM policy, read and written as `gcloud projects
// get-iam-policy` / `add-iam-policy-binding` do, with an etag for
// read-modify-write (a stale one is ABORTED, as on Google). A binding that
// names a service account which does not exist is refused, with Google's
// text.

// projectsServer is google.cloud.resourcemanager.v3.Projects, IAM only.
type projectsServer struct {
	resourcemanagerpb.UnimplementedProjectsServer
	s *Sim
}

func (s *Sim) registerProjects(g *grpc.Server) {
	resourcemanagerpb.RegisterProjectsServer(g, &projectsServer{s: s})
}

// projectsLocked resolves the resource projects/P of a policy call.
func (s *Sim) projectsLocked(resource string) (*project, error) {
	ref, ok := strings.CutPrefix(resource, "projects/")
	if !ok || ref == "" || strings.Contains(ref, "/") {
		return nil, grpcInvalid("Invalid resource %q: want projects/PROJECT", resource)
	}
	p, err := s.lookupProjectLocked(ref, APIResourceManager)
	if err != nil {
		return nil, err
	}
	if err := s.requireEnabledLocked(p, APIResourceManager); err != nil {
		return nil, err
	}
	return p, nil
}

// policyCall runs do, with s.mu held, on the project a policy call names.
func (ps *projectsServer) policyCall(resource string, do func(s *Sim, p *project) (*iampb.Policy, error)) (*iampb.Policy, error) {
	s := ps.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.projectsLocked(resource)
	if err != nil {
		return nil, err
	}
	return do(s, p)
}

func (ps *projectsServer) GetIamPolicy(ctx context.Context, req *iampb.GetIamPolicyRequest) (*iampb.Policy, error) {
	return ps.policyCall(req.GetResource(), func(_ *Sim, p *project) (*iampb.Policy, error) {
		return p.iam.policy.get(), nil
	})
}

func (ps *projectsServer) SetIamPolicy(ctx context.Context, req *iampb.SetIamPolicyRequest) (*iampb.Policy, error) {
	return ps.policyCall(req.GetResource(), func(s *Sim, p *project) (*iampb.Policy, error) {
		for _, b := range req.GetPolicy().GetBindings() {
			for _, m := range b.GetMembers() {
				email, ok := strings.CutPrefix(m, "serviceAccount:")
				if !ok || !strings.HasSuffix(email, ".gserviceaccount.com") {
					continue
				}
				if !strings.HasSuffix(email, "."+p.id+".iam.gserviceaccount.com") && !strings.HasSuffix(email, "@"+p.id+".iam.gserviceaccount.com") && email != defaultServiceAccount(p.number) {
					continue // another project's account: not checked here
				}
				if _, exists := p.iam.accounts[email]; !exists {
					return nil, grpcInvalid("Service account %s does not exist.", email)
				}
			}
		}
		out, err := p.iam.policy.set(req.GetPolicy(), "roles/")
		if err != nil {
			return nil, err
		}
		s.keepLocked(p)
		s.changedLocked()
		return out, nil
	})
}
