package sim

import (
	"fmt"
	"net/http"
	"slices"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// urlMapKind is the global URL maps.
var urlMapKind = &computeKind{
	scope:      "global",
	collection: "urlMaps",
	discovery:  "urlMaps",
	kind:       "compute#urlMap",
	label:      "url_map",
	param:      "urlMap",
	mutable:    true,
	newMsg:     func() proto.Message { return &computepb.UrlMap{} },
	prepare:    prepareURLMap,
	refs: func(r proto.Message) []string {
		var keys []string
		eachServiceRef(r.(*computepb.UrlMap), func(_ string, ref *string) *computeError {
			keys = append(keys, computeKeyOf(*ref))
			return nil
		})
		return keys
	},
}

// targetHTTPProxyKind is the global target HTTP proxies.
var targetHTTPProxyKind = &computeKind{
	scope:      "global",
	collection: "targetHttpProxies",
	discovery:  "targetHttpProxies",
	kind:       "compute#targetHttpProxy",
	label:      "target_http_proxy",
	param:      "targetHttpProxy",
	mutable:    true,
	patchOnly:  true,
	newMsg:     func() proto.Message { return &computepb.TargetHttpProxy{} },
	prepare:    prepareTargetHTTPProxy,
	refs: func(r proto.Message) []string {
		return []string{computeKeyOf(r.(*computepb.TargetHttpProxy).GetUrlMap())}
	},
}

// eachServiceRef calls fn with every backend service reference of a URL map
// that is set, and the field it is in, until fn fails.
func eachServiceRef(m *computepb.UrlMap, fn func(field string, ref *string) *computeError) *computeError {
	visit := func(field string, ref *string) *computeError {
		if ref == nil {
			return nil
		}
		return fn(field, ref)
	}
	weighted := func(field string, ra *computepb.HttpRouteAction) *computeError {
		for i, w := range ra.GetWeightedBackendServices() {
			if err := visit(fmt.Sprintf("%s.weightedBackendServices[%d].backendService", field, i), w.BackendService); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit("resource.defaultService", m.DefaultService); err != nil {
		return err
	}
	if err := weighted("resource.defaultRouteAction", m.DefaultRouteAction); err != nil {
		return err
	}
	for i, pm := range m.GetPathMatchers() {
		f := fmt.Sprintf("resource.pathMatchers[%d]", i)
		if err := visit(f+".defaultService", pm.DefaultService); err != nil {
			return err
		}
		if err := weighted(f+".defaultRouteAction", pm.DefaultRouteAction); err != nil {
			return err
		}
		for j, pr := range pm.GetPathRules() {
			if err := visit(fmt.Sprintf("%s.pathRules[%d].service", f, j), pr.Service); err != nil {
				return err
			}
			if err := weighted(fmt.Sprintf("%s.pathRules[%d].routeAction", f, j), pr.RouteAction); err != nil {
				return err
			}
		}
		for j, rr := range pm.GetRouteRules() {
			if err := visit(fmt.Sprintf("%s.routeRules[%d].service", f, j), rr.Service); err != nil {
				return err
			}
			if err := weighted(fmt.Sprintf("%s.routeRules[%d].routeAction", f, j), rr.RouteAction); err != nil {
				return err
			}
		}
	}
	return nil
}

// retryConditions are the values Google documents for
// HttpRetryPolicy.retryConditions.
var retryConditions = []string{"5xx", "gateway-error", "reset", "connect-failure", "retriable-4xx", "refused-stream", "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"}

func prepareURLMap(a *computeAPI, c *computeReq, r, old proto.Message) *computeError {
	m := r.(*computepb.UrlMap)
	if m.DefaultService == nil && m.DefaultUrlRedirect == nil && len(m.GetDefaultRouteAction().GetWeightedBackendServices()) == 0 {
		return computeInvalid("resource.defaultService", "", "A URL map needs a default service, weighted backend services in its default route action, or a default URL redirect.")
	}
	// Backend buckets are a valid target that the simulator does not have:
	// naming one is a 404, as naming a missing one is on Google.
	err := eachServiceRef(m, func(field string, ref *string) *computeError {
		_, full, err := a.computeRef(c.p, field, *ref, "backendServices", "backendBuckets")
		if err != nil {
			return err
		}
		*ref = full
		return nil
	})
	if err != nil {
		return err
	}
	if rp := m.GetDefaultRouteAction().GetRetryPolicy(); rp != nil {
		for i, cond := range rp.GetRetryConditions() {
			if !slices.Contains(retryConditions, cond) {
				return computeInvalid(fmt.Sprintf("resource.defaultRouteAction.retryPolicy.retryConditions[%d]", i), cond, "Must be one of 5xx, gateway-error, reset, connect-failure, retriable-4xx, refused-stream, cancelled, deadline-exceeded, internal, resource-exhausted or unavailable.")
			}
		}
	}
	if advancedRouting(m) {
		// Classic load balancers take urlRewrite only in a route action
		// (urlMaps reference, HttpRouteAction); Google's message as
		// reported in terraform-provider-google issue 18894.
		err := eachServiceRef(m, func(_ string, ref *string) *computeError {
			bs, ok := c.p.compute.res[computeKeyOf(*ref)].(*computepb.BackendService)
			if ok && bs.GetLoadBalancingScheme() == "EXTERNAL" {
				return computeInvalid("resource", m.GetName(), "Advanced routing rules are not supported for scheme EXTERNAL. Use backend services with --load-balancing-scheme=EXTERNAL_MANAGED.")
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if old == nil {
		return nil
	}
	// A map already behind forwarding rules must keep serving their scheme.
	key := "global/urlMaps/" + m.GetName()
	for _, rule := range c.p.compute.rulesReaching(key) {
		if err := c.p.compute.checkScheme(rule.GetLoadBalancingScheme(), m); err != nil {
			return err
		}
	}
	return nil
}

// advancedRouting reports whether a URL map uses route actions beyond
// urlRewrite (retries, timeouts, weights, mirroring, faults, CORS), which
// only the Envoy-based load balancers have.
func advancedRouting(m *computepb.UrlMap) bool {
	advanced := func(ra *computepb.HttpRouteAction) bool {
		if ra == nil {
			return false
		}
		c := proto.Clone(ra).(*computepb.HttpRouteAction)
		c.UrlRewrite = nil
		return proto.Size(c) > 0
	}
	if advanced(m.GetDefaultRouteAction()) {
		return true
	}
	for _, pm := range m.GetPathMatchers() {
		if advanced(pm.GetDefaultRouteAction()) {
			return true
		}
		for _, rr := range pm.GetRouteRules() {
			if advanced(rr.GetRouteAction()) {
				return true
			}
		}
		for _, pr := range pm.GetPathRules() {
			if advanced(pr.GetRouteAction()) {
				return true
			}
		}
	}
	return false
}

func prepareTargetHTTPProxy(a *computeAPI, c *computeReq, r, old proto.Message) *computeError {
	p := r.(*computepb.TargetHttpProxy)
	_, full, err := a.computeRef(c.p, "resource.urlMap", p.GetUrlMap(), "urlMaps")
	if err != nil {
		return err
	}
	p.UrlMap = proto.String(full)
	if old == nil {
		return nil
	}
	// A patch may point a proxy in use at another map: it must serve the
	// scheme of the rules in front of it, as setUrlMap checks.
	um := c.p.compute.res[computeKeyOf(full)].(*computepb.UrlMap)
	for _, rule := range c.p.compute.rulesUsing("global/targetHttpProxies/" + p.GetName()) {
		if err := c.p.compute.checkScheme(rule.GetLoadBalancingScheme(), um); err != nil {
			return err
		}
	}
	return nil
}

// setURLMap points a target HTTP proxy at another URL map.
func (a *computeAPI) setURLMap(c *computeReq) {
	ref := &computepb.UrlMapReference{}
	if err := computeDecode(c.body, ref); err != nil {
		computeWriteError(c.w, err)
		return
	}
	withFound(a, c, targetHTTPProxyKind.find, func(key string, old proto.Message) {
		mapKey, full, err := a.computeRef(c.p, "urlMap", ref.GetUrlMap(), "urlMaps")
		if err != nil {
			computeWriteError(c.w, err)
			return
		}
		um := c.p.compute.res[mapKey].(*computepb.UrlMap)
		for _, rule := range c.p.compute.rulesUsing(key) {
			if err := c.p.compute.checkScheme(rule.GetLoadBalancingScheme(), um); err != nil {
				computeWriteError(c.w, err)
				return
			}
		}
		p := proto.Clone(old).(*computepb.TargetHttpProxy)
		p.UrlMap = proto.String(full)
		p.Fingerprint = proto.String(a.s.computeFingerprint())
		c.p.compute.res[key] = p
		a.s.changedLocked()
		computeWrite(c.w, a.newOpLocked(c, "setUrlMap", key, p, a.s.now()))
	})
}

// rulesUsing returns the forwarding rules whose target is the proxy with key.
func (cs *computeState) rulesUsing(proxyKey string) []*computepb.ForwardingRule {
	var out []*computepb.ForwardingRule
	for _, k := range sortedKeys(cs.res) {
		if r, ok := cs.res[k].(*computepb.ForwardingRule); ok && computeKeyOf(r.GetTarget()) == proxyKey {
			out = append(out, r)
		}
	}
	return out
}

// rulesReaching returns the forwarding rules whose proxy uses the URL map
// with key.
func (cs *computeState) rulesReaching(mapKey string) []*computepb.ForwardingRule {
	var out []*computepb.ForwardingRule
	for _, k := range sortedKeys(cs.res) {
		if p, ok := cs.res[k].(*computepb.TargetHttpProxy); ok && computeKeyOf(p.GetUrlMap()) == mapKey {
			out = append(out, cs.rulesUsing(k)...)
		}
	}
	return out
}

// checkScheme refuses a forwarding rule of scheme in front of a URL map
// whose backend services have another one, with Google's message.
func (cs *computeState) checkScheme(scheme string, m *computepb.UrlMap) *computeError {
	return eachServiceRef(m, func(_ string, ref *string) *computeError {
		bs, ok := cs.res[computeKeyOf(*ref)].(*computepb.BackendService)
		if ok && bs.GetLoadBalancingScheme() != scheme {
			return &computeError{http.StatusBadRequest, fmt.Sprintf("Invalid value for field 'resource.backendService': ''. Load balancing scheme %s does not match the backend service load balancing scheme %s.", scheme, bs.GetLoadBalancingScheme()), "invalid"}
		}
		return nil
	})
}
