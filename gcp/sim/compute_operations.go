package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/beyond-lab/beyond/gcp/sim/clock"
	"google.golang.org/protobuf/proto"
)

// computeOpWaitMax is how long operations.wait blocks at most, as Google's.
const computeOpWaitMax = 2 * time.Minute

// computeOpKeep is how many operations a project keeps; older ones that are
// done are forgotten, as Google forgets operations after a while.
const computeOpKeep = 1000

// computeOpUser is who every operation says started it: the simulator has
// no accounts.
const computeOpUser = "learner@beyond.sim"

// computeOp is one Compute Engine operation. The change it describes is
// applied when the operation is created; the operation only reports RUNNING
// until done, so that callers see the wait a real one takes. Its status is
// computed when it is read, so no timer is needed.
type computeOp struct {
	pb   *computepb.Operation // as created: RUNNING, or DONE if done is its insert time
	done time.Time
	seq  int64
}

// view is the operation as it stands at now.
func (op *computeOp) view(now time.Time) *computepb.Operation {
	v := proto.Clone(op.pb).(*computepb.Operation)
	if !now.Before(op.done) {
		v.Status = computepb.Operation_DONE.Enum()
		v.Progress = proto.Int32(100)
		v.EndTime = proto.String(computeTime(op.done))
	}
	return v
}

// newOpLocked records an operation of type verb on the resource with key,
// started at now, and returns it as the client first sees it.
func (a *computeAPI) newOpLocked(c *computeReq, verb, key string, target proto.Message, now time.Time) *computepb.Operation {
	a.s.keepLocked(c.p)
	seq := a.s.nextSeq()
	mix := computeMix(uint64(seq))
	name := fmt.Sprintf("operation-%d-%013x-%08x-%08x", now.UnixMilli(), mix>>12&(1<<52-1), uint32(mix>>32)^uint32(seq), uint32(mix))
	scope := "global"
	if strings.HasPrefix(key, "regions/") {
		scope = strings.Join(strings.Split(key, "/")[:2], "/")
	}
	opKey := scope + "/operations/" + name
	pb := &computepb.Operation{
		Kind:          proto.String("compute#operation"),
		Id:            proto.Uint64(computeMix(mix)),
		Name:          proto.String(name),
		OperationType: proto.String(verb),
		Status:        computepb.Operation_RUNNING.Enum(),
		Progress:      proto.Int32(0),
		InsertTime:    proto.String(computeTime(now)),
		StartTime:     proto.String(computeTime(now)),
		TargetLink:    proto.String(computeURL(c.p, key)),
		TargetId:      proto.Uint64(computeID(target)),
		SelfLink:      proto.String(computeURL(c.p, opKey)),
		User:          proto.String(computeOpUser),
	}
	if scope != "global" {
		pb.Region = proto.String(computeURL(c.p, scope))
	}
	op := &computeOp{pb: pb, done: now.Add(a.s.opts.Profile.ComputeOp), seq: seq}
	c.p.compute.ops[opKey] = op
	c.p.compute.pruneOps(now)
	return op.view(now)
}

// pruneOps forgets the oldest finished operations beyond computeOpKeep.
func (cs *computeState) pruneOps(now time.Time) {
	if len(cs.ops) <= computeOpKeep {
		return
	}
	keys := cs.opKeys("")
	for _, k := range keys[:len(keys)-computeOpKeep] {
		if !now.Before(cs.ops[k].done) {
			delete(cs.ops, k)
		}
	}
}

// opKeys are the keys of the operations under prefix, oldest first.
func (cs *computeState) opKeys(prefix string) []string {
	var keys []string
	for k := range cs.ops {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return cs.ops[keys[i]].seq < cs.ops[keys[j]].seq })
	return keys
}

// findOp looks up the operation the request names.
func (a *computeAPI) findOp(c *computeReq) (string, *computeOp, *computeError) {
	key := c.scope() + "/operations/" + c.vars["name"]
	op, ok := c.p.compute.ops[key]
	if !ok {
		return "", nil, computeNotFound("projects/" + c.p.id + "/" + key)
	}
	return key, op, nil
}

func (a *computeAPI) getOp(c *computeReq) {
	withFound(a, c, a.findOp, func(_ string, op *computeOp) {
		computeWrite(c.w, op.view(a.s.now()))
	})
}

func (a *computeAPI) listOps(c *computeReq) {
	a.listFiltered(c, "compute#operationList", c.scope()+"/operations", func(yield func(proto.Message) bool) {
		now := a.s.now()
		for _, k := range c.p.compute.opKeys(c.scope() + "/operations/") {
			if !yield(c.p.compute.ops[k].view(now)) {
				return
			}
		}
	})
}

func (a *computeAPI) deleteOp(c *computeReq) {
	withFound(a, c, a.findOp, func(key string, _ *computeOp) {
		delete(c.p.compute.ops, key)
		c.w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		c.w.Write([]byte("{}"))
	})
}

// waitOp answers the operation once it is done, or after two minutes, or
// when the caller gives up, whichever comes first, as Google's wait does.
func (a *computeAPI) waitOp(c *computeReq) {
	a.s.mu.Lock()
	_, op, err := a.findOp(c)
	if err != nil {
		a.s.mu.Unlock()
		computeWriteError(c.w, err)
		return
	}
	done := op.done
	a.s.mu.Unlock()

	if d := done.Sub(a.s.now()); d > 0 {
		due, stop := clock.After(a.s.clock, min(d, computeOpWaitMax))
		defer stop()
		select {
		case <-due:
		case <-c.r.Context().Done():
			return // the caller is gone: nobody reads an answer
		case <-a.quit:
			// The simulator is closing: answer as the operation stands.
		}
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	computeWrite(c.w, op.view(a.s.now()))
}
