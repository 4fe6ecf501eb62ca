package steps

import (
	"errors"
	"testing"
	"time"
)

// TestRecorderKeepsTheVerification: the recorder keeps the global IP's
// answers from the first breaking step to the end of the restoring one,
// the breaks and restores that took effect, and each failover measured,
// saving it at each failover and at the end; the store gives it back.
func TestRecorderKeepsTheVerification(t *testing.T) {
	store := Store{Dir: t.TempDir()}
	byID := map[string]*Step{}
	for _, s := range Lab() {
		byID[s.ID] = s
	}
	saves := 0
	rc := &recorder{steps: byID, save: func(r Record) {
		saves++
		r.Target, r.Project = "simulator", "p-record"
		if err := store.SaveRecord(r); err != nil {
			t.Fatal(err)
		}
	}}
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	sample := func(ms, status int, region string) Event {
		return Event{Kind: EventSample, At: at(ms), Sample: &Sample{At: at(ms), Status: status, Region: region, Latency: 2 * time.Millisecond}}
	}
	for _, e := range []Event{
		sample(0, 200, "us-central1"), // before any break: not kept
		{Kind: EventStarted, Step: BreakWorkshop, At: at(10)},
		sample(20, 200, "us-central1"),
		{Kind: EventDid, Step: BreakWorkshop, At: at(30)},
		{Kind: EventStarted, Step: BreakRegion, At: at(40)},
		{Kind: EventBreak, Step: BreakRegion, At: at(45)},
		{Kind: EventDid, Step: BreakRegion, At: at(50), Err: errors.New("refused")}, // did not take effect
		{Kind: EventBreak, Step: BreakRegion, At: at(55)},
		{Kind: EventDid, Step: BreakRegion, At: at(60)},
		sample(70, 503, ""),
		sample(80, 200, "europe-west1"),
		{Kind: EventFailover, Step: Failover, At: at(90), Failover: &FailoverReport{Method: methodOutage, Requests: 2, FailedRequests: 1}},
		{Kind: EventDid, Step: Restore, At: at(100)},
		sample(110, 200, "us-central1"),
		{Kind: EventDone, Step: Restore, At: at(120)},
		sample(130, 200, "us-central1"), // after the restore: not kept
	} {
		rc.observe(e)
	}
	if saves != 2 {
		t.Errorf("saved %d times; want at the failover and at the end of the restore", saves)
	}
	r, err := store.LoadRecord("simulator", "p-record")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Samples) != 4 || r.Samples[1].Status != 503 || !r.Samples[1].Failed() || r.Samples[2].Region != "europe-west1" || r.Samples[0].LatencyMS != 2 {
		t.Errorf("samples %+v; want the 4 from the first break to the end of the restore", r.Samples)
	}
	want := []string{"break " + BreakWorkshop, "break " + BreakRegion, "restore " + Restore}
	if len(r.Marks) != len(want) {
		t.Fatalf("marks %+v; want %v", r.Marks, want)
	}
	for i, m := range r.Marks {
		if m.Kind+" "+m.Step != want[i] {
			t.Errorf("mark %d = %s %s; want %s", i, m.Kind, m.Step, want[i])
		}
	}
	if !r.Marks[1].At.Equal(at(55)) {
		t.Errorf("the break is marked at %v; want the instant the break that took effect was sent (t=0 of the failover's offsets), %v", r.Marks[1].At, at(55))
	}
	if !r.Marks[0].At.Equal(at(30)) {
		t.Errorf("the workshop's test, which sends no break, is marked at %v; want where it was done, %v", r.Marks[0].At, at(30))
	}
	if len(r.Failovers) != 1 || r.Failovers[0].FailedRequests != 1 {
		t.Errorf("failovers %+v", r.Failovers)
	}
	if empty, err := (Store{Dir: t.TempDir()}).LoadRecord("simulator", "none"); err != nil || len(empty.Samples) != 0 {
		t.Errorf("no record saved: %+v, %v; want an empty one", empty, err)
	}
}

// TestRecorderKeepsTheLastMeasuredFailover: a verification that measures no
// failover (a resume whose failover step passes on its check alone) does not
// replace the record of the last one that did.
func TestRecorderKeepsTheLastMeasuredFailover(t *testing.T) {
	store := Store{Dir: t.TempDir()}
	byID := map[string]*Step{}
	for _, s := range Lab() {
		byID[s.ID] = s
	}
	rc := &recorder{steps: byID, save: func(r Record) {
		r.Target, r.Project = "simulator", "p-record"
		if err := store.SaveRecord(r); err != nil {
			t.Fatal(err)
		}
	}}
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	verification := func(start int, measured bool) {
		rc.observe(Event{Kind: EventStarted, Step: BreakRegion, At: at(start)})
		rc.observe(Event{Kind: EventSample, At: at(start + 10), Sample: &Sample{At: at(start + 10), Status: 200, Region: "europe-west1"}})
		if measured {
			rc.observe(Event{Kind: EventFailover, Step: Failover, At: at(start + 20), Failover: &FailoverReport{Method: methodOutage, Requests: 7}})
		}
		rc.observe(Event{Kind: EventDone, Step: Restore, At: at(start + 30)})
	}
	verification(0, true)
	verification(100, false)
	r, err := store.LoadRecord("simulator", "p-record")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Failovers) != 1 || r.Failovers[0].Requests != 7 || len(r.Samples) != 1 || !r.Samples[0].At.Equal(at(10)) {
		t.Errorf("record %+v; want the first verification's, which measured the failover", r)
	}
}
