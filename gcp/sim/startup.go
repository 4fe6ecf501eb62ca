package sim

// The data plane's half of a revision's startup probe (the core's is in
// run_startup.go): every revision the core lists as starting gets an
// instance at once, before it is ready; once the instance listens, or has
// failed to, the core hears of it (revisionStarted). The instance that
// passed is kept aside until the core calls its revision ready, and then
// serves (reconcile); one whose revision never becomes ready is stopped.

// startup is an instance started before its revision is ready.
type startup struct {
	inst *instance
	done chan struct{} // closed once it listens or has failed to
	err  error         // why it did not come to listen; read after done
}

// finished reports whether st's start is over.
func (st *startup) finished() bool {
	select {
	case <-st.done:
		return true
	default:
		return false
	}
}

// passed reports whether st's instance listens; false for nil.
func (st *startup) passed() bool { return st != nil && st.finished() && st.err == nil }

// stageLocked starts an instance for every revision in starting that has
// none, and stops those of revisions no longer starting (ready ones were
// taken by reconcile first). A start still running stops itself. Call with
// dp.mu held.
func (dp *dataPlane) stageLocked(starting []ReadyRevision) {
	want := map[string]bool{}
	for _, rr := range starting {
		want[rr.RevisionName] = true
		if dp.staged[rr.RevisionName] != nil {
			continue
		}
		st := &startup{inst: dp.newInstance(rr), done: make(chan struct{})}
		dp.staged[rr.RevisionName] = st
		dp.work.Add(1)
		go dp.stage(st)
	}
	for name, st := range dp.staged {
		if want[name] {
			continue
		}
		delete(dp.staged, name)
		if st.finished() {
			dp.stopLocked(st.inst)
		}
	}
}

// stage starts st's instance, as its startup probe, and tells the core how
// it went.
func (dp *dataPlane) stage(st *startup) {
	defer dp.work.Done()
	rr := st.inst.rr
	err := dp.runInstance(dp.ctx, st.inst)
	dp.mu.Lock()
	st.err = err
	close(st.done)
	if dp.closed || dp.staged[rr.RevisionName] != st {
		dp.stopLocked(st.inst) // no longer wanted
	}
	dp.mu.Unlock()
	dp.s.revisionStarted(rr, err)
}
