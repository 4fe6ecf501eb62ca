package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/beyond-lab/beyond/gcp"
)

// resource is one thing the lab creates, with how to delete it.
type resource struct {
	kind, name, where string
	del               func(context.Context, *Session) (bool, error)
}

// resources lists everything the lab creates, in the order it must be
// deleted: each before what it uses.
func resources(s *Session) []resource {
	v, c := s.Vars, s.Cloud
	return []resource{
		{"forwarding rule", v.Rule, "global", func(ctx context.Context, s *Session) (bool, error) {
			return c.DeleteForwardingRule(ctx, v.Rule, s.Progress)
		}},
		{"target HTTP proxy", v.Proxy, "global", func(ctx context.Context, s *Session) (bool, error) {
			return c.DeleteTargetHTTPProxy(ctx, v.Proxy, s.Progress)
		}},
		{"URL map", v.URLMap, "global", func(ctx context.Context, s *Session) (bool, error) { return c.DeleteURLMap(ctx, v.URLMap, s.Progress) }},
		{"backend service", v.Backend, "global", func(ctx context.Context, s *Session) (bool, error) {
			return c.DeleteBackendService(ctx, v.Backend, s.Progress)
		}},
		{"NEG", v.NEGA, v.RegionA, func(ctx context.Context, s *Session) (bool, error) {
			return c.DeleteNEG(ctx, v.RegionA, v.NEGA, s.Progress)
		}},
		{"NEG", v.NEGB, v.RegionB, func(ctx context.Context, s *Session) (bool, error) {
			return c.DeleteNEG(ctx, v.RegionB, v.NEGB, s.Progress)
		}},
		{"Cloud Run service", v.Service, v.RegionA, func(ctx context.Context, s *Session) (bool, error) {
			return c.DeleteService(ctx, v.RegionA, v.Service, s.Progress)
		}},
		{"Cloud Run service", v.Service, v.RegionB, func(ctx context.Context, s *Session) (bool, error) {
			return c.DeleteService(ctx, v.RegionB, v.Service, s.Progress)
		}},
		{"Artifact Registry repository", v.Repository, v.RegionA, func(ctx context.Context, s *Session) (bool, error) {
			return c.DeleteRepository(ctx, v.RegionA, v.Repository, s.Progress)
		}},
	}
}

func cleanupCommand(s *Session) string {
	v := s.Vars
	return strings.Join([]string{
		"gcloud compute forwarding-rules delete " + v.Rule + " --global --quiet",
		"gcloud compute target-http-proxies delete " + v.Proxy + " --quiet",
		"gcloud compute url-maps delete " + v.URLMap + " --quiet",
		"gcloud compute backend-services delete " + v.Backend + " --global --quiet",
		"gcloud compute network-endpoint-groups delete " + v.NEGA + " --region " + v.RegionA + " --quiet",
		"gcloud compute network-endpoint-groups delete " + v.NEGB + " --region " + v.RegionB + " --quiet",
		"gcloud run services delete " + v.Service + " --region " + v.RegionA + " --quiet",
		"gcloud run services delete " + v.Service + " --region " + v.RegionB + " --quiet",
		"gcloud artifacts repositories delete " + v.Repository + " --location " + v.RegionA + " --quiet",
	}, "\n")
}

func stepCleanup() *Step {
	return &Step{
		ID: "cleanup", Part: "cleanup", Title: "Clean up", Optional: true,
		Command: cleanupCommand,
		Do: func(ctx context.Context, s *Session) (string, error) {
			var removed []string
			for _, r := range resources(s) {
				s.Progress(fmt.Sprintf("deleting %s %s (%s)", r.kind, r.name, r.where))
				gone, err := r.del(ctx, s)
				if gcp.KindOf(err) == gcp.KindAPIDisabled {
					continue // an API that is off holds none of the lab's resources (as Remaining says)
				}
				if err != nil {
					return strings.Join(removed, "; "), err
				}
				if gone {
					removed = append(removed, fmt.Sprintf("%s %s (%s)", r.kind, r.name, r.where))
					s.Progress(fmt.Sprintf("deleted %s %s (%s)", r.kind, r.name, r.where))
				}
			}
			delete(s.Outputs, "global_ip")
			delete(s.Outputs, "image")
			if len(removed) == 0 {
				return "Nothing to delete: none of the lab's resources exist.", nil
			}
			return "Deleted " + strings.Join(removed, "; ") + ".", nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			left, err := Remaining(ctx, s)
			if err != nil {
				return "", err
			}
			if len(left) > 0 {
				return "", failf("Run this step again, or `beyond cleanup`", "still there: "+strings.Join(left, "; "))
			}
			return "None of the lab's resources remain.", nil
		},
	}
}

// Remaining lists the lab's resources that still exist.
func Remaining(ctx context.Context, s *Session) ([]string, error) {
	v, c := s.Vars, s.Cloud
	var left []string
	add := func(kind, name, where string, err error) error {
		switch {
		case err == nil:
			left = append(left, fmt.Sprintf("%s %s (%s)", kind, name, where))
		case !gcp.IsNotFound(err):
			return err
		}
		return nil
	}
	checks := []func() error{
		func() error {
			_, err := c.GetForwardingRule(ctx, v.Rule)
			return add("forwarding rule", v.Rule, "global", err)
		},
		func() error {
			_, err := c.GetTargetHTTPProxy(ctx, v.Proxy)
			return add("target HTTP proxy", v.Proxy, "global", err)
		},
		func() error { _, err := c.GetURLMap(ctx, v.URLMap); return add("URL map", v.URLMap, "global", err) },
		func() error {
			_, err := c.GetBackendService(ctx, v.Backend)
			return add("backend service", v.Backend, "global", err)
		},
		func() error { _, err := c.GetNEG(ctx, v.RegionA, v.NEGA); return add("NEG", v.NEGA, v.RegionA, err) },
		func() error { _, err := c.GetNEG(ctx, v.RegionB, v.NEGB); return add("NEG", v.NEGB, v.RegionB, err) },
		func() error {
			_, err := c.GetService(ctx, v.RegionA, v.Service)
			return add("Cloud Run service", v.Service, v.RegionA, err)
		},
		func() error {
			_, err := c.GetService(ctx, v.RegionB, v.Service)
			return add("Cloud Run service", v.Service, v.RegionB, err)
		},
		func() error {
			_, err := c.GetRepository(ctx, v.RegionA, v.Repository)
			return add("Artifact Registry repository", v.Repository, v.RegionA, err)
		},
	}
	for _, check := range checks {
		if err := check(); err != nil {
			if gcp.KindOf(err) == gcp.KindAPIDisabled {
				// An API that is off holds none of the lab's resources.
				continue
			}
			return left, err
		}
	}
	return left, nil
}
