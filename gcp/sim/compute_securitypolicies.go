package sim

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// Cloud Armor security policies (global, type CLOUD_ARMOR), as Compute
// Engine v1 serves them: insert, get, list, patch, delete through the
// generic handlers, and the rule methods addRule, getRule, patchRule and
// removeRule; a backend service takes one with setSecurityPolicy, its
// securityPolicy field being output only. The data plane enforces the
// rules of the policy attached to a load balancer's backend service
// (armor.go).
//
// What the simulator evaluates of a rule's match: versionedExpr SRC_IPS_V1
// with srcIpRanges ("*" or CIDRs), and the expressions `true` and
// `request.path.matches('REGEX')`. Google evaluates full CEL; another
// expression is refused with a message that says so, rather than stored
// and silently never matched.

var securityPolicyKind = &computeKind{
	scope:      "global",
	collection: "securityPolicies",
	discovery:  "securityPolicies",
	kind:       "compute#securityPolicy",
	label:      "security_policy",
	param:      "securityPolicy",
	mutable:    true,
	patchOnly:  true, // securityPolicies has patch, no update
	newMsg:     func() proto.Message { return &computepb.SecurityPolicy{} },
	prepare:    prepareSecurityPolicy,
}

// defaultRulePriority is the priority of the rule every policy has and
// none may remove: the lowest, matching everything.
const defaultRulePriority = math.MaxInt32

// armorActions are the actions a rule may take (Google's reference for
// SecurityPolicyRule.action).
var armorActions = map[string]bool{
	"allow": true, "deny(403)": true, "deny(404)": true, "deny(429)": true, "deny(502)": true,
	"redirect": true, "throttle": true, "rate_based_ban": true,
}

// armorExceedActions are what a rate-based rule may do past its threshold.
var armorExceedActions = map[string]bool{"deny(403)": true, "deny(404)": true, "deny(429)": true, "deny(502)": true, "redirect": true}

// armorIntervals are the rateLimitThreshold.intervalSec values Google
// accepts.
var armorIntervals = []int32{10, 30, 60, 120, 180, 240, 300, 600, 900, 1200, 1800, 2700, 3600}

// armorKeys are the enforceOnKey values Google knows.
var armorKeys = map[string]bool{"ALL": true, "IP": true, "HTTP_HEADER": true, "XFF_IP": true, "HTTP_COOKIE": true,
	"HTTP_PATH": true, "SNI": true, "REGION_CODE": true, "TLS_JA3_FINGERPRINT": true, "TLS_JA4_FINGERPRINT": true, "USER_IP": true}

// armorPathExpr is the one expression form with an argument the simulator
// evaluates.
var armorPathExpr = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^request\.path\.matches\(\s*'([^']*)'\s*\)$`) })

func prepareSecurityPolicy(a *computeAPI, c *computeReq, r, old proto.Message) *computeError {
	sp := r.(*computepb.SecurityPolicy)
	if sp.Type == nil {
		sp.Type = proto.String("CLOUD_ARMOR")
	}
	if sp.GetType() != "CLOUD_ARMOR" {
		return computeInvalid("resource.type", sp.GetType(), "The simulator serves backend security policies of type CLOUD_ARMOR only.")
	}
	if o, ok := old.(*computepb.SecurityPolicy); ok && len(sp.GetRules()) == 0 {
		sp.Rules = o.GetRules() // a patch without rules keeps them
	}
	seen := map[int32]bool{}
	for i, rule := range sp.GetRules() {
		if err := prepareArmorRule(fmt.Sprintf("resource.rules[%d]", i), rule); err != nil {
			return err
		}
		if seen[rule.GetPriority()] {
			return computeInvalid(fmt.Sprintf("resource.rules[%d].priority", i), fmt.Sprint(rule.GetPriority()), "Cannot have rules with the same priorities.")
		}
		seen[rule.GetPriority()] = true
	}
	if !seen[defaultRulePriority] {
		// Google adds the default rule to a policy made without one.
		sp.Rules = append(sp.Rules, &computepb.SecurityPolicyRule{
			Kind:        proto.String("compute#securityPolicyRule"),
			Description: proto.String("default rule"),
			Priority:    proto.Int32(defaultRulePriority),
			Action:      proto.String("allow"),
			Preview:     proto.Bool(false),
			Match: &computepb.SecurityPolicyRuleMatcher{
				VersionedExpr: proto.String("SRC_IPS_V1"),
				Config:        &computepb.SecurityPolicyRuleMatcherConfig{SrcIpRanges: []string{"*"}},
			},
		})
	}
	sortArmorRules(sp)
	return nil
}

func sortArmorRules(sp *computepb.SecurityPolicy) {
	slices.SortFunc(sp.Rules, func(a, b *computepb.SecurityPolicyRule) int { return int(a.GetPriority()) - int(b.GetPriority()) })
}

// prepareArmorRule validates one rule as Google does and fills its
// defaults; field names the rule in error messages.
func prepareArmorRule(field string, rule *computepb.SecurityPolicyRule) *computeError {
	rule.Kind = proto.String("compute#securityPolicyRule")
	if rule.Priority == nil {
		rule.Priority = proto.Int32(0) // Google's default
	}
	if p := rule.GetPriority(); p < 0 {
		return computeInvalid(field+".priority", fmt.Sprint(p), "Must be between 0 and 2147483647.")
	}
	if rule.Preview == nil {
		rule.Preview = proto.Bool(false)
	}
	action := rule.GetAction()
	if action == "" {
		return computeRequired(field + ".action")
	}
	if !armorActions[action] {
		return computeInvalid(field+".action", action, "Must be one of allow, deny(403), deny(404), deny(429), deny(502), redirect, throttle or rate_based_ban.")
	}
	m := rule.GetMatch()
	if m == nil {
		return computeRequired(field + ".match")
	}
	switch {
	case m.VersionedExpr != nil:
		if m.GetVersionedExpr() != "SRC_IPS_V1" {
			return computeInvalid(field+".match.versionedExpr", m.GetVersionedExpr(), "Must be SRC_IPS_V1.")
		}
		ranges := m.GetConfig().GetSrcIpRanges()
		if len(ranges) == 0 {
			return computeRequired(field + ".match.config.srcIpRanges")
		}
		for _, r := range ranges {
			if _, ok := parseArmorRange(r); !ok {
				return computeInvalid(field+".match.config.srcIpRanges", r, "Must be an IP address, a CIDR range or '*'.")
			}
		}
	case m.GetExpr().GetExpression() != "":
		e := strings.TrimSpace(m.GetExpr().GetExpression())
		if e != "true" && armorPathExpr().FindStringSubmatch(e) == nil {
			return computeInvalid(field+".match.expr.expression", e, "The simulator evaluates only `true` and `request.path.matches('REGEX')` (Google evaluates the full rules language): use one of those here.")
		}
		if sm := armorPathExpr().FindStringSubmatch(e); sm != nil {
			if _, err := regexp.Compile(sm[1]); err != nil {
				return computeInvalid(field+".match.expr.expression", e, "The regular expression does not compile: "+err.Error())
			}
		}
	default:
		return computeInvalid(field+".match", "", "A rule must match with versionedExpr and config.srcIpRanges, or with expr.expression.")
	}
	rl := rule.GetRateLimitOptions()
	rateBased := action == "throttle" || action == "rate_based_ban"
	if !rateBased {
		if rl != nil {
			return computeInvalid(field+".rateLimitOptions", "", "Rate limit options are only allowed with action throttle or rate_based_ban.")
		}
		return nil
	}
	if rl == nil {
		return computeRequired(field + ".rateLimitOptions")
	}
	th := rl.GetRateLimitThreshold()
	if th == nil {
		return computeRequired(field + ".rateLimitOptions.rateLimitThreshold")
	}
	if n := th.GetCount(); n < 1 || n > 1_000_000 {
		return computeInvalid(field+".rateLimitOptions.rateLimitThreshold.count", fmt.Sprint(n), "Must be between 1 and 1000000.")
	}
	if !slices.Contains(armorIntervals, th.GetIntervalSec()) {
		return computeInvalid(field+".rateLimitOptions.rateLimitThreshold.intervalSec", fmt.Sprint(th.GetIntervalSec()),
			"Must be one of 10, 30, 60, 120, 180, 240, 300, 600, 900, 1200, 1800, 2700 or 3600.")
	}
	if rl.GetConformAction() != "allow" {
		return computeInvalid(field+".rateLimitOptions.conformAction", rl.GetConformAction(), "Must be allow.")
	}
	if ex := rl.GetExceedAction(); !armorExceedActions[ex] {
		return computeInvalid(field+".rateLimitOptions.exceedAction", ex, "Must be one of deny(403), deny(404), deny(429), deny(502) or redirect.")
	}
	if rl.EnforceOnKey == nil && len(rl.GetEnforceOnKeyConfigs()) == 0 {
		rl.EnforceOnKey = proto.String("ALL") // Google's default
	}
	if k := rl.GetEnforceOnKey(); k != "" && !armorKeys[k] {
		return computeInvalid(field+".rateLimitOptions.enforceOnKey", k, "Must be one of ALL, IP, HTTP_HEADER, XFF_IP, HTTP_COOKIE, HTTP_PATH, SNI, REGION_CODE, TLS_JA3_FINGERPRINT, TLS_JA4_FINGERPRINT or USER_IP.")
	}
	return nil
}

// priorityParam reads the priority query parameter of the rule methods;
// Google's default is 0.
func priorityParam(c *computeReq) (int32, *computeError) {
	v := c.r.URL.Query().Get("priority")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 0 {
		return 0, computeInvalid("priority", v, "Must be an integer between 0 and 2147483647.")
	}
	return int32(n), nil
}

// policyRule finds the rule of priority in sp, or -1.
func policyRule(sp *computepb.SecurityPolicy, priority int32) int {
	return slices.IndexFunc(sp.GetRules(), func(r *computepb.SecurityPolicyRule) bool { return r.GetPriority() == priority })
}

func noSuchRule(priority int32) *computeError {
	return computeInvalid("priority", fmt.Sprint(priority), "The security policy does not contain a rule with the specified priority.")
}

// changePolicyLocked stores sp (a changed copy) under key with a new
// fingerprint and answers the operation. Call with s.mu held.
func (a *computeAPI) changePolicyLocked(c *computeReq, verb, key string, sp *computepb.SecurityPolicy) {
	sp.Fingerprint = proto.String(a.s.computeFingerprint())
	c.p.compute.res[key] = sp
	a.s.changedLocked()
	computeWrite(c.w, a.newOpLocked(c, verb, key, sp, a.s.now()))
}

func (a *computeAPI) addRule(c *computeReq) {
	rule := &computepb.SecurityPolicyRule{}
	if err := computeDecode(c.body, rule); err != nil {
		computeWriteError(c.w, err)
		return
	}
	withFound(a, c, securityPolicyKind.find, func(key string, old proto.Message) {
		if err := prepareArmorRule("resource", rule); err != nil {
			computeWriteError(c.w, err)
			return
		}
		sp := proto.Clone(old).(*computepb.SecurityPolicy)
		if policyRule(sp, rule.GetPriority()) >= 0 {
			computeWriteError(c.w, computeInvalid("resource.priority", fmt.Sprint(rule.GetPriority()), "Cannot have rules with the same priorities."))
			return
		}
		sp.Rules = append(sp.Rules, rule)
		sortArmorRules(sp)
		a.changePolicyLocked(c, "addRule", key, sp)
	})
}

// withRule runs verb, with s.mu held, on the rule of the policy the path
// names whose priority the query names, in a copy of the policy that verb
// may change and store; an error on the way, or verb's, is answered.
func (a *computeAPI) withRule(c *computeReq, verb func(key string, sp *computepb.SecurityPolicy, i int) *computeError) {
	priority, err := priorityParam(c)
	if err != nil {
		computeWriteError(c.w, err)
		return
	}
	withFound(a, c, securityPolicyKind.find, func(key string, old proto.Message) {
		sp := proto.Clone(old).(*computepb.SecurityPolicy)
		i := policyRule(sp, priority)
		if i < 0 {
			computeWriteError(c.w, noSuchRule(priority))
			return
		}
		if err := verb(key, sp, i); err != nil {
			computeWriteError(c.w, err)
		}
	})
}

func (a *computeAPI) getRule(c *computeReq) {
	a.withRule(c, func(_ string, sp *computepb.SecurityPolicy, i int) *computeError {
		computeWrite(c.w, sp.Rules[i])
		return nil
	})
}

// patchRule merges the body into the rule of the given priority (a JSON
// merge patch, as gcloud sends only what changes); updateMask names fields
// to clear when the body leaves them out.
func (a *computeAPI) patchRule(c *computeReq) {
	a.withRule(c, func(key string, sp *computepb.SecurityPolicy, i int) *computeError {
		priority := sp.Rules[i].GetPriority()
		m, err := computePatched(sp.Rules[i], c.body)
		if err != nil {
			return err
		}
		rule := m.(*computepb.SecurityPolicyRule)
		if mask := c.r.URL.Query().Get("updateMask"); mask != "" {
			// gcloud names fields to clear in updateMask (top-level ones, by
			// their JSON names) and leaves them out of the body.
			var sent map[string]any
			json.Unmarshal(c.body, &sent)
			for _, f := range strings.Split(mask, ",") {
				f = strings.TrimSpace(f)
				if _, ok := sent[f]; ok {
					continue
				}
				if fd := rule.ProtoReflect().Descriptor().Fields().ByJSONName(f); fd != nil {
					rule.ProtoReflect().Clear(fd)
				}
			}
		}
		if priority == defaultRulePriority && rule.GetPriority() != defaultRulePriority {
			return computeInvalid("resource.priority", fmt.Sprint(rule.GetPriority()), "The priority of the default rule cannot be changed.")
		}
		if err := prepareArmorRule("resource", rule); err != nil {
			return err
		}
		if j := policyRule(sp, rule.GetPriority()); j >= 0 && j != i {
			return computeInvalid("resource.priority", fmt.Sprint(rule.GetPriority()), "Cannot have rules with the same priorities.")
		}
		sp.Rules[i] = rule
		sortArmorRules(sp)
		a.changePolicyLocked(c, "patchRule", key, sp)
		return nil
	})
}

func (a *computeAPI) removeRule(c *computeReq) {
	a.withRule(c, func(key string, sp *computepb.SecurityPolicy, i int) *computeError {
		if sp.Rules[i].GetPriority() == defaultRulePriority {
			return computeInvalid("priority", fmt.Sprint(defaultRulePriority), "The default rule cannot be removed.")
		}
		sp.Rules = slices.Delete(sp.Rules, i, i+1)
		a.changePolicyLocked(c, "removeRule", key, sp)
		return nil
	})
}

// setSecurityPolicy attaches a policy to a backend service, or detaches it
// when the reference is empty.
func (a *computeAPI) setSecurityPolicy(c *computeReq) {
	ref := &computepb.SecurityPolicyReference{}
	if err := computeDecode(c.body, ref); err != nil {
		computeWriteError(c.w, err)
		return
	}
	withFound(a, c, backendServiceKind.find, func(key string, old proto.Message) {
		bs := proto.Clone(old).(*computepb.BackendService)
		if strings.TrimSpace(ref.GetSecurityPolicy()) == "" {
			bs.SecurityPolicy = nil
		} else {
			_, full, err := a.computeRef(c.p, "securityPolicy", ref.GetSecurityPolicy(), "securityPolicies")
			if err != nil {
				computeWriteError(c.w, err)
				return
			}
			bs.SecurityPolicy = proto.String(full)
		}
		bs.Fingerprint = proto.String(a.s.computeFingerprint())
		c.p.compute.res[key] = bs
		a.s.changedLocked()
		computeWrite(c.w, a.newOpLocked(c, "setSecurityPolicy", key, bs, a.s.now()))
	})
}
