package sim

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/genproto/googleapis/api"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The Cloud Run Admin API v2 (google.cloud.run.v2.Services) with IAM on
// services. Services live in regions; every change of a service's template
// makes a revision, which becomes ready or fails once the deploy operation
// is done. Traffic goes to the latest ready revision, so a failed revision
// leaves the previous one serving, as on Google.

// runRegions are the regions Cloud Run serves (Google's list of Cloud Run
// locations). Any other location is refused.
var runRegions = []string{
	"africa-south1",
	"asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3",
	"asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2",
	"australia-southeast1", "australia-southeast2",
	"europe-central2", "europe-north1", "europe-north2", "europe-southwest1",
	"europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6",
	"europe-west8", "europe-west9", "europe-west10", "europe-west12",
	"me-central1", "me-central2", "me-west1",
	"northamerica-northeast1", "northamerica-northeast2", "northamerica-south1",
	"southamerica-east1", "southamerica-west1",
	"us-central1", "us-east1", "us-east4", "us-east5", "us-south1",
	"us-west1", "us-west2", "us-west3", "us-west4",
}

// Images the simulator knows without its registry: Google's hello sample,
// which starts, and a sample that never listens on its port.
const (
	runHelloImage       = "us-docker.pkg.dev/cloudrun/container/hello"
	runHelloImageLegacy = "gcr.io/cloudrun/hello"
	runBrokenImage      = "gcr.io/cloudrun/service-broken"
)

// runPrincipal is who the simulator says created and changed resources.
const runPrincipal = "simulator@beyond.local"

// runServiceIDPattern is Cloud Run's rule for service IDs.
var runServiceIDPattern = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$`)

// runRevisionNamePattern is the rule for revision names chosen by the user.
var runRevisionNamePattern = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

// runReservedEnv are the variables Cloud Run sets itself and refuses from users.
var runReservedEnv = []string{"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"}

// runState is one project's Cloud Run state, and the project's long-running
// operations of every gRPC API (operations.go).
type runState struct {
	services map[string]*runService // by REGION/SERVICE
	ops      opStore
}

func newRunState() *runState {
	return &runState{services: map[string]*runService{}, ops: opStore{}}
}

// runService is one Cloud Run service.
type runService struct {
	id, region string
	// spec is the service as last given by the user, defaults filled in;
	// the server-set fields are added when it is read.
	spec       *runpb.Service
	uid        string
	generation int64
	observed   int64
	created    time.Time
	updated    time.Time
	version    int64 // bumped on every change; makes the etag
	revisions  []*runRevision
	ready      *runRevision // latest ready revision
	terminal   *runpb.Condition
	conditions []*runpb.Condition
	policy     iamPolicy
	deleting   bool
}

// runRevision is one revision of a service.
type runRevision struct {
	name     string // short name, SERVICE-00001-abc
	number   int
	template *runpb.RevisionTemplate // defaults filled in
	created  time.Time
	pending  bool   // its deploy operation is still running
	ready    bool   // it started and serves
	failure  string // why it failed, once it has
	reason   runpb.Condition_CommonReason
	digest   string // the ingress image's digest, when the registry knows it
	verdict  runImageVerdict
}

func (rs *runService) key() string { return rs.region + "/" + rs.id }

func (rs *runService) name(p *project) string {
	return fmt.Sprintf("projects/%s/locations/%s/services/%s", p.id, rs.region, rs.id)
}

func (rs *runService) revisionName(p *project, rev *runRevision) string {
	return rs.name(p) + "/revisions/" + rev.name
}

// uri is where the service answers: its loopback front on the data plane
// once it has one, else the form Google gives it.
func (rs *runService) uri(p *project) string {
	if u, ok := frontURI(p, rs); ok {
		return u
	}
	return fmt.Sprintf("https://%s-%d.%s.run.app", rs.id, p.number, rs.region)
}

func (rs *runService) etag() string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%d/%d", rs.region, rs.id, rs.generation, rs.version))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

func (rs *runService) latestCreated() *runRevision {
	if len(rs.revisions) == 0 {
		return nil
	}
	return rs.revisions[len(rs.revisions)-1]
}

func (rs *runService) reconciling() bool {
	if rs.deleting {
		return true
	}
	for _, r := range rs.revisions {
		if r.pending {
			return true
		}
	}
	return false
}

// protoLocked returns the service as the API answers it.
func (rs *runService) protoLocked(p *project) *runpb.Service {
	out := proto.Clone(rs.spec).(*runpb.Service)
	out.Name = rs.name(p)
	out.Uid = rs.uid
	out.Generation = rs.generation
	out.ObservedGeneration = rs.observed
	out.CreateTime = timestamppb.New(rs.created)
	out.UpdateTime = timestamppb.New(rs.updated)
	out.Creator = runPrincipal
	out.LastModifier = runPrincipal
	out.Uri = rs.uri(p)
	out.Urls = []string{out.Uri}
	out.Reconciling = rs.reconciling()
	out.Etag = rs.etag()
	if rs.terminal != nil {
		out.TerminalCondition = proto.Clone(rs.terminal).(*runpb.Condition)
	}
	for _, c := range rs.conditions {
		out.Conditions = append(out.Conditions, proto.Clone(c).(*runpb.Condition))
	}
	if r := rs.latestCreated(); r != nil {
		out.LatestCreatedRevision = rs.revisionName(p, r)
	}
	if rs.ready != nil {
		out.LatestReadyRevision = rs.revisionName(p, rs.ready)
		for _, t := range out.Traffic {
			st := &runpb.TrafficTargetStatus{Type: t.Type, Revision: t.Revision, Percent: t.Percent, Tag: t.Tag}
			if t.Tag != "" {
				st.Uri = fmt.Sprintf("https://%s---%s-%d.%s.run.app", t.Tag, rs.id, p.number, rs.region)
			}
			out.TrafficStatuses = append(out.TrafficStatuses, st)
		}
	}
	return out
}

// refreshConditions sets the terminal condition and the conditions from the
// revisions: reconciling while one is pending, else from the latest created.
func (rs *runService) refreshConditions(now time.Time) {
	ts := timestamppb.New(now)
	cond := func(typ string, state runpb.Condition_State, msg string) *runpb.Condition {
		c := &runpb.Condition{Type: typ, State: state, Message: msg, LastTransitionTime: ts}
		if state == runpb.Condition_CONDITION_FAILED {
			c.Severity = runpb.Condition_ERROR
		}
		return c
	}
	latest := rs.latestCreated()
	switch {
	case rs.reconciling():
		rs.terminal = cond("Ready", runpb.Condition_CONDITION_RECONCILING, "")
		rs.conditions = []*runpb.Condition{
			cond("RoutesReady", runpb.Condition_CONDITION_RECONCILING, ""),
			cond("ConfigurationsReady", runpb.Condition_CONDITION_RECONCILING, ""),
		}
	case latest == nil || latest.ready:
		rs.terminal = cond("Ready", runpb.Condition_CONDITION_SUCCEEDED, "")
		rs.conditions = []*runpb.Condition{
			cond("RoutesReady", runpb.Condition_CONDITION_SUCCEEDED, ""),
			cond("ConfigurationsReady", runpb.Condition_CONDITION_SUCCEEDED, ""),
		}
	default:
		rs.terminal = cond("Ready", runpb.Condition_CONDITION_FAILED, latest.failure)
		rs.terminal.Reasons = &runpb.Condition_Reason{Reason: latest.reason}
		routes := cond("RoutesReady", runpb.Condition_CONDITION_SUCCEEDED, "")
		if rs.ready == nil {
			routes = cond("RoutesReady", runpb.Condition_CONDITION_FAILED, latest.failure)
		}
		configs := cond("ConfigurationsReady", runpb.Condition_CONDITION_FAILED, latest.failure)
		configs.Reasons = &runpb.Condition_Reason{Reason: latest.reason}
		rs.conditions = []*runpb.Condition{routes, configs}
	}
}

// runImageVerdict is what deploying an image will come to, decided when the
// deploy is asked for (Google resolves the image then too).
type runImageVerdict struct {
	image  string
	digest string
	broken bool // starts but never listens on its port
	found  bool
}

// judgeImages resolves every container image of t. It calls the registry, so
// call it without s.mu held.
func (s *Sim) judgeImages(t *runpb.RevisionTemplate) []runImageVerdict {
	var out []runImageVerdict
	for _, c := range t.GetContainers() {
		out = append(out, s.judgeImage(c.GetImage()))
	}
	return out
}

func (s *Sim) judgeImage(ref string) runImageVerdict {
	v := runImageVerdict{image: ref}
	switch runImageRepo(ref) {
	case runHelloImage, runHelloImageLegacy:
		v.found = true
	case runBrokenImage:
		v.found, v.broken = true, true
	default:
		// The registry's owner maps *-docker.pkg.dev references, and its
		// own host, to what was pushed.
		v.digest, v.found = s.registryImage(ref)
	}
	return v
}

// gateVerdictsLocked refuses images of Artifact Registry repositories that
// do not exist (any more): Google cannot pull from a deleted repository,
// whatever the registry still holds.
func (s *Sim) gateVerdictsLocked(vs []runImageVerdict) []runImageVerdict {
	out := slices.Clone(vs)
	for i, v := range out {
		host, path, _ := strings.Cut(v.image, "/")
		loc, ok := strings.CutSuffix(host, "-docker.pkg.dev")
		parts := strings.Split(path, "/")
		if !v.found || !ok || len(parts) < 3 || runImageRepo(v.image) == runHelloImage {
			continue
		}
		if !s.repositoryExistsLocked(parts[0], loc, parts[1]) {
			out[i].found, out[i].digest = false, ""
		}
	}
	return out
}

// runImageRepo strips the tag or digest from an image reference.
func runImageRepo(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// runFailureMessage is Cloud Run's text for a revision that cannot serve.
func runFailureMessage(p *project, rs *runService, rev *runRevision, v runImageVerdict) (string, runpb.Condition_CommonReason) {
	head := fmt.Sprintf("Revision '%s' is not ready and cannot serve traffic.", rev.name)
	if !v.found {
		return fmt.Sprintf("%s Image '%s' not found.", head, v.image), runpb.Condition_CONTAINER_MISSING
	}
	filter := url.QueryEscape(fmt.Sprintf("resource.type=\"cloud_run_revision\"\nresource.labels.service_name=\"%s\"\nresource.labels.revision_name=\"%s\"", rs.id, rev.name))
	logs := fmt.Sprintf("https://console.cloud.google.com/logs/viewer?project=%s&resource=cloud_run_revision/service_name/%s/revision_name/%s&advancedFilter=%s", p.id, rs.id, rev.name, filter)
	return fmt.Sprintf("%s The user-provided container failed to start and listen on the port defined provided by the PORT=%d environment variable within the allocated timeout. This can happen when the container port is misconfigured or if the timeout is too short. The health check timeout can be extended. Logs for this revision might contain more information.\n\nLogs URL: %s\nFor more troubleshooting guidance, see https://cloud.google.com/run/docs/troubleshooting#container-failed-to-start",
		head, runIngressPort(rev.template), logs), runpb.Condition_REVISION_FAILED
}

// runIngressPort is the port the revision's ingress container listens on.
func runIngressPort(t *runpb.RevisionTemplate) int32 {
	if c := runIngressContainer(t); c != nil && len(c.GetPorts()) > 0 {
		return c.GetPorts()[0].GetContainerPort()
	}
	return 8080
}

// runIngressContainer is the container that receives requests: the one with a
// port, or the only one.
func runIngressContainer(t *runpb.RevisionTemplate) *runpb.Container {
	for _, c := range t.GetContainers() {
		if len(c.GetPorts()) > 0 {
			return c
		}
	}
	if len(t.GetContainers()) > 0 {
		return t.GetContainers()[0]
	}
	return nil
}

// ReadyRevision is a Cloud Run revision that serves a service's traffic: its
// latest ready revision. The data plane runs one instance per entry.
type ReadyRevision struct {
	Project       string // project ID
	ProjectNumber int64
	Region        string
	Service       string // service ID (K_SERVICE)
	Revision      string // short revision name, e.g. hello-00001-abc (K_REVISION)
	RevisionName  string // full resource name of the revision
	URI           string // https://SERVICE-NUMBER.REGION.run.app
	Image         string // the ingress container's image, as given
	Digest        string // its digest, when it comes from the simulator's registry
	Port          int32  // the port the ingress container listens on (PORT)
	// Env holds the ingress container's literal environment variables
	// (values from Secret Manager are not simulated).
	Env map[string]string
	// Containers are all the revision's containers, defaults filled in. They
	// are copies: change them freely.
	Containers []*runpb.Container
	Ingress    runpb.IngressTraffic
	// Public reports whether allUsers holds roles/run.invoker, or the
	// invoker check is disabled: whether unauthenticated calls get in.
	Public bool
	// ServiceAccount is the email of the identity the revision runs as.
	ServiceAccount string
}

// readyRevisionsLocked returns, for every project, every Cloud Run service
// that has a ready revision, with that revision, ordered by project, region
// and service. Services being deleted are still listed until the delete is
// done. Call with s.mu held; it first applies operations that are due.
func (s *Sim) readyRevisionsLocked() []ReadyRevision {
	s.settleAllLocked()
	var out []ReadyRevision
	for _, pid := range sortedKeys(s.projects) {
		p := s.projects[pid]
		for _, key := range sortedKeys(p.run.services) {
			rs := p.run.services[key]
			rev := rs.ready
			if rev == nil {
				continue
			}
			rr := ReadyRevision{
				Project:       p.id,
				ProjectNumber: p.number,
				Region:        rs.region,
				Service:       rs.id,
				Revision:      rev.name,
				RevisionName:  rs.revisionName(p, rev),
				URI:           rs.uri(p),
				Port:          runIngressPort(rev.template),
				Digest:        rev.digest,
				Env:           map[string]string{},
				Ingress:       rs.spec.GetIngress(),
				Public:        rs.spec.GetInvokerIamDisabled() || rs.policy.allows("roles/run.invoker", "allUsers"),

				ServiceAccount: rev.template.GetServiceAccount(),
			}
			if c := runIngressContainer(rev.template); c != nil {
				rr.Image = c.GetImage()
				for _, e := range c.GetEnv() {
					if v, ok := e.GetValues().(*runpb.EnvVar_Value); ok {
						rr.Env[e.GetName()] = v.Value
					}
				}
			}
			for _, c := range rev.template.GetContainers() {
				rr.Containers = append(rr.Containers, proto.Clone(c).(*runpb.Container))
			}
			out = append(out, rr)
		}
	}
	return out
}

// runServer is google.cloud.run.v2.Services.
type runServer struct {
	runpb.UnimplementedServicesServer
	s *Sim
}

func (s *Sim) registerRun(g *grpc.Server) {
	runpb.RegisterServicesServer(g, &runServer{s: s})
	s.registerOperations(g) // one Operations service for every gRPC API
}

// parseRunParent splits projects/P/locations/R.
func parseRunParent(parent string) (proj, region string, err error) {
	parts := strings.Split(parent, "/")
	if len(parts) != 4 || parts[0] != "projects" || parts[2] != "locations" || parts[1] == "" || parts[3] == "" {
		return "", "", grpcInvalid("Invalid parent %q: want projects/PROJECT/locations/REGION", parent)
	}
	return parts[1], parts[3], nil
}

// parseRunName splits projects/P/locations/R/services/S.
func parseRunName(name string) (proj, region, id string, err error) {
	parts := strings.Split(name, "/")
	if len(parts) != 6 || parts[0] != "projects" || parts[2] != "locations" || parts[4] != "services" || parts[1] == "" || parts[3] == "" || parts[5] == "" {
		return "", "", "", grpcInvalid("Invalid resource name %q: want projects/PROJECT/locations/REGION/services/SERVICE", name)
	}
	return parts[1], parts[3], parts[5], nil
}

// runProjectLocked resolves the project of a Cloud Run call and checks, in
// Google's order, that it exists, that the API is enabled in it, and that
// region is one Cloud Run serves ("-", all regions, if anyRegion). It then
// applies the project's operations that are due.
func (s *Sim) runProjectLocked(proj, region string, anyRegion bool) (*project, error) {
	p, err := s.lookupProjectLocked(proj, APIRun)
	if err != nil {
		return nil, err
	}
	if err := grpcRequireEnabled(p, APIRun); err != nil {
		return nil, err
	}
	if !(anyRegion && region == "-") && !slices.Contains(runRegions, region) {
		return nil, grpcInvalid("Location '%s' is not a valid location. Use ListLocations to list valid locations.", region)
	}
	s.settleLocked(p)
	return p, nil
}

func runValidServiceID(id string) error {
	if runServiceIDPattern.MatchString(id) {
		return nil
	}
	return grpcInvalid("Invalid service id '%s': a service id must use only lowercase letters, digits and hyphens, begin with a letter, not end with a hyphen, and be at most 49 characters long.", id)
}

func runNotFound(p *project, region, id string) error {
	return status.Errorf(codes.NotFound, "Resource '%s' of kind 'SERVICE' in region '%s' in project '%s' does not exist.", id, region, p.id)
}

// findServiceLocked returns the service or NOT_FOUND.
func (s *Sim) findServiceLocked(p *project, region, id string) (*runService, error) {
	if err := runValidServiceID(id); err != nil {
		return nil, err
	}
	rs, ok := p.run.services[region+"/"+id]
	if !ok {
		return nil, runNotFound(p, region, id)
	}
	return rs, nil
}

// runCheckSpec validates what the user gives for a service and returns it
// with Google's defaults filled in and the server-set fields cleared.
func runCheckSpec(p *project, in *runpb.Service) (*runpb.Service, error) {
	if in == nil {
		return nil, grpcInvalid("service is required")
	}
	svc := proto.Clone(in).(*runpb.Service)
	// Output-only fields are ignored on input, as Google does.
	for _, f := range []string{"name", "uid", "generation", "create_time", "update_time", "delete_time", "expire_time",
		"creator", "last_modifier", "observed_generation", "terminal_condition", "conditions",
		"latest_ready_revision", "latest_created_revision", "traffic_statuses", "uri", "urls",
		"reconciling", "etag", "satisfies_pzs"} {
		fd := svc.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(f))
		if fd != nil {
			svc.ProtoReflect().Clear(fd)
		}
	}
	if _, ok := runpb.IngressTraffic_name[int32(svc.GetIngress())]; !ok {
		return nil, grpcInvalid("service.ingress: unknown value %d", svc.GetIngress())
	}
	if svc.Ingress == runpb.IngressTraffic_INGRESS_TRAFFIC_UNSPECIFIED {
		svc.Ingress = runpb.IngressTraffic_INGRESS_TRAFFIC_ALL
	}
	if svc.LaunchStage == api.LaunchStage_LAUNCH_STAGE_UNSPECIFIED {
		svc.LaunchStage = api.LaunchStage_GA
	}
	t, err := runCheckTemplate(p, svc.GetTemplate())
	if err != nil {
		return nil, err
	}
	svc.Template = t
	if len(svc.Traffic) == 0 {
		svc.Traffic = []*runpb.TrafficTarget{{Type: runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST, Percent: 100}}
	}
	total := int32(0)
	for i, tt := range svc.Traffic {
		if tt.Percent < 0 || tt.Percent > 100 {
			return nil, grpcInvalid("service.traffic[%d].percent must be between 0 and 100, got %d", i, tt.Percent)
		}
		if tt.Type == runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION && tt.Revision == "" {
			return nil, grpcInvalid("service.traffic[%d]: a target of type REVISION needs a revision name", i)
		}
		if tt.Type == runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_UNSPECIFIED && tt.Revision == "" {
			tt.Type = runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
		}
		total += tt.Percent
	}
	if total != 100 {
		return nil, grpcInvalid("service.traffic: the percentages must add up to 100, they add up to %d", total)
	}
	return svc, nil
}

// runCheckTemplate validates a revision template and fills in Google's
// defaults: port 8080, 1 CPU and 512 MiB, at most 100 instances, 80
// concurrent requests, a 300 s request timeout, the Compute Engine default
// service account, and a TCP startup probe on the port.
func runCheckTemplate(p *project, in *runpb.RevisionTemplate) (*runpb.RevisionTemplate, error) {
	if in == nil || len(in.GetContainers()) == 0 {
		return nil, grpcInvalid("service.template.containers: at least one container is required, e.g. with image %s", runHelloImage)
	}
	t := proto.Clone(in).(*runpb.RevisionTemplate)
	withPorts := 0
	for i, c := range t.Containers {
		if c.GetImage() == "" {
			return nil, grpcInvalid("service.template.containers[%d].image: an image is required, e.g. %s", i, runHelloImage)
		}
		seen := map[string]bool{}
		var reserved []string
		for _, e := range c.GetEnv() {
			switch {
			case e.GetName() == "":
				return nil, grpcInvalid("service.template.containers[%d].env: every variable needs a name", i)
			case slices.Contains(runReservedEnv, e.GetName()):
				reserved = append(reserved, e.GetName())
			case seen[e.GetName()]:
				return nil, grpcInvalid("service.template.containers[%d].env: variable %s is set twice", i, e.GetName())
			}
			seen[e.GetName()] = true
		}
		if len(reserved) > 0 {
			return nil, grpcInvalid("The following reserved env names were provided: %s. These values are automatically set by the system.", strings.Join(reserved, ", "))
		}
		if len(c.GetPorts()) > 1 {
			return nil, grpcInvalid("service.template.containers[%d].ports: at most one port may be given", i)
		}
		if len(c.GetPorts()) == 1 {
			withPorts++
			port := c.Ports[0]
			if port.ContainerPort == 0 {
				port.ContainerPort = 8080
			}
			if port.ContainerPort < 1 || port.ContainerPort > 65535 {
				return nil, grpcInvalid("service.template.containers[%d].ports[0].container_port must be between 1 and 65535, got %d", i, port.ContainerPort)
			}
			if port.Name == "" {
				port.Name = "http1"
			}
		}
		if c.Resources == nil {
			c.Resources = &runpb.ResourceRequirements{CpuIdle: true}
		}
		if c.Resources.Limits == nil {
			c.Resources.Limits = map[string]string{}
		}
		if c.Resources.Limits["cpu"] == "" {
			c.Resources.Limits["cpu"] = "1000m"
		}
		if c.Resources.Limits["memory"] == "" {
			c.Resources.Limits["memory"] = "512Mi"
		}
	}
	if withPorts > 1 {
		return nil, grpcInvalid("service.template.containers: only one container, the ingress container, may have a port")
	}
	if withPorts == 0 && len(t.Containers) > 1 {
		return nil, grpcInvalid("service.template.containers: with several containers, exactly one (the ingress container) must set a port")
	}
	ing := runIngressContainer(t)
	if len(ing.Ports) == 0 {
		ing.Ports = []*runpb.ContainerPort{{Name: "http1", ContainerPort: 8080}}
	}
	if ing.StartupProbe == nil {
		ing.StartupProbe = &runpb.Probe{
			TimeoutSeconds: 240, PeriodSeconds: 240, FailureThreshold: 1,
			ProbeType: &runpb.Probe_TcpSocket{TcpSocket: &runpb.TCPSocketAction{Port: ing.Ports[0].ContainerPort}},
		}
	}
	if t.Scaling == nil {
		t.Scaling = &runpb.RevisionScaling{}
	}
	if t.Scaling.MaxInstanceCount == 0 {
		t.Scaling.MaxInstanceCount = 100
	}
	if t.Timeout == nil {
		t.Timeout = durationpb.New(300 * time.Second)
	}
	if t.ServiceAccount == "" {
		t.ServiceAccount = fmt.Sprintf("%d-compute@developer.gserviceaccount.com", p.number)
	}
	if err := p.iam.actAs(t.ServiceAccount); err != nil {
		return nil, err
	}
	if t.MaxInstanceRequestConcurrency == 0 {
		t.MaxInstanceRequestConcurrency = 80
	}
	return t, nil
}

// runCheckRevisionName refuses a revision name given in the template that Cloud
// Run would: one without the service's prefix, or one already used by a
// revision with another configuration.
func runCheckRevisionName(rs *runService, id string, t *runpb.RevisionTemplate) error {
	name := t.GetRevision()
	if name == "" {
		return nil
	}
	if !strings.HasPrefix(name, id+"-") || !runRevisionNamePattern.MatchString(name) {
		return grpcInvalid("service.template.revision %q: a revision name must start with the service name and a hyphen, %q, and use only lowercase letters, digits and hyphens", name, id+"-")
	}
	if rs == nil {
		return nil
	}
	for _, r := range rs.revisions {
		if r.name == name && !proto.Equal(r.template, t) {
			return status.Errorf(codes.AlreadyExists, "Revision named '%s' with different configuration already exists.", name)
		}
	}
	return nil
}

// deployLocked starts the operation that rolls rs out at its current
// generation: a new revision when the template changed (or force is set),
// ready or failed by the verdicts once the operation is done.
func (s *Sim) deployLocked(p *project, rs *runService, verdicts []runImageVerdict, force bool) *longrunningpb.Operation {
	now := time.Now()
	gen := rs.generation
	var rev *runRevision
	if last := rs.latestCreated(); force || last == nil || !proto.Equal(last.template, rs.spec.Template) {
		n := 1
		if last != nil {
			n = last.number + 1
		}
		name := rs.spec.Template.GetRevision()
		if name == "" {
			name = fmt.Sprintf("%s-%05d-%s", rs.id, n, runRevisionSuffix(s.nextSeq()))
		}
		rev = &runRevision{name: name, number: n, template: proto.Clone(rs.spec.Template).(*runpb.RevisionTemplate), created: now, pending: true}
		rev.verdict = runImageVerdict{found: true}
		for _, v := range s.gateVerdictsLocked(verdicts) {
			if !v.found || v.broken {
				rev.verdict = v
				break
			}
		}
		if c := runIngressContainer(rev.template); c != nil {
			for _, v := range verdicts {
				if v.image == c.GetImage() {
					rev.digest = v.digest
				}
			}
		}
		rs.revisions = append(rs.revisions, rev)
	}
	rs.version++
	rs.refreshConditions(now)
	op := &operation{
		name:   fmt.Sprintf("projects/%s/locations/%s/operations/%s", p.id, rs.region, s.newUUIDLocked()),
		meta:   func() proto.Message { return rs.protoLocked(p) },
		finish: func() (proto.Message, error) { return s.finishDeployLocked(p, rs, rev, gen) },
	}
	if rev != nil {
		op.cancel = func() {
			rev.pending = false
			rev.failure = fmt.Sprintf("Revision '%s' is not ready and cannot serve traffic. The deployment was cancelled.", rev.name)
			rev.reason = runpb.Condition_REVISION_FAILED
			rs.observed = max(rs.observed, gen)
			rs.version++
			rs.refreshConditions(time.Now())
		}
	}
	out := s.startOpLocked(p, op, s.opts.Profile.RunDeploy)
	s.changedLocked()
	return out
}

// finishDeployLocked ends a deploy: the revision starts or fails, traffic
// moves to it if it is ready, and the operation answers with the service or
// with Cloud Run's error.
func (s *Sim) finishDeployLocked(p *project, rs *runService, rev *runRevision, gen int64) (proto.Message, error) {
	now := time.Now()
	if rev != nil && rev.pending {
		rev.pending = false
		if v := rev.verdict; v.found && !v.broken {
			rev.ready = true
			if rs.ready == nil || rev.number > rs.ready.number {
				rs.ready = rev
			}
		} else {
			rev.failure, rev.reason = runFailureMessage(p, rs, rev, v)
		}
	}
	rs.observed = max(rs.observed, gen)
	rs.version++
	rs.refreshConditions(now)
	target := rev
	if target == nil {
		target = rs.latestCreated() // the update changed no template: report on the revision as it stands
	}
	if target != nil && target.failure != "" {
		return nil, status.Error(codes.FailedPrecondition, target.failure)
	}
	return rs.protoLocked(p), nil
}

// runRevisionSuffix is the three lowercase letters ending a revision name.
func runRevisionSuffix(seq int64) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "revision/%d", seq))
	b := make([]byte, 3)
	for i := range b {
		b[i] = 'a' + sum[i]%26
	}
	return string(b)
}

func (r *runServer) CreateService(ctx context.Context, req *runpb.CreateServiceRequest) (*longrunningpb.Operation, error) {
	s := r.s
	if err := s.faultErr("run.CreateService"); err != nil {
		return nil, err
	}
	proj, region, err := parseRunParent(req.GetParent())
	if err != nil {
		return nil, err
	}
	verdicts := s.judgeImages(req.GetService().GetTemplate())
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.runProjectLocked(proj, region, false)
	if err != nil {
		return nil, err
	}
	id := req.GetServiceId()
	if err := runValidServiceID(id); err != nil {
		return nil, err
	}
	if n := req.GetService().GetName(); n != "" && n != req.GetParent()+"/services/"+id {
		return nil, grpcInvalid("service.name %q does not match the parent and service_id: leave it empty", n)
	}
	spec, err := runCheckSpec(p, req.GetService())
	if err != nil {
		return nil, err
	}
	if _, ok := p.run.services[region+"/"+id]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "Resource '%s' already exists.", id)
	}
	if err := runCheckRevisionName(nil, id, spec.Template); err != nil {
		return nil, err
	}
	now := time.Now()
	rs := &runService{id: id, region: region, spec: spec, generation: 1, created: now, updated: now}
	if req.GetValidateOnly() {
		return s.validatedOpLocked(p, region, rs.protoLocked(p)), nil
	}
	rs.uid = s.newUUIDLocked()
	p.run.services[rs.key()] = rs
	return s.deployLocked(p, rs, verdicts, false), nil
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

func (r *runServer) GetService(ctx context.Context, req *runpb.GetServiceRequest) (*runpb.Service, error) {
	s := r.s
	if err := s.faultErr("run.GetService"); err != nil {
		return nil, err
	}
	proj, region, id, err := parseRunName(req.GetName())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.runProjectLocked(proj, region, false)
	if err != nil {
		return nil, err
	}
	rs, err := s.findServiceLocked(p, region, id)
	if err != nil {
		return nil, err
	}
	return rs.protoLocked(p), nil
}

func (r *runServer) ListServices(ctx context.Context, req *runpb.ListServicesRequest) (*runpb.ListServicesResponse, error) {
	s := r.s
	if err := s.faultErr("run.ListServices"); err != nil {
		return nil, err
	}
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

func (r *runServer) UpdateService(ctx context.Context, req *runpb.UpdateServiceRequest) (*longrunningpb.Operation, error) {
	s := r.s
	if err := s.faultErr("run.UpdateService"); err != nil {
		return nil, err
	}
	proj, region, id, err := parseRunName(req.GetService().GetName())
	if err != nil {
		return nil, err
	}
	verdicts := s.judgeImages(req.GetService().GetTemplate())
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.runProjectLocked(proj, region, false)
	if err != nil {
		return nil, err
	}
	if err := runValidServiceID(id); err != nil {
		return nil, err
	}
	rs, ok := p.run.services[region+"/"+id]
	if !ok {
		if !req.GetAllowMissing() {
			return nil, runNotFound(p, region, id)
		}
		spec, err := runCheckSpec(p, req.GetService())
		if err != nil {
			return nil, err
		}
		if err := runCheckRevisionName(nil, id, spec.Template); err != nil {
			return nil, err
		}
		now := time.Now()
		rs = &runService{id: id, region: region, spec: spec, generation: 1, created: now, updated: now}
		if req.GetValidateOnly() {
			return s.validatedOpLocked(p, region, rs.protoLocked(p)), nil
		}
		rs.uid = s.newUUIDLocked()
		p.run.services[rs.key()] = rs
		return s.deployLocked(p, rs, verdicts, req.GetForceNewRevision()), nil
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
	spec, err := runCheckSpec(p, in)
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
	rs.updated = time.Now()
	return s.deployLocked(p, rs, verdicts, req.GetForceNewRevision()), nil
}

// lastVerdicts is what the images of the latest revision came to.
func (rs *runService) lastVerdicts() []runImageVerdict {
	if r := rs.latestCreated(); r != nil {
		return []runImageVerdict{r.verdict}
	}
	return nil
}

// runApplyMask returns cur with the top-level fields named by paths taken from
// in; with no paths, in replaces cur entirely, as Cloud Run does.
func runApplyMask(cur, in *runpb.Service, paths []string) (*runpb.Service, error) {
	if len(paths) == 0 {
		return in, nil
	}
	out := proto.Clone(cur).(*runpb.Service)
	src, dst := in.ProtoReflect(), out.ProtoReflect()
	fields := dst.Descriptor().Fields()
	for _, path := range paths {
		top, _, _ := strings.Cut(path, ".")
		fd := fields.ByName(protoreflect.Name(top))
		if fd == nil {
			fd = fields.ByJSONName(top)
		}
		if fd == nil {
			return nil, grpcInvalid("update_mask: unknown field %q", path)
		}
		if src.Has(fd) {
			dst.Set(fd, src.Get(fd))
		} else {
			dst.Clear(fd)
		}
	}
	return out, nil
}

func (r *runServer) DeleteService(ctx context.Context, req *runpb.DeleteServiceRequest) (*longrunningpb.Operation, error) {
	s := r.s
	if err := s.faultErr("run.DeleteService"); err != nil {
		return nil, err
	}
	proj, region, id, err := parseRunName(req.GetName())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.runProjectLocked(proj, region, false)
	if err != nil {
		return nil, err
	}
	rs, err := s.findServiceLocked(p, region, id)
	if err != nil {
		return nil, err
	}
	if e := req.GetEtag(); e != "" && e != rs.etag() {
		return nil, status.Errorf(codes.Aborted, "The etag %q does not match the current one: the service changed since you read it. Read it again and retry.", e)
	}
	if req.GetValidateOnly() {
		return s.validatedOpLocked(p, region, rs.protoLocked(p)), nil
	}
	rs.deleting = true
	rs.version++
	op := &operation{
		name: fmt.Sprintf("projects/%s/locations/%s/operations/%s", p.id, region, s.newUUIDLocked()),
		meta: func() proto.Message { return rs.protoLocked(p) },
		finish: func() (proto.Message, error) {
			if p.run.services[rs.key()] == rs {
				delete(p.run.services, rs.key())
			}
			rs.deleting = false
			svc := rs.protoLocked(p)
			svc.DeleteTime = timestamppb.Now()
			return svc, nil
		},
		cancel: func() { rs.deleting = false; rs.version++ },
	}
	out := s.startOpLocked(p, op, s.opts.Profile.RunDelete)
	s.changedLocked()
	return out, nil
}

// iamServiceLocked resolves the service an IAM call names.
func (s *Sim) iamServiceLocked(resource string) (*project, *runService, error) {
	proj, region, id, err := parseRunName(resource)
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

func (r *runServer) GetIamPolicy(ctx context.Context, req *iampb.GetIamPolicyRequest) (*iampb.Policy, error) {
	s := r.s
	if err := s.faultErr("run.GetIamPolicy"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, rs, err := s.iamServiceLocked(req.GetResource())
	if err != nil {
		return nil, err
	}
	return rs.policy.get(), nil
}

func (r *runServer) SetIamPolicy(ctx context.Context, req *iampb.SetIamPolicyRequest) (*iampb.Policy, error) {
	s := r.s
	if err := s.faultErr("run.SetIamPolicy"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, rs, err := s.iamServiceLocked(req.GetResource())
	if err != nil {
		return nil, err
	}
	out, err := rs.policy.set(req.GetPolicy(), "roles/run.")
	if err != nil {
		return nil, err
	}
	s.changedLocked() // who may invoke changed: the data plane cares
	return out, nil
}

func (r *runServer) TestIamPermissions(ctx context.Context, req *iampb.TestIamPermissionsRequest) (*iampb.TestIamPermissionsResponse, error) {
	s := r.s
	if err := s.faultErr("run.TestIamPermissions"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, _, err := s.iamServiceLocked(req.GetResource()); err != nil {
		return nil, err
	}
	perms, err := iamTestPermissions(req.GetPermissions(), "run.")
	if err != nil {
		return nil, err
	}
	return &iampb.TestIamPermissionsResponse{Permissions: perms}, nil
}
