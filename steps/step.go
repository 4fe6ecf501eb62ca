package steps

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/beyond-lab/beyond/gcp"
)

// Parts of the workshop, in order.
var Parts = []Part{
	{PartCode, "Part 1 · The code"},
	{PartDeploy, "Part 2 · Cloud Run"},
	{PartGlobal, "Part 3 · Global resilience"},
	{PartVerify, "Part 4 · Verification and failover"},
	{PartProduction, "Part 5 · Production practice"},
	{PartCleanup, "Part 6 · Cleanup"},
}

// Part is one part of the workshop.
type Part struct {
	ID    string
	Title string
}

// Step is one step of the lab.
type Step struct {
	ID   string // one of the constants in ids.go
	Part string // one of the Part constants
	// Title is the heading of the step's prose, content/ID.md: Lab sets it,
	// so that the list of steps and the text always agree.
	Title string
	// Command renders the equivalent gcloud command, exactly as a learner
	// would paste it.
	Command func(*Session) string
	// Do performs the step, idempotently: it adopts what exists as wanted
	// and explains what exists but differs. It returns one line saying what
	// it did.
	Do func(context.Context, *Session) (string, error)
	// Check asks the cloud whether the step holds, independently of Do. It
	// returns what it verified, or a *CheckError.
	Check func(context.Context, *Session) (string, error)
	// Optional marks a step a full run leaves out unless asked (cleanup).
	Optional bool
	// Skip, if set and it returns a reason, skips the step: it is neither
	// done nor checked, and counts as skipped, never passed (a domain part
	// on Google without --domain).
	Skip func(*Session) string
	// Live marks a step whose effect shows on the global IP's traffic: a
	// front end shows the live failover panel beside it.
	Live bool
	// Breaks marks a step that breaks region A; Restores, one that puts it
	// back. The failover panel marks them on its timeline.
	Breaks, Restores bool
	// Creates lists what the step leaves in the cloud, in the order it must
	// be deleted. The cleanup step deletes, and Billable lists, exactly this.
	Creates func(Vars) []Resource
}

// CheckError is a failed check: what is wrong and how to fix it.
type CheckError struct {
	Reason string
	Fix    string
}

func (e *CheckError) Error() string {
	if e.Fix == "" {
		return e.Reason
	}
	return e.Reason + ". " + e.Fix
}

// failf is a failed check: what is wrong, then how to fix it.
func failf(reason, fix string) error { return &CheckError{Reason: reason, Fix: fix} }

// Status is where a step stands.
type Status string

const (
	StatusTodo     Status = "todo"
	StatusRunning  Status = "running"
	StatusPassed   Status = "passed"
	StatusFailed   Status = "failed"
	StatusSkipped  Status = "skipped"
	StatusCanceled Status = "canceled"
)

// EventKind names what happened.
type EventKind string

const (
	EventStarted  EventKind = "started"  // a step began; Command is set
	EventProgress EventKind = "progress" // a line of progress; Text
	EventDid      EventKind = "did"      // Do finished; Text says what it did, Err if it failed
	EventChecked  EventKind = "checked"  // Check finished; Status passed or failed, Text or Err
	EventSkipped  EventKind = "skipped"  // a step was not run; Text says why
	EventKept     EventKind = "kept"     // a step saved as passed was neither checked nor run again; Text says why
	EventDone     EventKind = "done"     // a step ended; Status and Elapsed
	EventSample   EventKind = "sample"   // one probe of the global IP; Sample
	EventFailover EventKind = "failover" // a measured failover; Failover
	EventHealth   EventKind = "health"   // both regions' Cloud Run service health, read while probing (simulator only); Health
	EventBreak    EventKind = "break"    // the break is sent (At): every failover offset counts from this instant
	EventFinished EventKind = "finished" // a run ended; Summary
	EventWaiting  EventKind = "waiting"  // the learner is doing the step by hand; Next is when the check runs again
	EventDecided  EventKind = "decided"  // confirm-ai decided where each region's service calls the model; Placement
)

// By says who did a step.
type By string

const (
	ByLab     By = "lab"     // the lab performed the step (Do, then Check)
	ByLearner By = "learner" // the learner typed it; the lab only checked it
)

// Event is one thing that happened in a run. Front ends draw these.
type Event struct {
	Kind     EventKind
	Step     string // step ID; empty for run-wide events
	Title    string
	Command  string
	Text     string
	Err      error
	Fix      string
	Status   Status
	By       By        // on EventDone of a passed step: who did it
	Next     time.Time // on EventWaiting: when the check runs again
	Elapsed  time.Duration
	At       time.Time
	Sample   *Sample
	Failover *FailoverReport
	Summary  *Summary
	// Placement, on EventDecided: where each region's service calls the
	// model (the step's text says it too).
	Placement *ModelPlacement
	Health    []RegionHealth
	// Deleted, on an EventProgress of the cleanup, names the resource it
	// just deleted (as Text does in words), for front ends that count them.
	Deleted string
}

// Summary counts a run's steps.
type Summary struct {
	Passed, Failed, Skipped int
	Canceled                bool
	Elapsed                 time.Duration
	// ModelCalls is how many Gemini calls the lab made (billed on Google):
	// the local check's and every /v1/check it sent to the service. The
	// failover probes make none.
	ModelCalls int
}

// OK reports whether every step that ran passed and nothing was canceled.
func (s Summary) OK() bool { return s.Failed == 0 && !s.Canceled }

// Session is what a step works with: the cloud, the variables, and what
// earlier steps found out (saved with progress, never a secret).
type Session struct {
	Cloud *gcp.Cloud
	Vars  Vars
	// Outputs are facts earlier steps learned, saved with progress.
	Outputs Outputs
	// Probe configures the failover steps.
	Probe ProbeConfig

	geminiKey  string // the learner's GEMINI_API_KEY, if any: never saved or shown
	progress   func(string)
	emit       func(Event)
	step       string
	watch      *watcher      // probing since the break, until the failover is measured
	feed       *feed         // the runner's one prober of the global IP
	modelCalls *atomic.Int64 // Gemini calls the lab made (billed on Google); shared by copies
	httpsNoted bool          // whether plain HTTP redirects is known from the HTTP proxy (noteHTTPS): globalURL need not ask the IP

	// announced is the decision confirm-ai announced in this run of the
	// step (decided).
	announced *ModelPlacement
}

// countModelCall notes one Gemini call the lab made, directly or through
// the service.
func (s *Session) countModelCall() {
	if s.modelCalls != nil {
		s.modelCalls.Add(1)
	}
}

// ModelCalls is how many Gemini calls the lab has made in this process,
// locally and through the deployed service: each is billed on Google.
func (s *Session) ModelCalls() int {
	if s.modelCalls == nil {
		return 0
	}
	return int(s.modelCalls.Load())
}

// Progress reports one line about the step in flight.
func (s *Session) Progress(line string) {
	if s.progress != nil {
		s.progress(line)
	}
}

// deleted reports a resource the step deleted: a progress line that also
// names it in Event.Deleted.
func (s *Session) deleted(name string) {
	if s.emit == nil {
		s.Progress("deleted " + name)
		return
	}
	s.emit(Event{Kind: EventProgress, Step: s.step, Text: "deleted " + name, Deleted: name})
}

func canceled(err error) bool {
	return errors.Is(err, context.Canceled) || gcp.KindOf(err) == gcp.KindCanceled
}
