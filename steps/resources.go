package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Resource is one thing the lab creates in the cloud. The steps that create
// them say so (Step.Creates); the cleanup step and Billable read that, and
// nothing else lists them.
type Resource struct {
	Kind  string // e.g. "forwarding rule"
	Name  string
	Where string // "global", or a region
	// Cost says how Google charges for it, e.g. "charged by the hour"; empty
	// when it costs nothing by itself.
	Cost string

	// last puts it after every other resource in deletion order: a static
	// address is held by rules of earlier parts until they are gone.
	last   bool
	gcloud string                                        // the command that deletes it
	del    func(context.Context, *Session) (bool, error) // nil: it goes with another resource
	get    func(context.Context, *Session) error         // nil: it goes with another resource
}

func (r Resource) String() string { return fmt.Sprintf("%s %s (%s)", r.Kind, r.Name, r.Where) }

// resources lists everything the steps create, in the order it must be
// deleted: the reverse of the lab's order, so each goes before what it uses.
func resources(list []*Step, v Vars) []Resource {
	var out, last []Resource
	for _, s := range slices.Backward(list) {
		if s.Creates == nil {
			continue
		}
		for _, r := range s.Creates(v) {
			if r.last {
				last = append(last, r)
			} else {
				out = append(out, r)
			}
		}
	}
	return append(out, last...)
}

// Billable lists what Google charges for among the resources created by the
// steps that saved says passed, unless a cleanup passed after them.
func Billable(list []*Step, v Vars, saved map[string]SavedState) []Resource {
	cleaned, cleanedOK := saved[Cleanup]
	var out []Resource
	for _, s := range slices.Backward(list) {
		st, ok := saved[s.ID]
		if s.Creates == nil || !ok || st.Status != StatusPassed {
			continue
		}
		if cleanedOK && cleaned.Status == StatusPassed && !cleaned.At.Before(st.At) {
			continue
		}
		for _, r := range s.Creates(v) {
			if r.Cost != "" {
				out = append(out, r)
			}
		}
	}
	return out
}

// LeftBillable says what Billable lists, one resource a line, and the
// command that deletes them all; "" when nothing is left. Both front ends
// say it when the lab ran on Google: the guide when the learner quits, the
// replay at its end.
func LeftBillable(list []*Step, v Vars, saved map[string]SavedState) string {
	left := Billable(list, v, saved)
	if len(left) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Still in Google Cloud project %s, and billable until you delete them:\n", v.Project)
	for _, r := range left {
		if r.Where == "global" {
			fmt.Fprintf(&b, "  - the global %s %s (%s)\n", r.Kind, r.Name, r.Cost)
		} else {
			fmt.Fprintf(&b, "  - the %s %s in %s (%s)\n", r.Kind, r.Name, r.Where, r.Cost)
		}
	}
	fmt.Fprintf(&b, "Delete everything the lab created with:\n  beyond cleanup --project %s\n", v.Project)
	return b.String()
}

func createsRepository(v Vars) []Resource {
	return []Resource{{
		Kind: "Artifact Registry repository", Name: v.Repository, Where: v.RegionA, Cost: "charged for storage",
		gcloud: "gcloud artifacts repositories delete " + v.Repository + " --location " + v.RegionA + " --quiet",
		del: func(ctx context.Context, s *Session) (bool, error) {
			return s.Cloud.DeleteRepository(ctx, v.RegionA, v.Repository, s.Progress)
		},
		get: func(ctx context.Context, s *Session) error {
			_, err := s.Cloud.GetRepository(ctx, v.RegionA, v.Repository)
			return err
		},
	}}
}

// createsImage: the image lives in the repository and goes with it.
func createsImage(v Vars) []Resource {
	if v.Image != "" {
		return nil // nothing is built: the lab deploys that image
	}
	return []Resource{{
		Kind: "image", Name: fmt.Sprintf("%s-docker.pkg.dev/%s/%s/%s", v.RegionA, v.Project, v.Repository, v.Service),
		Where: v.RegionA, Cost: "charged for storage",
	}}
}

func createsService(region func(Vars) string) func(Vars) []Resource {
	return func(v Vars) []Resource {
		r := region(v)
		return []Resource{{
			Kind: "Cloud Run service", Name: v.Service, Where: r, Cost: "charged while it serves",
			gcloud: "gcloud run services delete " + v.Service + " --region " + r + " --quiet",
			del: func(ctx context.Context, s *Session) (bool, error) {
				return s.Cloud.DeleteService(ctx, r, v.Service, s.Progress)
			},
			get: func(ctx context.Context, s *Session) error {
				_, err := s.Cloud.GetService(ctx, r, v.Service)
				return err
			},
		}}
	}
}

func createsNEG(which func(Vars) (name, region string)) func(Vars) []Resource {
	return func(v Vars) []Resource {
		name, region := which(v)
		return []Resource{{
			Kind: "NEG", Name: name, Where: region,
			gcloud: "gcloud compute network-endpoint-groups delete " + name + " --region " + region + " --quiet",
			del: func(ctx context.Context, s *Session) (bool, error) {
				return s.Cloud.DeleteNEG(ctx, region, name, s.Progress)
			},
			get: func(ctx context.Context, s *Session) error {
				_, err := s.Cloud.GetNEG(ctx, region, name)
				return err
			},
		}}
	}
}

func createsBackendService(v Vars) []Resource {
	return []Resource{{
		Kind: "backend service", Name: v.Backend, Where: "global",
		gcloud: "gcloud compute backend-services delete " + v.Backend + " --global --quiet",
		del: func(ctx context.Context, s *Session) (bool, error) {
			return s.Cloud.DeleteBackendService(ctx, v.Backend, s.Progress)
		},
		get: func(ctx context.Context, s *Session) error {
			_, err := s.Cloud.GetBackendService(ctx, v.Backend)
			return err
		},
	}}
}

func createsURLMap(v Vars) []Resource {
	return []Resource{{
		Kind: "URL map", Name: v.URLMap, Where: "global",
		gcloud: "gcloud compute url-maps delete " + v.URLMap + " --quiet",
		del: func(ctx context.Context, s *Session) (bool, error) {
			return s.Cloud.DeleteURLMap(ctx, v.URLMap, s.Progress)
		},
		get: func(ctx context.Context, s *Session) error {
			_, err := s.Cloud.GetURLMap(ctx, v.URLMap)
			return err
		},
	}}
}

func createsProxy(v Vars) []Resource {
	return []Resource{{
		Kind: "target HTTP proxy", Name: v.Proxy, Where: "global",
		gcloud: "gcloud compute target-http-proxies delete " + v.Proxy + " --quiet",
		del: func(ctx context.Context, s *Session) (bool, error) {
			return s.Cloud.DeleteTargetHTTPProxy(ctx, v.Proxy, s.Progress)
		},
		get: func(ctx context.Context, s *Session) error {
			_, err := s.Cloud.GetTargetHTTPProxy(ctx, v.Proxy)
			return err
		},
	}}
}

func createsForwardingRule(v Vars) []Resource {
	return []Resource{{
		Kind: "forwarding rule", Name: v.Rule, Where: "global", Cost: "charged by the hour",
		gcloud: "gcloud compute forwarding-rules delete " + v.Rule + " --global --quiet",
		del: func(ctx context.Context, s *Session) (bool, error) {
			return s.Cloud.DeleteForwardingRule(ctx, v.Rule, s.Progress)
		},
		get: func(ctx context.Context, s *Session) error {
			_, err := s.Cloud.GetForwardingRule(ctx, v.Rule)
			return err
		},
	}}
}
