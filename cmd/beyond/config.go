package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/beyond-lab/beyond/export"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/steps"
)

// defaultSimProject is the project the embedded simulator uses when none is named.
const defaultSimProject = "beyond-lab"

// config is everything the flags and the environment say.
type config struct {
	getenv          func(string) string
	vars            steps.Vars
	explicitProject bool // --project was given: work on Google
	nonInteractive  bool
	json            bool
	from, to        string
	step            string
	fresh           bool
	withCleanup     bool
	checkOnly       bool
	profile         string
	faults          string
	conditions      string // --sim-conditions, on top of the profile's
	clientLocation  string
	rate            float64
	breakBy         string // --break-by: errors or readiness
	accessible      bool
	mouse           bool // the mouse wheel scrolls the guide's text
	noColor         bool
	class           classConfig   // beyond class, and cleanup of a room
	endpoints       lab.Endpoints // set by check
	out             string        // export and report: where to write
	exportDir       string        // --export: the replay writes the exports here
	attached        bool          // BEYOND_*_ENDPOINT name a running simulator
}

func newConfig(getenv func(string) string) *config {
	c := &config{getenv: getenv, vars: steps.DefaultVars()}
	c.vars.FromEnv(getenv)
	c.profile = "lab"
	c.accessible = truthy(getenv("BEYOND_ACCESSIBLE"))
	c.noColor = getenv("NO_COLOR") != ""
	c.clientLocation = steps.DefaultProbe().ClientLocation
	c.rate = steps.DefaultProbe().Rate
	c.breakBy = steps.BreakByErrors
	c.class.refresh = defaultRefresh
	if d, err := time.ParseDuration(getenv("BEYOND_CLASS_REFRESH")); err == nil {
		c.class.refresh = d
	}
	c.class.parallel = defaultParallel
	return c
}

func truthy(s string) bool {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// flags declares the flags of a subcommand ("lab", "cleanup", "class" or
// "check").
func (c *config) flags(cmd string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("beyond", flag.ContinueOnError)
	fs.SetOutput(out)
	for _, v := range steps.VarList {
		fs.StringVar(v.Field(&c.vars), v.Flag, *v.Field(&c.vars), fmt.Sprintf("%s (env %s)", v.Usage, v.Env))
	}
	fs.StringVar(&c.profile, "sim-profile", c.profile, "simulator latency: instant, lab (seconds) or realistic (Google's minutes)")
	fs.StringVar(&c.faults, "sim-faults", "", "simulator faults to inject, e.g. run.CreateService=503x2,compute.urlMaps.insert=503x1:after, or a random rate: rate=0.1,seed=7")
	fs.StringVar(&c.conditions, "sim-conditions", "", "simulator conditions of a real project, e.g. billing=off,org-policy=domain-restricted-sharing,api-propagation=90s,lb-flap=60s")
	if cmd == "lab" {
		fs.BoolVar(&c.nonInteractive, "non-interactive", false, "replay the lab unattended, printing each step")
		fs.BoolVar(&c.json, "json", false, "with --non-interactive: print one JSON object per line")
		fs.StringVar(&c.from, "from", "", "first step to run (an ID such as neg-a)")
		fs.StringVar(&c.to, "to", "", "last step to run")
		fs.StringVar(&c.step, "step", "", "run this one step only")
		fs.BoolVar(&c.fresh, "fresh", false, "ignore saved progress: run every step instead of re-checking passed ones")
		fs.BoolVar(&c.withCleanup, "cleanup", false, "with --non-interactive: end the replay by deleting everything")
		fs.BoolVar(&c.checkOnly, "check-only", false, "run only the checks, never a step, on work done by hand (implies --non-interactive); exit 0 only when every check holds")
		fs.StringVar(&c.clientLocation, "client-location", c.clientLocation, "simulator: the region the probing client stands nearest to")
		fs.Float64Var(&c.rate, "rate", c.rate, "requests per second the failover steps send")
		fs.StringVar(&c.breakBy, "break-by", c.breakBy, "how break-region breaks the lab's service: errors (every request fails) or readiness (only its readiness probe: Cloud Run service health alone)")
		fs.BoolVar(&c.accessible, "accessible", c.accessible, "screen-reader mode: no animation, no box drawing (env BEYOND_ACCESSIBLE=1)")
		fs.BoolVar(&c.mouse, "mouse", false, "scroll the guide's text with the mouse wheel (takes the terminal's own text selection away)")
		fs.StringVar(&c.exportDir, "export", "", "with --non-interactive: at the end, write the Terraform, the script and the report into this directory")
	}
	switch cmd {
	case "export terraform":
		fs.StringVar(&c.out, "dir", export.TerraformDir, "directory to write the Terraform configuration in")
	case "export script":
		fs.StringVar(&c.out, "out", export.ScriptFile, "file to write the gcloud script to")
	case "report":
		fs.StringVar(&c.out, "out", export.ReportFile, "file to write the report to; its failover chart goes beside it")
		fs.StringVar(&c.clientLocation, "client-location", c.clientLocation, "simulator: the region the probing client stands nearest to")
	}
	switch cmd {
	case "class", "cleanup":
		fs.StringVar(&c.class.projects, "projects", "", "attendee projects, comma-separated")
		fs.StringVar(&c.class.projectsFile, "projects-file", "", "file of attendee projects, one ID per line, # comments")
		fs.IntVar(&c.class.parallel, "parallel", c.class.parallel, "projects worked on at once")
	}
	switch cmd {
	case "class":
		fs.BoolVar(&c.class.once, "once", false, "sweep every project once, print, and exit")
		fs.DurationVar(&c.class.refresh, "refresh", c.class.refresh, "how often the board sweeps again (env BEYOND_CLASS_REFRESH)")
		fs.BoolVar(&c.accessible, "accessible", c.accessible, "screen-reader mode: plain lines (env BEYOND_ACCESSIBLE=1)")
		fallthrough
	case "check":
		fs.BoolVar(&c.json, "json", false, "print one JSON object per project")
		fs.StringVar(&c.clientLocation, "client-location", c.clientLocation, "simulator: the region the probing client stands nearest to")
	}
	fs.Usage = func() { usage(out, fs) }
	return fs
}

func usage(out io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(out, `beyond: the "Beyond the Region" lab, in your terminal.

  beyond                      walk the lab on the embedded simulator (nothing billable)
  beyond --project P          walk the lab on Google Cloud project P (billable)
  beyond --non-interactive    replay the lab unattended (add --json for JSON lines)
  beyond --check-only         check work typed by hand, step by step, changing nothing
  beyond cleanup [--project P] delete everything the lab creates
  beyond cleanup --projects-file F   the same in every project of the file, at once
  beyond class --projects-file F     a board of every attendee's progress, read-only
  beyond class --once --json ...     one sweep, one JSON object per project
  beyond check --project P [--json]  where one project stands; exit 0 when every step holds
  beyond export terraform [--dir D]  what the lab built, as Terraform with import blocks
  beyond export script [--out F]     ... as a bash script of gcloud commands, for any project
  beyond report [--out report.md]    a Markdown report of the run and an SVG of its failover
  beyond show STEP [flags]    print a step's command with your variables and
                              what your progress learned: beyond show deploy-b | bash
  beyond sim [--addr HOST]    run the simulator alone and print its endpoints
  beyond sim env              print exports that point this shell (and gcloud) at
                              the simulator running on this machine:
                                eval "$(beyond sim env)"

When the BEYOND_*_ENDPOINT variables that "beyond sim" prints are set, beyond
attaches to that simulator instead, and --project names the simulated project.

Flags:
`)
	fs.SetOutput(out)
	fs.PrintDefaults()
}

// target is where the lab runs, and how to let it go.
type target struct {
	cloud   *gcp.Cloud
	label   string // for banners: "SIMULATOR" or "Google Cloud project P"
	project string
	// conditions are the embedded simulator's conditions of a real project
	// (--sim-conditions over the profile's), "" for none.
	conditions string
	// warning says what does not work with this target but need not stop
	// the lab (gcloud cannot be pointed at the embedded simulator), "" if
	// all is well. The front ends show it; read it through Warning.
	warning string
	// published is closed when the embedded simulator's publication for a
	// second terminal is done and warning final; nil when there is none.
	published chan struct{}
	close     func()
}

// Warning returns t.warning, once the publication it may be about is done.
func (t *target) Warning() string {
	if t.published != nil {
		<-t.published
	}
	return t.warning
}

// check refuses, before anything starts, every value that cannot work: a
// partial simulator environment, a name Google would refuse, a bad client
// location or rate. Its errors are usage errors.
func (c *config) check() error {
	ep, attached, err := lab.EndpointsFromEnv(c.getenv)
	if err != nil {
		return err
	}
	c.endpoints, c.attached = ep, attached
	if c.vars.Project == "" {
		c.vars.Project = defaultSimProject
	}
	if !attached && !c.explicitProject && c.getenv("PROJECT_ID") != "" {
		// The environment alone never makes the lab billable.
		c.vars.Project = defaultSimProject
	}
	if err := c.vars.Validate(); err != nil {
		return err
	}
	if c.exportDir != "" && !c.nonInteractive && !c.checkOnly {
		return fmt.Errorf("--export DIR writes the exports at the end of a replay: add --non-interactive, or after the guide run `beyond export terraform`, `beyond export script` and `beyond report`")
	}
	if !lab.IsRegion(c.clientLocation) {
		return fmt.Errorf("--client-location %q is not a region the lab knows; use one such as us-central1, europe-west1 or asia-east1", c.clientLocation)
	}
	if c.class.refresh < minRefresh {
		return fmt.Errorf("--refresh %s: sweep at most every %s, to be gentle with the APIs", c.class.refresh, minRefresh)
	}
	if c.class.parallel < 1 || c.class.parallel > 64 {
		return fmt.Errorf("--parallel %d: give between 1 and 64 projects at once", c.class.parallel)
	}
	if c.rate <= 0 || c.rate > 1000 {
		return fmt.Errorf("--rate %v: give a number of requests per second between 0 and 1000", c.rate)
	}
	if c.breakBy != steps.BreakByErrors && c.breakBy != steps.BreakByReadiness {
		return fmt.Errorf("--break-by %q: give %s or %s", c.breakBy, steps.BreakByErrors, steps.BreakByReadiness)
	}
	profile, err := sim.ProfileNamed(c.profile)
	if err != nil {
		return err
	}
	if _, err := sim.ParseConditions(c.conditions, profile.Conditions); err != nil {
		return fmt.Errorf("--sim-conditions: %w", err)
	}
	if c.faults != "" {
		if _, err := sim.ParseFaultSpec(c.faults); err != nil {
			return err
		}
	}
	return nil
}

// connect reaches the target check chose: a running simulator named by the
// environment, Google when --project was given, else an embedded simulator.
func (c *config) connect(ctx context.Context) (*target, error) {
	ep, attached := c.endpoints, c.attached
	if attached {
		cloud, err := gcp.Connect(ctx, c.vars.Project, ep)
		if err != nil {
			return nil, err
		}
		return &target{cloud: cloud, label: "SIMULATOR (attached at " + ep.Run + ")", project: c.vars.Project, close: func() { cloud.Close() }}, nil
	}
	if c.explicitProject {
		cloud, err := gcp.Connect(ctx, c.vars.Project, lab.Endpoints{})
		if err != nil {
			return nil, err
		}
		return &target{cloud: cloud, label: "Google Cloud project " + c.vars.Project, project: c.vars.Project, close: func() { cloud.Close() }}, nil
	}
	s, err := c.startSim()
	if err != nil {
		return nil, err
	}
	cloud, err := gcp.Connect(ctx, c.vars.Project, s.Endpoints())
	if err != nil {
		s.Close()
		return nil, err
	}
	t := &target{cloud: cloud, label: "SIMULATOR", project: c.vars.Project, conditions: s.Conditions().String(), published: make(chan struct{})}
	// Publish the embedded simulator, so that a second terminal can point
	// gcloud at it with `eval "$(beyond sim env)"` and type the steps. It
	// writes gcloud's configuration and the CA (a few ms): in the
	// background, so that the guide's first frame does not wait for files
	// only a second terminal reads, later.
	unpublish := func() {}
	go func() {
		defer close(t.published)
		dir, err := steps.DefaultStateDir(c.getenv)
		var lines []string
		if err == nil {
			lines, err = simEnvLines(s, dir, c.vars.Project)
		}
		if err == nil {
			unpublish, err = publishSim(dir, lines)
		}
		if err != nil {
			unpublish = func() {}
			t.warning = "a second terminal cannot be pointed at this simulator (`beyond sim env` will not find it): " + err.Error()
		}
	}()
	t.close = func() { <-t.published; unpublish(); cloud.Close(); s.Close() }
	return t, nil
}

func (c *config) startSim() (*sim.Sim, error) { return c.startSimAt("") }

// geminiKey is the learner's Gemini API key, as Google's SDK finds it
// (GOOGLE_API_KEY wins over GEMINI_API_KEY). It goes to the local check
// only, never to the screen or saved progress.
func (c *config) geminiKey() string {
	if k := c.getenv("GOOGLE_API_KEY"); k != "" {
		return k
	}
	return c.getenv("GEMINI_API_KEY")
}

func (c *config) probe() steps.ProbeConfig {
	return steps.ProbeConfig{Rate: c.rate, ClientLocation: c.clientLocation, BreakBy: c.breakBy}
}

func (c *config) store(stderr io.Writer) steps.Store {
	dir, err := steps.DefaultStateDir(c.getenv)
	if err != nil {
		fmt.Fprintln(stderr, "beyond: progress will not be saved:", err)
		return steps.Store{}
	}
	return steps.Store{Dir: dir}
}
