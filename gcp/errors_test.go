package gcp_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/gcp/sim/simtest"
)

// connect starts a simulator with faults and connects to it.
func connect(t *testing.T, faults ...sim.Fault) *gcp.Cloud {
	t.Helper()
	s := simtest.Start(t, sim.Options{Faults: sim.NewFaults(1, 0, faults...)})
	c := simtest.Connect(t, s, "beyond-gcp-test")
	if err := c.EnableAPIs(context.Background(), []string{"run.googleapis.com", "compute.googleapis.com", "artifactregistry.googleapis.com"}, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestErrorsNameCauseAndFix(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		fault sim.Fault
		call  func(*gcp.Cloud) error
		kind  gcp.Kind
		fix   string
	}{
		{sim.Fault{Method: "compute.backendServices.get", Status: 403}, func(c *gcp.Cloud) error { _, err := c.GetBackendService(ctx, "bs"); return err },
			gcp.KindPermission, "roles/compute.viewer"},
		{sim.Fault{Method: "compute.urlMaps.insert", Status: 403}, func(c *gcp.Cloud) error { return c.CreateURLMap(ctx, nil, nil) },
			gcp.KindPermission, "roles/compute.loadBalancerAdmin"},
		{sim.Fault{Method: "run.GetService", Status: 429}, func(c *gcp.Cloud) error { _, err := c.GetService(ctx, "us-central1", "svc"); return err },
			gcp.KindQuota, "quota"},
		{sim.Fault{Method: "run.GetService", Status: 500}, func(c *gcp.Cloud) error { _, err := c.GetService(ctx, "us-central1", "svc"); return err },
			gcp.KindUnavailable, "run the step again"},
		{sim.Fault{Method: "compute.globalForwardingRules.get", Status: 404}, func(c *gcp.Cloud) error { _, err := c.GetForwardingRule(ctx, "r"); return err },
			gcp.KindNotFound, "earlier step"},
	}
	for _, tc := range cases {
		c := connect(t, tc.fault)
		err := tc.call(c)
		var ge *gcp.Error
		if !errors.As(err, &ge) {
			t.Errorf("%s: error %v is not a *gcp.Error", tc.fault.Method, err)
			continue
		}
		if ge.Kind != tc.kind {
			t.Errorf("%s: kind %v, want %v (%v)", tc.fault.Method, ge.Kind, tc.kind, err)
		}
		if !strings.Contains(ge.Fix, tc.fix) {
			t.Errorf("%s: fix %q does not mention %q", tc.fault.Method, ge.Fix, tc.fix)
		}
	}
}

func TestNotFoundAndAlreadyExists(t *testing.T) {
	ctx := context.Background()
	c := connect(t)
	if _, err := c.GetNEG(ctx, "us-central1", "missing"); !gcp.IsNotFound(err) {
		t.Errorf("missing NEG: %v", err)
	}
	if err := c.CreateServerlessNEG(ctx, "us-central1", "neg-a", "svc", nil); err != nil {
		t.Fatal(err)
	}
	err := c.CreateServerlessNEG(ctx, "us-central1", "neg-a", "svc", nil)
	if gcp.KindOf(err) != gcp.KindAlreadyExists {
		t.Errorf("duplicate NEG: %v", err)
	}
	if gone, err := c.DeleteNEG(ctx, "us-central1", "neg-a", nil); !gone || err != nil {
		t.Errorf("delete: %v %v", gone, err)
	}
	if gone, err := c.DeleteNEG(ctx, "us-central1", "neg-a", nil); gone || err != nil {
		t.Errorf("delete again: %v %v", gone, err)
	}
}
