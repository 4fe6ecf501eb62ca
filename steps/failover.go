package steps

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/probe"
)

// Sample is one request to the global IP.
type Sample = probe.Sample

// FailoverReport measures one failover.
type FailoverReport struct {
	Method         string  `json:"method"`
	Requests       int     `json:"requests"`
	FailedRequests int     `json:"failed_requests"`
	RerouteSeconds float64 `json:"reroute_seconds"`
	Before         string  `json:"before"`
	After          string  `json:"after"`
	Rate           float64 `json:"rate"`
	// Signals are the two failover signals side by side, measured in this
	// one run on the same break (health.go).
	Signals []SignalReport `json:"signals,omitempty"`
	// FirstFailureSeconds is when, after the break, the first failed
	// request was sent; FailingSeconds how long from it to the last failed
	// one. Both are 0 when none failed.
	FirstFailureSeconds float64 `json:"first_failure_seconds"`
	FailingSeconds      float64 `json:"failing_seconds"`
}

// Failures says what clients saw: how many requests failed, when, and for
// how long.
func (r *FailoverReport) Failures() string {
	switch r.FailedRequests {
	case 0:
		return fmt.Sprintf("no request of %d failed", r.Requests)
	case 1:
		return fmt.Sprintf("1 of %d requests failed, %.2f s after the break", r.Requests, r.FirstFailureSeconds)
	}
	return fmt.Sprintf("%d of %d requests failed, from %.2f s after the break for %.2f s", r.FailedRequests, r.Requests, r.FirstFailureSeconds, r.FailingSeconds)
}

// ProbeConfig sets how the failover steps probe the global IP.
type ProbeConfig struct {
	Rate           float64 // requests per second
	ClientLocation string  // simulator only: the region the client stands nearest to
	// BreakBy is how break-region breaks the lab's service: BreakByErrors
	// (the default: every request fails, both failover signals see it) or
	// BreakByReadiness (only the readiness probe fails: service health alone).
	BreakBy string
}

// DefaultProbe is the replay's rate and location: 20 requests per second
// from near us-central1.
func DefaultProbe() ProbeConfig { return ProbeConfig{Rate: 20, ClientLocation: "us-central1"} }

// Methods of breaking region A.
const (
	methodOutage  = "outage-switch"  // a revision with BEYOND_OUTAGE=1
	methodUnready = "unready-switch" // a revision with BEYOND_OUTAGE=unready: only readiness fails
	methodDetach  = "detach-neg"     // NEG A removed from the backend service
	checkText     = "I love this product!"
)

// How long the failover steps wait. Google's load balancer needs minutes
// where the simulator needs seconds (4 minutes under --sim-profile
// realistic, which the wait to serve must outlast).
func (s *Session) patience() (serve, reroute time.Duration) {
	if s.Cloud.Simulated() {
		return 5 * time.Minute, time.Minute
	}
	return 15 * time.Minute, 5 * time.Minute
}

// watcher probes the global IP in the background, keeping every sample, from
// the break until the failover step has measured it.
type watcher struct {
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	samples []Sample
	health  []healthReading // service health read while probing (simulator only)
	breakAt time.Time
}

func (w *watcher) add(sm Sample) {
	w.mu.Lock()
	w.samples = append(w.samples, sm)
	w.mu.Unlock()
}

func (w *watcher) snapshot() []Sample {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Sample(nil), w.samples...)
}

func (w *watcher) stop() {
	w.cancel()
	<-w.done
}

// globalURL finds where the global IP answers, noting it for later steps.
// Once plain HTTP redirects to HTTPS (Part 5) that is https://api.DOMAIN: a
// runner that did not make the redirect itself (fresh progress, a lab
// rebuilt by the exported script or by hand) finds it by asking the IP.
func (s *Session) globalURL(ctx context.Context) (string, error) {
	ip := s.Outputs.GlobalIP
	if ip == "" {
		r, err := s.Cloud.GetForwardingRule(ctx, s.Vars.Rule)
		if err != nil {
			return "", err
		}
		ip = r.GetIPAddress()
		s.Outputs.GlobalIP = ip
	}
	if u := s.Outputs.HTTPSURL; u != "" && s.httpsNoted {
		// Plain HTTP redirects once Part 5 is done, as this session read
		// from the cloud: probe over HTTPS.
		s.Outputs.GlobalURL = u
		return u, nil
	}
	u, err := s.Cloud.FrontendURL(ctx, ip, 80)
	if err != nil {
		return "", err
	}
	if !s.httpsNoted {
		// An HTTPS address in saved progress is a hint, not a fact: it may
		// be another lab's (the simulator starts empty in each process) or
		// one since cleaned up. The IP's answer decides.
		to, err := s.redirectedTo(ctx, u, ip)
		if err != nil {
			return "", err
		}
		if to != "" {
			s.Outputs.HTTPSURL, s.Outputs.GlobalURL = to, to
			s.httpsNoted = true
			return to, nil
		}
		s.Outputs.HTTPSURL = ""
	}
	s.Outputs.GlobalURL = u
	return u, nil
}

// redirectedTo asks base (plain HTTP on the global IP) once for the page
// the probes ask (it never calls the model), without following a redirect,
// and returns where the probes must go instead when it redirects to HTTPS,
// "" when it does not. The answer's Location names the host the request
// did (here the IP, which no certificate of the lab covers), so the probes
// go to the lab's domain, api.DOMAIN, trusted as https-check trusts it
// (gcp.Cloud.WebClient).
func (s *Session) redirectedTo(ctx context.Context, base, ip string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+s.healthPath(), nil)
	if err != nil {
		return "", err
	}
	if s.Cloud.Simulated() && s.Probe.ClientLocation != "" {
		req.Header.Set(lab.ClientLocationHeader, s.Probe.ClientLocation)
	}
	client := &http.Client{Timeout: healthProbeTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return "", nil // not serving yet: the step that probes says so
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode < 300 || resp.StatusCode > 399 || err != nil || loc.Scheme != "https" {
		return "", nil
	}
	host := loc.Hostname()
	if net.ParseIP(host) != nil || host == "" {
		if s.domain() == "" {
			return "", failf(fmt.Sprintf("http://%s answers %s to %s: plain HTTP redirects to HTTPS, and the lab has no domain to reach HTTPS by (a certificate names a domain, not an IP)", ip, resp.Status, loc),
				"Run again with --domain example.com (or DOMAIN=example.com), the domain of the lab's certificate")
		}
		host = s.apiHost()
	}
	return "https://" + host, nil
}

// httpClient is a client for requests to base: for the lab's HTTPS URL,
// one that resolves names, reaches the load balancer and verifies TLS as
// the internet does (gcp.Cloud.WebClient).
func (s *Session) httpClient(base string, timeout time.Duration) *http.Client {
	if strings.HasPrefix(base, "https://") {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c, err := s.Cloud.WebClient(ctx); err == nil {
			c.Timeout = timeout
			return c
		}
	}
	return &http.Client{Timeout: timeout}
}

// probeConfig is one request of the failover probes: a cheap page that
// names the region and revision that answered and never calls the model
// (the service's GET /health; the sample's page with --image). At 20
// requests a second for minutes, probing /v1/check would be thousands of
// billed Gemini calls, and a Gemini 429 would count as a region failure and
// could eject a healthy region.
func (s *Session) probeConfig(base string) probe.Config {
	h := http.Header{}
	if s.Cloud.Simulated() && s.Probe.ClientLocation != "" {
		h.Set(lab.ClientLocationHeader, s.Probe.ClientLocation) // Google ignores it
	}
	c := probe.Config{URL: base + "/?format=text", Rate: s.Probe.Rate, Header: h, Method: http.MethodGet,
		Client: s.httpClient(base, healthProbeTimeout)}
	if !s.customImage() {
		c.URL = base + lab.HealthPath
	}
	return c
}

// checkConfig is the curl step's request: the service's real work, one
// Gemini check through the global IP (the sample's page with --image). The
// lab counts these calls.
func (s *Session) checkConfig(base string) probe.Config {
	c := s.probeConfig(base)
	if s.customImage() {
		return c
	}
	c.URL = base + "/v1/check"
	c.Method = http.MethodPost
	c.Body = `{"text":"` + checkText + `"}`
	c.Header.Set("Content-Type", "application/json")
	c.Client = s.httpClient(base, checkProbeTimeout)
	return c
}

// checkOnce sends the curl step's request once, counting a model call when
// the service answered it (it names its region): a 404 of a load balancer
// still provisioning never reached the model.
func (s *Session) checkOnce(ctx context.Context, base string) (Sample, string) {
	sm, body := probe.Once(ctx, s.checkConfig(base))
	if !s.customImage() && sm.Region != "" {
		s.countModelCall()
	}
	return sm, body
}

// burst collects the global IP's answers for d, from the runner's one
// prober (which a front end watching may already run), and past d until it
// has a few.
func (s *Session) burst(ctx context.Context, base string, d time.Duration) []Sample {
	var mu sync.Mutex
	var out []Sample
	enough := make(chan struct{})
	leave := s.feed.join(s.probeConfig(base), s.step, func(sm Sample) {
		mu.Lock()
		out = append(out, sm)
		if len(out) == burstAnswers {
			close(enough)
		}
		mu.Unlock()
	})
	wait := time.NewTimer(d)
	select {
	case <-wait.C:
	case <-ctx.Done():
	}
	// A verdict needs answers: a request slower than d (a loaded machine,
	// a client far from Google) must not read as "no answers".
	wait.Reset(burstPatience)
	select {
	case <-enough:
	case <-wait.C:
	case <-ctx.Done():
	}
	wait.Stop()
	leave()
	mu.Lock()
	defer mu.Unlock()
	return out
}

// A burst goes on past its time until it has burstAnswers answers, for at
// most burstPatience more (probe requests time out at healthProbeTimeout).
const (
	burstAnswers  = 5
	burstPatience = 2 * healthProbeTimeout
)

// sampler returns a function that reports a probe as an event of the step
// running now, safe to call from any goroutine, also after the step ends.
func (s *Session) sampler() func(Sample) {
	emit, step := s.emit, s.step
	return func(sm Sample) {
		if emit != nil {
			emit(Event{Kind: EventSample, Step: step, Sample: &sm, At: sm.At})
		}
	}
}

// nearest is the region the client should reach first, if the lab can know.
func (s *Session) nearest() string {
	if s.Cloud.Simulated() && (s.Probe.ClientLocation == s.Vars.RegionA || s.Probe.ClientLocation == s.Vars.RegionB) {
		return s.Probe.ClientLocation
	}
	return ""
}

// broken is the region the lab breaks: the one that answered the curl step,
// nearest the learner. Breaking the other would change nothing they see (a
// learner in Europe reaches region B from the start). Region A unless the
// curl step saw region B.
func (s *Session) broken() string {
	if s.Outputs.NearRegion == s.Vars.RegionB {
		return s.Vars.RegionB
	}
	return s.Vars.RegionA
}

// survivor is the region traffic must move to: the other one.
func (s *Session) survivor() string {
	if s.broken() == s.Vars.RegionB {
		return s.Vars.RegionA
	}
	return s.Vars.RegionB
}

// brokenNEG is the NEG of the broken region.
func (s *Session) brokenNEG() string {
	if s.broken() == s.Vars.RegionB {
		return s.Vars.NEGB
	}
	return s.Vars.NEGA
}

// whichRegion names the broken region for a learner: "region A", or
// "region B (europe-west1), the one nearest you".
func (s *Session) whichRegion() string {
	if s.broken() == s.Vars.RegionB {
		return "region B (" + s.Vars.RegionB + ", the one that answered you)"
	}
	return "region A"
}

// curlCommand is how a learner asks the global IP the same question.
func (s *Session) curlCommand(base string) string {
	if s.customImage() {
		return "curl \"" + base + "/?format=text\""
	}
	return fmt.Sprintf("curl -s -X POST %s/v1/check \\\n    -H 'Content-Type: application/json' \\\n    -d '{\"text\":\"%s\"}'", base, checkText)
}

func (s *Session) baseForCommand() string {
	if u := s.Outputs.GlobalURL; u != "" {
		return u
	}
	if ip := s.Outputs.GlobalIP; ip != "" {
		return "http://" + ip
	}
	return "http://$GLOBAL_IP"
}

// A load balancer whose configuration is still spreading flaps: some of
// Google's front ends route, others answer 404 or 502, for minutes. One 200
// proves nothing, so the curl step wants stableRun answers of 200 in a row,
// spaced by runEvery (on Google 10 over 13.5 s).
const stableRun = 10

func runEvery(s *Session) time.Duration {
	if s.Cloud.Simulated() {
		return 200 * time.Millisecond
	}
	return 1500 * time.Millisecond
}

// checkPatience bounds how long a Check of the global IP retries before it
// fails: long enough to ride out a flap, short enough to answer.
func checkPatience(s *Session) time.Duration {
	if s.Cloud.Simulated() {
		return 15 * time.Second
	}
	return time.Minute
}

// answerOK asks the global IP until it answers 200, for at most
// checkPatience, and returns the last answer; send's final says an answer
// no wait can change.
func (s *Session) answerOK(ctx context.Context, send func() (sm Sample, final bool)) Sample {
	deadline := time.Now().Add(checkPatience(s))
	for {
		sm, final := send()
		if final || sm.Status == http.StatusOK || time.Now().After(deadline) || ctx.Err() != nil {
			return sm
		}
		select {
		case <-ctx.Done():
		case <-time.After(runEvery(s)):
		}
	}
}

func stepCurl() *Step {
	return &Step{
		ID: Curl, Part: PartVerify, Live: true,
		Command: func(s *Session) string { return s.curlCommand(s.baseForCommand()) },
		Do: func(ctx context.Context, s *Session) (string, error) {
			base, err := s.globalURL(ctx)
			if err != nil {
				return "", err
			}
			serve, _ := s.patience()
			stop := ctx
			ctx, cancel := context.WithTimeout(ctx, serve)
			defer cancel()
			start := time.Now()
			var run []Sample // the 200s in a row so far
			var first, body string
			flaps := 0
			said, saidAt := "", time.Time{}
			for {
				sm, b := s.checkOnce(ctx, base)
				s.sampler()(sm)
				if err := serviceFault(sm, b); err != nil {
					return "", err
				}
				if err := upstreamFault(sm, b); err != nil {
					return "", err
				}
				if sm.Status == http.StatusOK {
					if len(run) == 0 {
						body = b
					}
					if first == "" {
						first = time.Since(start).Round(100 * time.Millisecond).String()
					}
					run = append(run, sm)
					if len(run) >= stableRun {
						break
					}
				} else {
					if len(run) > 0 {
						flaps++
						s.Progress(fmt.Sprintf("the load balancer flapped: %s after %d answers of 200 in a row; its configuration is still spreading, counting again", describeBody(sm, b), len(run)))
					} else if why := describeBody(sm, b); why != said || time.Since(saidAt) >= 5*time.Second {
						// Said again when the answer changes, else every 5 s.
						said, saidAt = why, time.Now()
						s.Progress(fmt.Sprintf("waiting for the load balancer to serve (%s so far; last answer %s)", time.Since(start).Round(time.Second), why))
					}
					run = run[:0]
				}
				if err := stop.Err(); err != nil {
					return "", err // stopped, not timed out
				}
				if ctx.Err() != nil {
					return "", failf(fmt.Sprintf("the global IP did not answer %d times in a row within %s (last answer: %s)", stableRun, serve, describeBody(sm, b)), "A new load balancer answers 404 or 502 until its configuration reaches Google's front ends, and Google gives no figure for how long that takes: run this step again in a minute")
				}
				select {
				case <-ctx.Done():
				case <-time.After(runEvery(s)):
				}
			}
			region := mostOf(run)
			s.Outputs.NearRegion = region
			if len(body) > 300 {
				body = body[:300] + "…"
			}
			did := fmt.Sprintf("The global IP answered 200 from %s (first after %s), then %d times in a row over %s:\n%s",
				region, first, len(run), run[len(run)-1].At.Sub(run[0].At).Round(100*time.Millisecond), strings.TrimSpace(body))
			if flaps > 0 {
				did += fmt.Sprintf("\nIt flapped %d times before that (200, then 404 or 502): one 200 proves nothing while the configuration spreads.", flaps)
			}
			if region == s.Vars.RegionB {
				did += fmt.Sprintf("\nYou are nearest region B (%s): the failover steps break that region, since breaking region A would change nothing you see.", region)
			}
			if !s.customImage() {
				did += fmt.Sprintf("\nGemini calls made by the lab so far: %d.", s.ModelCalls())
			}
			return did, nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			base, err := s.globalURL(ctx)
			if err != nil {
				return "", err
			}
			var b string
			report := s.sampler()
			sm := s.answerOK(ctx, func() (Sample, bool) {
				var sm Sample
				sm, b = s.checkOnce(ctx, base)
				report(sm)
				return sm, upstreamFault(sm, b) != nil
			})
			if err := serviceFault(sm, b); err != nil {
				return "", err
			}
			if err := upstreamFault(sm, b); err != nil {
				return "", err
			}
			if sm.Status != http.StatusOK {
				return "", failf("the global IP answered "+describeBody(sm, b), "Wait for the load balancer and run this step again")
			}
			want := s.nearest()
			if want == "" && sm.Region != s.Vars.RegionA && sm.Region != s.Vars.RegionB {
				return "", failf(fmt.Sprintf("the answer came from %q, neither %s nor %s", sm.Region, s.Vars.RegionA, s.Vars.RegionB), "")
			}
			if want != "" && sm.Region != want {
				return "", failf(fmt.Sprintf("the answer came from %s, but the nearest region to the client (%s) is %s", sm.Region, s.Probe.ClientLocation, want), "Check that both regions serve")
			}
			if s.Outputs.NearRegion == "" {
				s.Outputs.NearRegion = sm.Region // done by hand: note it, as Do would
			}
			return fmt.Sprintf("%s answered 200 from %s, the region nearest the client.", base, sm.Region), nil
		},
	}
}

// mostOf is the region that answered most of samples.
func mostOf(samples []Sample) string {
	count := map[string]int{}
	best := ""
	for _, sm := range samples {
		count[sm.Region]++
		if count[sm.Region] > count[best] {
			best = sm.Region
		}
	}
	return best
}

// describeBody is describe with the start of a failed answer's body, which
// often says why (the service's own error, Google's error page).
func describeBody(sm Sample, body string) string {
	d := describe(sm)
	if sm.Status >= 400 {
		if t := htmlTitle(body); t != "" {
			// An error page (a load balancer's, Google's front end's): its
			// title says it, its markup is noise.
			if code := strconv.Itoa(sm.Status); strings.HasPrefix(t, code+" ") && sm.Err == "" {
				return strings.Replace(d, code, t, 1)
			}
			return d + ": " + truncate(t, 160)
		}
		if b := strings.Join(strings.Fields(body), " "); b != "" {
			d += ": " + truncate(b, 160)
		}
	}
	return d
}

// htmlTitle is the title of an HTML page, "" for any other body.
func htmlTitle(body string) string {
	lower := strings.ToLower(body)
	if !strings.Contains(lower, "<html") {
		return ""
	}
	start := strings.Index(lower, "<title>")
	end := strings.Index(lower, "</title>")
	if start < 0 || end < start {
		return ""
	}
	return strings.Join(strings.Fields(body[start+len("<title>"):end]), " ")
}

func describe(sm Sample) string {
	if sm.Err != "" {
		return sm.Err
	}
	if sm.Region != "" {
		return fmt.Sprintf("%d from %s", sm.Status, sm.Region)
	}
	return fmt.Sprintf("%d", sm.Status)
}

func pollEvery(s *Session) time.Duration {
	if s.Cloud.Simulated() {
		return 200 * time.Millisecond
	}
	return 5 * time.Second
}

// share summarises where answers came from.
func share(samples []Sample) string {
	count := map[string]int{}
	failed := 0
	for _, sm := range samples {
		if sm.Status != http.StatusOK {
			failed++
			continue
		}
		count[sm.Region]++
	}
	var parts []string
	for region, n := range count {
		parts = append(parts, fmt.Sprintf("%d from %s", n, region))
	}
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", failed))
	}
	if len(parts) == 0 {
		return "no answers"
	}
	return strings.Join(parts, ", ")
}

func stepBreakWorkshop() *Step {
	return &Step{
		ID: BreakWorkshop, Part: PartVerify, Live: true, Breaks: true,
		Command: func(s *Session) string {
			return fmt.Sprintf("gcloud run services update %s \\\n    --image %s \\\n    --region %s", s.Vars.Service, lab.BrokenImage, s.Vars.RegionA)
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			before, err := s.Cloud.GetService(ctx, s.Vars.RegionA, s.Vars.Service)
			if err != nil {
				return "", err
			}
			if before.Image != lab.BrokenImage {
				// Done again, the template already holds the broken image:
				// keep what region A served before the first time.
				s.Outputs.ServingImage = before.Image
			}
			_, _, err = s.Cloud.DeployService(ctx, gcp.ServiceSpec{Region: s.Vars.RegionA, Name: s.Vars.Service, Image: lab.BrokenImage, Env: s.deployEnv(s.Vars.RegionA)}, s.Progress)
			if err == nil {
				return "", failf("the update to "+lab.BrokenImage+" succeeded, which Cloud Run does not do: the image cannot serve", "")
			}
			if gcp.KindOf(err) == gcp.KindCanceled {
				return "", err
			}
			base, uerr := s.globalURL(ctx)
			if uerr != nil {
				return "", uerr
			}
			seen := s.burst(ctx, base, 2*time.Second)
			return fmt.Sprintf("The update failed as Cloud Run does: %v\nRevision %s kept serving: %s. Nothing failed, so nothing failed over.", rootCause(err), before.LatestReady, share(seen)), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			svc, err := s.Cloud.GetService(ctx, s.Vars.RegionA, s.Vars.Service)
			if err != nil {
				return "", err
			}
			if svc.LatestCreated == svc.LatestReady {
				return "", failf("the latest revision of region A is ready: the broken update did not happen", "Run this step again")
			}
			base, err := s.globalURL(ctx)
			if err != nil {
				return "", err
			}
			sm, _ := probe.Once(ctx, s.probeConfig(base))
			if sm.Status != http.StatusOK || (s.nearest() != "" && sm.Region != s.nearest()) {
				return "", failf("the global IP answered "+describe(sm)+"; with the broken update the old revision should still serve", "")
			}
			return fmt.Sprintf("Revision %s failed and %s still serves region A: the workshop's test shows no failover.", svc.LatestCreated, svc.LatestReady), nil
		},
	}
}

// rootCause strips the lab's own wrapping from an API error for display.
func rootCause(err error) string {
	if ge, ok := err.(*gcp.Error); ok {
		return ge.Cause
	}
	return err.Error()
}

func (s *Session) breakMethod() string {
	switch {
	case s.customImage():
		return methodDetach
	case s.Probe.BreakBy == BreakByReadiness:
		return methodUnready
	}
	return methodOutage
}

// outageValue is the outage switch's setting for the break: every request
// fails, or only the readiness probe.
func (s *Session) outageValue() string {
	if s.breakMethod() == methodUnready {
		return lab.UnreadyValue
	}
	return "1"
}

func stepBreakRegion() *Step {
	return &Step{
		ID: BreakRegion, Part: PartVerify, Live: true, Breaks: true,
		Command: func(s *Session) string {
			if s.breakMethod() == methodDetach {
				return fmt.Sprintf("gcloud compute backend-services remove-backend %s \\\n    --global \\\n    --network-endpoint-group %s \\\n    --network-endpoint-group-region %s", s.Vars.Backend, s.brokenNEG(), s.broken())
			}
			env := s.deployEnv(s.broken())
			env[lab.OutageEnv] = s.outageValue()
			return deployCommand(s, s.broken(), env, s.imageForCommand())
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			base, err := s.globalURL(ctx)
			if err != nil {
				return "", err
			}
			// Probe from before the break, so the failover step can measure
			// what clients saw.
			s.stopWatch()
			wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			w := &watcher{cancel: cancel, done: make(chan struct{})}
			s.startWatch(wctx, w, base)
			// A baseline first: where traffic goes before the break.
			for deadline := time.Now().Add(3 * time.Second); len(w.snapshot()) < s.window() && time.Now().Before(deadline); {
				select {
				case <-ctx.Done():
					return "", ctx.Err()
				case <-time.After(50 * time.Millisecond):
				}
			}
			// The break starts now: t=0 of every offset the failover step
			// reports, and of the live panel's timeline (EventBreak). Its
			// reroute time alone counts from the first disturbed answer, so
			// that the rollout's own time is not counted there.
			w.mu.Lock()
			w.breakAt = time.Now()
			w.mu.Unlock()
			s.emitBreak(w.breakAt)
			method := s.breakMethod()
			s.Outputs.BreakMethod = method
			if method == methodDetach {
				if err := s.detachBroken(ctx); err != nil {
					return "", err
				}
				return fmt.Sprintf("Removed NEG %s from %s: %s gets no traffic. (The hello image has no outage switch.)", s.brokenNEG(), s.Vars.Backend, s.whichRegion()), nil
			}
			img, err := s.image()
			if err != nil {
				return "", err
			}
			env := s.deployEnv(s.broken())
			env[lab.OutageEnv] = s.outageValue()
			svc, _, err := s.Cloud.DeployService(ctx, gcp.ServiceSpec{Region: s.broken(), Name: s.Vars.Service, Image: img, Env: env}, s.Progress)
			if err != nil {
				return "", err
			}
			if s.breakMethod() == methodUnready {
				return fmt.Sprintf("Revision %s of %s serves every request, but its readiness probe (%s) answers 503 (%s=%s): only Cloud Run service health can see it.", svc.LatestReady, s.whichRegion(), lab.ReadyPath, lab.OutageEnv, lab.UnreadyValue), nil
			}
			return fmt.Sprintf("Revision %s of %s started fine and answers 503 to everything (%s=1).", svc.LatestReady, s.whichRegion(), lab.OutageEnv), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			if s.breakMethod() == methodDetach {
				bs, err := s.Cloud.GetBackendService(ctx, s.Vars.Backend)
				if err != nil {
					return "", err
				}
				if hasBackend(bs, s.Cloud.NEGURL(s.broken(), s.brokenNEG())) {
					return "", failf("NEG "+s.brokenNEG()+" is still a backend of "+s.Vars.Backend, "Run this step again")
				}
				return "NEG " + s.brokenNEG() + " is detached from " + s.Vars.Backend + ".", nil
			}
			svc, err := s.Cloud.GetService(ctx, s.broken(), s.Vars.Service)
			if err != nil {
				return "", err
			}
			// Either position of the switch is a break (a learner, or a sweep
			// that does not know --break-by, may meet the other one).
			v := svc.Env[lab.OutageEnv]
			if !(v == s.outageValue() || lab.Outage(v) || lab.Unready(v)) || !svc.Ready {
				return "", failf(fmt.Sprintf("the serving revision %s of %s does not have %s=%s", svc.LatestReady, s.broken(), lab.OutageEnv, s.outageValue()), "Run this step again")
			}
			if lab.Unready(v) {
				return fmt.Sprintf("%s serves revision %s with the outage switch at %s: only its readiness probe fails.", s.broken(), svc.LatestReady, lab.UnreadyValue), nil
			}
			return fmt.Sprintf("%s serves revision %s with the outage switch on.", s.broken(), svc.LatestReady), nil
		},
	}
}

func (s *Session) detachBroken(ctx context.Context) error {
	bs, err := s.Cloud.GetBackendService(ctx, s.Vars.Backend)
	if err != nil {
		return err
	}
	url := s.Cloud.NEGURL(s.broken(), s.brokenNEG())
	var keep []*computepb.Backend
	for _, b := range bs.GetBackends() {
		if !gcp.SameResource(b.GetGroup(), url) {
			keep = append(keep, b)
		}
	}
	if len(keep) == len(bs.GetBackends()) {
		return nil
	}
	bs.Backends = keep
	return s.Cloud.UpdateBackendService(ctx, bs, s.Progress)
}

// startWatch probes base in the background into w, for at most twice the
// time a reroute may take, so that a forgotten watch ends by itself.
func (s *Session) startWatch(ctx context.Context, w *watcher, base string) {
	_, reroute := s.patience()
	// The runner's one prober: a front end watching already probes the
	// same address at the same rate, and this joins it.
	leave := s.feed.join(s.probeConfig(base), s.step, w.add)
	leaveHealth := s.feed.onHealth(w.addHealth)
	go func() {
		defer close(w.done)
		ctx, stop := context.WithTimeout(ctx, 2*reroute)
		defer stop()
		<-ctx.Done()
		leaveHealth()
		leave()
	}()
	s.watch = w
}

func (s *Session) stopWatch() {
	if s.watch != nil {
		s.watch.stop()
		s.watch = nil
	}
}

// settled reports whether the last window of samples all came from region
// with a 200.
func settled(samples []Sample, region string, window int) bool {
	if len(samples) < window {
		return false
	}
	for _, sm := range samples[len(samples)-window:] {
		if sm.Status != http.StatusOK || sm.Region != region {
			return false
		}
	}
	return true
}

// window is how many consecutive answers prove traffic settled: one second's
// worth, at least five.
func (s *Session) window() int {
	return max(5, int(s.Probe.Rate))
}

func stepFailover() *Step {
	return &Step{
		ID: Failover, Part: PartVerify, Live: true,
		Command: func(s *Session) string {
			return "for i in $(seq 100); do\n    " + strings.ReplaceAll(s.curlCommand(s.baseForCommand()), "\\\n    ", "") + " -o /dev/null -w '%{http_code}\\n'\n    sleep 0.05\ndone | sort | uniq -c"
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			w := s.watch
			if w == nil {
				// Resumed in a new process: the break is already in place, so
				// measure from now.
				base, err := s.globalURL(ctx)
				if err != nil {
					return "", err
				}
				wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
				w = &watcher{cancel: cancel, done: make(chan struct{}), breakAt: time.Now()}
				s.startWatch(wctx, w, base)
				s.emitBreak(w.breakAt)
			}
			defer s.stopWatch()
			_, reroute := s.patience()
			deadline := time.Now().Add(reroute)
			for !settled(w.snapshot(), s.survivor(), s.window()) {
				if time.Now().After(deadline) {
					return "", failf(fmt.Sprintf("traffic did not move to %s within %s: %s", s.survivor(), reroute, share(w.snapshot())), "Check the backend service's outlier detection (step "+titleOf(BackendService)+")")
				}
				s.Progress("waiting for traffic to move to " + s.survivor() + ": " + share(lastN(w.snapshot(), s.window())))
				select {
				case <-ctx.Done():
					return "", ctx.Err()
				case <-time.After(pollEvery(s)):
				}
			}
			if s.breakMethod() != methodDetach {
				s.awaitUnhealthy(ctx, w, healthPatience(s))
			}
			w.mu.Lock()
			breakAt := w.breakAt
			health := append([]healthReading(nil), w.health...)
			w.mu.Unlock()
			measured := MeasureFailover(w.snapshot(), breakAt)
			report := &measured
			report.Method, report.Rate = s.Outputs.BreakMethod, s.Probe.Rate
			if report.Method == "" {
				report.Method = s.breakMethod()
			}
			if report.Before == "" {
				// Probing began after the break (a resumed run): where the
				// curl step was answered is where traffic was.
				report.Before = s.Outputs.NearRegion
			}
			if report.Before == report.After || report.After != s.survivor() {
				// The client never reached the broken region: nothing moved.
				return "", failf(fmt.Sprintf("traffic did not move: it came from %s before the break and from %s after", orNone(report.Before), orNone(report.After)),
					fmt.Sprintf("Break the region that answers you: the curl step records it (%s); run %s and %s again", orNone(s.Outputs.NearRegion), titleOf(Curl), titleOf(BreakRegion)))
			}
			report.Signals = signals(w.snapshot(), health, breakAt, s.broken(), s.survivor())
			if s.emit != nil {
				s.emit(Event{Kind: EventFailover, Step: s.step, Failover: report})
			}
			did := fmt.Sprintf("Traffic moved from %s to %s in %.2f s, probed at %.0f/s; what clients saw: %s.",
				report.Before, report.After, report.RerouteSeconds, report.Rate, report.Failures())
			for _, sig := range report.Signals {
				did += "\n" + sig.Describe() + "."
			}
			return did, nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			base, err := s.globalURL(ctx)
			if err != nil {
				return "", err
			}
			seen := s.burst(ctx, base, time.Second)
			// The broken region may not answer; a few failures are allowed:
			// while it stays broken, each front end tries it again when its
			// ejection time runs out, and the request that meets it can
			// fail, as on Google (its retry is balanced like a first try).
			fromSurvivor, failed := 0, 0
			for _, sm := range seen {
				switch {
				case sm.Status != http.StatusOK:
					failed++
				case sm.Region == s.survivor():
					fromSurvivor++
				}
			}
			if fromSurvivor == 0 || fromSurvivor+failed < len(seen) || failed*5 > len(seen) {
				return "", failf("traffic is not served from "+s.survivor()+": "+share(seen), "Run "+titleOf(BreakRegion)+" and this step again")
			}
			if failed > 0 {
				return fmt.Sprintf("%d of %d requests were answered from %s and none from %s; %d failed, as a front end tried %s again when its ejection ran out.", fromSurvivor, len(seen), s.survivor(), s.broken(), failed, s.broken()), nil
			}
			return fmt.Sprintf("Every request (%d) was answered from %s.", len(seen), s.survivor()), nil
		},
	}
}

// emitBreak tells the front ends the instant the break is sent, t=0 of the
// failover's offsets, so that the live panel counts from the same instant
// as the step's report.
func (s *Session) emitBreak(at time.Time) {
	if s.emit != nil {
		s.emit(Event{Kind: EventBreak, Step: s.step, At: at})
	}
}

// MeasureFailover is what the failover step reports of samples probed
// around a break sent at breakAt: the requests, where they went before and
// after, and what clients saw, its offsets counted from breakAt (a failure
// sent before it, in flight when the break was sent, counts as at 0). The
// live panel counts from the same instant (EventBreak).
func MeasureFailover(samples []Sample, breakAt time.Time) FailoverReport {
	rep := probe.Analyze(samples, breakAt)
	r := FailoverReport{
		Requests:       rep.Requests,
		FailedRequests: rep.Failed,
		RerouteSeconds: rep.RerouteSeconds,
		Before:         rep.Before,
		After:          rep.After,
	}
	if rep.Failed > 0 {
		r.FirstFailureSeconds = max(0, rep.FirstFailure.Sub(breakAt).Seconds())
		r.FailingSeconds = rep.LastFailure.Sub(rep.FirstFailure).Seconds()
	}
	return r
}

func lastN(samples []Sample, n int) []Sample {
	if len(samples) > n {
		return samples[len(samples)-n:]
	}
	return samples
}

func stepRestore() *Step {
	return &Step{
		ID: Restore, Part: PartVerify, Live: true, Restores: true,
		Command: func(s *Session) string {
			// The workshop's broken update stays in region A's template
			// unless the region's own restore deploys it again.
			if s.breakMethod() == methodDetach {
				return fmt.Sprintf("gcloud compute backend-services add-backend %s \\\n    --global \\\n    --network-endpoint-group %s \\\n    --network-endpoint-group-region %s", s.Vars.Backend, s.brokenNEG(), s.broken()) +
					"\n" + s.restoreImageCommand()
			}
			cmd := deployCommand(s, s.broken(), s.deployEnv(s.broken()), s.imageForCommand())
			if s.broken() != s.Vars.RegionA {
				cmd += "\n" + s.restoreImageCommand()
			}
			return cmd
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			s.stopWatch()
			if s.breakMethod() == methodDetach {
				bs, err := s.Cloud.GetBackendService(ctx, s.Vars.Backend)
				if err != nil {
					return "", err
				}
				url := s.Cloud.NEGURL(s.broken(), s.brokenNEG())
				if !hasBackend(bs, url) {
					bs.Backends = append(bs.Backends, &computepb.Backend{Group: &url})
					if err := s.Cloud.UpdateBackendService(ctx, bs, s.Progress); err != nil {
						return "", err
					}
				}
			} else {
				img, err := s.image()
				if err != nil {
					return "", err
				}
				if _, _, err := s.Cloud.DeployService(ctx, gcp.ServiceSpec{Region: s.broken(), Name: s.Vars.Service, Image: img, Env: s.deployEnv(s.broken())}, s.Progress); err != nil {
					return "", err
				}
			}
			if err := s.undoWorkshopBreak(ctx); err != nil {
				return "", err
			}
			// Traffic returns to the region that answered the curl step once
			// its ejection ends: wait for it, on Google as on the simulator.
			want := s.nearest()
			if want == "" {
				want = s.Outputs.NearRegion
			}
			if want == "" {
				return fmt.Sprintf("%s is restored; traffic returns to it once its ejection time has passed.", s.broken()), nil
			}
			base, err := s.globalURL(ctx)
			if err != nil {
				return "", err
			}
			start := time.Now()
			_, reroute := s.patience()
			var seen []Sample
			for !settled(seen, want, s.window()) {
				if time.Since(start) > reroute {
					return "", failf(fmt.Sprintf("traffic did not return to %s within %s: %s", want, reroute, share(seen)), "Outlier detection keeps a region out for baseEjectionTime × times ejected: wait and check again")
				}
				seen = append(seen, s.burst(ctx, base, 500*time.Millisecond)...)
				if ctx.Err() != nil {
					return "", ctx.Err()
				}
				s.Progress(fmt.Sprintf("waiting for %s's ejection to end (%s so far): %s", s.broken(), time.Since(start).Round(time.Second), share(lastN(seen, s.window()))))
			}
			return fmt.Sprintf("%s is back: traffic returned to %s after %.1f s.", s.broken(), want, time.Since(start).Seconds()), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			if s.breakMethod() == methodDetach {
				bs, err := s.Cloud.GetBackendService(ctx, s.Vars.Backend)
				if err != nil {
					return "", err
				}
				if !hasBackend(bs, s.Cloud.NEGURL(s.broken(), s.brokenNEG())) {
					return "", failf("NEG "+s.brokenNEG()+" is not a backend of "+s.Vars.Backend, "Run this step again")
				}
			} else {
				img, err := s.image()
				if err != nil {
					return "", err
				}
				if _, err := checkService(ctx, s, s.broken(), img, s.deployEnv(s.broken())); err != nil {
					return "", err
				}
				svc, err := s.Cloud.GetService(ctx, s.broken(), s.Vars.Service)
				if err != nil {
					return "", err
				}
				if svc.Env[lab.OutageEnv] != "" {
					return "", failf(s.broken()+" still has the outage switch on", "Run this step again")
				}
			}
			if svc, err := s.Cloud.GetService(ctx, s.Vars.RegionA, s.Vars.Service); err != nil {
				return "", err
			} else if svc.Image == lab.BrokenImage {
				return "", failf(fmt.Sprintf("region A's service still has the workshop's broken image %s in its template (revision %s serves): a later deploy-a check would find it and deploy again", lab.BrokenImage, svc.LatestReady),
					"Run this step again, or "+strings.ReplaceAll(s.restoreImageCommand(), " \\\n   ", ""))
			}
			base, err := s.globalURL(ctx)
			if err != nil {
				return "", err
			}
			want := s.nearest()
			if want == "" {
				want = s.Outputs.NearRegion
			}
			// Done by hand, the region may still be ejected for a while:
			// ask again, for a bounded time, until it answers.
			deadline := time.Now().Add(checkPatience(s))
			sm, body := probe.Once(ctx, s.probeConfig(base))
			for (sm.Status != http.StatusOK || (want != "" && sm.Region != want)) && serviceFault(sm, body) == nil &&
				time.Now().Before(deadline) && ctx.Err() == nil {
				s.Progress(fmt.Sprintf("waiting for %s to answer again (its ejection may not have ended): %s", orNone(want), describe(sm)))
				select {
				case <-ctx.Done():
				case <-time.After(runEvery(s)):
				}
				sm, body = probe.Once(ctx, s.probeConfig(base))
			}
			if err := serviceFault(sm, body); err != nil {
				return "", err
			}
			if sm.Status != http.StatusOK {
				return "", failf("the global IP answered "+describe(sm), "")
			}
			if want != "" && sm.Region != want {
				return "", failf(fmt.Sprintf("the answer came from %s, not %s", sm.Region, want), "Wait for the ejection to end and check again")
			}
			return fmt.Sprintf("%s is healthy and the global IP answers 200 from %s.", s.broken(), sm.Region), nil
		},
	}
}

// undoWorkshopBreak puts region A's service back on the image it served
// before break-workshop, when the workshop's broken update is still its
// template. Cloud Run kept serving the old revision, but the template is
// what a later deploy, or deploy-a's check, reads. A break-region that
// redeployed region A has already replaced it.
func (s *Session) undoWorkshopBreak(ctx context.Context) error {
	svc, err := s.Cloud.GetService(ctx, s.Vars.RegionA, s.Vars.Service)
	if err != nil || svc.Image != lab.BrokenImage {
		return err
	}
	img, err := s.servingImage()
	if err != nil {
		return err
	}
	s.Progress(fmt.Sprintf("putting region A's service back on %s (the workshop's update left %s in its template)", img, lab.BrokenImage))
	_, _, err = s.Cloud.DeployService(ctx, gcp.ServiceSpec{Region: s.Vars.RegionA, Name: s.Vars.Service, Image: img, Env: s.deployEnv(s.Vars.RegionA)}, s.Progress)
	return err
}

// servingImage is the image region A served before the workshop's broken
// update: as break-workshop found it, else the lab's.
func (s *Session) servingImage() (string, error) {
	if img := s.Outputs.ServingImage; img != "" {
		return img, nil
	}
	return s.image()
}

// restoreImageCommand is how a learner puts region A's image back.
func (s *Session) restoreImageCommand() string {
	img, err := s.servingImage()
	if err != nil {
		img = s.imageForCommand()
	}
	return fmt.Sprintf("gcloud run services update %s \\\n    --image %s \\\n    --region %s", s.Vars.Service, img, s.Vars.RegionA)
}

func orNone(region string) string {
	if region == "" {
		return "nowhere"
	}
	return region
}
