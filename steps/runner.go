package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/lab"
)

// Options configure a runner.
type Options struct {
	// Store keeps progress between runs; the zero Store keeps none.
	Store Store
	// Emit receives every event, in order, from the goroutine running the
	// step. It must not block for long.
	Emit func(Event)
	// Probe configures the failover steps.
	Probe ProbeConfig
	// GeminiKey is the learner's Gemini API key for the local check, if
	// they have one; on Google without it, the check uses Vertex AI. It is
	// never saved, shown or logged.
	GeminiKey string
}

// Runner performs the lab's steps and reports them as events. One step runs
// at a time; a Runner is safe for use from several goroutines.
type Runner struct {
	steps []*Step
	opts  Options

	mu      sync.Mutex // serialises runs and guards saved and session
	session *Session
	saved   Saved
	target  string

	// view is what the front ends read while a step runs, without waiting
	// for the step (r.mu is held for the whole of it).
	view struct {
		sync.Mutex
		outputs Outputs     // as of the last step that ended
		probe   ProbeConfig // where the client stands, at what rate
	}
	feed *feed // the one prober of the global IP (Watch and the failover steps)
	rec  *recorder
}

// New returns a runner for the lab on cloud with vars, and loads progress
// saved for that project.
func New(cloud *gcp.Cloud, vars Vars, opts Options) (*Runner, error) {
	if err := vars.Validate(); err != nil {
		return nil, err
	}
	if opts.Probe.Rate == 0 {
		opts.Probe = DefaultProbe()
	}
	target := "google"
	if cloud.Simulated() {
		target = "simulator"
	}
	r := &Runner{steps: Lab(), opts: opts, target: target}
	saved, err := opts.Store.Load(target, vars.Project)
	if err != nil {
		return nil, err
	}
	r.saved = saved
	r.feed = &feed{emit: r.emit}
	r.rec = &recorder{steps: map[string]*Step{}, save: func(rec Record) {
		rec.Target, rec.Project = target, vars.Project
		if err := opts.Store.SaveRecord(rec); err != nil && opts.Emit != nil {
			opts.Emit(Event{Kind: EventProgress, Text: "could not save the run's measurements: " + err.Error(), At: time.Now()})
		}
	}}
	for _, s := range r.steps {
		r.rec.steps[s.ID] = s
	}
	r.session = &Session{Cloud: cloud, Vars: vars, Outputs: saved.Outputs, Probe: opts.Probe, geminiKey: opts.GeminiKey, feed: r.feed, modelCalls: new(atomic.Int64)}
	r.feed.health = (&Session{Cloud: cloud, Vars: vars}).regionHealth // Cloud and Vars never change
	r.view.outputs, r.view.probe = saved.Outputs, opts.Probe
	return r, nil
}

// Steps returns the lab's steps in order.
func (r *Runner) Steps() []*Step { return r.steps }

// Step returns the step with that ID, or nil.
func (r *Runner) Step(id string) *Step {
	for _, s := range r.steps {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// Vars returns the lab's variables.
func (r *Runner) Vars() Vars { return r.session.Vars }

// Simulated reports whether the lab runs on the simulator.
func (r *Runner) Simulated() bool { return r.session.Cloud.Simulated() }

// Saved returns the progress saved before this run and since.
func (r *Runner) Saved() Saved {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.saved
	s.Steps = cloneMap(r.saved.Steps)
	return s
}

// Outputs returns the facts earlier steps learned, such as the global IP,
// as of the last step that ended; it does not wait for a step in flight.
func (r *Runner) Outputs() Outputs {
	r.view.Lock()
	defer r.view.Unlock()
	return r.view.outputs
}

func cloneMap[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Watch probes the global IP at the configured rate, emitting EventSample,
// until ctx ends. It reads the client location once, at the start: restart
// it after SetClientLocation. It runs beside steps, at once even while one
// runs, and shares its requests with the failover steps': watching during
// them does not double the rate.
func (r *Runner) Watch(ctx context.Context) error {
	r.view.Lock()
	base := r.view.outputs.GlobalURL
	sess := Session{Cloud: r.session.Cloud, Vars: r.session.Vars, Probe: r.view.probe} // Cloud and Vars never change
	r.view.Unlock()
	if base == "" {
		return errors.New("the global IP is not known yet: run the step " + titleOf(Curl) + " first")
	}
	leave := r.feed.join(sess.probeConfig(base), "", nil)
	defer leave()
	<-ctx.Done()
	return nil
}

// SetClientLocation moves the simulated client nearest to region, for the
// next step and the next Watch.
func (r *Runner) SetClientLocation(region string) error {
	if !lab.IsRegion(region) {
		return fmt.Errorf("%q is not a region the lab knows", region)
	}
	r.view.Lock()
	defer r.view.Unlock()
	r.view.probe.ClientLocation = region
	return nil
}

// ClientLocation is where the simulated client stands.
func (r *Runner) ClientLocation() string {
	r.view.Lock()
	defer r.view.Unlock()
	return r.view.probe.ClientLocation
}

// Close stops any probing still running in the background.
func (r *Runner) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.session.stopWatch()
}

// Command renders a step's gcloud command with the current variables.
func (r *Runner) Command(id string) string {
	s := r.Step(id)
	if s == nil || s.Command == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return s.Command(r.session)
}

// Range selects steps by ID, both ends included; empty ends mean the first
// and last step.
type Range struct {
	From, To string
	// Optional includes steps a full run leaves out (cleanup).
	Optional bool
	// Resume re-checks steps saved as passed and runs only those whose check
	// fails, instead of running every step.
	Resume bool
	// CheckOnly runs only the checks, never Do, and goes on past a check
	// that fails: it reports on work done by hand.
	CheckOnly bool
}

// Select returns the steps in the range, or an error naming a wrong ID.
func (r *Runner) Select(rg Range) ([]*Step, error) {
	from, to := 0, len(r.steps)-1
	find := func(id string) (int, error) {
		i := slices.IndexFunc(r.steps, func(s *Step) bool { return s.ID == id })
		if i < 0 {
			var ids []string
			for _, s := range r.steps {
				ids = append(ids, s.ID)
			}
			return 0, fmt.Errorf("no step %q: the steps are %v", id, ids)
		}
		return i, nil
	}
	var err error
	if rg.From != "" {
		if from, err = find(rg.From); err != nil {
			return nil, err
		}
	}
	if rg.To != "" {
		if to, err = find(rg.To); err != nil {
			return nil, err
		}
	}
	if from > to {
		return nil, fmt.Errorf("--from %s comes after --to %s", rg.From, rg.To)
	}
	var out []*Step
	for i, s := range r.steps[from : to+1] {
		named := (rg.From != "" && i == 0) || (rg.To != "" && from+i == to)
		if s.Optional && !rg.Optional && !named {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// Run performs the steps of the range in order and stops at the first that
// fails or is canceled. It saves progress after every step.
func (r *Runner) Run(ctx context.Context, rg Range) (Summary, error) {
	sel, err := r.Select(rg)
	if err != nil {
		return Summary{}, err
	}
	start := time.Now()
	var sum Summary
	stopped := false
	// rebuilt: the load balancer's front end was created again in this run
	// (each process's embedded simulator starts empty; a lab cleaned up and
	// made again). The verification saved measured another one, so the
	// break steps run again rather than being kept (undoneBy).
	rebuilt := false
	// rebroke: a break step ran in this run (on a rebuilt lab, or one whose
	// break was undone by hand). The verification is then this run's: the
	// steps after it up to the restore run again rather than pass on a
	// check, so that the failover is measured on the break just made, as
	// a first run measures it.
	rebroke := false
	for _, s := range sel {
		if stopped {
			why := "an earlier step did not pass"
			if sum.Canceled {
				why = "the run was interrupted"
			}
			r.emit(Event{Kind: EventSkipped, Step: s.ID, Title: s.Title, Status: StatusSkipped, Text: why})
			sum.Skipped++
			continue
		}
		var st Status
		if rg.CheckOnly {
			if undo := r.undoneBy(s); undo != nil {
				st = r.keep(s, undo)
			} else {
				st = r.run(ctx, s, false)
			}
			switch st {
			case StatusPassed:
				sum.Passed++
			case StatusSkipped:
				sum.Skipped++
			case StatusCanceled:
				sum.Canceled = true
				stopped = true
			default:
				sum.Failed++
			}
			continue
		}
		if undo := r.undoneBy(s); rg.Resume && undo != nil && !rebuilt {
			st = r.keep(s, undo)
		} else if rg.Resume && r.savedStatus(s.ID) == StatusPassed && !rebroke {
			var ran bool
			st, ran = r.recheck(ctx, s)
			rebuilt = rebuilt || ran && s.ID == ForwardingRule
			rebroke = ran && s.Breaks
		} else {
			st = r.run(ctx, s, true)
			rebuilt = rebuilt || s.ID == ForwardingRule
			rebroke = (rebroke || s.Breaks) && !s.Restores
		}
		switch st {
		case StatusPassed:
			sum.Passed++
		case StatusSkipped:
			sum.Skipped++
		case StatusCanceled:
			sum.Canceled = true
			stopped = true
		default:
			sum.Failed++
			stopped = true
		}
	}
	sum.Elapsed = time.Since(start)
	sum.ModelCalls = r.session.ModelCalls()
	r.emit(Event{Kind: EventFinished, Summary: &sum, Elapsed: sum.Elapsed})
	return sum, nil
}

// RunStep performs one step and its check.
func (r *Runner) RunStep(ctx context.Context, id string) (Status, error) {
	s := r.Step(id)
	if s == nil {
		return "", fmt.Errorf("no step %q", id)
	}
	return r.run(ctx, s, true), nil
}

// CheckStep runs only a step's check.
func (r *Runner) CheckStep(ctx context.Context, id string) (Status, error) {
	s := r.Step(id)
	if s == nil {
		return "", fmt.Errorf("no step %q", id)
	}
	return r.run(ctx, s, false), nil
}

// undoneBy returns the step that undid s by design, when both are saved as
// passed: the restore, for the steps from the first break up to it. Their
// checks look for region A broken and traffic moved, which the restore put
// back, so on a resume such a check fails, and running the step again would
// break region A again: an outage nobody asked for, on Google a real one.
// Run asks it only while the load balancer built earlier still stands.
func (r *Runner) undoneBy(s *Step) *Step {
	i := slices.Index(r.steps, s)
	if i < 0 || r.savedStatus(s.ID) != StatusPassed {
		return nil
	}
	broken := false // whether s stands between a break and its restore
	for _, t := range r.steps[:i+1] {
		switch {
		case t.Breaks:
			broken = true
		case t.Restores:
			broken = false
		}
	}
	if !broken {
		return nil
	}
	for _, t := range r.steps[i+1:] {
		if t.Restores {
			if r.savedStatus(t.ID) == StatusPassed {
				return t
			}
			return nil
		}
	}
	return nil
}

// keep counts a step saved as passed, whose effect a later step undid by
// design, as passed without checking or running it again (EventKept). What
// it recorded (the failover's measurement) stays as it was.
func (r *Runner) keep(s, undo *Step) Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	prev := r.saved.Steps[s.ID]
	r.emit(Event{Kind: EventKept, Step: s.ID, Title: s.Title, Status: StatusPassed, By: prev.By,
		Text: fmt.Sprintf("passed earlier; not checked again, since %s has undone it by design (running it again would break region A again)", titleOf(undo.ID))})
	return StatusPassed
}

// recheck verifies a step saved as passed; if its check fails, it runs it,
// and says so (ran).
func (r *Runner) recheck(ctx context.Context, s *Step) (st Status, ran bool) {
	st = r.run(ctx, s, false)
	if st == StatusFailed {
		r.emit(Event{Kind: EventProgress, Step: s.ID, Text: "saved as passed, but the check fails now: running the step again"})
		return r.run(ctx, s, true), true
	}
	return st, false
}

func (r *Runner) savedStatus(id string) Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.saved.Steps[id].Status
}

// run performs one step (Do, if do is set, then Check) under the runner's
// lock, emitting its events and saving the outcome.
func (r *Runner) run(ctx context.Context, s *Step, do bool) Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	sess := r.session
	sess.step = s.ID
	sess.emit = r.emit
	sess.announced = nil // each run of a step announces confirm-ai's decision once
	r.view.Lock()
	sess.Probe = r.view.probe
	r.view.Unlock()
	sess.progress = func(line string) {
		r.emit(Event{Kind: EventProgress, Step: s.ID, Text: line, Elapsed: time.Since(start)})
	}
	// Every call of the step reports its retries as the step's progress,
	// the reads that take no Progress of their own included.
	ctx = gcp.WithProgress(ctx, sess.progress)
	if s.Skip != nil {
		if why := s.Skip(sess); why != "" {
			// Neither started nor done: skipped, as a step after a failure
			// is, and saved so.
			r.emit(Event{Kind: EventSkipped, Step: s.ID, Title: s.Title, Status: StatusSkipped, Text: why})
			r.saved.Steps[s.ID] = SavedState{Status: StatusSkipped, At: time.Now().UTC()}
			if err := r.opts.Store.Save(r.saved); err != nil {
				r.emit(Event{Kind: EventProgress, Step: s.ID, Text: "could not save progress: " + err.Error()})
			}
			return StatusSkipped
		}
	}
	cmd := ""
	if s.Command != nil {
		cmd = s.Command(sess)
	}
	r.emit(Event{Kind: EventStarted, Step: s.ID, Title: s.Title, Command: cmd, Status: StatusRunning})

	by := ByLab
	if prev := r.saved.Steps[s.ID]; !do && (prev.Status != StatusPassed || prev.By == ByLearner) {
		// Only checked: a re-check keeps who did the step, and a step the
		// lab never did that holds was done by hand.
		by = ByLearner
	}
	finish := func(st Status, err error) Status {
		return r.finishLocked(s, cmd, start, st, err, by)
	}

	if do && s.Do != nil {
		did, err := s.Do(ctx, sess)
		r.emit(Event{Kind: EventDid, Step: s.ID, Text: did, Err: err, Fix: fixOf(err), Elapsed: time.Since(start)})
		if err != nil {
			if canceled(err) || ctx.Err() != nil {
				return finish(StatusCanceled, err)
			}
			return finish(StatusFailed, err)
		}
	}
	if s.Check == nil {
		return finish(StatusPassed, nil)
	}
	verified, err := s.Check(ctx, sess)
	if err != nil && (canceled(err) || ctx.Err() != nil) {
		return finish(StatusCanceled, err)
	}
	ev := Event{Kind: EventChecked, Step: s.ID, Text: verified, Err: err, Fix: fixOf(err), Status: StatusPassed, Elapsed: time.Since(start)}
	if err != nil {
		ev.Status = StatusFailed
	}
	r.emit(ev)
	if err != nil {
		return finish(StatusFailed, err)
	}
	return finish(StatusPassed, nil)
}

// finishLocked ends a step: it emits EventDone, records the outcome (who
// did a passed step included) and saves progress. Call with r.mu held.
func (r *Runner) finishLocked(s *Step, cmd string, start time.Time, st Status, err error, by By) Status {
	e := Event{Kind: EventDone, Step: s.ID, Title: s.Title, Command: cmd, Status: st, Elapsed: time.Since(start), Err: err, Fix: fixOf(err)}
	if st == StatusPassed {
		e.By = by
	}
	r.emit(e)
	if st != StatusCanceled {
		r.saved.Steps[s.ID] = SavedState{Status: st, At: time.Now().UTC(), By: e.By}
	}
	r.saved.Outputs = r.session.Outputs
	r.view.Lock()
	r.view.outputs = r.session.Outputs
	r.view.Unlock()
	if err := r.opts.Store.Save(r.saved); err != nil {
		r.emit(Event{Kind: EventProgress, Step: s.ID, Text: "could not save progress: " + err.Error()})
	}
	return st
}

// fixOf is what err says to do next, if it says.
func fixOf(err error) string {
	var ce *CheckError
	if errors.As(err, &ce) {
		return ce.Fix
	}
	var ge *gcp.Error
	if errors.As(err, &ge) {
		// gcp cannot name the lab's steps: the step that provides what is
		// missing is named here.
		switch ge.Needs {
		case gcp.NeedsAPI:
			return "Run the step " + titleOf(EnableAPIs) + ", or " + strings.ToLower(ge.Fix[:1]) + ge.Fix[1:]
		case gcp.NeedsServiceAccount:
			return "Run the step " + titleOf(ServiceAccount) + ". " + ge.Fix
		}
		return ge.Fix
	}
	return ""
}

func (r *Runner) emit(e Event) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	r.rec.observe(e)
	if r.opts.Emit != nil {
		r.opts.Emit(e)
	}
}
