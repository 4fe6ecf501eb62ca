package gcp

import (
	"context"
	"fmt"
	"maps"
	"path"
	"slices"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/genproto/googleapis/api"

	"github.com/beyond-lab/beyond/lab"
)

const (
	roleRunAdmin = "roles/run.admin"
	runAPI       = lab.APIRun
)

// Service is what the lab reads back of a Cloud Run service.
type Service struct {
	Name          string // short name
	Region        string
	URI           string
	Image         string
	Env           map[string]string
	Ingress       string // e.g. INGRESS_TRAFFIC_ALL
	LatestCreated string // short revision name
	LatestReady   string // short revision name
	Ready         bool   // the latest created revision is ready and serving
	Failure       string // why the service is not ready, if it is not
	Reconciling   bool   // a change is still being rolled out
	Generation    int64
	// ServiceAccount is the email of the identity its revisions run as.
	ServiceAccount string
	// InvokerIAMDisabled: Cloud Run lets anyone call it without checking
	// roles/run.invoker, the documented way to a public service where an
	// organisation policy refuses allUsers.
	InvokerIAMDisabled bool
	// DefaultURLDisabled: the service has no run.app URL; only a load
	// balancer (or a domain mapping) reaches it.
	DefaultURLDisabled bool
	// MaxInstances is the service-level ceiling on instances (across its
	// revisions), 0 if unset; RevisionMaxInstances the revision
	// template's, 0 if unset. Cloud Run's default is 100.
	MaxInstances, RevisionMaxInstances int
	// Readiness is the ingress container's HTTP readiness probe, or nil;
	// MinInstances the larger of the service's and the template's minimum
	// instances. Cloud Run service health needs both.
	Readiness    *Readiness
	MinInstances int32
}

// LBOnly reports whether the service takes requests from the internet only
// through a load balancer: ingress internal-and-cloud-load-balancing.
func (s *Service) LBOnly() bool {
	return s.Ingress == runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER.String()
}

// Readiness is an HTTP readiness probe (Preview): Cloud Run runs it on
// every instance and rolls the results up into each region's service
// health.
type Readiness struct {
	Path             string
	PeriodSeconds    int32
	FailureThreshold int32
	TimeoutSeconds   int32
}

func (r *Readiness) probe() *runpb.Probe {
	return &runpb.Probe{PeriodSeconds: r.PeriodSeconds, FailureThreshold: r.FailureThreshold, TimeoutSeconds: r.TimeoutSeconds,
		ProbeType: &runpb.Probe_HttpGet{HttpGet: &runpb.HTTPGetAction{Path: r.Path}}}
}

func readinessFrom(p *runpb.Probe) *Readiness {
	g := p.GetHttpGet()
	if g == nil {
		return nil
	}
	return &Readiness{Path: g.GetPath(), PeriodSeconds: p.GetPeriodSeconds(), FailureThreshold: p.GetFailureThreshold(), TimeoutSeconds: p.GetTimeoutSeconds()}
}

// Covers reports whether r, read back, is the probe want asks for; zero
// fields of want take Cloud Run's default.
func (r *Readiness) Covers(want *Readiness) bool {
	if want == nil {
		return true
	}
	if r == nil {
		return false
	}
	same := func(got, want int32) bool { return want == 0 || got == want }
	return r.Path == want.Path && same(r.PeriodSeconds, want.PeriodSeconds) &&
		same(r.FailureThreshold, want.FailureThreshold) && same(r.TimeoutSeconds, want.TimeoutSeconds)
}

// ServiceSpec is what the lab deploys.
type ServiceSpec struct {
	Region string
	Name   string
	Image  string
	Env    map[string]string
	// ServiceAccount is the email of the identity the service runs as
	// (`--service-account`); empty leaves Cloud Run's default, the Compute
	// Engine default service account.
	ServiceAccount string
	// Readiness and MinInstances, when set, configure Cloud Run service
	// health (`gcloud alpha run deploy --readiness-probe ... --min-instances`);
	// unset, a deploy keeps what the service has.
	Readiness    *Readiness
	MinInstances int32
}

func (c *Cloud) serviceName(region, name string) string {
	return fmt.Sprintf("projects/%s/locations/%s/services/%s", c.Project, region, name)
}

// GetService reads a Cloud Run service.
func (c *Cloud) GetService(ctx context.Context, region, name string) (*Service, error) {
	if c.snap != nil {
		return c.snapService(ctx, region, name)
	}
	svc, err := c.getService(ctx, region, name)
	if err != nil {
		return nil, c.explain(err, fmt.Sprintf("read Cloud Run service %s in %s", name, region), runAPI, "roles/run.viewer")
	}
	return serviceFrom(svc, region), nil
}

// getService reads the service as Cloud Run has it, retried (Cloud.call).
func (c *Cloud) getService(ctx context.Context, region, name string) (*runpb.Service, error) {
	var svc *runpb.Service
	err := c.call(ctx, "run.GetService", read, nil, func(ctx context.Context) error {
		var err error
		svc, err = c.services.GetService(ctx, &runpb.GetServiceRequest{Name: c.serviceName(region, name)}, noRetry)
		return err
	})
	return svc, err
}

// short is the last segment of a resource name or URL, "" for "".
func short(name string) string {
	if name == "" {
		return ""
	}
	return path.Base(name)
}

func serviceFrom(svc *runpb.Service, region string) *Service {
	s := &Service{
		Name:          short(svc.GetName()),
		Region:        region,
		URI:           svc.GetUri(),
		Ingress:       svc.GetIngress().String(),
		LatestCreated: short(svc.GetLatestCreatedRevision()),
		LatestReady:   short(svc.GetLatestReadyRevision()),
		Generation:    svc.GetGeneration(),
		Reconciling:   svc.GetReconciling(),
		Env:           map[string]string{},

		ServiceAccount:     svc.GetTemplate().GetServiceAccount(),
		InvokerIAMDisabled: svc.GetInvokerIamDisabled(),
		DefaultURLDisabled: svc.GetDefaultUriDisabled(),
		MaxInstances:       int(svc.GetScaling().GetMaxInstanceCount()),

		RevisionMaxInstances: int(svc.GetTemplate().GetScaling().GetMaxInstanceCount()),
	}
	s.MinInstances = max(svc.GetScaling().GetMinInstanceCount(), svc.GetTemplate().GetScaling().GetMinInstanceCount())
	if cs := svc.GetTemplate().GetContainers(); len(cs) > 0 {
		s.Readiness = readinessFrom(cs[0].GetReadinessProbe())
		s.Image = cs[0].GetImage()
		for _, e := range cs[0].GetEnv() {
			s.Env[e.GetName()] = e.GetValue()
		}
	}
	tc := svc.GetTerminalCondition()
	s.Ready = tc.GetState() == runpb.Condition_CONDITION_SUCCEEDED && s.LatestCreated == s.LatestReady && s.LatestReady != ""
	if !s.Ready {
		s.Failure = tc.GetMessage()
	}
	return s
}

// Matches reports whether the service already runs spec. Ingress through
// the load balancer only (the production part's) counts as a match: a
// deploy keeps it.
func (s *Service) Matches(spec ServiceSpec) bool {
	return s.Image == spec.Image && maps.Equal(s.Env, nonNil(spec.Env)) && (s.Ingress == runpb.IngressTraffic_INGRESS_TRAFFIC_ALL.String() || s.LBOnly()) &&
		(spec.ServiceAccount == "" || s.ServiceAccount == spec.ServiceAccount) &&
		s.Readiness.Covers(spec.Readiness) && s.MinInstances >= spec.MinInstances
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// DeployService makes the service run spec with ingress from all sources, as
// `gcloud run deploy --ingress all` does: it creates the service, or updates
// it when it exists and differs, and waits for the revision. It reports
// whether it changed anything.
func (c *Cloud) DeployService(ctx context.Context, spec ServiceSpec, progress Progress) (*Service, bool, error) {
	op := fmt.Sprintf("deploy Cloud Run service %s in %s", spec.Name, spec.Region)
	current, err := c.GetService(ctx, spec.Region, spec.Name)
	if err == nil && current.Reconciling && current.Matches(spec) {
		// A deploy of the same thing is under way (one interrupted, say):
		// wait for it rather than start another.
		if current, _, err = c.settled(ctx, spec, op, progress); err != nil {
			return nil, false, err
		}
	}
	switch {
	case err == nil && current.Matches(spec) && current.Ready:
		return current, false, nil
	case err != nil && !IsNotFound(err):
		return nil, false, err
	}
	var env []*runpb.EnvVar
	for _, k := range slices.Sorted(maps.Keys(spec.Env)) {
		env = append(env, &runpb.EnvVar{Name: k, Values: &runpb.EnvVar_Value{Value: spec.Env[k]}})
	}
	var result *runpb.Service
	wait := func(ctx context.Context, lro interface {
		Done() bool
		Poll(context.Context, ...gax.CallOption) (*runpb.Service, error)
	}) error {
		return c.waitOp(ctx, op, "longrunning.GetOperation", progress, lro.Done, func(ctx context.Context) error {
			var err error
			result, err = lro.Poll(ctx, noRetry)
			return err
		})
	}
	if current == nil {
		err = c.call(ctx, "run.CreateService", create, progress, func(ctx context.Context) error {
			created, err := c.services.CreateService(ctx, &runpb.CreateServiceRequest{
				Parent:    fmt.Sprintf("projects/%s/locations/%s", c.Project, spec.Region),
				ServiceId: spec.Name,
				Service: withHealth(&runpb.Service{
					Ingress: runpb.IngressTraffic_INGRESS_TRAFFIC_ALL,
					Template: &runpb.RevisionTemplate{
						Containers:     []*runpb.Container{{Image: spec.Image, Env: env}},
						ServiceAccount: spec.ServiceAccount,
					},
				}, spec),
			}, noRetry)
			if err != nil {
				return err
			}
			return wait(ctx, created)
		})
	} else {
		err = c.call(ctx, "run.UpdateService", write, progress, func(ctx context.Context) error {
			// As gcloud does: change the image and environment of what
			// is there, keeping every other setting (service account,
			// scaling, resources) and the etag, so a concurrent change
			// is not lost. Read again on every attempt, for the etag.
			existing, err := c.getService(ctx, spec.Region, spec.Name)
			if err != nil {
				return err
			}
			if existing.Ingress != runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER {
				// Keep the production part's ingress: a redeploy (the
				// failover part's break and restore) must not reopen it.
				existing.Ingress = runpb.IngressTraffic_INGRESS_TRAFFIC_ALL
			}
			if existing.Template == nil {
				existing.Template = &runpb.RevisionTemplate{}
			}
			if len(existing.Template.Containers) == 0 {
				existing.Template.Containers = []*runpb.Container{{}}
			}
			existing.Template.Containers[0].Image = spec.Image
			existing.Template.Containers[0].Env = env
			if spec.ServiceAccount != "" {
				existing.Template.ServiceAccount = spec.ServiceAccount
			}
			withHealth(existing, spec)
			existing.Template.Revision = "" // let Cloud Run name the new revision
			updated, err := c.services.UpdateService(ctx, &runpb.UpdateServiceRequest{Service: existing}, noRetry)
			if err != nil {
				return err
			}
			return wait(ctx, updated)
		})
	}
	if err != nil {
		return nil, true, c.explain(err, op, runAPI, roleRunAdmin)
	}
	if result == nil {
		// An earlier attempt took effect (or the operation answered no
		// service): wait until Cloud Run has rolled it out.
		return c.settled(ctx, spec, op, progress)
	}
	return serviceFrom(result, spec.Region), true, nil
}

// withHealth sets spec's readiness probe and minimum instances on svc, as
// `gcloud alpha run deploy --readiness-probe ... --min-instances N` does (a
// revision-level minimum), leaving what spec does not set.
func withHealth(svc *runpb.Service, spec ServiceSpec) *runpb.Service {
	if spec.Readiness != nil {
		svc.Template.Containers[0].ReadinessProbe = spec.Readiness.probe()
	}
	if spec.MinInstances > 0 {
		if svc.Template.Scaling == nil {
			svc.Template.Scaling = &runpb.RevisionScaling{}
		}
		svc.Template.Scaling.MinInstanceCount = spec.MinInstances
	}
	return svc
}

// settled waits until the service is no longer reconciling and returns it.
func (c *Cloud) settled(ctx context.Context, spec ServiceSpec, op string, progress Progress) (*Service, bool, error) {
	var svc *Service
	err := c.wait(ctx, op, progress, func() bool { return svc != nil && !svc.Reconciling }, func(ctx context.Context) error {
		var err error
		svc, err = c.GetService(ctx, spec.Region, spec.Name)
		return err
	})
	return svc, true, err
}

// AllowUnauthenticated grants roles/run.invoker to allUsers on the service,
// as `gcloud run deploy --allow-unauthenticated` does. It reports whether the
// policy changed.
func (c *Cloud) AllowUnauthenticated(ctx context.Context, region, name string) (bool, error) {
	op := fmt.Sprintf("allow unauthenticated calls to %s in %s", name, region)
	resource := c.serviceName(region, name)
	changed := false
	err := c.call(ctx, "run.SetIamPolicy", write, nil, func(ctx context.Context) error {
		// Read again on every attempt: the etag guards the change.
		policy, err := c.iamPolicy(ctx, resource)
		if err != nil {
			return err
		}
		if hasMember(policy, "roles/run.invoker", "allUsers") {
			return nil
		}
		added := false
		for _, b := range policy.Bindings {
			if b.Role == "roles/run.invoker" {
				b.Members = append(b.Members, "allUsers")
				added = true
			}
		}
		if !added {
			policy.Bindings = append(policy.Bindings, &iampb.Binding{Role: "roles/run.invoker", Members: []string{"allUsers"}})
		}
		if _, err := c.services.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: resource, Policy: policy}, noRetry); err != nil {
			return err
		}
		changed = true
		return nil
	})
	return changed, c.explain(err, op, runAPI, roleRunAdmin)
}

// iamPolicy reads a service's IAM policy, retried (Cloud.call).
func (c *Cloud) iamPolicy(ctx context.Context, resource string) (*iampb.Policy, error) {
	var policy *iampb.Policy
	err := c.call(ctx, "run.GetIamPolicy", read, nil, func(ctx context.Context) error {
		var err error
		policy, err = c.services.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: resource}, noRetry)
		return err
	})
	return policy, err
}

// DisableInvokerCheck turns off the service's invoker IAM check, as `gcloud
// run services update S --no-invoker-iam-check` does: anyone may call it,
// with no allUsers binding. Google recommends it to make a service public
// (run/docs/authenticating/public), and it works where domain-restricted
// sharing refuses allUsers. The template is left alone, so no new revision
// is made.
func (c *Cloud) DisableInvokerCheck(ctx context.Context, region, name string, progress Progress) error {
	op := fmt.Sprintf("disable the invoker IAM check of %s in %s", name, region)
	err := c.call(ctx, "run.UpdateService", write, progress, func(ctx context.Context) error {
		// Read again on every attempt, for the etag.
		existing, err := c.getService(ctx, region, name)
		if err != nil {
			return err
		}
		if existing.GetInvokerIamDisabled() {
			return nil
		}
		existing.InvokerIamDisabled = true
		updated, err := c.services.UpdateService(ctx, &runpb.UpdateServiceRequest{Service: existing}, noRetry)
		if err != nil {
			return err
		}
		return c.waitOp(ctx, op, "longrunning.GetOperation", progress, updated.Done, func(ctx context.Context) error {
			_, err := updated.Poll(ctx, noRetry)
			return err
		})
	})
	return c.explain(err, op, runAPI, roleRunAdmin)
}

// PublicInvoker reports whether allUsers may invoke the service.
func (c *Cloud) PublicInvoker(ctx context.Context, region, name string) (bool, error) {
	if c.snap != nil {
		policy, err := c.snapPolicy(ctx, region, name)
		return hasMember(policy, "roles/run.invoker", "allUsers"), err
	}
	policy, err := c.iamPolicy(ctx, c.serviceName(region, name))
	if err != nil {
		return false, c.explain(err, fmt.Sprintf("read the IAM policy of %s in %s", name, region), runAPI, "roles/run.viewer")
	}
	return hasMember(policy, "roles/run.invoker", "allUsers"), nil
}

func hasMember(p *iampb.Policy, role, member string) bool {
	for _, b := range p.GetBindings() {
		if b.GetRole() == role && slices.Contains(b.GetMembers(), member) {
			return true
		}
	}
	return false
}

// DeleteService deletes the service and waits. It reports whether there was
// one to delete.
func (c *Cloud) DeleteService(ctx context.Context, region, name string, progress Progress) (bool, error) {
	op := fmt.Sprintf("delete Cloud Run service %s in %s", name, region)
	err := c.call(ctx, "run.DeleteService", remove, progress, func(ctx context.Context) error {
		del, err := c.services.DeleteService(ctx, &runpb.DeleteServiceRequest{Name: c.serviceName(region, name)}, noRetry)
		if err != nil {
			return err
		}
		return c.waitOp(ctx, op, "longrunning.GetOperation", progress, del.Done, func(ctx context.Context) error {
			_, err := del.Poll(ctx, noRetry)
			return err
		})
	})
	if IsNotFound(err) {
		return false, nil
	}
	return true, c.explain(err, op, runAPI, roleRunAdmin)
}

// RestrictIngress lets the service take requests from the internet only
// through a load balancer (ingress internal-and-cloud-load-balancing) and,
// with noDefaultURL, disables its run.app URL, as `gcloud beta run services
// update S --ingress internal-and-cloud-load-balancing --no-default-url`
// does. Neither touches the template, so no new revision is made. It
// reports whether anything changed.
func (c *Cloud) RestrictIngress(ctx context.Context, region, name string, noDefaultURL bool, progress Progress) (bool, error) {
	return c.updateService(ctx, region, name, "restrict the ingress of", progress, func(svc *runpb.Service) bool {
		if svc.Ingress == runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER && svc.DefaultUriDisabled == noDefaultURL {
			return false
		}
		svc.Ingress = runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER
		svc.DefaultUriDisabled = noDefaultURL
		betaLaunchStage(svc)
		return true
	})
}

// SetMaxInstances caps the instances of the whole service, across its
// revisions, as `gcloud beta run services update S --max N` does. Unlike
// the revision's --max-instances it makes no new revision: a template left
// broken (the workshop's failed update) is not deployed again. It reports
// whether anything changed.
func (c *Cloud) SetMaxInstances(ctx context.Context, region, name string, n int, progress Progress) (bool, error) {
	return c.updateService(ctx, region, name, "set the maximum instances of", progress, func(svc *runpb.Service) bool {
		if svc.GetScaling().GetMaxInstanceCount() == int32(n) {
			return false
		}
		if svc.Scaling == nil {
			svc.Scaling = &runpb.ServiceScaling{}
		}
		svc.Scaling.MaxInstanceCount = int32(n)
		betaLaunchStage(svc)
		return true
	})
}

// betaLaunchStage marks a GA service BETA, as every `gcloud beta run`
// command does (its launch-stage annotation): the default URL switch and
// the service-level maximum are on gcloud's beta track, and Cloud Run may
// refuse a field of a later stage than the service's.
func betaLaunchStage(svc *runpb.Service) {
	if svc.LaunchStage == api.LaunchStage_LAUNCH_STAGE_UNSPECIFIED || svc.LaunchStage == api.LaunchStage_GA {
		svc.LaunchStage = api.LaunchStage_BETA
	}
}

// updateService reads the service, lets change edit it (false: nothing to
// do), writes it back with its etag and waits for the operation.
func (c *Cloud) updateService(ctx context.Context, region, name, verb string, progress Progress, change func(*runpb.Service) bool) (bool, error) {
	op := fmt.Sprintf("%s Cloud Run service %s in %s", verb, name, region)
	changed := false
	err := c.call(ctx, "run.UpdateService", write, progress, func(ctx context.Context) error {
		// Read again on every attempt, for the etag.
		existing, err := c.getService(ctx, region, name)
		if err != nil {
			return err
		}
		if !change(existing) {
			return nil
		}
		updated, err := c.services.UpdateService(ctx, &runpb.UpdateServiceRequest{Service: existing}, noRetry)
		if err != nil {
			return err
		}
		changed = true
		err = c.waitOp(ctx, op, "longrunning.GetOperation", progress, updated.Done, func(ctx context.Context) error {
			_, err := updated.Poll(ctx, noRetry)
			return err
		})
		if err != nil && KindOf(err) != KindCanceled {
			// The operation reports the service's condition, which a failed
			// latest revision (the workshop's broken update, which Cloud
			// Run keeps beside the one serving) makes false although this
			// change, which touches no revision, took effect.
			if now, rerr := c.getService(ctx, region, name); rerr == nil && !change(now) {
				return nil
			}
		}
		return err
	})
	return changed, c.explain(err, op, runAPI, roleRunAdmin)
}
