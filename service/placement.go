package service

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/compute/metadata"
)

// UnknownRegion is the region reported when the metadata server cannot tell.
const UnknownRegion = "unknown"

// DefaultPlacementTimeout bounds the metadata look-up at start-up: on Cloud
// Run the server answers in milliseconds; elsewhere there is none, and
// start-up must not wait for it.
const DefaultPlacementTimeout = 1500 * time.Millisecond

// Placement is where this instance runs.
type Placement struct {
	Region    string // e.g. "us-central1"; UnknownRegion if the look-up failed
	ProjectID string // empty if the look-up failed
	// Err says why Region is unknown; nil when it is known.
	Err error
}

// LookupPlacement asks the metadata server for the region and project of
// this instance, as Cloud Run's own samples do. It honours GCE_METADATA_HOST
// (the simulator sets it) and gives up after timeout, returning
// UnknownRegion and the reason.
func LookupPlacement(ctx context.Context, timeout time.Duration) Placement {
	if timeout <= 0 {
		timeout = DefaultPlacementTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := metadata.NewWithOptions(&metadata.Options{Client: &http.Client{Timeout: timeout}})
	where := "the metadata server (169.254.169.254)"
	if h := os.Getenv("GCE_METADATA_HOST"); h != "" {
		where = "the metadata server at " + h + " (GCE_METADATA_HOST)"
	}
	raw, err := client.GetWithContext(ctx, "instance/region")
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer within %s", timeout)
		}
		return Placement{Region: UnknownRegion, Err: fmt.Errorf("cannot read the region from %s: %w; outside Google Cloud this is expected: set GCE_METADATA_HOST to a metadata server to name one", where, err)}
	}
	region := parseRegion(raw)
	if region == "" {
		return Placement{Region: UnknownRegion, Err: fmt.Errorf("%s answered region %q, not projects/NUMBER/regions/REGION", where, truncate(raw, 80))}
	}
	p := Placement{Region: region}
	if id, err := client.GetWithContext(ctx, "project/project-id"); err == nil {
		p.ProjectID = strings.TrimSpace(id)
	}
	return p
}

// parseRegion strips "projects/NUMBER/regions/" from the metadata server's
// answer, and returns "" for anything else.
func parseRegion(s string) string {
	s = strings.TrimSpace(s)
	i := strings.LastIndex(s, "/regions/")
	if i < 0 || !strings.HasPrefix(s, "projects/") {
		return ""
	}
	r := s[i+len("/regions/"):]
	if r == "" || strings.ContainsAny(r, "/ ") {
		return ""
	}
	return r
}
