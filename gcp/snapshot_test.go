package gcp

import (
	"context"
	"net/http"
	"testing"

	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/lab"
)

// TestSnapshotCountsAndMemoisesSingleReads: the reads a sweep makes of
// resources with no list behind them (Part 5's address, proxy, zone,
// record, certificate; the service account; the project's IAM policy) are
// each asked once per Snapshot and counted, every attempt included.
func TestSnapshotCountsAndMemoisesSingleReads(t *testing.T) {
	faults := sim.NewFaults(1, 0)
	s := sim.New(sim.Options{Faults: faults})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	c, err := Connect(ctx, "snapshot-reads", s.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.EnableAPIs(ctx, []string{lab.APICompute, lab.APIDNS, lab.APIIAM, lab.APIResourceManager, lab.APICertManager}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.ReserveAddress(ctx, "lab-ip", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateZone(ctx, "lab-zone", "lab.example.", "a test zone", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateServiceAccount(ctx, "lab-sa", "a test account"); err != nil {
		t.Fatal(err)
	}

	snap := c.Snapshot()
	reads := func() {
		t.Helper()
		for range 3 {
			a, err := snap.GetAddress(ctx, "lab-ip")
			if err != nil || a.GetAddress() == "" {
				t.Fatalf("GetAddress: %v %v", a, err)
			}
			a.Address = nil // an edit of one answer reaches no other
			if _, err := snap.GetZone(ctx, "lab-zone"); err != nil {
				t.Fatal(err)
			}
			if _, err := snap.GetServiceAccount(ctx, "lab-sa"); err != nil {
				t.Fatal(err)
			}
			for _, role := range []string{"roles/aiplatform.user", "roles/run.invoker"} {
				if _, err := snap.ProjectRoleHolds(ctx, role, "serviceAccount:"+c.ServiceAccountEmail("lab-sa")); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := snap.GetTargetHTTPSProxy(ctx, "none"); !IsNotFound(err) {
				t.Fatalf("a missing proxy: %v, want not found", err)
			}
		}
	}
	reads()
	// Address, zone, account, policy, proxy: one call each.
	if got := snap.Calls(); got != 5 {
		t.Errorf("three rounds of five reads made %d calls, want 5 (one each, memoised)", got)
	}
	if c.Calls() != 0 {
		t.Errorf("the cloud itself counts %d calls; only a Snapshot counts", c.Calls())
	}

	// A new Snapshot asks again; a 429 is retried, and counted.
	faults.Add(sim.Fault{Method: "dns.managedZones.get", Status: http.StatusTooManyRequests, Times: 1})
	snap = c.Snapshot()
	reads()
	if got := snap.Calls(); got != 6 {
		t.Errorf("with one 429: %d calls, want 6 (the retry counted)", got)
	}
}
