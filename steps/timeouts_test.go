package steps

import (
	"testing"
	"time"

	"github.com/beyond-lab/beyond/service"
)

// TestTimeoutsOrdered keeps the order written down in timeouts.go: a slow
// model call is answered by the service inside one try, the tries fit in
// and the curl step waits for every try.
func TestTimeoutsOrdered(t *testing.T) {
	if !(serviceCheckTimeout < perTryTimeout) {
		t.Errorf("the service's deadline %s must be under the URL map's per-try timeout %s, or the load balancer cuts a slow model call and retries it", serviceCheckTimeout, perTryTimeout)
	}
	if total := time.Duration(1+numRetries) * perTryTimeout; !(total < checkProbeTimeout) {
		t.Errorf("the curl step waits %s for /v1/check, under the %d tries of %s (%s) the load balancer may make: a slow answer would count as a failed sample", checkProbeTimeout, 1+numRetries, perTryTimeout, total)
	}
	if serviceCheckTimeout > service.DefaultTimeout {
		t.Errorf("the lab's CHECK_TIMEOUT %s is above the service's own default %s", serviceCheckTimeout, service.DefaultTimeout)
	}
	// What the lab deploys is what this test checks.
	s := &Session{Vars: DefaultVars()}
	if got := s.deployEnv("us-central1")["CHECK_TIMEOUT"]; got != serviceCheckTimeout.String() {
		t.Errorf("the deployed CHECK_TIMEOUT is %q, want %s", got, serviceCheckTimeout)
	}
	if p := labRetry(); time.Duration(p.GetPerTryTimeout().GetSeconds())*time.Second != perTryTimeout || int(p.GetNumRetries()) != numRetries {
		t.Errorf("the URL map's retry policy %v does not use the ordered values", p)
	}
}
