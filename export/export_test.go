package export_test

import (
	"context"
	"testing"

	"github.com/beyond-lab/beyond/export"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/gcp/sim/simtest"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/steps"
)

// built is the lab built on a fresh simulator by the runner, up to the
// forwarding rule and its production part, with the workshop's hello
// image (no build).
type built struct {
	sim   *sim.Sim
	cloud *gcp.Cloud
	vars  steps.Vars
	lab   *export.Lab
}

func build(t testing.TB, project string) *built {
	t.Helper()
	s := simtest.Start(t, sim.Options{})
	vars := steps.DefaultVars()
	vars.Project = project
	vars.Image = lab.HelloImage
	cloud := simtest.Connect(t, s, project)
	r, err := steps.New(cloud, vars, steps.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sum, err := r.Run(ctx, steps.Range{From: steps.Project, To: steps.ForwardingRule})
	if err != nil || !sum.OK() {
		t.Fatalf("building the lab: %+v %v", sum, err)
	}
	// The production part (ingress through the load balancer only, the
	// Cloud Armor policy, the ceiling on instances) builds on the load
	// balancer; the verification between is a learner's, not a resource.
	sum, err = r.Run(ctx, steps.Range{From: steps.Ingress, To: steps.MaxInstances})
	if err != nil || !sum.OK() {
		t.Fatalf("building the production part: %+v %v", sum, err)
	}
	// Its HTTPS half (the static address, the DNS zone, the certificate
	// and its map, the HTTPS proxy and rule, the redirect), on the
	// simulator's test domain; the check after is a request, not a resource.
	sum, err = r.Run(ctx, steps.Range{From: steps.StaticIP, To: steps.HTTPSRedirect})
	if err != nil || !sum.OK() {
		t.Fatalf("building the HTTPS half: %+v %v", sum, err)
	}
	l, err := export.Read(ctx, cloud, vars)
	if err != nil {
		t.Fatal(err)
	}
	return &built{sim: s, cloud: cloud, vars: vars, lab: l}
}

// TestReadOfAnEmptyProject: a project where the lab never ran (its APIs
// off) reads as empty, not as an error about the APIs.
func TestReadOfAnEmptyProject(t *testing.T) {
	s := simtest.Start(t, sim.Options{})
	vars := steps.DefaultVars()
	vars.Project = "beyond-export-empty"
	l, err := export.Read(context.Background(), simtest.Connect(t, s, vars.Project), vars)
	if err != nil || !l.Empty() {
		t.Errorf("Read of an empty project = %+v, %v; want empty, no error", l, err)
	}
}
