package steps

import (
	"context"
	"strings"

	"github.com/beyond-lab/beyond/gcp"
)

func cleanupCommand(s *Session) string {
	var lines []string
	for _, r := range resources(Lab(), s.Vars) {
		if r.gcloud != "" {
			lines = append(lines, r.gcloud)
		}
	}
	// The backend-service step's command exports a local file.
	lines = append(lines, "rm -f "+s.Vars.Backend+".yaml  # the file the backend-service command wrote, if you ran it by hand")
	return strings.Join(lines, "\n")
}

func stepCleanup() *Step {
	return &Step{
		ID: Cleanup, Part: PartCleanup, Optional: true,
		Command: cleanupCommand,
		Do: func(ctx context.Context, s *Session) (string, error) {
			var removed []string
			for _, r := range resources(Lab(), s.Vars) {
				if r.del == nil {
					continue
				}
				s.Progress("deleting " + r.String())
				gone, err := r.del(ctx, s)
				if gcp.KindOf(err) == gcp.KindAPIDisabled {
					continue // an API that is off holds none of the lab's resources (as Remaining says)
				}
				if err != nil {
					return strings.Join(removed, "; "), err
				}
				if gone {
					removed = append(removed, r.String())
					s.deleted(r.String())
				}
			}
			s.Outputs.GlobalIP, s.Outputs.Image, s.Outputs.HTTPSURL = "", "", ""
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
				return "", failf("still there: "+strings.Join(left, "; "), "Run this step again, or `beyond cleanup`")
			}
			return "None of the lab's resources remain.", nil
		},
	}
}

// Remaining lists the lab's resources that still exist.
func Remaining(ctx context.Context, s *Session) ([]string, error) {
	var left []string
	for _, r := range resources(Lab(), s.Vars) {
		if r.get == nil {
			continue
		}
		switch err := r.get(ctx, s); {
		case err == nil:
			left = append(left, r.String())
		case gcp.KindOf(err) == gcp.KindAPIDisabled:
			// An API that is off holds none of the lab's resources.
		case !gcp.IsNotFound(err):
			return left, err
		}
	}
	return left, nil
}
