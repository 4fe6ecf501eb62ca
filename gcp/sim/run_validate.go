package sim

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beyond-lab/beyond/lab"

	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/genproto/googleapis/api"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Cloud Run's checks: resource names, the project and region, and what a
// user may give for a service, with Google's defaults filled in.

// runRevisionNamePattern is the rule for revision names chosen by the user.
var runRevisionNamePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`) })

// runReservedEnv are the variables Cloud Run sets itself and refuses from users.
var runReservedEnv = []string{"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"}

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
	if err := s.requireEnabledLocked(p, APIRun); err != nil {
		return nil, err
	}
	if !(anyRegion && region == "-") && !lab.IsRegion(region) {
		return nil, grpcInvalid("Location '%s' is not a valid location. Use ListLocations to list valid locations.", region)
	}
	s.settleLocked(p)
	return p, nil
}

func runValidServiceID(id string) error {
	if lab.ServiceName.Valid(id) {
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
		return nil, grpcInvalid("service.template.containers: at least one container is required, e.g. with image %s", lab.HelloImage)
	}
	t := proto.Clone(in).(*runpb.RevisionTemplate)
	withPorts := 0
	for i, c := range t.Containers {
		if c.GetImage() == "" {
			return nil, grpcInvalid("service.template.containers[%d].image: an image is required, e.g. %s", i, lab.HelloImage)
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
	if p := ing.ReadinessProbe; p != nil {
		// Cloud Run's defaults for a probe (the Probe message's docs).
		if p.PeriodSeconds == 0 {
			p.PeriodSeconds = 10
		}
		if p.FailureThreshold == 0 {
			p.FailureThreshold = 3
		}
		if p.TimeoutSeconds == 0 {
			p.TimeoutSeconds = 1
		}
		if g := p.GetHttpGet(); g != nil && g.Path == "" {
			g.Path = "/"
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
	if !strings.HasPrefix(name, id+"-") || !runRevisionNamePattern().MatchString(name) {
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
