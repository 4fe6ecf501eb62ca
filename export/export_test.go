package export_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/beyond-lab/beyond/export"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/gcp/sim/simtest"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/steps"
)

// built is the lab built on a simulator by the runner, up to the forwarding
// rule and its production part, with the workshop's hello image (no build),
// and read back from it.
type built struct {
	sim   *sim.Sim
	cloud *gcp.Cloud
	vars  steps.Vars
	lab   *export.Lab
}

// shared is the simulator where the lab is built once per test binary: a
// build is a replay of most of the lab under -race, and every test reads the
// same lab. Tests change only the Lab they read, never the project.
var shared struct {
	once  sync.Once
	sim   *sim.Sim
	cloud *gcp.Cloud
	vars  steps.Vars
	err   error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cloud != nil {
		shared.cloud.Close()
	}
	if shared.sim != nil {
		shared.sim.Close()
	}
	os.Exit(code)
}

// build returns the shared lab, built on first use, read afresh: each test
// gets its own Lab to change.
func build(t testing.TB) *built {
	t.Helper()
	shared.once.Do(func() { shared.err = buildLab("beyond-export-test") })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	l, err := export.Read(context.Background(), shared.cloud, shared.vars)
	if err != nil {
		t.Fatal(err)
	}
	return &built{sim: shared.sim, cloud: shared.cloud, vars: shared.vars, lab: l}
}

func buildLab(project string) error {
	shared.sim = sim.New(sim.Options{})
	if err := shared.sim.Start(); err != nil {
		return fmt.Errorf("start the simulator: %w", err)
	}
	vars := steps.DefaultVars()
	vars.Project = project
	vars.Image = lab.HelloImage
	ctx := context.Background()
	cloud, err := gcp.Connect(ctx, project, shared.sim.Endpoints())
	if err != nil {
		return fmt.Errorf("connect to the simulator: %w", err)
	}
	shared.cloud, shared.vars = cloud, vars
	r, err := steps.New(cloud, vars, steps.Options{})
	if err != nil {
		return err
	}
	sum, err := r.Run(ctx, steps.Range{From: steps.Project, To: steps.ForwardingRule})
	if err != nil || !sum.OK() {
		return fmt.Errorf("building the lab: %+v %v", sum, err)
	}
	// The production part (ingress through the load balancer only, the
	// Cloud Armor policy, the ceiling on instances) builds on the load
	// balancer; the verification between is a learner's, not a resource.
	sum, err = r.Run(ctx, steps.Range{From: steps.Ingress, To: steps.MaxInstances})
	if err != nil || !sum.OK() {
		return fmt.Errorf("building the production part: %+v %v", sum, err)
	}
	// Its HTTPS half (the static address, the DNS zone, the certificate
	// and its map, the HTTPS proxy and rule, the redirect), on the
	// simulator's test domain; the check after is a request, not a resource.
	sum, err = r.Run(ctx, steps.Range{From: steps.StaticIP, To: steps.HTTPSRedirect})
	if err != nil || !sum.OK() {
		return fmt.Errorf("building the HTTPS half: %+v %v", sum, err)
	}
	return nil
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
