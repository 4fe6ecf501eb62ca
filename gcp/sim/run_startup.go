package sim

import (
	"context"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
)

// A new revision of an image that runs as a process is ready only once its
// container listens on its port, as Cloud Run's default TCP startup probe
// decides. The core cannot start a process (nothing holding s.mu may), so
// the decision goes through two calls, the whole interface between the
// core and the data plane for it:
//
//   - startingRevisionsLocked: the core lists the revisions whose deploy
//     waits on their startup probe; the data plane reads it as it reads the
//     ready revisions, and starts an instance for each;
//   - revisionStarted: the data plane says whether that instance listens.
//
// The deploy's operation stays RUNNING until both its time (the profile's
// RunDeploy) has passed and the probe has an outcome (operation.blocked);
// a failed probe fails the revision as the broken image does. The instance
// that passed is the one that takes the revision's traffic once it is ready.

// startingRevisionsLocked lists the revisions the data plane must start and
// keep ready to serve: those still deploying whose image runs as a process,
// waiting for their probe or already past it. Call with s.mu held.
func (s *Sim) startingRevisionsLocked() []ReadyRevision {
	var out []ReadyRevision
	for _, pid := range sortedKeys(s.projects) {
		p := s.projects[pid]
		for _, key := range sortedKeys(p.run.services) {
			rs := p.run.services[key]
			for _, rev := range rs.revisions {
				if rev.pending && (rev.startup == startupWaiting || rev.startup == startupPassed) {
					out = append(out, revisionRunLocked(p, rs, rev))
				}
			}
		}
	}
	return out
}

// revisionStarted records the outcome of rr's startup probe: nil when its
// instance listens, else why not (the reason goes to the log, as Cloud
// Run's goes to the revision's logs). A deploy that only waited for it
// finishes now.
func (s *Sim) revisionStarted(rr ReadyRevision, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[rr.Project]
	if p == nil {
		return
	}
	rs := p.run.services[rr.Region+"/"+rr.Service]
	if rs == nil {
		return
	}
	for _, rev := range rs.revisions {
		if rev.name != rr.Revision || rev.startup != startupWaiting {
			continue
		}
		rev.startup = startupPassed
		if err != nil {
			rev.startup = startupFailed
			s.log.Warn("revision failed its startup probe: its deploy fails", "project", p.id, "region", rs.region,
				"service", rs.id, "revision", rev.name, "reason", err.Error())
		}
		s.settleLocked(p)
		s.changedLocked()
	}
}

// awaitStartup holds an answer to a deploy until its operation is done, when
// the profile makes deploys instant: a startup probe is the one thing that
// takes time then, and the instant profile answers every operation done.
// It waits at most startupReplyWait, and ends a second before the caller's
// deadline (Google's Go client gives CreateService 15 s): a start that takes
// longer is answered running, and the client polls it as on Google. It
// returns op as it then stands. Call without s.mu held.
func (s *Sim) awaitStartup(ctx context.Context, op *longrunningpb.Operation) *longrunningpb.Operation {
	if op.GetDone() || s.opts.Profile.RunDeploy > 0 {
		return op
	}
	wait := startupReplyWait
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl)-time.Second)
	}
	if wait <= 0 {
		return op
	}
	timeout := time.NewTimer(wait) // real time, as the probe's
	defer timeout.Stop()
	for {
		s.mu.Lock()
		_, o, err := s.findOpLocked(op.GetName())
		if err != nil || s.closed {
			s.mu.Unlock()
			return op
		}
		op = o.proto()
		changed := s.change
		s.mu.Unlock()
		if op.GetDone() {
			return op
		}
		select {
		case <-changed:
		case <-timeout.C:
			return op
		case <-ctx.Done():
			return op
		}
	}
}

// startupReplyWait bounds how long an instant deploy's answer waits for its
// startup probe.
const startupReplyWait = 10 * time.Second
