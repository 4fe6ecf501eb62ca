package steps

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Record is what the verification steps measured in a run, kept beside the
// saved progress for `beyond report`: every failover measured, the global
// IP's answers from the first break to the end of the restore, and when
// each break and restore took effect. It holds no secret.
type Record struct {
	Target    string           `json:"target"`
	Project   string           `json:"project"`
	Failovers []FailoverReport `json:"failovers"`
	Marks     []Mark           `json:"marks"`
	Samples   []RecordedSample `json:"samples"`
}

// Mark is a break or a restore taking effect. A break's instant is when
// the lab sent it (EventBreak), t=0 of the failover's offsets, for a break
// that took effect; a restore's, when it was done.
type Mark struct {
	Step  string    `json:"step"`
	Title string    `json:"title"`
	Kind  string    `json:"kind"` // MarkBreak or MarkRestore
	At    time.Time `json:"at"`
}

// Kinds of Mark.
const (
	MarkBreak   = "break"
	MarkRestore = "restore"
)

// RecordedSample is one answer of the global IP, as kept.
type RecordedSample struct {
	At        time.Time `json:"at"`
	Status    int       `json:"status,omitempty"` // 0: no answer
	Region    string    `json:"region,omitempty"`
	LatencyMS float64   `json:"latency_ms"`
	Error     string    `json:"error,omitempty"`
}

// Failed reports whether the request failed, as probe.Sample.Failed does.
func (s RecordedSample) Failed() bool {
	return s.Error != "" || s.Status < 200 || s.Status >= 400
}

// maxRecorded bounds the samples kept: an hour of the replay's 20 a second
// is far more than a run's verification takes.
const maxRecorded = 72000

// recorder builds a run's Record from its events: it starts at the first
// breaking step and ends with the restoring one.
type recorder struct {
	mu    sync.Mutex
	on    bool
	rec   Record
	steps map[string]*Step
	save  func(Record)
	sent  time.Time // the break being made was sent then (EventBreak)
}

func (rc *recorder) observe(e Event) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	s := rc.steps[e.Step]
	switch {
	case e.Kind == EventStarted && s != nil && s.Breaks && !rc.on:
		// A new verification: what an earlier one measured is replaced.
		rc.on = true
		rc.rec.Failovers, rc.rec.Marks, rc.rec.Samples = nil, nil, nil
	case !rc.on:
	case e.Kind == EventBreak && s != nil && s.Breaks:
		rc.sent = e.At
	case e.Kind == EventSample && e.Sample != nil && len(rc.rec.Samples) < maxRecorded:
		sm := e.Sample
		rc.rec.Samples = append(rc.rec.Samples, RecordedSample{At: sm.At, Status: sm.Status, Region: sm.Region,
			LatencyMS: float64(sm.Latency.Microseconds()) / 1000, Error: sm.Err})
	case e.Kind == EventDid && e.Err == nil && s != nil && (s.Breaks || s.Restores):
		kind, at := MarkBreak, e.At
		if s.Restores {
			kind = MarkRestore
		} else if !rc.sent.IsZero() {
			// The offsets count from the instant the break was sent, so
			// the chart marks it there, not where the change was done.
			at = rc.sent
		}
		rc.sent = time.Time{}
		rc.rec.Marks = append(rc.rec.Marks, Mark{Step: s.ID, Title: s.Title, Kind: kind, At: at})
	case e.Kind == EventFailover && e.Failover != nil:
		rc.rec.Failovers = append(rc.rec.Failovers, *e.Failover)
		rc.saveLocked()
	case e.Kind == EventDone && s != nil && s.Restores:
		rc.on = false
		if len(rc.rec.Failovers) > 0 {
			rc.saveLocked()
		}
		// Else this verification measured no failover (a resume whose
		// failover step passed on its check alone): the record saved keeps
		// the last one that did, rather than samples without a report.
	}
}

func (rc *recorder) saveLocked() {
	if rc.save == nil {
		return
	}
	r := rc.rec
	r.Failovers = slices.Clone(r.Failovers)
	r.Marks = slices.Clone(r.Marks)
	r.Samples = slices.Clone(r.Samples)
	slices.SortStableFunc(r.Samples, func(a, b RecordedSample) int { return a.At.Compare(b.At) })
	rc.save(r)
}

func (s Store) recordPath(target, project string) string {
	return filepath.Join(s.Dir, target+"-"+project+".record.json")
}

// SaveRecord writes a run's Record, readable by the user alone.
func (s Store) SaveRecord(r Record) error {
	if s.Dir == "" {
		return nil
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("save the run's measurements: %w", err)
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("save the run's measurements: %w", err)
	}
	tmp, err := os.CreateTemp(s.Dir, ".record-*")
	if err != nil {
		return fmt.Errorf("save the run's measurements: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(append(data, '\n'))
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("save the run's measurements: %w", werr)
	}
	if err := os.Rename(tmp.Name(), s.recordPath(r.Target, r.Project)); err != nil {
		return fmt.Errorf("save the run's measurements: %w", err)
	}
	return nil
}

// LoadRecord reads the Record of the last verification; none saved is an
// empty Record.
func (s Store) LoadRecord(target, project string) (Record, error) {
	empty := Record{Target: target, Project: project}
	if s.Dir == "" {
		return empty, nil
	}
	data, err := os.ReadFile(s.recordPath(target, project))
	if errors.Is(err, fs.ErrNotExist) {
		return empty, nil
	}
	if err != nil {
		return empty, fmt.Errorf("read the run's measurements: %w", err)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return empty, fmt.Errorf("the run's measurements in %s are damaged (%v): run the verification steps again", s.recordPath(target, project), err)
	}
	return r, nil
}

// Signal says, for a learner, what a failover measurement's Method made the
// load balancer see.
func Signal(method string) string {
	switch method {
	case methodOutage:
		return "outlier detection (the region answers 503)"
	case methodUnready:
		return "Cloud Run service health (only the readiness probe fails)"
	case methodDetach:
		return "NEG detached from the backend service"
	}
	return method
}
