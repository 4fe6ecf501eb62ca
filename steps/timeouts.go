package steps

import "time"

// The timeouts on the way from the lab to Gemini, written down once. Inner
// ones must end first, so that a slow model call is answered by the service
// itself, inside one try, instead of being cut by the load balancer,
// retried, counted against a healthy region and ejected:
//
//	serviceCheckTimeout   8 s  the service's bound on one check, its own model
//	                           retries included (CHECK_TIMEOUT in its env)
//	  <  perTryTimeout   10 s  the URL map's bound on one attempt
//	(1 + numRetries) × perTryTimeout = 30 s, every attempt
//	  <  checkProbeTimeout 35 s  how long the curl step waits for one
//	                           /v1/check through the global IP
//
// Google documents no fixed load-balancer timeout for serverless backends:
// a backend service with serverless NEGs refuses timeoutSec, Cloud Run's
// own request timeout (300 s by default) bounds the service, and a URL map
// route's `timeout` (which the lab does not set) would bound all the
// attempts together.
//
// The failover probes ask GET /health, which never calls the model, and wait
// healthProbeTimeout for it: an answer that takes longer is a real failure.
// README's "Timeouts" section repeats this order; TestTimeoutsOrdered keeps it.
const (
	serviceCheckTimeout = 8 * time.Second
	perTryTimeout       = 10 * time.Second
	numRetries          = 2
	checkProbeTimeout   = 35 * time.Second
	healthProbeTimeout  = 5 * time.Second
)
