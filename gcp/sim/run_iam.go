package sim

import "cloud.google.com/go/iam/apiv1/iampb"

// IAM on Cloud Run services, as core methods (see run_services.go). The
// policy itself is iam.go's.

// runGetIamPolicy answers a service's IAM policy (GetIamPolicy).
func (s *Sim) runGetIamPolicy(req *iampb.GetIamPolicyRequest) (*iampb.Policy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, rs, err := s.namedServiceLocked(req.GetResource())
	if err != nil {
		return nil, err
	}
	return rs.policy.get(), nil
}

// runSetIamPolicy replaces a service's IAM policy (SetIamPolicy).
func (s *Sim) runSetIamPolicy(req *iampb.SetIamPolicyRequest) (*iampb.Policy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, rs, err := s.namedServiceLocked(req.GetResource())
	if err != nil {
		return nil, err
	}
	if err := s.checkPublicMembersLocked(req.GetPolicy(), req.GetResource()); err != nil {
		return nil, err
	}
	out, err := rs.policy.set(req.GetPolicy(), "roles/run.")
	if err != nil {
		return nil, err
	}
	s.changedLocked() // who may invoke changed: the data plane cares
	return out, nil
}

// runTestIamPermissions answers TestIamPermissions on a service. The
// service need not exist: permissions are tested on what the project
// grants, and gcloud run deploy asks it before the first deploy (to decide
// whether to offer --allow-unauthenticated), which succeeds on Google.
func (s *Sim) runTestIamPermissions(req *iampb.TestIamPermissionsRequest) (*iampb.TestIamPermissionsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	proj, region, _, err := parseRunName(req.GetResource())
	if err != nil {
		return nil, err
	}
	if _, err := s.runProjectLocked(proj, region, false); err != nil {
		return nil, err
	}
	perms, err := iamTestPermissions(req.GetPermissions(), "run.")
	if err != nil {
		return nil, err
	}
	return &iampb.TestIamPermissionsResponse{Permissions: perms}, nil
}
