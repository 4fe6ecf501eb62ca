package gcp_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/gcp/sim/simtest"
	"google.golang.org/protobuf/proto"
)

// lines collects progress lines, safe for the goroutines of a call.
type lines struct {
	mu  sync.Mutex
	got []string
}

func (l *lines) add(s string) { l.mu.Lock(); l.got = append(l.got, s); l.mu.Unlock() }

func (l *lines) matching(re string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.got {
		if regexp.MustCompile(re).MatchString(s) {
			out = append(out, s)
		}
	}
	return out
}

// sleeps records the waits of a Retry instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func connectSpec(t *testing.T, spec string) (*gcp.Cloud, *sleeps) {
	t.Helper()
	f, err := sim.ParseFaultSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	c := simtest.Connect(t, simtest.Start(t, sim.Options{Faults: f}), "beyond-retry-test")
	c.Retry.Sleep = func(context.Context, time.Duration) error { return nil }
	if err := c.EnableAPIs(context.Background(), []string{"run.googleapis.com", "compute.googleapis.com"}, nil); err != nil {
		t.Fatal(err)
	}
	var z sleeps
	c.Retry.Sleep = z.sleep
	c.Retry.Jitter = func() float64 { return 0.999 }
	return c, &z
}

func backendService(name string) *computepb.BackendService {
	return &computepb.BackendService{Name: proto.String(name), LoadBalancingScheme: proto.String("EXTERNAL_MANAGED"), Protocol: proto.String("HTTP")}
}

// TestRetryRateLimitOnCreate: a create answered 429 three times is retried
// with growing, capped waits, each retry a progress line, and succeeds.
func TestRetryRateLimitOnCreate(t *testing.T) {
	c, z := connectSpec(t, "compute.backendServices.insert=429x3")
	var l lines
	if err := c.CreateBackendService(context.Background(), backendService("bs"), l.add); err != nil {
		t.Fatalf("create after three 429s: %v", err)
	}
	got := l.matching(`^429 from compute\.backendServices\.insert; retrying in [0-9.]+ s, \d of 5$`)
	if len(got) != 3 || !strings.HasSuffix(got[0], "2 of 5") || !strings.HasSuffix(got[2], "4 of 5") {
		t.Errorf("progress lines %q, want three retries numbered 2 to 4 of 5", l.got)
	}
	if len(z.d) != 3 || !(z.d[0] < z.d[1] && z.d[1] < z.d[2]) || z.d[2] > gcp.SimRetry.Max {
		t.Errorf("waits %v: want three growing waits, at most %v", z.d, gcp.SimRetry.Max)
	}
	if _, err := c.GetBackendService(context.Background(), "bs"); err != nil {
		t.Errorf("the backend service is not there: %v", err)
	}
}

// TestRetryAdoptsCreateThatTookEffect: a 503 answered after the create was
// made is retried; the retry's 409 means the first attempt took effect, and
// the call succeeds with one resource, not two.
func TestRetryAdoptsCreateThatTookEffect(t *testing.T) {
	ctx := context.Background()
	c, _ := connectSpec(t, "compute.backendServices.insert=503x1:after,run.CreateService=503x1:after,compute.backendServices.delete=503x1:after")
	var l lines
	if err := c.CreateBackendService(ctx, backendService("bs"), l.add); err != nil {
		t.Fatalf("create after a late 503: %v", err)
	}
	if got := l.matching(`^compute\.backendServices\.insert answered already exists after a 503: the earlier attempt took effect$`); len(got) != 1 {
		t.Errorf("progress %q: want one line saying the earlier attempt took effect", l.got)
	}
	svc, changed, err := c.DeployService(ctx, gcp.ServiceSpec{Region: "us-central1", Name: "svc", Image: "us-docker.pkg.dev/cloudrun/container/hello"}, l.add)
	if err != nil || !changed || !svc.Ready {
		t.Fatalf("deploy after a late UNAVAILABLE: %+v %v %v", svc, changed, err)
	}
	if got := l.matching(`^run\.CreateService answered already exists after an? UNAVAILABLE`); len(got) != 1 {
		t.Errorf("progress %q: want the create adopted", l.got)
	}
	if svc.LatestReady != svc.LatestCreated || !strings.HasSuffix(svc.LatestReady, "") {
		t.Errorf("service %+v: want one ready revision", svc)
	}
	gone, err := c.DeleteBackendService(ctx, "bs", l.add)
	if err != nil || !gone {
		t.Fatalf("delete after a late 503: %v %v", gone, err)
	}
	if _, err := c.GetBackendService(ctx, "bs"); !gcp.IsNotFound(err) {
		t.Errorf("after the delete: %v, want not found", err)
	}
}

// TestRetryBudget: a call that keeps failing stops after the budget, and the
// error says how often it tried and what to do.
func TestRetryBudget(t *testing.T) {
	c, z := connectSpec(t, "run.GetService=503")
	var l lines
	ctx := gcp.WithProgress(context.Background(), l.add)
	_, err := c.GetService(ctx, "us-central1", "svc")
	var ge *gcp.Error
	if !errors.As(err, &ge) || ge.Kind != gcp.KindUnavailable {
		t.Fatalf("error %v: want KindUnavailable", err)
	}
	if !strings.Contains(ge.Cause, "tried 5 times") || ge.Fix == "" {
		t.Errorf("error %q: want the attempts and a fix", err)
	}
	if len(z.d) != 4 || len(l.matching(`^UNAVAILABLE from run\.GetService; retrying in [0-9.]+ s, [2-5] of 5$`)) != 4 {
		t.Errorf("waits %v, lines %q: want 4 retries reported through the context", z.d, l.got)
	}
}

// TestRetryNever: what the learner must fix, and a 500 on a change, are not
// retried.
func TestRetryNever(t *testing.T) {
	for _, spec := range []string{"compute.backendServices.insert=400x1", "compute.backendServices.insert=403x1", "compute.backendServices.insert=500x1", "compute.backendServices.insert=412x1"} {
		c, z := connectSpec(t, spec)
		err := c.CreateBackendService(context.Background(), backendService("bs"), nil)
		if err == nil || len(z.d) != 0 {
			t.Errorf("%s: error %v after %d retries, want a failure and no retry", spec, err, len(z.d))
		}
	}
}

// TestRetryRandomFaults: under a random 30% of 429s and 503s, a chain of
// reads and changes all succeed.
func TestRetryRandomFaults(t *testing.T) {
	ctx := context.Background()
	c, z := connectSpec(t, "rate=0.3,seed=7")
	for i := range 10 {
		name := fmt.Sprintf("bs-%d", i)
		if err := c.CreateBackendService(ctx, backendService(name), nil); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		if _, err := c.GetBackendService(ctx, name); err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		if _, err := c.DeleteBackendService(ctx, name, nil); err != nil {
			t.Fatalf("delete %s: %v", name, err)
		}
	}
	if len(z.d) == 0 {
		t.Error("no call was retried: the faults did not fire")
	}
}
