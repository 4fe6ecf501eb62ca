package sim

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/artifactregistry/apiv1/artifactregistrypb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/beyond-lab/beyond/lab"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Artifact Registry v1 (google.devtools.artifactregistry.v1.ArtifactRegistry):
// repositories only. What is pushed into a Docker repository is served by
// the simulator's OCI registry, which asks repositoryExistsLocked.
//
// The methods arCreateRepository, arGetRepository... are the core's: they
// take the API's request messages and answer its responses (or operations)
// with gRPC status errors, whatever wire surface the call came on
// (artifactregistry_grpc.go is the gRPC one).

// registryMultiRegions are the multi-region locations Artifact Registry
// offers besides the regions.
var registryMultiRegions = []string{"asia", "europe", "us"}

// registryState is one project's Artifact Registry state.
type registryState struct {
	repos map[string]*arRepo // by LOCATION/REPOSITORY
}

func newRegistryState() *registryState {
	return &registryState{repos: map[string]*arRepo{}}
}

// arRepo is one repository.
type arRepo struct {
	location, id string
	spec         *artifactregistrypb.Repository // as given, defaults filled
	created      time.Time
	updated      time.Time // zero until updated
}

func (r *arRepo) proto(p *project) *artifactregistrypb.Repository {
	out := proto.Clone(r.spec).(*artifactregistrypb.Repository)
	out.Name = fmt.Sprintf("projects/%s/locations/%s/repositories/%s", p.id, r.location, r.id)
	out.CreateTime = timestamppb.New(r.created)
	out.UpdateTime = timestamppb.New(r.created)
	if !r.updated.IsZero() {
		out.UpdateTime = timestamppb.New(r.updated)
	}
	out.RegistryUri = fmt.Sprintf("%s-%s.pkg.dev/%s/%s", r.location, strings.ToLower(out.Format.String()), p.id, r.id)
	// Recorded from Google (parity/testdata): every repository says it
	// satisfies PZI, and, with Container Scanning off as in a new project,
	// that scanning is disabled and why.
	out.SatisfiesPzi = true
	out.VulnerabilityScanningConfig = &artifactregistrypb.Repository_VulnerabilityScanningConfig{
		LastEnableTime:        timestamppb.New(r.created),
		EnablementState:       artifactregistrypb.Repository_VulnerabilityScanningConfig_SCANNING_DISABLED,
		EnablementStateReason: "API containerscanning.googleapis.com is not enabled.",
	}
	return out
}

// repositoryExistsLocked reports whether project (an ID or a number) has the
// repository repo in location. Call with s.mu held.
func (s *Sim) repositoryExistsLocked(project, location, repo string) bool {
	p := s.existingProjectLocked(project)
	if p == nil {
		return false
	}
	s.settleLocked(p)
	_, ok := p.registry.repos[location+"/"+repo]
	return ok
}

// parseARParent splits projects/P/locations/L.
func parseARParent(parent string) (proj, loc string, err error) {
	parts := strings.Split(parent, "/")
	if len(parts) != 4 || parts[0] != "projects" || parts[2] != "locations" || parts[1] == "" || parts[3] == "" {
		return "", "", grpcInvalid("Invalid parent %q: want projects/PROJECT/locations/LOCATION", parent)
	}
	return parts[1], parts[3], nil
}

// parseARName splits projects/P/locations/L/repositories/R.
func parseARName(name string) (proj, loc, id string, err error) {
	parts := strings.Split(name, "/")
	if len(parts) != 6 || parts[0] != "projects" || parts[2] != "locations" || parts[4] != "repositories" || parts[1] == "" || parts[3] == "" || parts[5] == "" {
		return "", "", "", grpcInvalid("Invalid resource name %q: want projects/PROJECT/locations/LOCATION/repositories/REPOSITORY", name)
	}
	return parts[1], parts[3], parts[5], nil
}

// arProjectLocked resolves the project of an Artifact Registry call, checks
// that the API is enabled and the location exists, and applies the
// project's operations that are due.
func (s *Sim) arProjectLocked(proj, loc string) (*project, error) {
	p, err := s.lookupProjectLocked(proj, APIArtifactRegistry)
	if err != nil {
		return nil, err
	}
	if err := s.requireEnabledLocked(p, APIArtifactRegistry); err != nil {
		return nil, err
	}
	if !lab.IsRegion(loc) && !slices.Contains(registryMultiRegions, loc) {
		return nil, grpcInvalid("Invalid location %q: use a region such as us-central1, or a multi-region: us, europe or asia.", loc)
	}
	s.settleLocked(p)
	return p, nil
}

func arNotFound() error {
	return status.Error(codes.NotFound, "Requested entity was not found.")
}

// arCreateRepository answers CreateRepository.
func (s *Sim) arCreateRepository(req *artifactregistrypb.CreateRepositoryRequest) (*longrunningpb.Operation, error) {
	proj, loc, err := parseARParent(req.GetParent())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.arProjectLocked(proj, loc)
	if err != nil {
		return nil, err
	}
	id := req.GetRepositoryId()
	if !lab.RepositoryID.Valid(id) {
		return nil, grpcInvalid("Invalid repository id %q: it must start with a lowercase letter, end with a letter or digit, use only lowercase letters, digits and hyphens, and be at most 63 characters long.", id)
	}
	in := req.GetRepository()
	if in == nil {
		return nil, grpcInvalid("repository is required")
	}
	if in.GetFormat() == artifactregistrypb.Repository_FORMAT_UNSPECIFIED {
		return nil, grpcInvalid("repository.format is required: for container images use DOCKER")
	}
	if _, ok := artifactregistrypb.Repository_Format_name[int32(in.GetFormat())]; !ok {
		return nil, grpcInvalid("repository.format: unknown value %d", in.GetFormat())
	}
	if _, ok := p.registry.repos[loc+"/"+id]; ok {
		return nil, status.Error(codes.AlreadyExists, "the repository already exists")
	}
	spec := &artifactregistrypb.Repository{
		Format:      in.GetFormat(),
		Description: in.GetDescription(),
		Labels:      in.GetLabels(),
		Mode:        in.GetMode(),
		KmsKeyName:  in.GetKmsKeyName(),
	}
	if spec.Mode == artifactregistrypb.Repository_MODE_UNSPECIFIED {
		spec.Mode = artifactregistrypb.Repository_STANDARD_REPOSITORY
	}
	repo := &arRepo{location: loc, id: id, spec: spec, created: s.now()}
	op := &operation{
		name: fmt.Sprintf("projects/%s/locations/%s/operations/%s", p.id, loc, s.newUUIDLocked()),
		meta: func() proto.Message { return &artifactregistrypb.OperationMetadata{} },
		finish: func() (proto.Message, error) {
			if _, ok := p.registry.repos[loc+"/"+id]; ok {
				return nil, status.Error(codes.AlreadyExists, "the repository already exists")
			}
			p.registry.repos[loc+"/"+id] = repo
			// Google's operation answers the repository without its times.
			out := repo.proto(p)
			out.CreateTime, out.UpdateTime = nil, nil
			return out, nil
		},
	}
	return s.startOpLocked(p, op, s.opts.Profile.ComputeOp), nil
}

// namedRepoLocked finds the repository projects/P/locations/L/
// repositories/R, checking in Google's order the name, the project, the
// API and the location. Call with s.mu held.
func (s *Sim) namedRepoLocked(name string) (*project, *arRepo, error) {
	proj, loc, id, err := parseARName(name)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.arProjectLocked(proj, loc)
	if err != nil {
		return nil, nil, err
	}
	repo, ok := p.registry.repos[loc+"/"+id]
	if !ok {
		return nil, nil, arNotFound()
	}
	return p, repo, nil
}

// arGetRepository answers GetRepository.
func (s *Sim) arGetRepository(req *artifactregistrypb.GetRepositoryRequest) (*artifactregistrypb.Repository, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, repo, err := s.namedRepoLocked(req.GetName())
	if err != nil {
		return nil, err
	}
	return repo.proto(p), nil
}

// arListRepositories answers ListRepositories.
func (s *Sim) arListRepositories(req *artifactregistrypb.ListRepositoriesRequest) (*artifactregistrypb.ListRepositoriesResponse, error) {
	proj, loc, err := parseARParent(req.GetParent())
	if err != nil {
		return nil, err
	}
	if req.GetFilter() != "" || req.GetOrderBy() != "" {
		return nil, status.Error(codes.Unimplemented, "the simulator does not filter or order repositories: list them all and filter on your side")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.arProjectLocked(proj, loc)
	if err != nil {
		return nil, err
	}
	var all []*arRepo
	for _, r := range p.registry.repos {
		if r.location == loc {
			all = append(all, r)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].id < all[j].id })
	page, next, err := grpcPage(all, req.GetPageSize(), req.GetPageToken(), 100, 1000)
	if err != nil {
		return nil, err
	}
	resp := &artifactregistrypb.ListRepositoriesResponse{NextPageToken: next}
	for _, r := range page {
		resp.Repositories = append(resp.Repositories, r.proto(p))
	}
	return resp, nil
}

// arUpdateRepository answers UpdateRepository (gcloud artifacts
// repositories update: PATCH with updateMask=description). It changes the
// description and labels, the fields the lab and gcloud's update touch; an
// empty mask means both.
func (s *Sim) arUpdateRepository(req *artifactregistrypb.UpdateRepositoryRequest) (*artifactregistrypb.Repository, error) {
	in := req.GetRepository()
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		paths = []string{"description", "labels"}
	}
	for _, path := range paths {
		if path != "description" && path != "labels" {
			return nil, grpcInvalid("Invalid update_mask path %q: the simulator updates description and labels.", path)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, repo, err := s.namedRepoLocked(in.GetName())
	if err != nil {
		return nil, err
	}
	for _, path := range paths {
		switch path {
		case "description":
			repo.spec.Description = in.GetDescription()
		case "labels":
			repo.spec.Labels = in.GetLabels()
		}
	}
	repo.updated = s.now()
	s.changedLocked()
	return repo.proto(p), nil
}

// arDeleteRepository answers DeleteRepository.
func (s *Sim) arDeleteRepository(req *artifactregistrypb.DeleteRepositoryRequest) (*longrunningpb.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, repo, err := s.namedRepoLocked(req.GetName())
	if err != nil {
		return nil, err
	}
	loc, id := repo.location, repo.id
	op := &operation{
		name: fmt.Sprintf("projects/%s/locations/%s/operations/%s", p.id, loc, s.newUUIDLocked()),
		meta: func() proto.Message { return &artifactregistrypb.OperationMetadata{} },
		finish: func() (proto.Message, error) {
			delete(p.registry.repos, loc+"/"+id)
			return &emptypb.Empty{}, nil
		},
	}
	return s.startOpLocked(p, op, s.opts.Profile.ComputeOp), nil
}
