package sim

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The Cloud Run Admin API v2's model: services, their revisions and how a
// revision comes to serve. Services live in regions; every change of a
// service's template makes a revision, which becomes ready or fails once
// the deploy operation is done. Traffic goes to the latest ready revision,
// so a failed revision leaves the previous one serving, as on Google.
//
// The API's behaviour is in run_services.go (services) and run_iam.go (IAM),
// as core methods on request protos that every wire surface calls; the
// checks are in run_validate.go, what images come to in run_images.go, and
// the gRPC surface in run_grpc.go.

// runHelloImageLegacy is the hello sample's old name. The simulator knows
// it, lab.HelloImage and lab.BrokenImage (which never listens on its port)
// without its registry.
const runHelloImageLegacy = "gcr.io/cloudrun/hello"

// runPrincipal is who the simulator says created and changed resources.
const runPrincipal = "simulator@beyond.local"

// runState is one project's Cloud Run state.
type runState struct {
	services map[string]*runService // by REGION/SERVICE
}

func newRunState() *runState {
	return &runState{services: map[string]*runService{}}
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
	url        string // the front the data plane gave it; "" until then
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
	startup  runStartup // its instance's startup probe, for an image that runs as a process
}

// runStartup is how far a new revision's instance got with its startup
// probe. Cloud Run calls a revision ready only once its container listens
// on its port (the default TCP startup probe); the simulator does the same
// for an image of its registry, which the data plane runs as a process.
type runStartup int

const (
	startupNone    runStartup = iota // no probe: the hello image, the broken one, a missing one
	startupWaiting                   // the data plane is starting it
	startupPassed                    // it listens
	startupFailed                    // it exited or never listened
)

func (rs *runService) key() string { return rs.region + "/" + rs.id }

func (rs *runService) name(p *project) string {
	return fmt.Sprintf("projects/%s/locations/%s/services/%s", p.id, rs.region, rs.id)
}

func (rs *runService) revisionName(p *project, rev *runRevision) string {
	return rs.name(p) + "/revisions/" + rev.name
}

// uri is where the service answers: its front on the data plane once the
// data plane has given it one (setServiceURLsLocked), else the form Google
// gives it.
func (rs *runService) uri(p *project) string {
	if rs.url != "" {
		return rs.url
	}
	return fmt.Sprintf("https://%s-%d.%s.run.app", rs.id, p.number, rs.region)
}

// runServiceKeysLocked lists every Cloud Run service of every project as
// PROJECT/REGION/SERVICE, for the data plane's fronts.
func (s *Sim) runServiceKeysLocked() []string {
	var out []string
	for _, pid := range sortedKeys(s.projects) {
		p := s.projects[pid]
		for _, key := range sortedKeys(p.run.services) {
			out = append(out, p.id+"/"+key)
		}
	}
	return out
}

// setServiceURLsLocked records the URLs the data plane gave services, by
// PROJECT/REGION/SERVICE. A URL only changes how a service reads, so no
// change is announced.
func (s *Sim) setServiceURLsLocked(urls map[string]string) {
	for key, url := range urls {
		pid, rest, _ := strings.Cut(key, "/")
		if p := s.projects[pid]; p != nil {
			if rs := p.run.services[rest]; rs != nil {
				rs.url = url
			}
		}
	}
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
	if rs.spec.GetDefaultUriDisabled() {
		// gcloud then shows the URL as None: the service has none to give.
		out.Uri, out.Urls = "", nil
	}
	out.Reconciling = rs.reconciling()
	out.Etag = rs.etag()
	if rs.terminal != nil {
		out.TerminalCondition = proto.Clone(rs.terminal).(*runpb.Condition)
	}
	if rs.deleting && out.TerminalCondition != nil {
		// A service being deleted is reconciling, whatever its latest
		// revision did: gcloud run services delete polls the service until
		// it is gone and gives up at a failed Ready condition, which the
		// workshop's broken revision would otherwise still show.
		out.TerminalCondition.State = runpb.Condition_CONDITION_RECONCILING
		out.TerminalCondition.Severity = runpb.Condition_SEVERITY_UNSPECIFIED
		out.TerminalCondition.Reasons = nil
		out.TerminalCondition.Message = "Deleting the service."
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

// deployLocked starts the operation that rolls rs out at its current
// generation: a new revision when the template changed (or force is set),
// ready or failed by the verdicts once the operation is done.
func (s *Sim) deployLocked(p *project, rs *runService, verdicts []runImageVerdict, force bool) *longrunningpb.Operation {
	now := s.now()
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
		if rev.verdict.found && !rev.verdict.broken && rev.digest != "" && s.dp != nil {
			// The data plane runs it (startingRevisionsLocked) and says
			// whether it listens (revisionStarted); the deploy waits.
			rev.startup = startupWaiting
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
	if rev != nil && rev.startup == startupWaiting {
		op.blocked = func() bool {
			return rev.pending && rev.startup == startupWaiting && p.run.services[rs.key()] == rs
		}
	}
	if rev != nil {
		op.cancel = func() {
			rev.pending = false
			rev.failure = fmt.Sprintf("Revision '%s' is not ready and cannot serve traffic. The deployment was cancelled.", rev.name)
			rev.reason = runpb.Condition_REVISION_FAILED
			rs.observed = max(rs.observed, gen)
			rs.version++
			rs.refreshConditions(s.now())
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
	now := s.now()
	if rev != nil && rev.pending {
		rev.pending = false
		if v := rev.verdict; v.found && !v.broken && rev.startup != startupFailed {
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

// lastVerdicts is what the images of the latest revision came to.
func (rs *runService) lastVerdicts() []runImageVerdict {
	if r := rs.latestCreated(); r != nil {
		return []runImageVerdict{r.verdict}
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
	// DefaultURLDisabled: the run.app URL answers nothing; only the load
	// balancer reaches the service.
	DefaultURLDisabled bool
	// ServiceAccount is the email of the identity the revision runs as.
	ServiceAccount string
	// Readiness is the ingress container's readiness probe, or nil; and
	// MinInstances the larger of the service's and the revision's minimum
	// instances. Cloud Run service health needs both (health.go).
	Readiness    *runpb.Probe
	MinInstances int32
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
			if rev := rs.ready; rev != nil {
				out = append(out, revisionRunLocked(p, rs, rev))
			}
		}
	}
	return out
}

// revisionRunLocked is what the data plane needs to run revision rev of
// service rs.
func revisionRunLocked(p *project, rs *runService, rev *runRevision) ReadyRevision {
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

		DefaultURLDisabled: rs.spec.GetDefaultUriDisabled(),

		ServiceAccount: rev.template.GetServiceAccount(),
		MinInstances:   max(rs.spec.GetScaling().GetMinInstanceCount(), rev.template.GetScaling().GetMinInstanceCount()),
	}
	if c := runIngressContainer(rev.template); c != nil {
		rr.Image = c.GetImage()
		if p := c.GetReadinessProbe(); p != nil {
			rr.Readiness = proto.Clone(p).(*runpb.Probe)
		}
		for _, e := range c.GetEnv() {
			if v, ok := e.GetValues().(*runpb.EnvVar_Value); ok {
				rr.Env[e.GetName()] = v.Value
			}
		}
	}
	for _, c := range rev.template.GetContainers() {
		rr.Containers = append(rr.Containers, proto.Clone(c).(*runpb.Container))
	}
	return rr
}
