package sim

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/beyond-lab/beyond/gcp/sim/clock"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Long-running operations are the core's, not any one API's: Cloud Run,
// Service Usage and Artifact Registry start them (startOpLocked) and every
// wire surface reads them through the same methods (getOperation,
// listOperations, waitOperation, cancelOperation, deleteOperation), which
// answer google.longrunning.Operation values. The simulator keeps them in
// one store, by project, keyed by full name; the name says which project
// to look in:
//
//	projects/P/locations/R/operations/UUID   Cloud Run, Artifact Registry
//	operations/acf.p2-NUMBER-UUID            Service Usage
//
// An operation is RUNNING until its duration from the Profile has passed,
// then its effect is applied (a revision becomes ready, an API enabled...)
// and it is DONE. Effects are applied by a timer, so the data plane hears of
// them through Changes, and also by every read that finds an operation
// overdue, so a client never sees a stale answer.

// operation is one long-running operation of any of the gRPC APIs.
type operation struct {
	name    string
	project string // the ID of the project it belongs to
	seq     int64
	doneAt  time.Time
	done    bool
	// deleted hides the operation from Get and List (DeleteOperation); its
	// effect still happens, as Google's does.
	deleted bool
	// meta returns the metadata while the operation runs (Cloud Run's is the
	// Service as it stands); frozen into metadata when done.
	meta     func() proto.Message
	metadata *anypb.Any
	// finish applies the effect and returns the response or the error the
	// operation ends with. Called once, with s.mu held.
	finish func() (proto.Message, error)
	// cancel, if set, undoes what a cancelled operation left half done.
	cancel func()
	// blocked, if set, holds the operation RUNNING past its time while it
	// reports true: a deploy waits for its revision's startup probe. Whoever
	// makes it false settles the project (revisionStarted).
	blocked func() bool
	result  *longrunningpb.Operation // Result field once done
	timer   clock.Timer
}

// opStore is the simulator's operations, by project ID. Guarded by s.mu.
type opStore map[string]*projectOps

// projectOps are one project's operations: all of them by full name, and
// those still running, which are all a settle needs to look at.
type projectOps struct {
	byName  map[string]*operation
	pending map[*operation]bool
}

// opKeep is how many finished operations a project keeps: Google expires
// old operations too, and a long session (a class, a soak test) must not
// grow without end. The oldest finished ones go first.
const opKeep = 500

// of returns project p's operations, creating the set on first use.
func (st opStore) of(p *project) *projectOps {
	po := st[p.id]
	if po == nil {
		po = &projectOps{byName: map[string]*operation{}, pending: map[*operation]bool{}}
		st[p.id] = po
	}
	return po
}

// add records op, a running operation of project p.
func (st opStore) add(p *project, op *operation) {
	po := st.of(p)
	po.byName[op.name] = op
	po.pending[op] = true
}

// finished notes that op is done, and drops the oldest finished operations
// beyond opKeep.
func (po *projectOps) finished(op *operation) {
	delete(po.pending, op)
	if len(po.byName)-len(po.pending) <= opKeep {
		return
	}
	var finished []*operation
	for _, o := range po.byName {
		if o.done && o != op { // the one just done stays: its caller reads it next
			finished = append(finished, o)
		}
	}
	sort.Slice(finished, func(i, j int) bool { return finished[i].seq < finished[j].seq })
	for _, o := range finished[:max(len(finished)-opKeep+1, 0)] {
		delete(po.byName, o.name)
	}
}

// newUUIDLocked returns a UUID (version 4 layout) unique in this simulator
// and the same on every run, so names in logs and goldens are stable.
func (s *Sim) newUUIDLocked() string {
	b := sha256.Sum256(fmt.Appendf(nil, "beyond-sim/%d", s.nextSeq()))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// startOpLocked records op in project p and arranges for it to finish after
// d. With d zero it finishes before this returns, so the reply is already
// done and a client's Wait costs no further call. It returns the operation
// as the client first sees it.
func (s *Sim) startOpLocked(p *project, op *operation, d time.Duration) *longrunningpb.Operation {
	s.keepLocked(p)
	op.seq = s.nextSeq()
	op.project = p.id
	s.ops.add(p, op)
	if d <= 0 && !op.isBlocked() {
		s.finishOpLocked(op)
		return op.proto()
	}
	op.doneAt = s.now().Add(max(d, 0))
	if d <= 0 {
		return op.proto()
	}
	op.timer = s.clock.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed || op.done || op.isBlocked() {
			return
		}
		s.finishOpLocked(op)
	})
	return op.proto()
}

// isBlocked reports whether op must stay RUNNING whatever the time.
func (op *operation) isBlocked() bool { return op.blocked != nil && op.blocked() }

// finishOpLocked applies op's effect and marks it done.
func (s *Sim) finishOpLocked(op *operation) {
	if op.done {
		return
	}
	resp, err := op.finish()
	op.done = true
	if po := s.ops[op.project]; po != nil {
		po.finished(op)
	}
	if op.timer != nil {
		op.timer.Stop()
	}
	op.freezeMeta()
	if err != nil {
		op.result = &longrunningpb.Operation{Result: &longrunningpb.Operation_Error{Error: status.Convert(err).Proto()}}
	} else {
		a, aerr := opAny(resp)
		if aerr != nil {
			op.result = &longrunningpb.Operation{Result: &longrunningpb.Operation_Error{Error: status.Convert(aerr).Proto()}}
		} else {
			op.result = &longrunningpb.Operation{Result: &longrunningpb.Operation_Response{Response: a}}
		}
	}
	s.changedLocked()
}

// settleLocked finishes every operation of p whose time has come, oldest
// first. Every RPC that reads p's state calls it first.
func (s *Sim) settleLocked(p *project) {
	now := s.now()
	var due []*operation
	po := s.ops[p.id] // not s.ops.of(p): reading a project stores nothing
	if po == nil {
		return
	}
	for op := range po.pending {
		if !op.done && !op.doneAt.After(now) && !op.isBlocked() {
			due = append(due, op)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		if !due[i].doneAt.Equal(due[j].doneAt) {
			return due[i].doneAt.Before(due[j].doneAt)
		}
		return due[i].seq < due[j].seq
	})
	for _, op := range due {
		s.finishOpLocked(op)
	}
}

// settleAllLocked settles every project, for readers of the whole state.
func (s *Sim) settleAllLocked() {
	for _, id := range sortedKeys(s.projects) {
		s.settleLocked(s.projects[id])
	}
}

func (op *operation) freezeMeta() {
	if op.meta == nil {
		return
	}
	if a, err := opAny(op.meta()); err == nil {
		op.metadata = a
	}
}

// proto returns the operation as the API answers it.
func (op *operation) proto() *longrunningpb.Operation {
	out := &longrunningpb.Operation{Name: op.name, Done: op.done}
	if op.done {
		out.Metadata = op.metadata
		out.Result = op.result.Result
		return out
	}
	if op.meta != nil {
		if a, err := opAny(op.meta()); err == nil {
			out.Metadata = a
		}
	}
	return out
}

func opAny(m proto.Message) (*anypb.Any, error) {
	if m == nil {
		m = &emptypb.Empty{}
	}
	return anypb.New(m)
}

// findOpLocked returns the operation called name, or NOT_FOUND.
func (s *Sim) findOpLocked(name string) (*project, *operation, error) {
	for _, p := range s.opProjectsLocked(name) {
		s.settleLocked(p)
		if op, ok := s.ops.of(p).byName[canonicalOpName(p, name)]; ok && !op.deleted {
			return p, op, nil
		}
	}
	return nil, nil, status.Errorf(codes.NotFound, "Operation '%s' not found.", name)
}

// opProjectsLocked returns the projects an operation name can belong to:
// the one it names, or every project for a name that names none.
func (s *Sim) opProjectsLocked(name string) []*project {
	parts := strings.Split(name, "/")
	if len(parts) >= 2 && parts[0] == "projects" {
		if p := s.existingProjectLocked(parts[1]); p != nil {
			return []*project{p}
		}
		return nil
	}
	if rest, ok := strings.CutPrefix(name, "operations/acf.p2-"); ok {
		num, _, _ := strings.Cut(rest, "-")
		if p := s.projectByNumberLocked(num); p != nil {
			return []*project{p}
		}
		return nil
	}
	var all []*project
	for _, id := range sortedKeys(s.projects) {
		all = append(all, s.projects[id])
	}
	return all
}

// existingProjectLocked finds a stored project by ID, or one by a number it
// has answered with (projectByNumberLocked), storing nothing.
func (s *Sim) existingProjectLocked(ref string) *project {
	if p, ok := s.projects[ref]; ok {
		return p
	}
	return s.projectByNumberLocked(ref)
}

// canonicalOpName rewrites projects/NUMBER/... to projects/ID/..., the form
// operations are stored under.
func canonicalOpName(p *project, name string) string {
	parts := strings.SplitN(name, "/", 3)
	if len(parts) == 3 && parts[0] == "projects" {
		return "projects/" + p.id + "/" + parts[2]
	}
	return name
}

// stopOpTimers stops the timers of running operations when the simulator
// closes, so that a long Profile leaves nothing behind.
func (s *Sim) stopOpTimers() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, po := range s.ops {
		for op := range po.pending {
			if op.timer != nil {
				op.timer.Stop()
			}
		}
	}
	return nil
}

// getOperation answers GetOperation.
func (s *Sim) getOperation(req *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, op, err := s.findOpLocked(req.GetName())
	if err != nil {
		return nil, err
	}
	return op.proto(), nil
}

// listOperations answers ListOperations.
func (s *Sim) listOperations(req *longrunningpb.ListOperationsRequest) (*longrunningpb.ListOperationsResponse, error) {
	switch strings.ReplaceAll(req.GetFilter(), " ", "") {
	case "", "done=true", "done=false":
	default:
		return nil, grpcInvalid("unsupported filter %q: the simulator understands only done=true and done=false", req.GetFilter())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	coll := strings.TrimSuffix(req.GetName(), "/")
	prefix := "operations/"
	if coll != "" && coll != "operations" {
		prefix = coll + "/operations/"
	}
	var ops []*operation
	for _, p := range s.opProjectsLocked(prefix) {
		s.settleLocked(p)
		want := canonicalOpName(p, prefix)
		for _, op := range s.ops.of(p).byName {
			if !op.deleted && strings.HasPrefix(op.name, want) && opMatchFilter(op, req.GetFilter()) {
				ops = append(ops, op)
			}
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].seq < ops[j].seq })
	page, next, err := grpcPage(ops, req.GetPageSize(), req.GetPageToken(), 100, 1000)
	if err != nil {
		return nil, err
	}
	resp := &longrunningpb.ListOperationsResponse{NextPageToken: next}
	for _, op := range page {
		resp.Operations = append(resp.Operations, op.proto())
	}
	return resp, nil
}

func opMatchFilter(op *operation, filter string) bool {
	switch strings.ReplaceAll(filter, " ", "") {
	case "done=true":
		return op.done
	case "done=false":
		return !op.done
	}
	return true
}

// deleteOperation answers DeleteOperation.
func (s *Sim) deleteOperation(req *longrunningpb.DeleteOperationRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, op, err := s.findOpLocked(req.GetName())
	if err != nil {
		return nil, err
	}
	op.deleted = true
	return &emptypb.Empty{}, nil
}

// cancelOperation answers CancelOperation.
func (s *Sim) cancelOperation(req *longrunningpb.CancelOperationRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, op, err := s.findOpLocked(req.GetName())
	if err != nil {
		return nil, err
	}
	if op.done {
		return &emptypb.Empty{}, nil
	}
	if op.cancel != nil {
		op.cancel()
	}
	op.finish = func() (proto.Message, error) {
		return nil, status.Error(codes.Canceled, "Operation was cancelled.")
	}
	s.finishOpLocked(op)
	return &emptypb.Empty{}, nil
}

// waitOperation answers WaitOperation: it returns once the operation is
// done or the timeout (at most a minute) has passed, with the operation as
// it then stands.
func (s *Sim) waitOperation(ctx context.Context, req *longrunningpb.WaitOperationRequest) (*longrunningpb.Operation, error) {
	wait := time.Minute
	if t := req.GetTimeout(); t != nil && t.AsDuration() > 0 && t.AsDuration() < wait {
		wait = t.AsDuration()
	}
	timeout, stop := clock.After(s.clock, wait)
	defer stop()
	for {
		s.mu.Lock()
		_, op, err := s.findOpLocked(req.GetName())
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		out := op.proto()
		changed := s.change
		s.mu.Unlock()
		if out.Done {
			return out, nil
		}
		select {
		case <-changed:
		case <-timeout:
			return out, nil
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
}
