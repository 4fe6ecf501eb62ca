package sim

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/beyond-lab/beyond/lab"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Cloud Run v1 on REST, as gcloud run speaks it: the Knative resources on
// the regional hosts (REGION-run.googleapis.com/apis/serving.knative.dev/v1/
// namespaces/PROJECT/...), and on any run.googleapis.com host the
// locations list, the cross-region service list and IAM
// (v1/projects/P/locations/R/services/S:getIamPolicy). Every call is a thin
// translation (run_knative.go) onto the core's service methods, under the
// gRPC surface's fault names, so a service deployed with gcloud is the one
// the Go clients see and the data plane serves.

// runHost serves run.googleapis.com: region is set on the regional hosts.
// kn is the Knative surface (knativeREST), v1 and v2 the One Platform
// ones (runV1REST, runV2REST).
func (s *Sim) runHost(region string, kn, v1, v2 http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		switch {
		case len(segs) >= 3 && segs[0] == "apis" && segs[1] == "serving.knative.dev" && segs[2] == "v1":
			if region == "" {
				restWriteError(w, status.Errorf(codes.InvalidArgument, "Cloud Run's Knative API is regional: send the request to REGION-run.googleapis.com (gcloud does when given --region)."), 0)
				return
			}
			kn.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), knRegionKey{}, region)))
		case len(segs) >= 1 && segs[0] == "v1":
			v1.ServeHTTP(w, r)
		case len(segs) >= 1 && segs[0] == "v2":
			v2.ServeHTTP(w, r)
		default:
			restWriteError(w, status.Errorf(codes.NotFound, "The simulator's Cloud Run does not serve %s %s: it serves /apis/serving.knative.dev/v1/..., /v1/projects/... and /v2/projects/....", r.Method, r.URL.Path), 0)
		}
	})
}

// knRegionKey carries the regional host's region to the Knative routes.
type knRegionKey struct{}

// knParent is projects/NS/locations/REGION of a Knative request.
func knParent(q *restReq) string {
	region, _ := q.r.Context().Value(knRegionKey{}).(string)
	return "projects/" + q.vars["ns"] + "/locations/" + region
}

// knativeREST is Cloud Run v1's Knative side, on the regional hosts
// (runHost puts the region in the request's context): services,
// revisions, configurations and routes under
// apis/serving.knative.dev/v1/namespaces/NS, a surface of the shared REST
// router.
func (s *Sim) knativeREST() *restAPI {
	a := &restAPI{s: s, name: "Cloud Run v1 (Knative)"}
	const ns = "apis/serving.knative.dev/v1/namespaces/{ns}"
	a.addAny("GET", ns+"/services", "run.ListServices", func(q *restReq) (any, error) {
		return s.knListServices(q.r, knParent(q))
	})
	a.addAny("POST", ns+"/services", "run.CreateService", func(q *restReq) (any, error) {
		return s.knCreateService(q.r, knParent(q))
	})
	a.addAny("GET", ns+"/services/{name}", "run.GetService", func(q *restReq) (any, error) {
		return s.knGetService(knParent(q) + "/services/" + q.vars["name"])
	})
	a.addAny("PUT", ns+"/services/{name}", "run.UpdateService", func(q *restReq) (any, error) {
		return s.knReplaceService(q.r, knParent(q), q.vars["name"])
	})
	a.addAny("DELETE", ns+"/services/{name}", "run.DeleteService", func(q *restReq) (any, error) {
		return s.knDeleteService(q.r, knParent(q), q.vars["name"])
	})
	a.addAny("GET", ns+"/revisions", "run.ListRevisions", func(q *restReq) (any, error) {
		return s.knListRevisions(q.r, knParent(q))
	})
	a.addAny("GET", ns+"/revisions/{name}", "run.GetRevision", func(q *restReq) (any, error) {
		proj, region := knProjectOf(knParent(q)), knRegionOf(knParent(q))
		rev, err := s.runGetRevision(proj, region, q.vars["name"])
		if err != nil {
			return nil, err
		}
		return knRevisionOf(rev), nil
	})
	a.addAny("DELETE", ns+"/revisions/{name}", "run.DeleteRevision", func(q *restReq) (any, error) {
		return s.knDeleteRevision(knParent(q), q.vars["name"])
	})
	for _, kind := range []string{"configurations", "routes"} {
		a.addAny("GET", ns+"/"+kind, "run.ListServices", func(q *restReq) (any, error) {
			return s.knDerived(knParent(q), kind, "")
		})
		a.addAny("GET", ns+"/"+kind+"/{name}", "run.GetService", func(q *restReq) (any, error) {
			return s.knDerived(knParent(q), kind, q.vars["name"])
		})
	}
	return a
}

// knRegionOf reads R from projects/P/locations/R.
func knRegionOf(parent string) string { return parent[strings.LastIndex(parent, "/")+1:] }

// knCreateService answers a Knative create (POST .../services).
func (s *Sim) knCreateService(r *http.Request, parent string) (any, error) {
	kn, svc, err := knDecodeService(r)
	if err != nil {
		return nil, err
	}
	if kn.Metadata.Name == "" {
		return nil, grpcInvalid("metadata.name is required: the service's name")
	}
	if ns := kn.Metadata.Namespace; ns != "" && ns != knProjectOf(parent) && s.runProjectNumber(ns) != s.runProjectNumber(knProjectOf(parent)) {
		return nil, grpcInvalid("metadata.namespace %q does not match the namespace of the URL", ns)
	}
	op, err := s.runCreateService(r.Context(), &runpb.CreateServiceRequest{Parent: parent, ServiceId: kn.Metadata.Name, Service: svc, ValidateOnly: r.URL.Query().Get("dryRun") == "all"})
	if err != nil {
		return nil, err
	}
	return s.knServiceAfter(op.GetName(), parent+"/services/"+kn.Metadata.Name, r)
}

// knReplaceService answers a Knative replace (PUT .../services/NAME).
func (s *Sim) knReplaceService(r *http.Request, parent, name string) (any, error) {
	kn, svc, err := knDecodeService(r)
	if err != nil {
		return nil, err
	}
	if kn.Metadata.Name != "" && kn.Metadata.Name != name {
		return nil, grpcInvalid("metadata.name %q does not match the service in the URL, %q", kn.Metadata.Name, name)
	}
	svc.Name = parent + "/services/" + name
	// resourceVersion is Knative's optimistic concurrency: the etag.
	svc.Etag = kn.Metadata.ResourceVersion
	op, err := s.runUpdateService(r.Context(), &runpb.UpdateServiceRequest{Service: svc, ValidateOnly: r.URL.Query().Get("dryRun") == "all"})
	if err != nil {
		return nil, err
	}
	return s.knServiceAfter(op.GetName(), svc.Name, r)
}

// knDeleteService answers a Knative delete with Knative's Status.
func (s *Sim) knDeleteService(r *http.Request, parent, name string) (any, error) {
	op, err := s.runDeleteService(&runpb.DeleteServiceRequest{Name: parent + "/services/" + name, ValidateOnly: r.URL.Query().Get("dryRun") == "all"})
	if err != nil {
		return nil, err
	}
	var uid string
	if svc := new(runpb.Service); op.GetMetadata().UnmarshalTo(svc) == nil {
		uid = svc.GetUid()
	}
	return map[string]any{
		"apiVersion": "v1", "kind": "Status", "status": "Success", "metadata": map[string]any{},
		"details": map[string]any{"name": name, "group": "serving.knative.dev", "kind": "services", "uid": uid},
	}, nil
}

// knServiceAfter answers a create or replace: the service as it now reads,
// its deploy under way (Knative's create and replace return the object, not
// an operation; the outcome shows in its conditions). A dry run answers the
// would-be service from the validating operation.
func (s *Sim) knServiceAfter(opName, name string, r *http.Request) (any, error) {
	proj := knProjectOf(name)
	if r.URL.Query().Get("dryRun") == "all" {
		op, err := s.getOperation(&longrunningpb.GetOperationRequest{Name: opName})
		if err != nil {
			return nil, err
		}
		svc := new(runpb.Service)
		if err := op.GetResponse().UnmarshalTo(svc); err != nil {
			return nil, status.Errorf(codes.Internal, "reading the dry run's service: %v", err)
		}
		return knServiceOf(svc, s.runProjectNumber(proj)), nil
	}
	return s.knGetService(name)
}

// knGetService reads a service for a v1 answer. A service that has just
// become ready may not have its front on the data plane yet (the data plane
// reconciles after the change): it is given one first, so that the URL
// gcloud prints is one the learner can curl.
func (s *Sim) knGetService(name string) (*knService, error) {
	get := func() (*runpb.Service, error) {
		return s.runGetService(&runpb.GetServiceRequest{Name: name})
	}
	svc, err := get()
	if err != nil {
		return nil, err
	}
	if svc.GetLatestReadyRevision() != "" && strings.HasSuffix(svc.GetUri(), ".run.app") {
		proj, region, id, _ := parseRunName(svc.GetName())
		if _, ok := s.ServiceURL(proj, region, id); ok {
			if svc, err = get(); err != nil {
				return nil, err
			}
		}
	}
	return knServiceOf(svc, s.runProjectNumber(knProjectOf(name))), nil
}

// knDecodeService reads a Knative Service body and its v2 equivalent.
func knDecodeService(r *http.Request) (*knService, *runpb.Service, error) {
	kn := new(knService)
	if err := restDecode(r, kn); err != nil {
		return nil, nil, err
	}
	svc, err := runServiceFromKn(kn)
	if err != nil {
		return nil, nil, err
	}
	return kn, svc, nil
}

// knProjectOf reads P from projects/P/locations/R[/...].
func knProjectOf(name string) string {
	parts := strings.Split(name, "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

// knList is a Knative list answer.
type knList struct {
	APIVersion  string         `json:"apiVersion"`
	Kind        string         `json:"kind"`
	Metadata    map[string]any `json:"metadata"`
	Items       []any          `json:"items"`
	Unreachable []string       `json:"unreachable,omitempty"`
}

// knListServices lists a region's services (or every region's, "-"),
// paged by limit and continue, filtered by labelSelector.
func (s *Sim) knListServices(r *http.Request, parent string) (any, error) {
	sel, err := knParseSelector(r.URL.Query().Get("labelSelector"))
	if err != nil {
		return nil, err
	}
	req := &runpb.ListServicesRequest{Parent: parent, PageToken: r.URL.Query().Get("continue")}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return nil, grpcInvalid("limit %q is not a number of items", l)
		}
		req.PageSize = int32(n)
	}
	resp, err := s.runListServices(req)
	if err != nil {
		return nil, err
	}
	number := s.runProjectNumber(knProjectOf(parent))
	out := &knList{APIVersion: knServingAPI, Kind: "ServiceList", Metadata: map[string]any{}, Items: []any{}}
	if resp.GetNextPageToken() != "" {
		out.Metadata["continue"] = resp.GetNextPageToken()
	}
	for _, svc := range resp.GetServices() {
		kn := knServiceOf(svc, number)
		if sel.matches(kn.Metadata.Labels) {
			out.Items = append(out.Items, kn)
		}
	}
	return out, nil
}

// knSelector is a Kubernetes label selector of equality terms:
// "k = v", "k == v", "k != v", "k" (exists), "!k", joined by commas.
type knSelector []struct {
	key, value string
	op         string // "=", "!=", "exists", "!exists"
}

func knParseSelector(s string) (knSelector, error) {
	var out knSelector
	for _, term := range strings.Split(s, ",") {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		var t struct{ key, value, op string }
		switch {
		case strings.Contains(term, "!="):
			k, v, _ := strings.Cut(term, "!=")
			t.key, t.value, t.op = strings.TrimSpace(k), strings.TrimSpace(v), "!="
		case strings.Contains(term, "=="):
			k, v, _ := strings.Cut(term, "==")
			t.key, t.value, t.op = strings.TrimSpace(k), strings.TrimSpace(v), "="
		case strings.Contains(term, "="):
			k, v, _ := strings.Cut(term, "=")
			t.key, t.value, t.op = strings.TrimSpace(k), strings.TrimSpace(v), "="
		case strings.HasPrefix(term, "!"):
			t.key, t.op = strings.TrimSpace(term[1:]), "!exists"
		case !strings.ContainsAny(term, " ()"):
			t.key, t.op = term, "exists"
		default:
			return nil, grpcInvalid("labelSelector term %q is not supported: use key = value, key != value, key or !key, joined by commas", term)
		}
		if t.key == "" {
			return nil, grpcInvalid("labelSelector term %q has no key", term)
		}
		out = append(out, t)
	}
	return out, nil
}

func (sel knSelector) matches(labels map[string]string) bool {
	for _, t := range sel {
		v, ok := labels[t.key]
		switch t.op {
		case "=":
			if !ok || v != t.value {
				return false
			}
		case "!=":
			if ok && v == t.value {
				return false
			}
		case "exists":
			if !ok {
				return false
			}
		case "!exists":
			if ok {
				return false
			}
		}
	}
	return true
}

// knListRevisions lists a region's revisions, filtered by labelSelector.
func (s *Sim) knListRevisions(r *http.Request, parent string) (any, error) {
	sel, err := knParseSelector(r.URL.Query().Get("labelSelector"))
	if err != nil {
		return nil, err
	}
	revs, err := s.runListRevisions(knProjectOf(parent), knRegionOf(parent), "")
	if err != nil {
		return nil, err
	}
	out := &knList{APIVersion: knServingAPI, Kind: "RevisionList", Metadata: map[string]any{}, Items: []any{}}
	for _, rev := range revs {
		kn := knRevisionOf(rev)
		if sel.matches(kn.Metadata.Labels) {
			out.Items = append(out.Items, kn)
		}
	}
	return out, nil
}

// knDeleteRevision deletes a revision and answers Knative's Status.
func (s *Sim) knDeleteRevision(parent, name string) (any, error) {
	rev, err := s.runDeleteRevision(knProjectOf(parent), knRegionOf(parent), name)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"apiVersion": "v1", "kind": "Status", "status": "Success", "metadata": map[string]any{},
		"details": map[string]any{"name": name, "group": "serving.knative.dev", "kind": "revisions", "uid": knRevisionUID(rev)},
	}, nil
}

// knRevision is a Knative Revision.
type knRevision struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   knMeta            `json:"metadata"`
	Spec       knRevisionSpec    `json:"spec"`
	Status     *knRevisionStatus `json:"status,omitempty"`
}

type knRevisionStatus struct {
	ObservedGeneration int64         `json:"observedGeneration,omitempty"`
	Conditions         []knCondition `json:"conditions,omitempty"`
	LogURL             string        `json:"logUrl,omitempty"`
	ImageDigest        string        `json:"imageDigest,omitempty"`
}

func knRevisionUID(rev runRevisionInfo) string {
	return runDerivedUID(rev.ServiceUID, "revision/"+rev.Name)
}

// knRevisionOf renders a revision: its template, the labels that tie it to
// its service, and conditions from how its deploy went.
func knRevisionOf(rev runRevisionInfo) *knRevision {
	t := knTemplateOf(rev.Template)
	ns := strconv.FormatInt(rev.ProjectNumber, 10)
	meta := *t.Metadata
	meta.Name = rev.Name
	meta.Namespace = ns
	meta.SelfLink = fmt.Sprintf("/apis/%s/namespaces/%s/revisions/%s", knServingAPI, ns, rev.Name)
	meta.UID = knRevisionUID(rev)
	meta.ResourceVersion = runDerivedUID(meta.UID, fmt.Sprintf("%t/%t/%t", rev.Pending, rev.Ready, rev.Serving))[:16]
	meta.Generation = 1
	meta.CreationTimestamp = rev.Created.UTC().Format(knTimestampLayout)
	meta.Labels[knLabelLocation] = rev.Region
	meta.Labels[knLabelService] = rev.Service
	meta.Labels[knLabelServiceUID] = rev.ServiceUID
	meta.Labels[knLabelConfig] = rev.Service
	meta.Labels[knLabelConfigGen] = strconv.Itoa(rev.Number)
	if rev.Serving {
		meta.Labels[knLabelRoute] = rev.Service
	}
	meta.Annotations[knAnnCreator] = runPrincipal
	meta.OwnerReferences = []knOwner{{Kind: "Configuration", Name: rev.Service, UID: runDerivedUID(rev.ServiceUID, "configuration"), APIVersion: knServingAPI, Controller: true, BlockOwnerDeletion: true}}
	ts := meta.CreationTimestamp
	cond := func(typ, st, reason, msg, severity string) knCondition {
		return knCondition{Type: typ, Status: st, Reason: reason, Message: msg, LastTransitionTime: ts, Severity: severity}
	}
	var conds []knCondition
	switch {
	case rev.Pending:
		conds = []knCondition{
			cond("Ready", "Unknown", "Deploying", "", ""),
			cond("ContainerHealthy", "Unknown", "Deploying", "", ""),
			cond("ResourcesAvailable", "Unknown", "Deploying", "", ""),
		}
	case rev.Ready:
		conds = []knCondition{
			cond("Ready", "True", "", "", ""),
			cond("ContainerHealthy", "True", "", "", ""),
			cond("ResourcesAvailable", "True", "", "", ""),
		}
	default:
		reason := knCamel(rev.Reason.String())
		conds = []knCondition{
			cond("Ready", "False", reason, rev.Failure, ""),
			cond("ContainerHealthy", "False", reason, rev.Failure, ""),
			cond("ResourcesAvailable", "True", "", "", ""),
		}
	}
	if rev.Serving {
		conds = append(conds, cond("Active", "True", "", "", "Info"))
	} else {
		conds = append(conds, cond("Active", "False", "Reserve", "Revision is not serving traffic.", "Info"))
	}
	st := &knRevisionStatus{ObservedGeneration: 1, Conditions: conds, LogURL: runRevisionLogURL(rev)}
	if rev.Digest != "" {
		img := rev.Image
		if i := strings.Index(img, "@"); i >= 0 {
			img = img[:i]
		}
		st.ImageDigest = img + "@" + rev.Digest
	}
	return &knRevision{APIVersion: knServingAPI, Kind: "Revision", Metadata: meta, Spec: t.Spec, Status: st}
}

func runRevisionLogURL(rev runRevisionInfo) string {
	return fmt.Sprintf("https://console.cloud.google.com/logs/viewer?project=%d&resource=cloud_run_revision/service_name/%s/revision_name/%s", rev.ProjectNumber, rev.Service, rev.Name)
}

// runDerivedUID is a stable UUID-shaped id for an object derived from
// another (a revision of a service), so that it reads the same every time.
func runDerivedUID(base, what string) string {
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte(base+"/"+what)))
	return sum[0:8] + "-" + sum[8:12] + "-" + sum[12:16] + "-" + sum[16:20] + "-" + sum[20:32]
}

// knDerived answers configurations and routes: views of a service that
// Knative keeps as objects of their own (one of each per service, same
// name), read-only on Cloud Run.
func (s *Sim) knDerived(parent, kind, name string) (any, error) {
	number := s.runProjectNumber(knProjectOf(parent))
	view := knConfigurationOf
	if kind == "routes" {
		view = knRouteOf
	}
	if name != "" {
		svc, err := s.runGetService(&runpb.GetServiceRequest{Name: parent + "/services/" + name})
		if err != nil {
			return nil, err
		}
		return view(knServiceOf(svc, number)), nil
	}
	resp, err := s.runListServices(&runpb.ListServicesRequest{Parent: parent, PageSize: 1000})
	if err != nil {
		return nil, err
	}
	listKind := "ConfigurationList"
	if kind == "routes" {
		listKind = "RouteList"
	}
	out := &knList{APIVersion: knServingAPI, Kind: listKind, Metadata: map[string]any{}, Items: []any{}}
	for _, svc := range resp.GetServices() {
		out.Items = append(out.Items, view(knServiceOf(svc, number)))
	}
	return out, nil
}

// knDerivedMeta is the metadata of a service's configuration or route.
func knDerivedMeta(svc *knService, kind string) knMeta {
	m := svc.Metadata
	m.SelfLink = fmt.Sprintf("/apis/%s/namespaces/%s/%s/%s", knServingAPI, m.Namespace, kind, m.Name)
	m.UID = runDerivedUID(svc.Metadata.UID, strings.TrimSuffix(kind, "s"))
	m.Labels = map[string]string{knLabelService: m.Name, knLabelLocation: svc.Metadata.Labels[knLabelLocation]}
	m.OwnerReferences = []knOwner{{Kind: "Service", Name: m.Name, UID: svc.Metadata.UID, APIVersion: knServingAPI, Controller: true, BlockOwnerDeletion: true}}
	return m
}

// knReadyAs is the service's condition typ, as the Ready condition of the
// object derived from it (a Configuration, a Route).
func knReadyAs(svc *knService, typ string) []knCondition {
	conds := []knCondition{}
	for _, c := range svc.Status.Conditions {
		if c.Type == typ {
			c.Type = "Ready"
			conds = append(conds, c)
		}
	}
	return conds
}

func knConfigurationOf(svc *knService) any {
	conds := knReadyAs(svc, "ConfigurationsReady")
	return map[string]any{
		"apiVersion": knServingAPI, "kind": "Configuration",
		"metadata": knDerivedMeta(svc, "configurations"),
		"spec":     map[string]any{"template": svc.Spec.Template},
		"status": map[string]any{
			"observedGeneration":        svc.Status.ObservedGeneration,
			"latestCreatedRevisionName": svc.Status.LatestCreatedRevisionName,
			"latestReadyRevisionName":   svc.Status.LatestReadyRevisionName,
			"conditions":                conds,
		},
	}
}

func knRouteOf(svc *knService) any {
	conds := knReadyAs(svc, "RoutesReady")
	st := map[string]any{"observedGeneration": svc.Status.ObservedGeneration, "traffic": svc.Status.Traffic, "conditions": conds}
	if svc.Status.URL != "" {
		st["url"] = svc.Status.URL
		st["address"] = svc.Status.Address
	}
	return map[string]any{
		"apiVersion": knServingAPI, "kind": "Route",
		"metadata": knDerivedMeta(svc, "routes"),
		"spec":     map[string]any{"traffic": svc.Spec.Traffic},
		"status":   st,
	}
}

// runV1REST is the One Platform side of Cloud Run v1 under /v1 (a
// surface of the shared REST router): the locations, a region's services
// (or every region's, "-") as Knative objects, one service, and IAM.
func (s *Sim) runV1REST() *restAPI {
	a := &restAPI{s: s, name: "Cloud Run v1"}
	a.addAny("GET", "v1/projects/{project}/locations", "run.ListLocations", func(q *restReq) (any, error) {
		return s.runLocations(q.vars["project"])
	})
	const services = "v1/projects/{project}/locations/{location}/services"
	parent := func(q *restReq) string {
		return "projects/" + q.vars["project"] + "/locations/" + q.vars["location"]
	}
	service := func(q *restReq) string { return parent(q) + "/services/" + q.vars["service"] }
	a.addAny("GET", services, "run.ListServices", func(q *restReq) (any, error) {
		return s.knListServices(q.r, parent(q))
	})
	a.addAny("GET", services+"/{service}", "run.GetService", func(q *restReq) (any, error) {
		return s.knGetService(service(q))
	})
	s.addRunIAM(a, services+"/{service}", service)
	return a
}

// runLocations lists Cloud Run's regions as v1's projects.locations.list
// answers them (gcloud reads locationId).
func (s *Sim) runLocations(proj string) (any, error) {
	s.mu.Lock()
	p, err := s.lookupProjectLocked(proj, APIRun)
	if err == nil {
		err = s.requireEnabledLocked(p, APIRun)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	type location struct {
		Name       string            `json:"name"`
		LocationID string            `json:"locationId"`
		Labels     map[string]string `json:"labels"`
	}
	out := struct {
		Locations []location `json:"locations"`
	}{}
	for _, region := range lab.Regions {
		out.Locations = append(out.Locations, location{
			Name:       fmt.Sprintf("projects/%s/locations/%s", proj, region),
			LocationID: region,
			Labels:     map[string]string{"cloud.googleapis.com/region": region},
		})
	}
	return out, nil
}

// registerRunREST puts Cloud Run's REST surfaces on the front door
// (run.googleapis.com and its regional hosts), and v2 also on the listener's
// own paths, for the official REST client given an http://127.0.0.1 endpoint.
func (s *Sim) registerRunREST(mux *http.ServeMux) {
	kn, v1, v2 := s.knativeREST(), s.runV1REST(), s.runV2REST()
	mux.Handle("/v2/projects/", v2)
	s.hosts[lab.APIRun] = googleHost{"Cloud Run v1 and v2", func(region string) http.Handler { return s.runHost(region, kn, v1, v2) }}
}
