package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/steps"
)

// The runner is what the TUI drives.
var _ Lab = (*steps.Runner)(nil)

// TestWalkSimulator walks the real lab, step by step with the keys, on the
// embedded simulator (latency off), watching the global IP on the way.
func TestWalkSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("walks the whole lab on the simulator")
	}
	s := sim.New(sim.Options{})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	cloud, err := gcp.Connect(ctx, "beyond-tui-test", s.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cloud.Close() })
	vars := steps.DefaultVars()
	vars.Project = "beyond-tui-test"
	vars.Image = lab.HelloImage

	var runner *steps.Runner
	h := newHarness(t, lazyLab{&runner}, Options{NoColor: true}, func(emit func(steps.Event)) {
		runner, err = steps.New(cloud, vars, steps.Options{Emit: emit, Store: steps.Store{Dir: t.TempDir()}})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Cleanup(runner.Close)
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.contains("SIMULATOR — nothing billable")
	h.press("enter")

	watched := false
	for h.m.current().id != "next" {
		h.press("n")
		it := h.m.current()
		if it.reading {
			continue
		}
		h.contains(it.title)
		h.press("enter")
		h.idle()
		if st := h.m.status(it.id); st != steps.StatusPassed {
			t.Fatalf("step %s: %s\n%s", it.id, st, h.screen())
		}
		h.contains("✓ Check passed")
		if it.id == steps.Curl {
			// Watch the global IP for a moment: samples reach the panel.
			h.press("w")
			h.until("samples from the prober", func() bool { return h.m.fo.total >= 10 })
			h.contains("Live ", "recent AAAA", "A 100%")
			h.press("w")
			h.until("the prober to stop", func() bool { return h.m.watch == nil })
			watched = true
		}
	}
	if !watched {
		t.Error("the lab has no curl step: the panel was never watched")
	}
	if h.m.fo.report == nil {
		t.Error("the failover step reported no measurement to the panel")
	}
	measured := false
	for _, mk := range h.m.fo.marks {
		measured = measured || strings.HasPrefix(mk.text, "measured: rerouted in")
	}
	if !measured {
		t.Errorf("the timeline has no measurement: %+v", h.m.fo.marks)
	}
	h.press("q")
	h.until("q to quit", func() bool { return h.quit })
	if saved := runner.Saved(); saved.Steps[steps.Cleanup].Status != steps.StatusPassed {
		t.Errorf("cleanup saved as %q", saved.Steps[steps.Cleanup].Status)
	}
	if !strings.Contains(h.screen(), "passed") {
		t.Error("no step shows passed")
	}
}

// lazyLab lets the harness build the model before the runner exists: it
// forwards to the runner the harness's start function made.
type lazyLab struct{ r **steps.Runner }

func (l lazyLab) Steps() []*steps.Step            { return (*l.r).Steps() }
func (l lazyLab) Command(id string) string        { return (*l.r).Command(id) }
func (l lazyLab) Saved() steps.Saved              { return (*l.r).Saved() }
func (l lazyLab) Simulated() bool                 { return (*l.r).Simulated() }
func (l lazyLab) Vars() steps.Vars                { return (*l.r).Vars() }
func (l lazyLab) Outputs() steps.Outputs          { return (*l.r).Outputs() }
func (l lazyLab) Watch(ctx context.Context) error { return (*l.r).Watch(ctx) }
func (l lazyLab) SetClientLocation(region string) error {
	return (*l.r).SetClientLocation(region)
}
func (l lazyLab) RunStep(ctx context.Context, id string) (steps.Status, error) {
	return (*l.r).RunStep(ctx, id)
}
func (l lazyLab) CheckStep(ctx context.Context, id string) (steps.Status, error) {
	return (*l.r).CheckStep(ctx, id)
}
func (l lazyLab) Run(ctx context.Context, rg steps.Range) (steps.Summary, error) {
	return (*l.r).Run(ctx, rg)
}
func (l lazyLab) Await(ctx context.Context, id string, every time.Duration) (steps.Status, error) {
	return (*l.r).Await(ctx, id, every)
}
