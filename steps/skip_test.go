package steps

import (
	"context"
	"strings"
	"testing"

	"github.com/beyond-lab/beyond/gcp"
)

// TestHTTPSPartSkippedOnGoogleWithoutDomain: on Google without --domain the
// HTTPS half of Part 5 is skipped, with the reason, before any call (the
// cloud here is not even connected), and counts as skipped, never passed.
func TestHTTPSPartSkippedOnGoogleWithoutDomain(t *testing.T) {
	v := DefaultVars()
	v.Project = "my-real-project"
	var skipped []Event
	r, err := New(&gcp.Cloud{Project: v.Project}, v, Options{Store: Store{Dir: t.TempDir()}, Emit: func(e Event) {
		if e.Kind == EventSkipped {
			skipped = append(skipped, e)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := r.Run(context.Background(), Range{From: StaticIP, To: HTTPSCheck})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Passed != 0 || sum.Failed != 0 || sum.Skipped != 7 {
		t.Errorf("summary %+v; want 7 skipped, none passed or failed", sum)
	}
	if len(skipped) != 7 || !strings.Contains(skipped[0].Text, "--domain") {
		t.Errorf("skipped events %v; want each to say to give --domain", skipped)
	}
	if st := r.Saved().Steps[HTTPSCheck].Status; st != StatusSkipped {
		t.Errorf("https-check saved as %q; want skipped", st)
	}
	// With a domain, nothing is skipped.
	v.Domain = "example.com"
	s := &Session{Cloud: &gcp.Cloud{Project: v.Project}, Vars: v}
	if why := needsDomain(s); why != "" {
		t.Errorf("with a domain, skipped: %s", why)
	}
}
