package sim

import (
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Revisions as the core answers them to a wire surface that shows them
// (Cloud Run v1's namespaces.revisions; the gRPC surface has no Revisions
// service). A revision is read from its service: the core keeps them there.

// runRevisionInfo is one revision, copied out of the core.
type runRevisionInfo struct {
	ProjectNumber int64
	Region        string
	Service       string // service ID
	ServiceUID    string
	Name          string // short name, SERVICE-00001-abc
	Number        int
	Template      *runpb.RevisionTemplate // a copy, defaults filled in
	Created       time.Time
	Pending       bool   // its deploy is still running
	Ready         bool   // it started and can serve
	Failure       string // why it failed
	Reason        runpb.Condition_CommonReason
	Image         string // the ingress container's image
	Digest        string
	Serving       bool // it is the service's latest ready revision, which takes the traffic
}

// runListRevisions lists the revisions of every service of a region of a
// project (or of one service when service is not empty), by service, newest
// first, as Cloud Run lists them.
func (s *Sim) runListRevisions(proj, region, service string) ([]runRevisionInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.runProjectLocked(proj, region, false)
	if err != nil {
		return nil, err
	}
	var services []*runService
	if service != "" {
		rs, err := s.findServiceLocked(p, region, service)
		if err != nil {
			return nil, err
		}
		services = append(services, rs)
	} else {
		for _, key := range sortedKeys(p.run.services) {
			if rs := p.run.services[key]; rs.region == region {
				services = append(services, rs)
			}
		}
	}
	var out []runRevisionInfo
	for _, rs := range services {
		for i := len(rs.revisions) - 1; i >= 0; i-- {
			out = append(out, runRevisionInfoOf(p, rs, rs.revisions[i]))
		}
	}
	return out, nil
}

func runRevisionInfoOf(p *project, rs *runService, rev *runRevision) runRevisionInfo {
	info := runRevisionInfo{
		ProjectNumber: p.number,
		Region:        rs.region,
		Service:       rs.id,
		ServiceUID:    rs.uid,
		Name:          rev.name,
		Number:        rev.number,
		Template:      proto.Clone(rev.template).(*runpb.RevisionTemplate),
		Created:       rev.created,
		Pending:       rev.pending,
		Ready:         rev.ready,
		Failure:       rev.failure,
		Reason:        rev.reason,
		Digest:        rev.digest,
		Serving:       rs.ready == rev,
	}
	if c := runIngressContainer(rev.template); c != nil {
		info.Image = c.GetImage()
	}
	return info
}

// runFindRevisionLocked finds a revision by its short name among the
// services of a region (a revision's name starts with its service's, but a
// user-chosen one need not say which service when it has hyphens).
func runFindRevisionLocked(p *project, region, name string) (*runService, int, error) {
	for _, key := range sortedKeys(p.run.services) {
		rs := p.run.services[key]
		if rs.region != region {
			continue
		}
		for i, rev := range rs.revisions {
			if rev.name == name {
				return rs, i, nil
			}
		}
	}
	return nil, 0, status.Errorf(codes.NotFound, "Resource '%s' of kind 'REVISION' in region '%s' in project '%s' does not exist.", name, region, p.id)
}

// namedRevisionLocked finds revision name of project proj in region, and
// its service, checking the project and the API first as Google does.
// Call with s.mu held.
func (s *Sim) namedRevisionLocked(proj, region, name string) (*project, *runService, int, error) {
	p, err := s.runProjectLocked(proj, region, false)
	if err != nil {
		return nil, nil, 0, err
	}
	rs, i, err := runFindRevisionLocked(p, region, name)
	return p, rs, i, err
}

// runGetRevision reads one revision.
func (s *Sim) runGetRevision(proj, region, name string) (runRevisionInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, rs, i, err := s.namedRevisionLocked(proj, region, name)
	if err != nil {
		return runRevisionInfo{}, err
	}
	return runRevisionInfoOf(p, rs, rs.revisions[i]), nil
}

// runDeleteRevision deletes a revision that neither takes traffic nor is
// its service's latest: Cloud Run refuses to delete those.
func (s *Sim) runDeleteRevision(proj, region, name string) (runRevisionInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, rs, i, err := s.namedRevisionLocked(proj, region, name)
	if err != nil {
		return runRevisionInfo{}, err
	}
	rev := rs.revisions[i]
	switch {
	case rs.ready == rev:
		return runRevisionInfo{}, status.Errorf(codes.FailedPrecondition, "Revision '%s' is serving traffic and cannot be deleted. Deploy or route traffic to another revision first.", name)
	case rs.latestCreated() == rev:
		return runRevisionInfo{}, status.Errorf(codes.FailedPrecondition, "Revision '%s' is the latest revision of service '%s' and cannot be deleted. Deploy a new revision first.", name, rs.id)
	}
	info := runRevisionInfoOf(p, rs, rev)
	rs.revisions = append(rs.revisions[:i:i], rs.revisions[i+1:]...)
	rs.version++
	s.changedLocked()
	return info, nil
}

// runProjectNumber is the number of the project proj (an ID or a number)
// names, which Cloud Run v1 answers as the namespace; 0 if there is none.
func (s *Sim) runProjectNumber(proj string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, err := s.lookupProjectLocked(proj, APIRun); err == nil {
		return p.number
	}
	return 0
}
