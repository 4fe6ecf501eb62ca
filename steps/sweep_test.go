package steps_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/steps"
)

// classRoom is one simulator holding several attendee projects.
type classRoom struct {
	sim     *sim.Sim
	faults  *sim.Faults
	targets []steps.Target
	store   steps.Store
}

func newClassRoom(t *testing.T, projects ...string) *classRoom {
	t.Helper()
	f := sim.NewFaults(1, 0)
	s := sim.New(sim.Options{Faults: f})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	room := &classRoom{sim: s, faults: f, store: steps.Store{Dir: t.TempDir()}}
	for _, p := range projects {
		vars := steps.DefaultVars()
		vars.Project = p
		vars.Image = lab.HelloImage
		cloud, err := gcp.Connect(context.Background(), p, s.Endpoints())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cloud.Close() })
		room.targets = append(room.targets, steps.Target{Cloud: cloud, Vars: vars})
	}
	return room
}

// replay runs the steps from..to of the lab in project i ("" for the first
// or last step), keeping the learner's progress between replays.
func (c *classRoom) replay(t *testing.T, i int, from, to string) {
	t.Helper()
	tg := c.targets[i]
	r, err := steps.New(tg.Cloud, tg.Vars, steps.Options{Store: c.store})
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := r.Run(context.Background(), steps.Range{From: from, To: to}); err != nil || !sum.OK() {
		t.Fatalf("replay of %s from %q to %q: %+v %v", tg.Vars.Project, from, to, sum, err)
	}
}

func (c *classRoom) sweep(i int) steps.Report {
	tg := c.targets[i]
	return steps.Sweep(context.Background(), tg.Cloud, tg.Vars, steps.DefaultProbe())
}

// passedThrough checks that exactly the board's steps up to last passed, and
// that every later one is pending.
func passedThrough(t *testing.T, rep steps.Report, last string) {
	t.Helper()
	after := last == ""
	for _, c := range rep.Steps {
		want := steps.CheckPassed
		if after {
			want = steps.CheckPending
		}
		if c.State != want {
			t.Errorf("%s: step %s is %s (%s; fix %q), want %s", rep.Project, c.ID, c.State, c.Reason, c.Fix, want)
		}
		if c.ID == last {
			after = true
		}
	}
}

// TestSweepShowsWhereEachProjectStands is the instructor's room: three
// projects on one simulator, replayed to different points, each swept
// read-only.
func TestSweepShowsWhereEachProjectStands(t *testing.T) {
	parallel(t)
	room := newClassRoom(t, "attendee-one", "attendee-two", "attendee-three", "attendee-four")
	room.replay(t, 0, "", "deploy-a")
	room.replay(t, 1, "", "forwarding-rule")
	room.replay(t, 2, "", "")

	changed := room.sim.Changes()
	reports := make([]steps.Report, len(room.targets))
	steps.SweepAll(context.Background(), room.targets, 2, steps.DefaultProbe(), func(i int, r steps.Report) { reports[i] = r })
	select {
	case <-changed:
		t.Error("a sweep changed the simulator's state: it must only read")
	default:
	}

	passedThrough(t, reports[0], "deploy-a")
	passedThrough(t, reports[1], "forwarding-rule")
	passedThrough(t, reports[2], steps.BoardSteps()[len(steps.BoardSteps())-1].ID)
	if !reports[2].Holds() || reports[0].Holds() {
		t.Errorf("Holds: complete %v, at deploy-a %v", reports[2].Holds(), reports[0].Holds())
	}
	// A project nobody touched: its project answers, nothing else is there.
	fresh := reports[3]
	passedThrough(t, fresh, "")
	for _, r := range reports {
		if r.Calls == 0 || r.Calls > 26 {
			t.Errorf("%s: a sweep made %d API calls; the board promises at most 26 (README)", r.Project, r.Calls)
		}
		t.Logf("%s: %d/%d passed, %d API calls, %s", r.Project, r.Passed, len(r.Steps), r.Calls, r.Elapsed)
	}
}

// TestSweepFailsWhatWasUndone: a resource deleted under later steps shows
// as failed, not pending, with its fix.
func TestSweepFailsWhatWasUndone(t *testing.T) {
	room := newClassRoom(t, "attendee-undo")
	room.replay(t, 0, "", "backend-b")
	tg := room.targets[0]
	// Region B's service deleted behind the learner's back.
	if _, err := tg.Cloud.DeleteService(context.Background(), tg.Vars.RegionB, tg.Vars.Service, nil); err != nil {
		t.Fatal(err)
	}
	rep := room.sweep(0)
	got := map[string]steps.StepCheck{}
	for _, c := range rep.Steps {
		got[c.ID] = c
	}
	if c := got["deploy-b"]; c.State != steps.CheckFailed || c.Fix == "" {
		t.Errorf("deploy-b: %+v; want failed with a fix", c)
	}
	if got["backend-b"].State != steps.CheckPassed || got["url-map"].State != steps.CheckPending {
		t.Errorf("backend-b %s, url-map %s", got["backend-b"].State, got["url-map"].State)
	}
}

// TestSweepBacksOffAndSaysWhatItCannotTell: a 429 that passes is retried;
// one that outlives the backoff, or a permission error, is unknown.
func TestSweepBacksOffAndSaysWhatItCannotTell(t *testing.T) {
	room := newClassRoom(t, "attendee-limits")
	room.replay(t, 0, "", "url-map")
	calm := room.sweep(0)

	room.faults.Add(sim.Fault{Method: "compute.backendServices.list", Status: http.StatusTooManyRequests, Times: 2})
	rep := room.sweep(0)
	if rep.Passed != calm.Passed || rep.Calls != calm.Calls+2 {
		t.Errorf("after two 429s: %d passed (want %d), %d calls (want %d)", rep.Passed, calm.Passed, rep.Calls, calm.Calls+2)
	}

	room.faults.Add(sim.Fault{Method: "compute.urlMaps.list", Status: http.StatusTooManyRequests})
	room.faults.Add(sim.Fault{Method: "compute.targetHttpProxies.list", Status: http.StatusForbidden})
	rep = room.sweep(0)
	for _, c := range rep.Steps {
		switch c.ID {
		case "url-map", "proxy":
			if c.State != steps.CheckUnknown || c.Reason == "" {
				t.Errorf("%s: %+v; want unknown with the reason", c.ID, c)
			}
		case "backend-service":
			if c.State != steps.CheckPassed {
				t.Errorf("backend-service: %+v", c)
			}
		}
	}
}

// TestSweepFollowsTheOutageSwitch is the default lab (the Gemini service,
// broken with its outage switch): mid-break, then complete.
func TestSweepFollowsTheOutageSwitch(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the service image")
	}
	withServiceImage(t)
	room := newClassRoom(t, "attendee-outage")
	room.targets[0].Vars.Image = ""
	room.replay(t, 0, "", "break-region")
	rep := room.sweep(0)
	passedThrough(t, rep, "break-region")

	room.replay(t, 0, "failover", "")
	rep = room.sweep(0)
	if !rep.Holds() {
		passedThrough(t, rep, "restore")
	}
}

// A sweep has no saved progress, so no decision of confirm-ai: a service
// of the lab's own image that calls the model at global (the default
// model's decision on the simulator) still passes, and so would one that
// calls it in its region.
func TestSweepAcceptsEitherModelLocation(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the service image")
	}
	withServiceImage(t)
	room := newClassRoom(t, "attendee-one")
	room.targets[0].Vars.Image = ""
	room.replay(t, 0, "", steps.DeployA)
	rep := room.sweep(0)
	passedThrough(t, rep, steps.DeployA)
}

// TestSweepJudgesAnImageAttendeeByWhatServes: an attendee who ran the lab
// with --image (the workshop's hello sample) is judged by what serves, on a
// board that was not told: building the image, the deploys and everything
// after them pass.
func TestSweepJudgesAnImageAttendeeByWhatServes(t *testing.T) {
	parallel(t)
	room := newClassRoom(t, "attendee-hello")
	room.replay(t, 0, "", "")
	room.targets[0].Vars.Image = "" // the board knows the project, not the flags
	rep := room.sweep(0)
	passedThrough(t, rep, steps.BoardSteps()[len(steps.BoardSteps())-1].ID)
	if !rep.Holds() {
		t.Errorf("%d/%d passed; want all", rep.Passed, len(rep.Steps))
	}

	// Part 5's reads are counted with the others, each attempt: a 429 on
	// each of three of them costs three more calls, and changes nothing.
	for _, m := range []string{"compute.globalAddresses.get", "dns.managedZones.get", "google.cloud.certificatemanager.v1.CertificateManager.GetCertificate"} {
		room.faults.Add(sim.Fault{Method: m, Status: http.StatusTooManyRequests, Times: 1})
	}
	again := room.sweep(0)
	if again.Passed != rep.Passed || again.Calls != rep.Calls+3 {
		t.Errorf("after a 429 on three Part 5 reads: %d passed (want %d), %d calls (want %d)", again.Passed, rep.Passed, again.Calls, rep.Calls+3)
	}
}
