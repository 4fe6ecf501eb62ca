package sim

import (
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
)

// Cloud Armor in the data plane: the load balancer evaluates the security
// policy attached to its backend service before routing, as Google's front
// ends do. Rules are taken in priority order; the first that matches
// decides, except that a rule in preview only logs what it would have done
// and evaluation goes on to the next. A throttle rule counts each client
// key's requests over a sliding interval on the simulator's clock: under
// its threshold a request conforms (allow), past it the exceed action
// answers (deny(429) with the front end's "Too Many Requests" page).
// Requests the throttle refuses do not count, so a client that slows down
// is let back in at the threshold's rate.

// FrontendArmor is a security policy, resolved for the data plane.
type FrontendArmor struct {
	Name        string
	Fingerprint string // changes with every change of the policy: counters restart
	Rules       []FrontendArmorRule
}

// FrontendArmorRule is one rule of a policy.
type FrontendArmorRule struct {
	Priority int32
	Action   string // allow, deny(403), ..., throttle, rate_based_ban
	Preview  bool
	Ranges   []netip.Prefix // srcIpRanges; nil with Path or All
	All      bool           // matches every request ("*" or `true`)
	Path     *regexp.Regexp // request.path.matches(...)
	// Rate-based rules.
	Count        int
	Interval     time.Duration
	ExceedAction string
	Key          string // enforceOnKey: IP, ALL, ...
}

// parseArmorRange reads one srcIpRanges entry: "*", an address, or a CIDR.
func parseArmorRange(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return netip.Prefix{}, true
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// frontendArmor resolves a stored policy; rules the simulator cannot
// evaluate were refused when they were written (prepareArmorRule).
func frontendArmor(sp *computepb.SecurityPolicy) *FrontendArmor {
	fa := &FrontendArmor{Name: sp.GetName(), Fingerprint: sp.GetFingerprint()}
	for _, r := range sp.GetRules() {
		fr := FrontendArmorRule{Priority: r.GetPriority(), Action: r.GetAction(), Preview: r.GetPreview()}
		m := r.GetMatch()
		if e := strings.TrimSpace(m.GetExpr().GetExpression()); e != "" {
			if e == "true" {
				fr.All = true
			} else if sm := armorPathExpr().FindStringSubmatch(e); sm != nil {
				fr.Path, _ = regexp.Compile(sm[1])
			}
		}
		for _, s := range m.GetConfig().GetSrcIpRanges() {
			p, ok := parseArmorRange(s)
			switch {
			case !ok:
			case !p.IsValid():
				fr.All = true
			default:
				fr.Ranges = append(fr.Ranges, p)
			}
		}
		if rl := r.GetRateLimitOptions(); rl != nil {
			th := rl.GetRateLimitThreshold()
			fr.Count = int(th.GetCount())
			fr.Interval = time.Duration(th.GetIntervalSec()) * time.Second
			fr.ExceedAction = rl.GetExceedAction()
			fr.Key = rl.GetEnforceOnKey()
		}
		fa.Rules = append(fa.Rules, fr)
	}
	return fa
}

// matches reports whether the rule's match holds for a request from ip.
func (r *FrontendArmorRule) matches(ip netip.Addr, path string) bool {
	switch {
	case r.All:
		return true
	case r.Path != nil:
		return r.Path.MatchString(path)
	}
	for _, p := range r.Ranges {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// armorState is one load balancer's rate-limit counters: for each rule
// and client key, the times of the requests that conformed, oldest first.
type armorState struct {
	mu          sync.Mutex
	fingerprint string // the policy the counters belong to
	seen        map[armorKey][]time.Time
	evaluated   int // requests since the last sweep of idle keys
}

// armorSweepEvery is how many requests pass between sweeps that drop the
// counters of clients idle for longer than their rule's interval, so that
// many one-off clients do not pile up.
const armorSweepEvery = 1024

type armorKey struct {
	priority int32
	key      string
}

// armorVerdict is what the policy decided for one request.
type armorVerdict struct {
	status    int    // the deny status to answer, 0 to route the request
	previewed string // what a preview rule would have done, for the log
}

// evaluate runs the policy on one request at now.
func (st *armorState) evaluate(fa *FrontendArmor, r *http.Request, now time.Time) armorVerdict {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.fingerprint != fa.Fingerprint || st.seen == nil {
		st.fingerprint, st.seen = fa.Fingerprint, map[armorKey][]time.Time{}
	}
	if st.evaluated++; st.evaluated >= armorSweepEvery {
		st.evaluated = 0
		st.sweepLocked(fa, now)
	}
	var v armorVerdict
	for i := range fa.Rules {
		rule := &fa.Rules[i]
		if !rule.matches(ip, r.URL.Path) {
			continue
		}
		status := st.decide(rule, ip, now)
		if rule.Preview {
			if status != 0 && v.previewed == "" {
				v.previewed = rule.ExceedAction
				if rule.ExceedAction == "" {
					v.previewed = rule.Action
				}
			}
			continue
		}
		v.status = status
		return v
	}
	return v
}

// sweepLocked drops the counters whose last request is older than their
// rule's interval: they no longer hold anything back.
func (st *armorState) sweepLocked(fa *FrontendArmor, now time.Time) {
	interval := map[int32]time.Duration{}
	for _, r := range fa.Rules {
		interval[r.Priority] = r.Interval
	}
	for k, times := range st.seen {
		if len(times) == 0 || !times[len(times)-1].After(now.Add(-interval[k.priority])) {
			delete(st.seen, k)
		}
	}
}

// decide applies a matching rule, counting the request for a throttle; it
// returns the status to deny with, or 0 to let the request through.
func (st *armorState) decide(rule *FrontendArmorRule, ip netip.Addr, now time.Time) int {
	switch rule.Action {
	case "allow":
		return 0
	case "throttle", "rate_based_ban":
		k := armorKey{priority: rule.Priority}
		if rule.Key != "ALL" {
			k.key = ip.String() // IP, and the keys the simulator has no data for, fall back to the client IP
		}
		times := st.seen[k]
		cut := 0
		for cut < len(times) && !times[cut].After(now.Add(-rule.Interval)) {
			cut++
		}
		times = times[cut:]
		if len(times) >= rule.Count {
			st.seen[k] = times
			return denyStatus(rule.ExceedAction)
		}
		st.seen[k] = append(times, now)
		return 0
	}
	return denyStatus(rule.Action)
}

// denyStatus is the status of a deny(N) action; redirect and unknown
// actions, which the simulator does not serve, answer 403.
func denyStatus(action string) int {
	switch action {
	case "deny(404)":
		return http.StatusNotFound
	case "deny(429)":
		return http.StatusTooManyRequests
	case "deny(502)":
		return http.StatusBadGateway
	}
	return http.StatusForbidden
}
