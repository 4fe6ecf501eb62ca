package export_test

import (
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/export"
	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/gcp/sim/simtest"
	"github.com/beyond-lab/beyond/steps"
)

// runScript runs the exported script with bash and the real gcloud pointed
// at the simulator, for project.
func runScript(t *testing.T, s *sim.Sim, script []byte, project string) string {
	t.Helper()
	dir := t.TempDir()
	if err := sim.WriteGcloudConfig(dir, "some-other-project"); err != nil {
		t.Fatal(err)
	}
	env, err := sim.GcloudEnv(s.Endpoints().Compute, dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, export.ScriptFile)
	if err := os.WriteFile(path, script, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", path)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "CLOUDSDK_CORE_DISABLE_PROMPTS=1", "PROJECT_ID=" + project}, env...)
	if py := os.Getenv("CLOUDSDK_PYTHON"); py != "" {
		cmd.Env = append(cmd.Env, "CLOUDSDK_PYTHON="+py)
	}
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("the script failed in project %s: %v\n%s", project, err, out.String())
	}
	return out.String()
}

// TestScriptRebuildsTheLab: the script exported from one project, run with
// the real gcloud against the simulator in a fresh project, builds a lab
// that `beyond check` passes; run again, it creates nothing.
func TestScriptRebuildsTheLab(t *testing.T) {
	if testing.Short() {
		t.Skip("gcloud takes seconds a command; skipped with -short")
	}
	for _, tool := range []string{"gcloud", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the script cannot run here", tool)
		}
	}
	t.Parallel() // gcloud, a second a command, runs beside the other tests
	b := build(t)
	script := export.Script(b.lab)
	const to = "beyond-export-to"
	out := runScript(t, b.sim, script, to)

	vars := b.vars
	vars.Project = to
	cloud := simtest.Connect(t, b.sim, to)
	ctx := context.Background()
	// The same lab, under the same names, exported from the new project.
	rebuilt, err := export.Read(ctx, cloud, vars)
	if err != nil {
		t.Fatal(err)
	}
	from, again := export.Terraform(b.lab)[export.FileMain], export.Terraform(rebuilt)[export.FileMain]
	fromProject := b.vars.Project
	norm := func(b []byte) string {
		s := strings.ReplaceAll(string(b), fromProject, "P")
		s = strings.ReplaceAll(s, to, "P")
		// The test domain is the project's, in the records' local names too.
		s = strings.ReplaceAll(s, strings.ReplaceAll(fromProject, "-", "_"), "P")
		s = strings.ReplaceAll(s, strings.ReplaceAll(to, "-", "_"), "P")
		// The global IP is Google's choice, one a rule or address.
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.Contains(l, "was given by Google") && !strings.Contains(l, "Google chooses the IP") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	if norm(from) != norm(again) {
		t.Errorf("the lab rebuilt by the script differs from the original:\n--- from\n%s\n--- rebuilt\n%s", from, again)
	}

	// What the script built holds, step by step, the production part
	// included; the verification steps are things a learner does (break a
	// region, watch it fail over), not resources: they wait for the
	// learner. Since the production steps after them hold, beyond check
	// calls those it cannot infer failed rather than pending.
	rep := steps.Sweep(ctx, cloud, vars, steps.DefaultProbe())
	built := true
	for _, s := range rep.Steps {
		if s.State == steps.CheckPassed {
			continue
		}
		if (s.State != steps.CheckPending && s.State != steps.CheckFailed) || !slices.Contains([]string{steps.GlobalIP, steps.Curl, steps.BreakWorkshop, steps.BreakRegion, steps.Failover, steps.Restore}, s.ID) {
			built = false
			t.Errorf("beyond check in %s after the script: %s is %s: %s", to, s.ID, s.State, s.Reason)
		}
	}
	if !built {
		t.Fatalf("script output:\n%s", out)
	}
	// The learner then verifies the rebuilt lab, and beyond check passes.
	r, err := steps.New(cloud, vars, steps.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// HTTP redirects to HTTPS there (the script rebuilt the HTTPS half): the
	// new runner finds that out itself and probes HTTPS.
	if sum, err := r.Run(ctx, steps.Range{From: steps.GlobalIP, To: steps.Restore}); err != nil || !sum.OK() {
		t.Fatalf("verifying the rebuilt lab: %+v %v", sum, err)
	}
	if rep := steps.Sweep(ctx, cloud, vars, steps.DefaultProbe()); !rep.Holds() {
		t.Errorf("beyond check in %s after the verification: %d of %d steps hold: %+v", to, rep.Passed, len(rep.Steps), rep.Stuck())
	}

	// Twice: nothing more is created, and nothing is changed.
	before, err := simtest.Count(ctx, b.sim.Endpoints(), to)
	if err != nil {
		t.Fatal(err)
	}
	out2 := runScript(t, b.sim, script, to)
	after, err := simtest.Count(ctx, b.sim.Endpoints(), to)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(before, after, func(a, b []string) bool { return reflect.DeepEqual(a, b) }) {
		t.Errorf("the second run changed what exists: %v, then %v", before, after)
	}
	for _, line := range strings.Split(out2, "\n") {
		if strings.HasPrefix(line, "Created") || strings.Contains(line, "Deploying") {
			t.Errorf("the second run created something: %q\n%s", line, out2)
		}
	}
}
