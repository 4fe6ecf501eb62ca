package sim

import (
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/serviceusage/apiv1/serviceusagepb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/beyond-lab/beyond/lab"
)

// Service Usage v1 (google.api.serviceusage.v1.ServiceUsage): which APIs a
// project has enabled. The services are those of the catalog (state.go); a
// new project has enabledAtStart on. Enabling takes Profile.EnableAPI, and
// until the operation is done the API still answers SERVICE_DISABLED.
//
// The methods suEnableService, suGetService... are the core's: they take
// the API's request messages and answer its responses (or operations) with
// gRPC status errors, whatever wire surface the call came on
// (serviceusage_grpc.go is the gRPC one).

const apiServiceUsage = lab.APIServiceUsage

// suNoopOperation is the name Google gives the operation of an enable or
// disable that had nothing to do; it comes back done.
const suNoopOperation = "operations/noop.DONE_OPERATION"

// parseSUName splits projects/P/services/NAME.
func parseSUName(name string) (proj, svc string, err error) {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0] != "projects" || parts[2] != "services" || parts[1] == "" || parts[3] == "" {
		return "", "", grpcInvalid("Invalid resource name %q: want projects/PROJECT/services/SERVICE, e.g. projects/my-project/services/run.googleapis.com", name)
	}
	return parts[1], parts[3], nil
}

// parseSUParent splits projects/P.
func parseSUParent(parent string) (string, error) {
	proj, ok := strings.CutPrefix(parent, "projects/")
	if !ok || proj == "" || strings.Contains(proj, "/") {
		return "", grpcInvalid("Invalid parent %q: want projects/PROJECT", parent)
	}
	return proj, nil
}

// suProjectLocked resolves the project of a Service Usage call and applies
// its operations that are due.
func (s *Sim) suProjectLocked(ref string) (*project, error) {
	p, err := s.lookupProjectLocked(ref, apiServiceUsage)
	if err != nil {
		return nil, err
	}
	if err := s.requireEnabledLocked(p, apiServiceUsage); err != nil {
		return nil, err
	}
	s.settleLocked(p)
	return p, nil
}

// suServiceLocked resolves projects/P/services/NAME, the name of one
// service, to its project (as suProjectLocked) and the service, which must
// be one Google knows.
func (s *Sim) suServiceLocked(full string) (*project, string, error) {
	proj, name, err := parseSUName(full)
	if err != nil {
		return nil, "", err
	}
	p, err := s.suProjectLocked(proj)
	if err != nil {
		return nil, "", err
	}
	if err := suCheckCatalog([]string{name}); err != nil {
		return nil, "", err
	}
	return p, name, nil
}

func catalogHas(name string) bool {
	for _, c := range catalog {
		if c.name == name {
			return true
		}
	}
	return false
}

// googleServices are the services Google has beyond the catalog: enabling
// one of them succeeds, as on Google, and a get answers its state, but the
// simulator serves none of them. Only a name in neither list is unknown.
//
//go:embed googleservices.txt
var googleServicesText string

var googleServices = func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(googleServicesText, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			m[line] = true
		}
	}
	return m
}()

// serviceKnown reports whether Service Usage knows the service name.
func serviceKnown(name string) bool { return catalogHas(name) || googleServices[name] }

// suUnknownServices is Google's answer for services it does not know (or
// that the caller may not see; Google does not say which).
func suUnknownServices(names []string) error {
	msg := fmt.Sprintf("Not found or permission denied for service(s): %s.", strings.Join(names, ", "))
	return grpcWithDetails(status.New(codes.PermissionDenied, msg),
		&errdetails.ErrorInfo{
			Reason:   "SERVICE_CONFIG_NOT_FOUND_OR_PERMISSION_DENIED",
			Domain:   apiServiceUsage,
			Metadata: map[string]string{"services": strings.Join(names, ",")},
		},
	)
}

func suCheckCatalog(names []string) error {
	var unknown []string
	for _, n := range names {
		if !serviceKnown(n) && !slices.Contains(unknown, n) {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return suUnknownServices(unknown)
	}
	return nil
}

// suService is the API's view of one service in project p.
func suService(p *project, name string) *serviceusagepb.Service {
	state := serviceusagepb.State_DISABLED
	if p.enabled[name] {
		state = serviceusagepb.State_ENABLED
	}
	return &serviceusagepb.Service{
		Name:   fmt.Sprintf("projects/%d/services/%s", p.number, name),
		Parent: fmt.Sprintf("projects/%d", p.number),
		Config: &serviceusagepb.ServiceConfig{Name: name, Title: catalogTitle(name)},
		State:  state,
	}
}

func suMetadata(p *project, names []string) *serviceusagepb.OperationMetadata {
	md := &serviceusagepb.OperationMetadata{}
	for _, n := range names {
		md.ResourceNames = append(md.ResourceNames, fmt.Sprintf("services/%s/projectSettings/%d", n, p.number))
	}
	return md
}

// changeServicesLocked starts the operation that turns names on or off in p.
// When nothing would change, Google answers at once with a done no-op
// operation; so does the simulator.
func (s *Sim) changeServicesLocked(p *project, names []string, on bool, response func() proto.Message) *longrunningpb.Operation {
	md := suMetadata(p, names)
	op := &operation{
		meta: func() proto.Message { return md },
		finish: func() (proto.Message, error) {
			for _, n := range names {
				if on {
					if !p.enabled[n] {
						p.enabledAt[n] = s.now()
					}
					p.enabled[n] = true
				} else {
					delete(p.enabled, n)
					delete(p.enabledAt, n)
				}
			}
			return response(), nil
		},
	}
	pending := false
	for _, n := range names {
		pending = pending || p.enabled[n] != on
	}
	if !pending {
		op.name = suNoopOperation
		return s.startOpLocked(p, op, 0)
	}
	op.name = fmt.Sprintf("operations/acf.p2-%d-%s", p.number, s.newUUIDLocked())
	return s.startOpLocked(p, op, s.opts.Profile.EnableAPI)
}

// suEnableService answers EnableService.
func (s *Sim) suEnableService(req *serviceusagepb.EnableServiceRequest) (*longrunningpb.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, name, err := s.suServiceLocked(req.GetName())
	if err != nil {
		return nil, err
	}
	if err := s.billingLocked(p, []string{name}); err != nil {
		return nil, err
	}
	return s.changeServicesLocked(p, []string{name}, true, func() proto.Message {
		return &serviceusagepb.EnableServiceResponse{Service: suService(p, name)}
	}), nil
}

// suDisableService answers DisableService.
func (s *Sim) suDisableService(req *serviceusagepb.DisableServiceRequest) (*longrunningpb.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, name, err := s.suServiceLocked(req.GetName())
	if err != nil {
		return nil, err
	}
	if name == apiServiceUsage {
		return nil, status.Errorf(codes.FailedPrecondition, "%s cannot be disabled through itself: it is what enables and disables services.", apiServiceUsage)
	}
	return s.changeServicesLocked(p, []string{name}, false, func() proto.Message {
		return &serviceusagepb.DisableServiceResponse{Service: suService(p, name)}
	}), nil
}

// suBatchEnableServices answers BatchEnableServices.
func (s *Sim) suBatchEnableServices(req *serviceusagepb.BatchEnableServicesRequest) (*longrunningpb.Operation, error) {
	proj, err := parseSUParent(req.GetParent())
	if err != nil {
		return nil, err
	}
	ids := req.GetServiceIds()
	if len(ids) == 0 || len(ids) > 20 {
		return nil, grpcInvalid("service_ids must name 1 to 20 services, got %d", len(ids))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.suProjectLocked(proj)
	if err != nil {
		return nil, err
	}
	if err := suCheckCatalog(ids); err != nil {
		return nil, err
	}
	var names []string
	for _, id := range ids {
		if !slices.Contains(names, id) {
			names = append(names, id)
		}
	}
	if err := s.billingLocked(p, names); err != nil {
		return nil, err
	}
	return s.changeServicesLocked(p, names, true, func() proto.Message {
		resp := &serviceusagepb.BatchEnableServicesResponse{}
		for _, n := range names {
			resp.Services = append(resp.Services, suService(p, n))
		}
		return resp
	}), nil
}

// suGetService answers GetService.
func (s *Sim) suGetService(req *serviceusagepb.GetServiceRequest) (*serviceusagepb.Service, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, name, err := s.suServiceLocked(req.GetName())
	if err != nil {
		return nil, err
	}
	return suService(p, name), nil
}

// suBatchGetServices answers BatchGetServices.
func (s *Sim) suBatchGetServices(req *serviceusagepb.BatchGetServicesRequest) (*serviceusagepb.BatchGetServicesResponse, error) {
	proj, err := parseSUParent(req.GetParent())
	if err != nil {
		return nil, err
	}
	if len(req.GetNames()) == 0 || len(req.GetNames()) > 30 {
		return nil, grpcInvalid("names must name 1 to 30 services, got %d", len(req.GetNames()))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.suProjectLocked(proj)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, full := range req.GetNames() {
		nproj, name, err := parseSUName(full)
		if err != nil {
			return nil, err
		}
		if nproj != p.id && nproj != strconv.FormatInt(p.number, 10) {
			return nil, grpcInvalid("%s is not in the parent %s", full, req.GetParent())
		}
		names = append(names, name)
	}
	if err := suCheckCatalog(names); err != nil {
		return nil, err
	}
	resp := &serviceusagepb.BatchGetServicesResponse{}
	for _, n := range names {
		resp.Services = append(resp.Services, suService(p, n))
	}
	return resp, nil
}

// suListServices answers ListServices.
func (s *Sim) suListServices(req *serviceusagepb.ListServicesRequest) (*serviceusagepb.ListServicesResponse, error) {
	proj, err := parseSUParent(req.GetParent())
	if err != nil {
		return nil, err
	}
	var want func(bool) bool
	switch strings.ReplaceAll(req.GetFilter(), " ", "") {
	case "":
		want = func(bool) bool { return true }
	case "state:ENABLED":
		want = func(on bool) bool { return on }
	case "state:DISABLED":
		want = func(on bool) bool { return !on }
	default:
		return nil, grpcInvalid("Invalid filter %q: use state:ENABLED or state:DISABLED", req.GetFilter())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.suProjectLocked(proj)
	if err != nil {
		return nil, err
	}
	var all []*serviceusagepb.Service
	for _, c := range catalog {
		if want(p.enabled[c.name]) {
			all = append(all, suService(p, c.name))
		}
	}
	// Services enabled from beyond the catalog are listed too; those
	// disabled are not, or a list would hold all of Google's.
	for n, on := range p.enabled {
		if on && !catalogHas(n) && want(true) {
			all = append(all, suService(p, n))
		}
	}
	slices.SortFunc(all, func(a, b *serviceusagepb.Service) int { return strings.Compare(a.Name, b.Name) })
	page, next, err := grpcPage(all, req.GetPageSize(), req.GetPageToken(), 50, 200)
	if err != nil {
		return nil, err
	}
	return &serviceusagepb.ListServicesResponse{Services: page, NextPageToken: next}, nil
}

// billingLocked refuses to enable names in p when the project has no billing
// account (Conditions.BillingOff), as Service Usage does: FAILED_PRECONDITION
// with ErrorInfo reason UREQ_PROJECT_BILLING_NOT_FOUND and a precondition
// violation of type googleapis.com/billing-enabled. Services already on
// (those a project starts with) need no billing. Call with s.mu held.
func (s *Sim) billingLocked(p *project, names []string) error {
	if !s.cond.BillingOff {
		return nil
	}
	var off []string
	for _, n := range names {
		if !p.enabled[n] {
			off = append(off, n)
		}
	}
	if len(off) == 0 {
		return nil
	}
	list := strings.Join(off, ",")
	msg := fmt.Sprintf("Billing account for project '%d' is not found. Billing must be enabled for activation of service(s) '%s' to proceed.", p.number, list)
	return grpcWithDetails(status.New(codes.FailedPrecondition, msg),
		&errdetails.ErrorInfo{
			Reason:   "UREQ_PROJECT_BILLING_NOT_FOUND",
			Domain:   apiServiceUsage,
			Metadata: map[string]string{"project": strconv.FormatInt(p.number, 10), "services": list},
		},
		&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
			Type:        "googleapis.com/billing-enabled",
			Subject:     "projects/" + strconv.FormatInt(p.number, 10),
			Description: "Billing must be enabled for activation of service(s) '" + list + "' to proceed.",
		}}},
		&errdetails.Help{Links: []*errdetails.Help_Link{{
			Description: "Google developers console billing",
			Url:         "https://console.developers.google.com/project/" + strconv.FormatInt(p.number, 10) + "/billing/enable",
		}}},
	)
}
