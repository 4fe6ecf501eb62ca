package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/image"
	"github.com/beyond-lab/beyond/lab"
)

// A sweep runs every step's Check, read-only, against one project, and says
// for each step where the project stands: what the class board and
// `beyond check` show. It never performs a step.
//
// The rule, from the last step back to the first:
//   - passed: the check holds. A step the lab undoes later (a break, which
//     the next break or restore replaces) also counts when a later step of
//     its family holds. A step that leaves no trace in the project (it only
//     reads or measures: confirm-ai, global-ip, curl, failover) counts when a
//     later step that does leave one holds, since the lab runs in order.
//   - failed: the check fails although a later step holds: something was
//     undone, or skipped.
//   - pending: the check fails and no later step holds: the learner has not
//     got there yet (the reason says what is missing).
//   - unknown: the check could not ask (permission denied, a rate limit that
//     outlived the backoff, no answer).

// CheckState is where a step stands in a sweep.
type CheckState string

const (
	CheckPassed  CheckState = "passed"
	CheckFailed  CheckState = "failed"
	CheckPending CheckState = "pending"
	CheckUnknown CheckState = "unknown"
)

// StepCheck is one step's verdict in a sweep.
type StepCheck struct {
	ID     string     `json:"id"`
	Title  string     `json:"-"`
	State  CheckState `json:"state"`
	Reason string     `json:"reason,omitempty"` // what holds, or what does not
	Fix    string     `json:"fix,omitempty"`
}

// Report is one sweep of one project.
type Report struct {
	Project   string        `json:"project"`
	CheckedAt time.Time     `json:"checked_at"`
	Passed    int           `json:"passed"`
	Steps     []StepCheck   `json:"steps"`
	Calls     int           `json:"calls"` // API calls the sweep made
	Elapsed   time.Duration `json:"-"`
	// Health is, per region with a service, what Cloud Run service health
	// needs there (health.go), read from the same listing as the checks.
	Health []HealthSetting `json:"service_health,omitempty"`
}

// Holds reports whether every step holds.
func (r Report) Holds() bool { return r.Passed == len(r.Steps) && len(r.Steps) > 0 }

// Stuck is the first step that does not hold, or nil.
func (r Report) Stuck() *StepCheck {
	for i := range r.Steps {
		if r.Steps[i].State != CheckPassed {
			return &r.Steps[i]
		}
	}
	return nil
}

// BoardSteps are the steps a sweep judges: the lab's, less the optional ones
// (cleanup, whose check holds only once everything else is gone).
func BoardSteps() []*Step {
	var out []*Step
	for _, s := range Lab() {
		if !s.Optional {
			out = append(out, s)
		}
	}
	return out
}

// traceless are the steps that change nothing in the project. notRun are
// those of them whose check the sweep does not run: confirm-ai calls Gemini
// from the learner's machine, and failover's check sends a second of
// traffic and holds only during the break.
var (
	traceless = map[string]bool{ConfirmAI: true, Project: true, GlobalIP: true, Curl: true, Failover: true}
	notRun    = map[string]string{
		ConfirmAI: "runs on the learner's machine and leaves no trace in the project",
		Failover:  "is measured while it happens and leaves no trace in the project",
	}
	// undoneBy names, for each step the lab undoes, the later steps that
	// replace it: the workshop's break replaces region A's deploy until
	// the restore puts it back.
	undoneBy = map[string][]string{
		DeployA:       {BreakWorkshop, BreakRegion, Restore},
		Curl:          {BreakRegion}, // traffic leaves region A during the break
		BreakWorkshop: {BreakRegion, Restore},
		BreakRegion:   {Restore},
	}
)

// Target is one project to sweep, with its own connection.
type Target struct {
	Cloud *gcp.Cloud
	Vars  Vars
}

// SweepAll sweeps every target, at most parallel at once, and hands each
// report to done as it comes (from several goroutines).
func SweepAll(ctx context.Context, targets []Target, parallel int, probe ProbeConfig, done func(i int, r Report)) {
	if parallel < 1 {
		parallel = 1
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			done(i, Sweep(ctx, t.Cloud, t.Vars, probe))
		}()
	}
	wg.Wait()
}

// verdict is a step's check on its own, before the rule above.
type verdict struct {
	held    bool
	unknown bool
	notRun  bool
	text    string
	err     error
}

// Sweep judges every board step of one project, read-only.
func Sweep(ctx context.Context, cloud *gcp.Cloud, vars Vars, probe ProbeConfig) Report {
	start := time.Now()
	snap := cloud.Snapshot()
	s := &Session{Cloud: snap, Vars: vars, Probe: probe}
	calls := s.deriveOutputs(ctx)
	steps := BoardSteps()
	raw := make([]verdict, len(steps))
	for i, st := range steps {
		raw[i] = judge(ctx, s, st)
		if st.ID == BuildImage && s.Vars.Image == "" && s.Outputs.Image != "" {
			calls++ // its check asks the registry for the digest
		}
	}
	rep := Report{Project: vars.Project, CheckedAt: time.Now().UTC().Truncate(time.Second), Steps: make([]StepCheck, len(steps))}
	laterHolds := false
	holds := map[string]bool{}
	for i := len(steps) - 1; i >= 0; i-- {
		st, v := steps[i], raw[i]
		c := StepCheck{ID: st.ID, Title: st.Title, Reason: v.text}
		if v.err != nil {
			c.Reason, c.Fix = reasonOf(v.err), fixOf(v.err)
		}
		leavesNoTrace := traceless[st.ID] || (st.ID == BuildImage && s.Vars.Image != "")
		undone := false
		for _, later := range undoneBy[st.ID] {
			undone = undone || holds[later]
		}
		switch {
		case v.unknown:
			c.State = CheckUnknown
		case leavesNoTrace && laterHolds && (v.held || v.notRun):
			c.State, c.Fix = CheckPassed, ""
			if v.notRun {
				c.Reason = "Inferred: it " + notRun[st.ID] + ", and the steps after it hold."
			}
		case leavesNoTrace && !laterHolds:
			c.State = CheckPending
			switch {
			case v.notRun:
				c.Reason = "It " + notRun[st.ID] + ": it counts once a later step holds."
			case v.held:
				c.Reason = strings.TrimSuffix(v.text, ".") + ". This step leaves no trace in the project: it counts once a later step holds."
			}
		case v.held:
			c.State = CheckPassed
		case undone:
			c.State, c.Fix = CheckPassed, ""
			c.Reason = "Done, then undone by a later step, as the lab does (" + c.Reason + ")."
		case laterHolds:
			c.State = CheckFailed
		default:
			c.State = CheckPending
		}
		if c.State == CheckPassed {
			holds[st.ID] = true
			if !leavesNoTrace {
				laterHolds = true
			}
		}
		rep.Steps[i] = c
	}
	for _, c := range rep.Steps {
		if c.State == CheckPassed {
			rep.Passed++
		}
	}
	rep.Health = s.healthSettings(ctx)
	rep.Calls = calls + snap.Calls()
	rep.Elapsed = time.Since(start)
	return rep
}

// judge runs one step's check on its own.
func judge(ctx context.Context, s *Session, st *Step) verdict {
	if why, ok := notRun[st.ID]; ok {
		return verdict{notRun: true, text: why}
	}
	if st.Check == nil {
		return verdict{notRun: true}
	}
	if st.Skip != nil {
		if why := st.Skip(s); why != "" {
			return verdict{notRun: true, text: why}
		}
	}
	text, err := st.Check(ctx, s)
	if err == nil && st.ID == Restore {
		err = s.brokenBefore(ctx)
	}
	if err == nil && st.ID == BreakRegion && s.breakMethod() == methodDetach {
		// NEG A is also missing before it was ever attached: count the
		// break only after the workshop's break, which left its trace.
		err = s.workshopBroke(ctx)
	}
	if err != nil {
		return verdict{err: err, unknown: cannotTell(err)}
	}
	return verdict{held: true, text: text}
}

// brokenBefore says whether region A shows that it was broken before the
// restore, so that a project that never got that far does not count as
// restored. The outage switch leaves a trace in the service's generation:
// deploy (1), the broken update (2), the outage (3), the restore (4).
// Detaching NEG A leaves none, so there the sign is the workshop's update:
// its failed revision, or, once the restore has put region A's image back,
// the generation that did (deploy 1, the broken update 2, the image put
// back 3).
func (s *Session) brokenBefore(ctx context.Context) error {
	svc, err := s.Cloud.GetService(ctx, s.Vars.RegionA, s.Vars.Service)
	if err != nil {
		return err
	}
	fix := "Run 'Break region A so that it fails over' first"
	if s.breakMethod() != methodDetach && svc.Generation < 4 {
		return failf(fix, fmt.Sprintf("region A serves, but its service is at generation %d: it was never broken, so there is nothing to restore yet", svc.Generation))
	}
	if s.breakMethod() == methodDetach && svc.Generation < 3 {
		return s.workshopBroke(ctx)
	}
	return nil
}

// workshopBroke says whether region A shows the workshop's failed update.
func (s *Session) workshopBroke(ctx context.Context) error {
	svc, err := s.Cloud.GetService(ctx, s.Vars.RegionA, s.Vars.Service)
	if err != nil {
		return err
	}
	if svc.LatestCreated == svc.LatestReady {
		return failf("Run 'Break region A the workshop's way' first", "region A shows no failed revision: the workshop's break has not happened, so region A was not broken yet")
	}
	return nil
}

// cannotTell reports whether a check's error says nothing about the project:
// the question could not be asked.
func cannotTell(err error) bool {
	var ce *CheckError
	if errors.As(err, &ce) {
		return false
	}
	switch gcp.KindOf(err) {
	case gcp.KindNotFound, gcp.KindAPIDisabled, gcp.KindInvalid, gcp.KindInUse, gcp.KindAlreadyExists:
		return false
	}
	return true
}

// Reason is what an error of a step or check says went wrong, without the
// fix it carries: front ends show the fix on a line of its own, and typing
// mode replaces the generic one.
func Reason(err error) string { return reasonOf(err) }

// reasonOf is an error without its fix.
func reasonOf(err error) string {
	var ce *CheckError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	var ge *gcp.Error
	if errors.As(err, &ge) {
		return ge.Op + ": " + ge.Cause
	}
	return err.Error()
}

// deriveOutputs finds, read-only, what earlier steps would have noted in a
// learner's saved progress: the image the lab pushed, the global IP. It
// returns the API calls it made beyond the cloud's own count.
func (s *Session) deriveOutputs(ctx context.Context) (calls int) {
	if r, err := s.Cloud.GetForwardingRule(ctx, s.Vars.Rule); err == nil && r.GetIPAddress() != "" {
		s.Outputs.GlobalIP = r.GetIPAddress()
	}
	s.noteHTTPS(ctx)
	if s.Vars.Image != "" {
		return 0
	}
	repo := strings.TrimSuffix(s.plannedImage(), ":latest")
	other := ""
	for _, region := range []string{s.Vars.RegionA, s.Vars.RegionB} {
		svc, err := s.Cloud.GetService(ctx, region, s.Vars.Service)
		if err != nil {
			continue
		}
		if strings.HasPrefix(svc.Image, repo+"@") {
			s.Outputs.Image = svc.Image
			return 0
		}
		if svc.Image != "" && svc.Image != lab.BrokenImage && (other == "" || region == s.Vars.RegionB) {
			other = svc.Image
		}
	}
	if other != "" {
		// The attendee deployed an image of their own (--image, such as
		// the workshop's hello sample), a path the lab offers: judge what
		// serves, as if the board had been told. Region B's wins, since
		// the workshop's break leaves region A on its broken update.
		s.Vars.Image = other
		return 0
	}
	// Not deployed yet: what the registry holds under the lab's tag.
	if s.Cloud.Simulated() && s.Cloud.Endpoints.Registry == "" {
		return 0
	}
	target, opts := s.pushTarget(s.plannedImage())
	digest, err := image.Digest(ctx, target, opts)
	if err == nil {
		s.Outputs.Image = repo + "@" + digest
	}
	return 1
}
