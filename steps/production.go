package steps

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/probe"
	"google.golang.org/protobuf/proto"
)

// Part 5, first half: production practice. The service ends Part 4 public on
// its own run.app URLs, spending Gemini tokens for anyone who calls it. These
// steps put it behind the load balancer only, put a Cloud Armor rate limit
// per client IP in front of the paid endpoint, and cap what a burst can
// cost.

// The lab's Cloud Armor rule: a throttle on the paid endpoint, per client
// IP. The failover probes ask /health, which the rule does not match, so a
// monitor is never throttled, as an operator would exempt one; the curl
// step's ten checks stay under the threshold.
const (
	armorPriority  = 1000
	armorPath      = "/v1/check"
	armorThreshold = 20 // requests per client IP...
	armorInterval  = 60 // ...per this many seconds
	// labMaxInstances is each region's ceiling on instances.
	labMaxInstances = 5
)

func armorExpression() string { return "request.path.matches('" + armorPath + "')" }

// labArmorRule is the rule the lab adds, in preview or enforced.
func labArmorRule(preview bool) *computepb.SecurityPolicyRule {
	return &computepb.SecurityPolicyRule{
		Priority:    proto.Int32(armorPriority),
		Description: proto.String("throttle each client IP on the paid endpoint"),
		Action:      proto.String("throttle"),
		Preview:     proto.Bool(preview),
		Match:       &computepb.SecurityPolicyRuleMatcher{Expr: &computepb.Expr{Expression: proto.String(armorExpression())}},
		RateLimitOptions: &computepb.SecurityPolicyRuleRateLimitOptions{
			RateLimitThreshold: &computepb.SecurityPolicyRuleRateLimitOptionsThreshold{Count: proto.Int32(armorThreshold), IntervalSec: proto.Int32(armorInterval)},
			ConformAction:      proto.String("allow"),
			ExceedAction:       proto.String("deny(429)"),
			EnforceOnKey:       proto.String("IP"),
		},
	}
}

func stepIngress() *Step {
	return &Step{
		ID: Ingress, Part: PartProduction,
		Command: func(s *Session) string {
			var cmds []string
			for _, r := range []string{s.Vars.RegionA, s.Vars.RegionB} {
				cmds = append(cmds, s.serviceUpdate(r, "--ingress internal-and-cloud-load-balancing \\\n    --no-default-url"))
			}
			return strings.Join(cmds, "\n")
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			var did []string
			for _, r := range []string{s.Vars.RegionA, s.Vars.RegionB} {
				changed, err := s.Cloud.RestrictIngress(ctx, r, s.Vars.Service, true, s.Progress)
				if err != nil {
					return "", err
				}
				if changed {
					did = append(did, r)
				}
			}
			if len(did) == 0 {
				return "Adopted: both services already take traffic only through the load balancer, with no default URL.", nil
			}
			return fmt.Sprintf("Set ingress internal-and-cloud-load-balancing and disabled the default URL in %s: the run.app URLs no longer take requests; the global IP does.", strings.Join(did, " and ")), nil
		},
		Check: checkIngress,
	}
}

// serviceUpdate is `gcloud beta run services update` of a service-level
// setting in region. With --image, region A's latest revision is the
// workshop's broken one (detaching its NEG broke the region, and nothing
// redeployed it), so Cloud Run reports that revision and gcloud says the
// update failed, although the setting, which makes no revision, is applied:
// the command says so and goes on, and the check is the judge.
func (s *Session) serviceUpdate(region, flags string) string {
	cmd := fmt.Sprintf("gcloud beta run services update %s \\\n    --region %s \\\n    %s", s.Vars.Service, region, flags)
	if s.breakMethod() == methodDetach && region == s.Vars.RegionA {
		cmd = "# The workshop's broken revision is still the latest in " + region + ": gcloud reports\n# it and \"Update failed\", yet this setting is applied (the check reads it).\n" + cmd + " || true"
	}
	return cmd
}

// checkIngress holds when both services refuse requests around the load
// balancer (their configuration says so, and their own URL, where they have
// one, refuses a real request) while the global IP still answers.
func checkIngress(ctx context.Context, s *Session) (string, error) {
	var notes []string
	for _, r := range []string{s.Vars.RegionA, s.Vars.RegionB} {
		svc, err := s.Cloud.GetService(ctx, r, s.Vars.Service)
		if err != nil {
			return "", err
		}
		if !svc.LBOnly() {
			why := "anyone can call it at its own URL, around the load balancer and Cloud Armor"
			if svc.Ingress != runpb.IngressTraffic_INGRESS_TRAFFIC_ALL.String() {
				why = "it refuses the external load balancer too, so the global IP cannot reach it"
			}
			return "", failf(fmt.Sprintf("service %s in %s has ingress %s: %s", svc.Name, r, strings.TrimPrefix(svc.Ingress, "INGRESS_TRAFFIC_"), why),
				fmt.Sprintf("Run this step again, or `gcloud run services update %s --region %s --ingress internal-and-cloud-load-balancing`", s.Vars.Service, r))
		}
		if svc.URI == "" {
			notes = append(notes, r+": no default URL")
			continue
		}
		// A default URL is left (where --no-default-url is not offered):
		// it must refuse a request from outside. Google answers 404 (its
		// plain page, as the simulator does); the ingress page names no
		// status, so a 403 counts as refused too.
		sm, body := probe.Once(ctx, probe.Config{URL: strings.TrimSuffix(svc.URI, "/") + s.healthPath(), Client: &http.Client{Timeout: healthProbeTimeout}})
		if sm.Status != http.StatusNotFound && sm.Status != http.StatusForbidden {
			return "", failf(fmt.Sprintf("service %s in %s has ingress internal-and-cloud-load-balancing, but its own URL %s answered %s", svc.Name, r, svc.URI, describeBody(sm, body)),
				"Google applies an ingress change within a minute or so: check again shortly")
		}
		notes = append(notes, fmt.Sprintf("%s: its own URL answered %d", r, sm.Status))
	}
	base, err := s.globalURL(ctx)
	if err != nil {
		return "", err
	}
	sm := s.answerOK(ctx, func() (Sample, bool) { sm, _ := probe.Once(ctx, s.probeConfig(base)); return sm, false })
	if sm.Status != http.StatusOK {
		return "", failf(fmt.Sprintf("the global IP answered %s after ingress was restricted", describeStatus(sm)),
			"The load balancer needs ingress internal-and-cloud-load-balancing (not internal): `gcloud run services describe "+s.Vars.Service+" --format='value(metadata.annotations.\"run.googleapis.com/ingress\")'`")
	}
	return fmt.Sprintf("Both services take requests only through the load balancer (%s); the global IP answers 200 from %s.", strings.Join(notes, "; "), orNone(sm.Region)), nil
}

// healthPath is a page of the service that never calls the model.
func (s *Session) healthPath() string {
	if s.customImage() {
		return "/?format=text"
	}
	return lab.HealthPath
}

func describeStatus(sm Sample) string {
	if sm.Err != "" {
		return "no answer (" + sm.Err + ")"
	}
	return fmt.Sprint(sm.Status)
}

func stepArmorPreview() *Step {
	return &Step{
		ID: ArmorPreview, Part: PartProduction, Creates: createsSecurityPolicy,
		Command: func(s *Session) string {
			p := s.Vars.SecurityPolicy
			return fmt.Sprintf(`gcloud compute security-policies create %[1]s \
    --description "rate limit per client IP on the paid endpoint"
gcloud compute security-policies rules create %[2]d \
    --security-policy %[1]s \
    --expression "%[3]s" \
    --action throttle \
    --rate-limit-threshold-count %[4]d \
    --rate-limit-threshold-interval-sec %[5]d \
    --conform-action allow \
    --exceed-action deny-429 \
    --enforce-on-key IP \
    --preview
gcloud compute backend-services update %[6]s --global \
    --security-policy %[1]s`, p, armorPriority, armorExpression(), armorThreshold, armorInterval, s.Vars.Backend)
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			p := s.Vars.SecurityPolicy
			var did []string
			sp, err := s.Cloud.GetSecurityPolicy(ctx, p)
			if gcp.IsNotFound(err) {
				err = s.Cloud.CreateSecurityPolicy(ctx, &computepb.SecurityPolicy{Name: proto.String(p), Description: proto.String("rate limit per client IP on the paid endpoint")}, s.Progress)
				if err == nil {
					did = append(did, "created security policy "+p)
					sp, err = s.Cloud.GetSecurityPolicy(ctx, p)
				}
			}
			if err != nil {
				return "", err
			}
			rule := policyRuleAt(sp, armorPriority)
			switch {
			case rule == nil:
				if err := s.Cloud.AddSecurityPolicyRule(ctx, p, labArmorRule(true), s.Progress); err != nil {
					return "", err
				}
				did = append(did, fmt.Sprintf("added rule %d in preview: throttle each client IP on %s to %d requests per %d s, deny(429) past that", armorPriority, armorPath, armorThreshold, armorInterval))
			case armorRuleDiffers(rule) != "":
				return "", failf(fmt.Sprintf("security policy %s has a rule at priority %d that %s", p, armorPriority, armorRuleDiffers(rule)),
					fmt.Sprintf("Remove it (`gcloud compute security-policies rules delete %d --security-policy %s`) and run this step again", armorPriority, p))
			}
			attached, err := s.policyAttached(ctx)
			if err != nil {
				return "", err
			}
			if !attached {
				if err := s.Cloud.SetBackendSecurityPolicy(ctx, s.Vars.Backend, p, s.Progress); err != nil {
					return "", err
				}
				did = append(did, "attached it to backend service "+s.Vars.Backend)
			}
			if len(did) == 0 {
				return "Adopted security policy " + p + ", with its rule, attached to " + s.Vars.Backend + ".", nil
			}
			return capitalize(strings.Join(did, "; ")) + ". In preview, Cloud Armor logs what it would refuse and refuses nothing.", nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			rule, err := s.armorInPlace(ctx)
			if err != nil {
				return "", err
			}
			if !rule.GetPreview() {
				return fmt.Sprintf("Security policy %s is attached to %s and its rule is already enforced (the next step).", s.Vars.SecurityPolicy, s.Vars.Backend), nil
			}
			if s.Cloud.IsSnapshot() {
				return fmt.Sprintf("Security policy %s is attached to %s with its rule in preview (configuration read: a sweep sends no burst).", s.Vars.SecurityPolicy, s.Vars.Backend), nil
			}
			// In preview a burst above the threshold is logged, not refused.
			got, err := s.armorBurst(ctx, false)
			if err != nil {
				return "", err
			}
			if got.refused > 0 {
				return "", failf(fmt.Sprintf("the rule is in preview, yet %d of %d requests to %s were refused with 429", got.refused, got.sent, armorPath), "Another rule or policy refuses them: `gcloud compute security-policies describe "+s.Vars.SecurityPolicy+"`")
			}
			return fmt.Sprintf("Security policy %s is attached to %s with its rule in preview: %d requests to %s from one client in a burst, above the threshold of %d, were all let through (logged, not refused).", s.Vars.SecurityPolicy, s.Vars.Backend, got.sent, armorPath, armorThreshold), nil
		},
	}
}

func stepArmorEnforce() *Step {
	return &Step{
		ID: ArmorEnforce, Part: PartProduction,
		Command: func(s *Session) string {
			return fmt.Sprintf("gcloud compute security-policies rules update %d \\\n    --security-policy %s \\\n    --no-preview", armorPriority, s.Vars.SecurityPolicy)
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			sp, err := s.Cloud.GetSecurityPolicy(ctx, s.Vars.SecurityPolicy)
			if gcp.IsNotFound(err) {
				return "", failf("security policy "+s.Vars.SecurityPolicy+" does not exist", "Run the step "+titleOf(ArmorPreview)+" first")
			}
			if err != nil {
				return "", err
			}
			rule := policyRuleAt(sp, armorPriority)
			if rule == nil {
				return "", failf(fmt.Sprintf("security policy %s has no rule at priority %d", s.Vars.SecurityPolicy, armorPriority), "Run the step "+titleOf(ArmorPreview)+" first")
			}
			var did []string
			if rule.GetPreview() {
				if err := s.Cloud.SetSecurityPolicyRulePreview(ctx, s.Vars.SecurityPolicy, armorPriority, false, s.Progress); err != nil {
					return "", err
				}
				did = append(did, fmt.Sprintf("took rule %d out of preview", armorPriority))
			}
			attached, err := s.policyAttached(ctx)
			if err != nil {
				return "", err
			}
			if !attached {
				if err := s.Cloud.SetBackendSecurityPolicy(ctx, s.Vars.Backend, s.Vars.SecurityPolicy, s.Progress); err != nil {
					return "", err
				}
				did = append(did, "attached the policy to "+s.Vars.Backend)
			}
			if len(did) == 0 {
				return "Adopted: the rule is enforced and the policy attached.", nil
			}
			return capitalize(strings.Join(did, "; ")) + fmt.Sprintf(": a client past %d requests to %s in %d s now gets 429.", armorThreshold, armorPath, armorInterval), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			rule, err := s.armorInPlace(ctx)
			if err != nil {
				return "", err
			}
			if rule.GetPreview() {
				return "", failf(fmt.Sprintf("rule %d of security policy %s is in preview: Cloud Armor logs what it would refuse and lets every request through", armorPriority, s.Vars.SecurityPolicy), "Run this step again")
			}
			if s.Cloud.IsSnapshot() {
				// The board and `beyond check` sweep every 30 s: a burst
				// each time would keep the sweeper's own IP over the limit
				// (and the curl step's check with it).
				return fmt.Sprintf("Security policy %s is attached to %s and its rule is enforced (configuration read: a sweep sends no burst; `beyond --check-only --step %s` does).", s.Vars.SecurityPolicy, s.Vars.Backend, ArmorEnforce), nil
			}
			got, err := s.armorBurst(ctx, true)
			if err != nil {
				return "", err
			}
			what := fmt.Sprintf("one client sent %d requests to %s: %d got through, %d got 429", got.sent, armorPath, got.sent-got.refused, got.refused)
			switch {
			case got.refused == 0:
				return "", failf("the rule is enforced, yet "+what, "Google applies a policy change within a few minutes: check again shortly")
			case got.sent-got.refused > armorThreshold && s.Cloud.Simulated():
				// Google counts approximately, per front end: only the
				// simulator is held to the exact threshold.
				return "", failf(fmt.Sprintf("%s: more than the threshold of %d got through", what, armorThreshold), "Check the rule: `gcloud compute security-policies rules describe "+fmt.Sprint(armorPriority)+" --security-policy "+s.Vars.SecurityPolicy+"`")
			case got.second != 0 && got.second == http.StatusTooManyRequests:
				return "", failf(what+", and a second client was refused too: the limit is not per client IP", "Check the rule's --enforce-on-key: it should be IP")
			}
			if got.second != 0 {
				what += fmt.Sprintf("; a second client, at the same moment, was let through (%d, not 429", got.second)
				if got.second == http.StatusMethodNotAllowed {
					what += ": the service's answer to a GET, which never calls the model"
				}
				what += ")"
			}
			return fmt.Sprintf("Security policy %s is attached to %s and enforced: %s.", s.Vars.SecurityPolicy, s.Vars.Backend, what), nil
		},
	}
}

// policyRuleAt is the rule of a priority, or nil.
func policyRuleAt(sp *computepb.SecurityPolicy, priority int32) *computepb.SecurityPolicyRule {
	for _, r := range sp.GetRules() {
		if r.GetPriority() == priority {
			return r
		}
	}
	return nil
}

// armorRuleDiffers says how a rule falls short of the lab's, or "".
func armorRuleDiffers(r *computepb.SecurityPolicyRule) string {
	rl := r.GetRateLimitOptions()
	th := rl.GetRateLimitThreshold()
	switch {
	case r.GetAction() != "throttle":
		return "has action " + r.GetAction() + ", not throttle"
	case strings.TrimSpace(r.GetMatch().GetExpr().GetExpression()) != armorExpression():
		return fmt.Sprintf("matches %q, not %q", r.GetMatch().GetExpr().GetExpression(), armorExpression())
	case th.GetCount() != armorThreshold || th.GetIntervalSec() != armorInterval:
		return fmt.Sprintf("allows %d requests per %d s, not %d per %d s", th.GetCount(), th.GetIntervalSec(), armorThreshold, armorInterval)
	case rl.GetExceedAction() != "deny(429)":
		return "answers " + rl.GetExceedAction() + " past its threshold, not deny(429)"
	case rl.GetEnforceOnKey() != "IP":
		return "counts per " + rl.GetEnforceOnKey() + ", not per client IP"
	}
	return ""
}

// policyAttached reports whether the lab's policy is the backend service's.
func (s *Session) policyAttached(ctx context.Context) (bool, error) {
	bs, err := s.Cloud.GetBackendService(ctx, s.Vars.Backend)
	if err != nil {
		return false, err
	}
	return gcp.SameResource(bs.GetSecurityPolicy(), s.Cloud.GlobalURL("securityPolicies", s.Vars.SecurityPolicy)), nil
}

// armorInPlace checks the policy, its rule and its attachment, and returns
// the rule.
func (s *Session) armorInPlace(ctx context.Context) (*computepb.SecurityPolicyRule, error) {
	p := s.Vars.SecurityPolicy
	sp, err := s.Cloud.GetSecurityPolicy(ctx, p)
	if err != nil {
		return nil, err
	}
	rule := policyRuleAt(sp, armorPriority)
	if rule == nil {
		return nil, failf(fmt.Sprintf("security policy %s has no rule at priority %d", p, armorPriority), "Run the step "+titleOf(ArmorPreview)+" again")
	}
	if why := armorRuleDiffers(rule); why != "" {
		return nil, failf(fmt.Sprintf("rule %d of security policy %s %s", armorPriority, p, why), "Remove the rule and run the step "+titleOf(ArmorPreview)+" again")
	}
	attached, err := s.policyAttached(ctx)
	if err != nil {
		return nil, err
	}
	if !attached {
		return nil, failf(fmt.Sprintf("security policy %s is not attached to backend service %s: the load balancer does not apply it", p, s.Vars.Backend),
			fmt.Sprintf("`gcloud compute backend-services update %s --global --security-policy %s`", s.Vars.Backend, p))
	}
	return rule, nil
}

// burstResult is what a burst to the paid endpoint met.
type burstResult struct {
	sent, refused int
	second        int // the status a second client got afterwards, 0 if none was sent
}

// armorBurst sends one client's burst, above the threshold, to the paid
// endpoint through the global IP, and then, on the simulator, one request
// from a second client. The requests are GETs, which the service answers
// 405 without calling the model (the hello sample answers them 200):
// Cloud Armor counts requests before any backend sees them, so the burst
// costs no Gemini call. On the simulator each client leaves from a
// loopback address of its own, chosen afresh, so that an earlier burst's
// count (its interval is a minute) does not carry over; on Google the
// learner's machine is one client.
func (s *Session) armorBurst(ctx context.Context, enforced bool) (burstResult, error) {
	base, err := s.globalURL(ctx)
	if err != nil {
		return burstResult{}, err
	}
	target := base + armorPath
	first, second := s.burstClients(ctx, base)
	n := armorThreshold + 5
	if !s.Cloud.Simulated() {
		n = 2 * armorThreshold // Google's counting is approximate and spread over front ends
	}
	deadline := time.Now().Add(checkPatience(s))
	for {
		var r burstResult
		for range n {
			sm, _ := probe.Once(ctx, probe.Config{URL: target, Client: first})
			if ctx.Err() != nil {
				return r, ctx.Err()
			}
			r.sent++
			if sm.Status == http.StatusTooManyRequests {
				r.refused++
			}
		}
		if second != nil {
			sm, _ := probe.Once(ctx, probe.Config{URL: target, Client: second})
			r.second = sm.Status
		}
		// Enforcement takes a while to spread on Google: ask again, within
		// the check's patience, before saying it does not hold.
		if !enforced || r.refused > 0 || time.Now().After(deadline) {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(5 * runEvery(s)):
		}
	}
}

// burstClients are the burst's two clients: on the simulator, with the
// global IP on loopback, two fresh loopback source addresses; otherwise
// the default client alone.
func (s *Session) burstClients(ctx context.Context, base string) (first, second *http.Client) {
	first = s.httpClient(base, healthProbeTimeout)
	u, err := url.Parse(base)
	if err != nil || !s.Cloud.Simulated() || !loopbackSources() {
		return first, nil
	}
	n := burstSeq.Add(1)
	a := netip.AddrFrom4([4]byte{127, byte(1 + n/256%250), byte(n % 256), 10})
	b := netip.AddrFrom4([4]byte{127, byte(1 + n/256%250), byte(n % 256), 11})
	if u.Scheme == "https" {
		// The lab's domain once HTTP redirects (Part 5): the simulator's
		// DNS and CA, from each source address.
		ca, errA := s.Cloud.WebClientFrom(ctx, a)
		cb, errB := s.Cloud.WebClientFrom(ctx, b)
		if errA != nil || errB != nil {
			return first, nil
		}
		ca.Timeout, cb.Timeout = healthProbeTimeout, healthProbeTimeout
		return ca, cb
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err != nil || !ip.IsLoopback() {
		return first, nil
	}
	return probe.SourceClient(a, healthProbeTimeout), probe.SourceClient(b, healthProbeTimeout)
}

// burstSeq numbers the bursts of this process, so that each leaves from
// addresses no earlier burst used (a rate limit's interval outlives a
// check); it starts at random, so that another process checking the same
// simulator a moment ago most likely used others.
var burstSeq = func() *atomic.Uint32 {
	var n atomic.Uint32
	n.Store(rand.Uint32N(60000))
	return &n
}()

// loopbackSources reports whether this machine can send from loopback
// addresses other than 127.0.0.1 (Linux can; macOS has only 127.0.0.1).
func loopbackSources() bool {
	lis, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		return false
	}
	lis.Close()
	return true
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func stepMaxInstances() *Step {
	return &Step{
		ID: MaxInstances, Part: PartProduction,
		Command: func(s *Session) string {
			var cmds []string
			for _, r := range []string{s.Vars.RegionA, s.Vars.RegionB} {
				cmds = append(cmds, s.serviceUpdate(r, fmt.Sprintf("--max %d", labMaxInstances)))
			}
			return strings.Join(cmds, "\n")
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			var did []string
			for _, r := range []string{s.Vars.RegionA, s.Vars.RegionB} {
				changed, err := s.Cloud.SetMaxInstances(ctx, r, s.Vars.Service, labMaxInstances, s.Progress)
				if err != nil {
					return "", err
				}
				if changed {
					did = append(did, r)
				}
			}
			if len(did) == 0 {
				return fmt.Sprintf("Adopted: both services already run at most %d instances.", labMaxInstances), nil
			}
			return fmt.Sprintf("Capped the service at %d instances in %s, across its revisions (no new revision).", labMaxInstances, strings.Join(did, " and ")), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			var got []string
			for _, r := range []string{s.Vars.RegionA, s.Vars.RegionB} {
				svc, err := s.Cloud.GetService(ctx, r, s.Vars.Service)
				if err != nil {
					return "", err
				}
				if n := ceiling(svc); n < 1 || n > labMaxInstances {
					max := "Cloud Run's default of 100"
					if n > 0 {
						max = fmt.Sprint(n)
					}
					return "", failf(fmt.Sprintf("service %s in %s may scale to %s instances, above the lab's ceiling of %d: a burst would cost up to %d times as much", svc.Name, r, max, labMaxInstances, max100(n)/labMaxInstances),
						fmt.Sprintf("Run this step again, or `gcloud beta run services update %s --region %s --max %d`", s.Vars.Service, r, labMaxInstances))
				}
				got = append(got, fmt.Sprintf("%s: %d", r, ceiling(svc)))
			}
			return "Each region runs at most its ceiling of instances (" + strings.Join(got, ", ") + ").", nil
		},
	}
}

// ceiling is the most instances a service may run: its service-level
// maximum, else its revision's (which a learner may have set with
// --max-instances).
func ceiling(svc *gcp.Service) int {
	if svc.MaxInstances > 0 {
		return svc.MaxInstances
	}
	return svc.RevisionMaxInstances
}

// max100 is a max-instances setting, 100 (Cloud Run's default) when unset.
func max100(n int) int {
	if n < 1 {
		return 100
	}
	return n
}

func createsSecurityPolicy(v Vars) []Resource {
	return []Resource{{
		Kind: "Cloud Armor security policy", Name: v.SecurityPolicy, Where: "global", Cost: "charged monthly per policy and rule, and per million requests",
		gcloud: fmt.Sprintf("gcloud compute backend-services update %s --global --security-policy \"\"\ngcloud compute security-policies delete %s --quiet", v.Backend, v.SecurityPolicy),
		del: func(ctx context.Context, s *Session) (bool, error) {
			// Google refuses to delete a policy a backend service uses:
			// detach it first.
			bs, err := s.Cloud.GetBackendService(ctx, v.Backend)
			switch {
			case err == nil && gcp.SameResource(bs.GetSecurityPolicy(), s.Cloud.GlobalURL("securityPolicies", v.SecurityPolicy)):
				if err := s.Cloud.SetBackendSecurityPolicy(ctx, v.Backend, "", s.Progress); err != nil {
					return false, err
				}
			case err != nil && !gcp.IsNotFound(err):
				return false, err
			}
			return s.Cloud.DeleteSecurityPolicy(ctx, v.SecurityPolicy, s.Progress)
		},
		get: func(ctx context.Context, s *Session) error {
			_, err := s.Cloud.GetSecurityPolicy(ctx, v.SecurityPolicy)
			return err
		},
	}}
}
