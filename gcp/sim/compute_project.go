package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/beyond-lab/beyond/lab"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The calls around the resources that gcloud makes on its own: aggregated
// lists (a `list` without a scope flag), the project and its regions
// (`project-info describe`, `regions list`, and gcloud's region prompts),
// URL map validation and backend health.

// aggregatedLister serves GET aggregated/COLLECTION: every resource of a
// kind in every scope, keyed by scope, each scope without resources carrying
// Google's NO_RESULTS_ON_PAGE warning.
func (a *computeAPI) aggregatedLister(k *computeKind) func(*computeReq) {
	return func(c *computeReq) {
		f, ferr := computeParseFilter(c.r.URL.Query().Get("filter"))
		if ferr != nil {
			computeWriteError(c.w, ferr)
			return
		}
		scopes := map[string][]json.RawMessage{}
		if k.scope == "global" {
			scopes["global"] = nil
		} else {
			for _, r := range lab.Regions {
				scopes["regions/"+r] = nil
			}
		}
		a.s.mu.Lock()
		for _, key := range sortedKeys(c.p.compute.res) {
			m := c.p.compute.res[key]
			if computeKindOf(key) != k || !f.match(m) {
				continue
			}
			b, err := protojson.Marshal(k.read(c.p, key, m))
			if err != nil {
				a.s.mu.Unlock()
				computeWriteError(c.w, &computeError{http.StatusInternalServerError, "encode response: " + err.Error(), "backendError"})
				return
			}
			scope := key[:strings.LastIndex(key[:strings.LastIndex(key, "/")], "/")]
			scopes[scope] = append(scopes[scope], b)
		}
		a.s.mu.Unlock()
		items := map[string]any{}
		for scope, list := range scopes {
			if len(list) > 0 {
				items[scope] = map[string]any{k.collection: list}
				continue
			}
			items[scope] = map[string]any{"warning": map[string]any{
				"code":    "NO_RESULTS_ON_PAGE",
				"message": fmt.Sprintf("There are no results for scope '%s' on this page.", scope),
				"data":    []map[string]string{{"key": "scope", "value": scope}},
			}}
		}
		path := "aggregated/" + k.collection
		writeComputeJSON(c.w, map[string]any{
			"kind":     k.kind + "AggregatedList",
			"id":       "projects/" + c.p.id + "/" + path,
			"items":    items,
			"selfLink": computeBase + "projects/" + c.p.id + "/" + path,
		})
	}
}

// writeComputeJSON answers v as JSON with a 200.
func writeComputeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		computeWriteError(w, &computeError{http.StatusInternalServerError, "encode response: " + err.Error(), "backendError"})
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Write(b)
}

// validateURLMap serves urlMaps.validate: the map in the body is checked as
// an insert would check it, and nothing is stored.
func (a *computeAPI) validateURLMap(c *computeReq) {
	req := &computepb.UrlMapsValidateRequest{}
	if err := computeDecode(c.body, req); err != nil {
		computeWriteError(c.w, err)
		return
	}
	if req.Resource == nil {
		computeWriteError(c.w, computeRequired("resource"))
		return
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if _, _, err := urlMapKind.find(c); err != nil {
		computeWriteError(c.w, err)
		return
	}
	res := &computepb.UrlMapValidationResult{LoadSucceeded: proto.Bool(true), TestPassed: proto.Bool(true)}
	m := proto.Clone(req.Resource)
	if err := prepareURLMap(a, c, m, nil); err != nil {
		res = &computepb.UrlMapValidationResult{LoadSucceeded: proto.Bool(false), LoadErrors: []string{err.message}}
	}
	computeWrite(c.w, &computepb.UrlMapsValidateResponse{Result: res})
}

// getHealth serves backendServices.getHealth. Serverless NEGs have no
// health checks, so Google reports no endpoint health for them: the answer
// is the kind alone. A group that is not a backend of the service is a 400.
func (a *computeAPI) getHealth(c *computeReq) {
	ref := &computepb.ResourceGroupReference{}
	if err := computeDecode(c.body, ref); err != nil {
		computeWriteError(c.w, err)
		return
	}
	withFound(a, c, backendServiceKind.find, func(_ string, m proto.Message) {
		key, _, err := a.computeRef(c.p, "resourceGroupReference.group", ref.GetGroup(), "networkEndpointGroups", "instanceGroups")
		if err != nil {
			computeWriteError(c.w, err)
			return
		}
		found := false
		for _, b := range m.(*computepb.BackendService).GetBackends() {
			found = found || computeKeyOf(b.GetGroup()) == key
		}
		if !found {
			computeWriteError(c.w, computeInvalid("resourceGroupReference.group", ref.GetGroup(), "The group is not a backend of this backend service."))
			return
		}
		computeWrite(c.w, &computepb.BackendServiceGroupHealth{Kind: proto.String("compute#backendServiceGroupHealth")})
	})
}

// getProject serves projects.get, which `gcloud compute project-info
// describe` calls.
func (a *computeAPI) getProject(c *computeReq) {
	a.s.mu.Lock()
	p := c.p
	pb := &computepb.Project{
		Kind:                  proto.String("compute#project"),
		Id:                    proto.Uint64(uint64(p.number)),
		Name:                  proto.String(p.id),
		CreationTimestamp:     proto.String(computeTime(p.created)),
		SelfLink:              proto.String(computeBase + "projects/" + p.id),
		DefaultServiceAccount: proto.String(fmt.Sprintf("%d-compute@developer.gserviceaccount.com", p.number)),
		DefaultNetworkTier:    proto.String("PREMIUM"),
		XpnProjectStatus:      proto.String("UNSPECIFIED_XPN_PROJECT_STATUS"),
		CommonInstanceMetadata: &computepb.Metadata{
			Kind:        proto.String("compute#metadata"),
			Fingerprint: proto.String(emptyLabelFingerprint),
		},
	}
	a.s.mu.Unlock()
	computeWrite(c.w, pb)
}

// regionPB is a region as Google describes it; the simulator gives each
// three zones.
func regionPB(p *project, name string) *computepb.Region {
	r := &computepb.Region{
		Kind:              proto.String("compute#region"),
		Id:                proto.Uint64(computeMix(uint64(len(name))<<32 ^ uint64(fnv32(name)))),
		Name:              proto.String(name),
		Description:       proto.String(name),
		Status:            proto.String("UP"),
		CreationTimestamp: proto.String("1969-12-31T16:00:00.000-08:00"),
		SelfLink:          proto.String(computeURL(p, "regions/"+name)),
		SupportsPzs:       proto.Bool(false),
	}
	for _, z := range []string{"a", "b", "c"} {
		r.Zones = append(r.Zones, computeURL(p, "zones/"+name+"-"+z))
	}
	return r
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func (a *computeAPI) listRegions(c *computeReq) {
	f, ferr := computeParseFilter(c.r.URL.Query().Get("filter"))
	if ferr != nil {
		computeWriteError(c.w, ferr)
		return
	}
	names := slices.Sorted(slices.Values(lab.Regions))
	var items []json.RawMessage
	for _, name := range names {
		r := regionPB(c.p, name)
		if !f.match(r) {
			continue
		}
		b, err := protojson.Marshal(r)
		if err != nil {
			computeWriteError(c.w, &computeError{http.StatusInternalServerError, "encode response: " + err.Error(), "backendError"})
			return
		}
		items = append(items, b)
	}
	computeWriteList(c, "compute#regionList", "regions", items)
}

func (a *computeAPI) getRegion(c *computeReq) {
	name := c.vars["name"]
	if !lab.IsRegion(name) {
		computeWriteError(c.w, computeNotFound("projects/"+c.p.id+"/regions/"+name))
		return
	}
	computeWrite(c.w, regionPB(c.p, name))
}
