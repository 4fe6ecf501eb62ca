package steps

import (
	"context"
	"fmt"
	"time"

	"github.com/beyond-lab/beyond/gcp"
)

// DefaultAwaitEvery is how often Await runs a step's check while the
// learner types: often enough to feel live, seldom enough to stay far from
// any API quota (a check makes one to a few read calls).
const DefaultAwaitEvery = 5 * time.Second

// Await waits for the learner to do a step by hand: it shows the step's
// command, then runs its Check every interval until it holds, the step is
// done by the learner, or ctx ends (the learner left typing mode: the step
// is canceled, nothing is saved for it). Each failed check is emitted with
// its reason and fix, followed by EventWaiting with the time of the next.
// The runner's lock is held only while a check runs, so probing and other
// commands go on in between.
func (r *Runner) Await(ctx context.Context, id string, every time.Duration) (Status, error) {
	s := r.Step(id)
	if s == nil {
		return "", fmt.Errorf("no step %q", id)
	}
	if s.Check == nil || s.Command == nil {
		return "", fmt.Errorf("the step %q has no command to type and check: let the lab do it", s.Title)
	}
	if every <= 0 {
		every = DefaultAwaitEvery
	}
	start := time.Now()
	r.mu.Lock()
	cmd := s.Command(r.session)
	r.session.announced = nil // a new run of the step: confirm-ai announces its decision again
	r.mu.Unlock()
	r.emit(Event{Kind: EventStarted, Step: s.ID, Title: s.Title, Command: cmd, Status: StatusRunning, By: ByLearner})
	for {
		if st, done := r.checkTyped(ctx, s, cmd, start); done {
			return st, nil
		}
		next := time.Now().Add(every)
		r.emit(Event{Kind: EventWaiting, Step: s.ID, Next: next, Elapsed: time.Since(start)})
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.finishLocked(s, cmd, start, StatusCanceled, ctx.Err(), ByLearner), nil
		case <-t.C:
		}
	}
}

// checkTyped runs a step's check once for Await. It reports done when the
// check holds (the step is then finished, by the learner) or the wait was
// canceled; a failing check only emits its reason and fix.
func (r *Runner) checkTyped(ctx context.Context, s *Step, cmd string, start time.Time) (Status, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sess := r.session
	sess.step = s.ID
	sess.emit = r.emit
	sess.progress = func(line string) {
		r.emit(Event{Kind: EventProgress, Step: s.ID, Text: line, Elapsed: time.Since(start)})
	}
	verified, err := s.Check(ctx, sess)
	if err != nil && (canceled(err) || ctx.Err() != nil) {
		return r.finishLocked(s, cmd, start, StatusCanceled, err, ByLearner), true
	}
	ev := Event{Kind: EventChecked, Step: s.ID, Text: verified, Err: err, Fix: fixOf(err), Status: StatusPassed, Elapsed: time.Since(start)}
	if err != nil {
		ev.Status = StatusFailed
	}
	if gcp.IsNotFound(err) {
		// The generic fix ("run the earlier step that creates it") is
		// wrong here: this step creates it, by the learner's hand.
		ev.Fix = "Not there yet: run the command above in your second terminal; the next check will see it"
	}
	r.emit(ev)
	if err != nil {
		return StatusFailed, false
	}
	return r.finishLocked(s, cmd, start, StatusPassed, nil, ByLearner), true
}
