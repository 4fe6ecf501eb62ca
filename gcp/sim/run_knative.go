package sim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/beyond-lab/beyond/lab"
	"google.golang.org/genproto/googleapis/api"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Cloud Run v1 speaks Knative Serving's resource model (Service with
// metadata, spec and status; revisions, configurations and routes beside
// it), which is what gcloud sends and reads. The simulator keeps one model,
// Cloud Run v2's runpb.Service: this file translates between the two, the
// way Cloud Run itself answers one service on both APIs. Where v1 says in
// an annotation what v2 has a field for (ingress, scaling, the execution
// environment...), the annotation and the field are the same setting.

// The Knative objects, as far as Cloud Run v1 fills them
// (run_v1_messages.py in the Cloud SDK is the schema).
type (
	knService struct {
		APIVersion string           `json:"apiVersion"`
		Kind       string           `json:"kind"`
		Metadata   knMeta           `json:"metadata"`
		Spec       knServiceSpec    `json:"spec"`
		Status     *knServiceStatus `json:"status,omitempty"`
	}
	knMeta struct {
		Name              string            `json:"name,omitempty"`
		Namespace         string            `json:"namespace,omitempty"`
		SelfLink          string            `json:"selfLink,omitempty"`
		UID               string            `json:"uid,omitempty"`
		ResourceVersion   string            `json:"resourceVersion,omitempty"`
		Generation        int64             `json:"generation,omitempty"`
		CreationTimestamp string            `json:"creationTimestamp,omitempty"`
		DeletionTimestamp string            `json:"deletionTimestamp,omitempty"`
		Labels            map[string]string `json:"labels,omitempty"`
		Annotations       map[string]string `json:"annotations,omitempty"`
		OwnerReferences   []knOwner         `json:"ownerReferences,omitempty"`
	}
	knOwner struct {
		Kind               string `json:"kind"`
		Name               string `json:"name"`
		UID                string `json:"uid"`
		APIVersion         string `json:"apiVersion"`
		Controller         bool   `json:"controller"`
		BlockOwnerDeletion bool   `json:"blockOwnerDeletion"`
	}
	knServiceSpec struct {
		Template *knTemplate `json:"template,omitempty"`
		Traffic  []knTraffic `json:"traffic,omitempty"`
	}
	knTemplate struct {
		Metadata *knMeta        `json:"metadata,omitempty"`
		Spec     knRevisionSpec `json:"spec"`
	}
	knRevisionSpec struct {
		ContainerConcurrency int32         `json:"containerConcurrency,omitempty"`
		TimeoutSeconds       int64         `json:"timeoutSeconds,omitempty"`
		ServiceAccountName   string        `json:"serviceAccountName,omitempty"`
		Containers           []knContainer `json:"containers"`
		Volumes              []any         `json:"volumes,omitempty"`
	}
	knContainer struct {
		Name          string       `json:"name,omitempty"`
		Image         string       `json:"image"`
		Command       []string     `json:"command,omitempty"`
		Args          []string     `json:"args,omitempty"`
		WorkingDir    string       `json:"workingDir,omitempty"`
		Env           []knEnv      `json:"env,omitempty"`
		Ports         []knPort     `json:"ports,omitempty"`
		Resources     *knResources `json:"resources,omitempty"`
		StartupProbe  *knProbe     `json:"startupProbe,omitempty"`
		LivenessProbe *knProbe     `json:"livenessProbe,omitempty"`
		// ReadinessProbe is Preview (gcloud alpha's --readiness-probe): the
		// per-instance signal of Cloud Run service health.
		ReadinessProbe *knProbe `json:"readinessProbe,omitempty"`
	}
	knEnv struct {
		Name      string          `json:"name"`
		Value     string          `json:"value,omitempty"`
		ValueFrom json.RawMessage `json:"valueFrom,omitempty"`
	}
	knPort struct {
		Name          string `json:"name,omitempty"`
		ContainerPort int32  `json:"containerPort,omitempty"`
	}
	knResources struct {
		Limits map[string]string `json:"limits,omitempty"`
	}
	knProbe struct {
		InitialDelaySeconds int32 `json:"initialDelaySeconds,omitempty"`
		TimeoutSeconds      int32 `json:"timeoutSeconds,omitempty"`
		PeriodSeconds       int32 `json:"periodSeconds,omitempty"`
		FailureThreshold    int32 `json:"failureThreshold,omitempty"`
		// SuccessThreshold is accepted (gcloud sends it when given) but not
		// kept: the v2 Probe message of the Go client has no such field, so
		// the simulator's one truth cannot hold it (gcp/sim/README.md).
		SuccessThreshold int32        `json:"successThreshold,omitempty"`
		TCPSocket        *knPortProbe `json:"tcpSocket,omitempty"`
		HTTPGet          *knPortProbe `json:"httpGet,omitempty"`
		GRPC             *knPortProbe `json:"grpc,omitempty"`
	}
	knPortProbe struct {
		Path    string `json:"path,omitempty"`
		Port    int32  `json:"port,omitempty"`
		Service string `json:"service,omitempty"`
	}
	knTraffic struct {
		ConfigurationName string `json:"configurationName,omitempty"`
		RevisionName      string `json:"revisionName,omitempty"`
		LatestRevision    *bool  `json:"latestRevision,omitempty"`
		Percent           int32  `json:"percent,omitempty"`
		Tag               string `json:"tag,omitempty"`
		URL               string `json:"url,omitempty"`
	}
	knServiceStatus struct {
		ObservedGeneration        int64         `json:"observedGeneration,omitempty"`
		Conditions                []knCondition `json:"conditions,omitempty"`
		LatestReadyRevisionName   string        `json:"latestReadyRevisionName,omitempty"`
		LatestCreatedRevisionName string        `json:"latestCreatedRevisionName,omitempty"`
		URL                       string        `json:"url,omitempty"`
		Address                   *knAddress    `json:"address,omitempty"`
		Traffic                   []knTraffic   `json:"traffic,omitempty"`
	}
	knAddress struct {
		URL string `json:"url"`
	}
	knCondition struct {
		Type               string `json:"type"`
		Status             string `json:"status"`
		Reason             string `json:"reason,omitempty"`
		Message            string `json:"message,omitempty"`
		LastTransitionTime string `json:"lastTransitionTime,omitempty"`
		Severity           string `json:"severity,omitempty"`
	}
)

// Knative's API groups and the annotations Cloud Run v1 reads and writes.
const (
	knServingAPI = "serving.knative.dev/v1"

	knAnnIngress        = "run.googleapis.com/ingress"
	knAnnIngressStatus  = "run.googleapis.com/ingress-status"
	knAnnLaunchStage    = "run.googleapis.com/launch-stage"
	knAnnInvokerIAM     = "run.googleapis.com/invoker-iam-disabled"
	knAnnDefaultURL     = "run.googleapis.com/default-url-disabled"
	knAnnServiceMax     = "run.googleapis.com/maxScale" // service-level, across revisions (gcloud beta --max)
	knAnnClientName     = "run.googleapis.com/client-name"
	knAnnClientVersion  = "run.googleapis.com/client-version"
	knAnnDescription    = "run.googleapis.com/description"
	knAnnURLs           = "run.googleapis.com/urls"
	knAnnCreator        = "serving.knative.dev/creator"
	knAnnLastModifier   = "serving.knative.dev/lastModifier"
	knAnnMaxScale       = "autoscaling.knative.dev/maxScale"
	knAnnMinScale       = "autoscaling.knative.dev/minScale"
	knAnnExecEnv        = "run.googleapis.com/execution-environment"
	knAnnCPUThrottling  = "run.googleapis.com/cpu-throttling"
	knAnnStartupBoost   = "run.googleapis.com/startup-cpu-boost"
	knAnnSessionAffin   = "run.googleapis.com/sessionAffinity"
	knLabelLocation     = "cloud.googleapis.com/location"
	knLabelService      = "serving.knative.dev/service"
	knLabelServiceUID   = "serving.knative.dev/serviceUid"
	knLabelConfig       = "serving.knative.dev/configuration"
	knLabelRoute        = "serving.knative.dev/route"
	knLabelConfigGen    = "serving.knative.dev/configurationGeneration"
	knTimestampLayout   = "2006-01-02T15:04:05.000000Z"
	knSystemPrefixRun   = "run.googleapis.com/"
	knSystemPrefixCloud = "cloud.googleapis.com/"
)

// knSystemKey reports whether an annotation or label key belongs to Cloud
// Run or Knative rather than to the user: such keys are settings (mapped to
// v2 fields) or output, never stored as the user's own.
func knSystemKey(k string) bool {
	for _, p := range []string{knSystemPrefixRun, knSystemPrefixCloud, "serving.knative.dev/", "autoscaling.knative.dev/", "client.knative.dev/user-image"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

var knIngress = map[string]runpb.IngressTraffic{
	"all":                               runpb.IngressTraffic_INGRESS_TRAFFIC_ALL,
	"internal":                          runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_ONLY,
	"internal-and-cloud-load-balancing": runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER,
	"none":                              runpb.IngressTraffic_INGRESS_TRAFFIC_NONE,
}

func knIngressName(v runpb.IngressTraffic) string {
	for k, x := range knIngress {
		if x == v {
			return k
		}
	}
	return "all"
}

func knTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().UTC().Format(knTimestampLayout)
}

// knShort is the last segment of a resource name: a revision's short name.
func knShort(name string) string { return name[strings.LastIndex(name, "/")+1:] }

// knServiceOf renders a v2 service as Cloud Run v1 answers it; number is
// its project's number, which v1 uses as the namespace.
func knServiceOf(svc *runpb.Service, number int64) *knService {
	_, region, id, _ := parseRunName(svc.GetName())
	ns := strconv.FormatInt(number, 10)
	meta := knMeta{
		Name:              id,
		Namespace:         ns,
		SelfLink:          fmt.Sprintf("/apis/%s/namespaces/%s/services/%s", knServingAPI, ns, id),
		UID:               svc.GetUid(),
		ResourceVersion:   svc.GetEtag(),
		Generation:        svc.GetGeneration(),
		CreationTimestamp: knTime(svc.GetCreateTime()),
		DeletionTimestamp: knTime(svc.GetDeleteTime()),
		Labels:            map[string]string{knLabelLocation: region},
		Annotations:       map[string]string{},
	}
	for k, v := range svc.GetLabels() {
		meta.Labels[k] = v
	}
	for k, v := range svc.GetAnnotations() {
		meta.Annotations[k] = v
	}
	a := meta.Annotations
	a[knAnnCreator] = svc.GetCreator()
	a[knAnnLastModifier] = svc.GetLastModifier()
	a[knAnnIngress] = knIngressName(svc.GetIngress())
	a[knAnnIngressStatus] = a[knAnnIngress]
	if urls, err := json.Marshal(svc.GetUrls()); err == nil && len(svc.GetUrls()) > 0 {
		a[knAnnURLs] = string(urls)
	}
	if ls := svc.GetLaunchStage(); ls != api.LaunchStage_GA && ls != api.LaunchStage_LAUNCH_STAGE_UNSPECIFIED {
		a[knAnnLaunchStage] = ls.String()
	}
	if svc.GetInvokerIamDisabled() {
		a[knAnnInvokerIAM] = "true"
	}
	if svc.GetDefaultUriDisabled() {
		a[knAnnDefaultURL] = "true"
	}
	if n := svc.GetScaling().GetMaxInstanceCount(); n > 0 {
		a[knAnnServiceMax] = strconv.Itoa(int(n))
	}
	if c := svc.GetClient(); c != "" {
		a[knAnnClientName] = c
	}
	if c := svc.GetClientVersion(); c != "" {
		a[knAnnClientVersion] = c
	}
	if d := svc.GetDescription(); d != "" {
		a[knAnnDescription] = d
	}
	out := &knService{APIVersion: knServingAPI, Kind: "Service", Metadata: meta}
	out.Spec.Template = knTemplateOf(svc.GetTemplate())
	for _, t := range svc.GetTraffic() {
		out.Spec.Traffic = append(out.Spec.Traffic, knTrafficOf(t.GetType(), t.GetRevision(), t.GetPercent(), t.GetTag(), ""))
	}
	st := &knServiceStatus{
		ObservedGeneration:        svc.GetObservedGeneration(),
		LatestReadyRevisionName:   knShort(svc.GetLatestReadyRevision()),
		LatestCreatedRevisionName: knShort(svc.GetLatestCreatedRevision()),
		Conditions:                knConditions(svc.GetTerminalCondition(), svc.GetConditions()),
	}
	if svc.GetLatestReadyRevision() != "" {
		st.URL = svc.GetUri()
		st.Address = &knAddress{URL: svc.GetUri()}
	}
	for _, t := range svc.GetTrafficStatuses() {
		rev := t.GetRevision()
		if t.GetType() == runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST {
			rev = st.LatestReadyRevisionName
		}
		kt := knTrafficOf(t.GetType(), rev, t.GetPercent(), t.GetTag(), t.GetUri())
		st.Traffic = append(st.Traffic, kt)
	}
	out.Status = st
	return out
}

func knTrafficOf(typ runpb.TrafficTargetAllocationType, revision string, percent int32, tag, url string) knTraffic {
	t := knTraffic{RevisionName: knShort(revision), Percent: percent, Tag: tag, URL: url}
	if typ == runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST {
		latest := true
		t.LatestRevision = &latest
	}
	return t
}

// knConditions renders v2's terminal condition (Ready) and conditions in
// Knative's form: status "True", "False" or "Unknown" while reconciling.
func knConditions(terminal *runpb.Condition, others []*runpb.Condition) []knCondition {
	var out []knCondition
	for _, c := range append([]*runpb.Condition{terminal}, others...) {
		if c == nil {
			continue
		}
		kc := knCondition{Type: c.GetType(), Status: "Unknown", Message: c.GetMessage(), LastTransitionTime: knTime(c.GetLastTransitionTime())}
		switch c.GetState() {
		case runpb.Condition_CONDITION_SUCCEEDED:
			kc.Status = "True"
		case runpb.Condition_CONDITION_FAILED:
			kc.Status = "False"
		}
		if r := c.GetReason(); r != runpb.Condition_COMMON_REASON_UNDEFINED {
			kc.Reason = knCamel(r.String())
		} else if r := c.GetRevisionReason(); r != runpb.Condition_REVISION_REASON_UNDEFINED {
			kc.Reason = knCamel(r.String())
		}
		switch c.GetSeverity() {
		case runpb.Condition_ERROR:
			kc.Severity = "Error"
		case runpb.Condition_WARNING:
			kc.Severity = "Warning"
		case runpb.Condition_INFO:
			kc.Severity = "Info"
		}
		out = append(out, kc)
	}
	return out
}

// knCamel turns v2's reason enums (CONTAINER_MISSING) into Knative's
// reasons (ContainerMissing).
func knCamel(s string) string {
	var b strings.Builder
	for _, w := range strings.Split(strings.ToLower(s), "_") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

// knTemplateOf renders a revision template (or a revision's own template).
func knTemplateOf(t *runpb.RevisionTemplate) *knTemplate {
	if t == nil {
		return nil
	}
	meta := &knMeta{Name: t.GetRevision(), Labels: map[string]string{}, Annotations: map[string]string{}}
	for k, v := range t.GetLabels() {
		meta.Labels[k] = v
	}
	for k, v := range t.GetAnnotations() {
		meta.Annotations[k] = v
	}
	a := meta.Annotations
	if n := t.GetScaling().GetMaxInstanceCount(); n > 0 {
		a[knAnnMaxScale] = strconv.Itoa(int(n))
	}
	if n := t.GetScaling().GetMinInstanceCount(); n > 0 {
		a[knAnnMinScale] = strconv.Itoa(int(n))
	}
	switch t.GetExecutionEnvironment() {
	case runpb.ExecutionEnvironment_EXECUTION_ENVIRONMENT_GEN1:
		a[knAnnExecEnv] = "gen1"
	case runpb.ExecutionEnvironment_EXECUTION_ENVIRONMENT_GEN2:
		a[knAnnExecEnv] = "gen2"
	}
	if t.GetSessionAffinity() {
		a[knAnnSessionAffin] = "true"
	}
	if c := runIngressContainer(t); c != nil {
		if !c.GetResources().GetCpuIdle() && c.GetResources() != nil {
			a[knAnnCPUThrottling] = "false"
		}
		if c.GetResources().GetStartupCpuBoost() {
			a[knAnnStartupBoost] = "true"
		}
	}
	spec := knRevisionSpec{
		ContainerConcurrency: t.GetMaxInstanceRequestConcurrency(),
		TimeoutSeconds:       int64(t.GetTimeout().AsDuration() / time.Second),
		ServiceAccountName:   t.GetServiceAccount(),
		Containers:           []knContainer{},
	}
	for _, c := range t.GetContainers() {
		kc := knContainer{Name: c.GetName(), Image: c.GetImage(), Command: c.GetCommand(), Args: c.GetArgs(), WorkingDir: c.GetWorkingDir()}
		for _, e := range c.GetEnv() {
			kc.Env = append(kc.Env, knEnv{Name: e.GetName(), Value: e.GetValue()})
		}
		for _, p := range c.GetPorts() {
			kc.Ports = append(kc.Ports, knPort{Name: p.GetName(), ContainerPort: p.GetContainerPort()})
		}
		if l := c.GetResources().GetLimits(); len(l) > 0 {
			kc.Resources = &knResources{Limits: l}
		}
		kc.StartupProbe = knProbeOf(c.GetStartupProbe())
		kc.LivenessProbe = knProbeOf(c.GetLivenessProbe())
		kc.ReadinessProbe = knProbeOf(c.GetReadinessProbe())
		spec.Containers = append(spec.Containers, kc)
	}
	return &knTemplate{Metadata: meta, Spec: spec}
}

func knProbeOf(p *runpb.Probe) *knProbe {
	if p == nil {
		return nil
	}
	out := &knProbe{InitialDelaySeconds: p.GetInitialDelaySeconds(), TimeoutSeconds: p.GetTimeoutSeconds(), PeriodSeconds: p.GetPeriodSeconds(), FailureThreshold: p.GetFailureThreshold()}
	switch x := p.GetProbeType().(type) {
	case *runpb.Probe_TcpSocket:
		out.TCPSocket = &knPortProbe{Port: x.TcpSocket.GetPort()}
	case *runpb.Probe_HttpGet:
		out.HTTPGet = &knPortProbe{Path: x.HttpGet.GetPath(), Port: x.HttpGet.GetPort()}
	case *runpb.Probe_Grpc:
		out.GRPC = &knPortProbe{Port: x.Grpc.GetPort(), Service: x.Grpc.GetService()}
	}
	return out
}

// runServiceFromKn is the v2 service a Knative Service asks for: the
// settings the user gave, in v2's fields. Output fields (status, uid,
// creator...) are ignored, as Cloud Run ignores them on input.
func runServiceFromKn(kn *knService) (*runpb.Service, error) {
	if kn.APIVersion != "" && kn.APIVersion != knServingAPI {
		return nil, grpcInvalid("apiVersion %q is not supported: use %q", kn.APIVersion, knServingAPI)
	}
	if kn.Kind != "" && kn.Kind != "Service" {
		return nil, grpcInvalid("kind %q is not supported here: use \"Service\"", kn.Kind)
	}
	svc := &runpb.Service{}
	for k, v := range kn.Metadata.Labels {
		if !knSystemKey(k) {
			if svc.Labels == nil {
				svc.Labels = map[string]string{}
			}
			svc.Labels[k] = v
		}
	}
	for k, v := range kn.Metadata.Annotations {
		switch k {
		case knAnnIngress:
			ing, ok := knIngress[v]
			if !ok {
				return nil, grpcInvalid("metadata.annotations[%s]: %q is not an ingress setting; use all, internal or internal-and-cloud-load-balancing", k, v)
			}
			svc.Ingress = ing
		case knAnnLaunchStage:
			ls, ok := api.LaunchStage_value[strings.ToUpper(v)]
			if !ok {
				return nil, grpcInvalid("metadata.annotations[%s]: %q is not a launch stage; use GA, BETA or ALPHA", k, v)
			}
			svc.LaunchStage = api.LaunchStage(ls)
		case knAnnInvokerIAM:
			svc.InvokerIamDisabled = strings.EqualFold(v, "true")
		case knAnnServiceMax:
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, grpcInvalid("metadata.annotations[%s]: %q is not a number of instances; use a positive integer", k, v)
			}
			if svc.Scaling == nil {
				svc.Scaling = &runpb.ServiceScaling{}
			}
			svc.Scaling.MaxInstanceCount = int32(n)
		case knAnnDefaultURL:
			// gcloud beta --no-default-url writes Python's "True".
			svc.DefaultUriDisabled = strings.EqualFold(v, "true")
		case knAnnClientName:
			svc.Client = v
		case knAnnClientVersion:
			svc.ClientVersion = v
		case knAnnDescription:
			svc.Description = v
		default:
			if !knSystemKey(k) {
				if svc.Annotations == nil {
					svc.Annotations = map[string]string{}
				}
				svc.Annotations[k] = v
			}
		}
	}
	if kn.Spec.Template == nil {
		return nil, grpcInvalid("spec.template is required, with at least one container, e.g. image %s", lab.HelloImage)
	}
	t, err := runTemplateFromKn(kn.Spec.Template)
	if err != nil {
		return nil, err
	}
	svc.Template = t
	for i, kt := range kn.Spec.Traffic {
		tt := &runpb.TrafficTarget{Percent: kt.Percent, Tag: kt.Tag, Revision: kt.RevisionName}
		switch {
		case kt.LatestRevision != nil && *kt.LatestRevision:
			if kt.RevisionName != "" {
				return nil, grpcInvalid("spec.traffic[%d]: latestRevision and revisionName cannot both be set", i)
			}
			tt.Type = runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
		case kt.RevisionName != "":
			tt.Type = runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
		default:
			return nil, grpcInvalid("spec.traffic[%d]: set latestRevision: true or a revisionName", i)
		}
		svc.Traffic = append(svc.Traffic, tt)
	}
	return svc, nil
}

func runTemplateFromKn(kt *knTemplate) (*runpb.RevisionTemplate, error) {
	t := &runpb.RevisionTemplate{
		MaxInstanceRequestConcurrency: kt.Spec.ContainerConcurrency,
		ServiceAccount:                kt.Spec.ServiceAccountName,
	}
	if kt.Spec.TimeoutSeconds > 0 {
		t.Timeout = durationpb.New(time.Duration(kt.Spec.TimeoutSeconds) * time.Second)
	}
	if len(kt.Spec.Volumes) > 0 {
		return nil, grpcInvalid("spec.template.spec.volumes: volumes are not simulated; deploy without them")
	}
	var cpuThrottling, startupBoost *bool
	if m := kt.Metadata; m != nil {
		t.Revision = m.Name
		for k, v := range m.Labels {
			if !knSystemKey(k) {
				if t.Labels == nil {
					t.Labels = map[string]string{}
				}
				t.Labels[k] = v
			}
		}
		for k, v := range m.Annotations {
			var err error
			switch k {
			case knAnnMaxScale, knAnnMinScale:
				n, perr := strconv.Atoi(v)
				if perr != nil || n < 0 {
					return nil, grpcInvalid("spec.template.metadata.annotations[%s]: %q is not a number of instances", k, v)
				}
				if t.Scaling == nil {
					t.Scaling = &runpb.RevisionScaling{}
				}
				if k == knAnnMaxScale {
					t.Scaling.MaxInstanceCount = int32(n)
				} else {
					t.Scaling.MinInstanceCount = int32(n)
				}
			case knAnnExecEnv:
				switch v {
				case "gen1":
					t.ExecutionEnvironment = runpb.ExecutionEnvironment_EXECUTION_ENVIRONMENT_GEN1
				case "gen2":
					t.ExecutionEnvironment = runpb.ExecutionEnvironment_EXECUTION_ENVIRONMENT_GEN2
				default:
					err = grpcInvalid("spec.template.metadata.annotations[%s]: %q is not an execution environment; use gen1 or gen2", k, v)
				}
			case knAnnSessionAffin:
				t.SessionAffinity = strings.EqualFold(v, "true")
			case knAnnCPUThrottling:
				b := !strings.EqualFold(v, "false")
				cpuThrottling = &b
			case knAnnStartupBoost:
				b := strings.EqualFold(v, "true")
				startupBoost = &b
			default:
				if !knSystemKey(k) {
					if t.Annotations == nil {
						t.Annotations = map[string]string{}
					}
					t.Annotations[k] = v
				}
			}
			if err != nil {
				return nil, err
			}
		}
	}
	for i, kc := range kt.Spec.Containers {
		c := &runpb.Container{Name: kc.Name, Image: kc.Image, Command: kc.Command, Args: kc.Args, WorkingDir: kc.WorkingDir}
		for _, e := range kc.Env {
			if len(e.ValueFrom) > 0 && string(e.ValueFrom) != "null" {
				return nil, grpcInvalid("spec.template.spec.containers[%d].env[%s]: values from Secret Manager are not simulated; give a literal value", i, e.Name)
			}
			c.Env = append(c.Env, &runpb.EnvVar{Name: e.Name, Values: &runpb.EnvVar_Value{Value: e.Value}})
		}
		for _, p := range kc.Ports {
			c.Ports = append(c.Ports, &runpb.ContainerPort{Name: p.Name, ContainerPort: p.ContainerPort})
		}
		if kc.Resources != nil && len(kc.Resources.Limits) > 0 {
			c.Resources = &runpb.ResourceRequirements{Limits: kc.Resources.Limits, CpuIdle: true}
		}
		c.StartupProbe = runProbeFromKn(kc.StartupProbe)
		c.LivenessProbe = runProbeFromKn(kc.LivenessProbe)
		c.ReadinessProbe = runProbeFromKn(kc.ReadinessProbe)
		t.Containers = append(t.Containers, c)
	}
	if cpuThrottling != nil || startupBoost != nil {
		for _, c := range t.Containers {
			if c.Resources == nil {
				c.Resources = &runpb.ResourceRequirements{CpuIdle: true}
			}
			if cpuThrottling != nil {
				c.Resources.CpuIdle = *cpuThrottling
			}
			if startupBoost != nil {
				c.Resources.StartupCpuBoost = *startupBoost
			}
		}
	}
	return t, nil
}

func runProbeFromKn(p *knProbe) *runpb.Probe {
	if p == nil {
		return nil
	}
	out := &runpb.Probe{InitialDelaySeconds: p.InitialDelaySeconds, TimeoutSeconds: p.TimeoutSeconds, PeriodSeconds: p.PeriodSeconds, FailureThreshold: p.FailureThreshold}
	switch {
	case p.TCPSocket != nil:
		out.ProbeType = &runpb.Probe_TcpSocket{TcpSocket: &runpb.TCPSocketAction{Port: p.TCPSocket.Port}}
	case p.HTTPGet != nil:
		out.ProbeType = &runpb.Probe_HttpGet{HttpGet: &runpb.HTTPGetAction{Path: p.HTTPGet.Path, Port: p.HTTPGet.Port}}
	case p.GRPC != nil:
		out.ProbeType = &runpb.Probe_Grpc{Grpc: &runpb.GRPCAction{Port: p.GRPC.Port, Service: p.GRPC.Service}}
	}
	return out
}
