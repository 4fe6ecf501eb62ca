package steps

import (
	"strings"
	"testing"
	"time"
)

// TestLeftBillableSaysWhatAndHowToDelete: what the front ends say after a
// run on Google names each billable resource the passed steps created, where
// it is and how it is charged, then the command that deletes them; nothing
// once a cleanup passed after them.
func TestLeftBillableSaysWhatAndHowToDelete(t *testing.T) {
	v := DefaultVars()
	v.Project = "beyond-test"
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	saved := map[string]SavedState{DeployA: {Status: StatusPassed, At: t0}, ForwardingRule: {Status: StatusPassed, At: t0}, DeployB: {Status: StatusFailed, At: t0}}
	left := LeftBillable(Lab(), v, saved)
	for _, want := range []string{
		"Still in Google Cloud project beyond-test, and billable until you delete them:\n",
		"  - the global forwarding rule gemini-global-ip (charged by the hour)\n",
		"  - the Cloud Run service gemini-service in us-central1 (",
		"Delete everything the lab created with:\n  beyond cleanup --project beyond-test\n",
	} {
		if !strings.Contains(left, want) {
			t.Errorf("LeftBillable lacks %q:\n%s", want, left)
		}
	}
	if strings.Contains(left, "europe-west1") {
		t.Errorf("LeftBillable names region B, whose deploy failed:\n%s", left)
	}
	saved[Cleanup] = SavedState{Status: StatusPassed, At: t0.Add(time.Minute)}
	if left := LeftBillable(Lab(), v, saved); left != "" {
		t.Errorf("after cleanup, LeftBillable = %q; want nothing", left)
	}
}
