package sim

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// forwardingRuleKind is the global forwarding rules: the front ends of
// global load balancers.
var forwardingRuleKind = &computeKind{
	scope:      "global",
	collection: "forwardingRules",
	discovery:  "globalForwardingRules",
	kind:       "compute#forwardingRule",
	label:      "forwarding_rule",
	param:      "forwardingRule",
	newMsg:     func() proto.Message { return &computepb.ForwardingRule{} },
	prepare:    prepareForwardingRule,
	refs: func(r proto.Message) []string {
		return []string{computeKeyOf(r.(*computepb.ForwardingRule).GetTarget())}
	},
}

// emptyLabelFingerprint is the fingerprint Google gives a resource without
// labels.
const emptyLabelFingerprint = "42WmSpB8rSM="

func prepareForwardingRule(a *computeAPI, c *computeReq, r, old proto.Message) *computeError {
	fr := r.(*computepb.ForwardingRule)
	if fr.IPProtocol == nil {
		fr.IPProtocol = proto.String("TCP")
	}
	if fr.GetIPProtocol() != "TCP" {
		return computeInvalid("resource.IPProtocol", fr.GetIPProtocol(), "A forwarding rule to a target HTTP proxy takes TCP only.")
	}
	if fr.LoadBalancingScheme == nil {
		fr.LoadBalancingScheme = proto.String("EXTERNAL")
	}
	scheme := fr.GetLoadBalancingScheme()
	if scheme != "EXTERNAL" && scheme != "EXTERNAL_MANAGED" {
		return computeInvalid("resource.loadBalancingScheme", scheme, "The simulator has global external load balancers only: use EXTERNAL or EXTERNAL_MANAGED.")
	}
	if fr.NetworkTier == nil {
		fr.NetworkTier = proto.String("PREMIUM")
	}
	if fr.GetNetworkTier() != "PREMIUM" {
		return computeInvalid("resource.networkTier", fr.GetNetworkTier(), "Global forwarding rules take the PREMIUM network tier only.")
	}
	if fr.GetBackendService() != "" {
		return computeInvalid("resource.backendService", fr.GetBackendService(), "A global forwarding rule of an application load balancer names a target proxy, not a backend service.")
	}
	port, err := rulePort(fr)
	if err != nil {
		return err
	}
	fr.PortRange = proto.String(fmt.Sprintf("%d-%d", port, port))
	fr.Ports = nil

	if fr.GetTarget() == "" {
		return computeRequired("resource.target")
	}
	// Only HTTP proxies are simulated; naming another kind of proxy is a
	// 404, as naming a missing one is on Google.
	proxyKey, full, err := a.computeRef(c.p, "resource.target", fr.GetTarget(), "targetHttpProxies", "targetHttpsProxies", "targetGrpcProxies", "targetTcpProxies", "targetSslProxies")
	if err != nil {
		return err
	}
	fr.Target = proto.String(full)
	var mapRef string
	switch proxy := c.p.compute.res[proxyKey].(type) {
	case *computepb.TargetHttpProxy:
		mapRef = proxy.GetUrlMap()
	case *computepb.TargetHttpsProxy:
		mapRef = proxy.GetUrlMap()
	}
	if um, ok := c.p.compute.res[computeKeyOf(mapRef)].(*computepb.UrlMap); ok {
		if err := c.p.compute.checkScheme(scheme, um); err != nil {
			return err
		}
	}

	if ip := fr.GetIPAddress(); ip != "" {
		// A reserved address is named by its URL (gcloud --address NAME)
		// or given as its IP; Google stores the IP.
		ip, err := a.reservedAddress(c, ip)
		if err != nil {
			return err
		}
		addr, perr := netip.ParseAddr(ip)
		if perr != nil || !addr.Is4() {
			return computeInvalid("resource.IPAddress", ip, "Must be an IPv4 address or the URL of a reserved global address.")
		}
		if old, ok := old.(*computepb.ForwardingRule); ok && old.GetIPAddress() == addr.String() {
			// An update keeps its own address.
		} else if a.s.ruleAddrUsedLocked(addr, port) {
			return computeInvalid("resource.IPAddress", ip, "Specified IP address is in-use and would result in a conflict.")
		}
		fr.IPAddress = proto.String(addr.String())
	} else {
		addr, err := a.s.allocRuleAddrLocked(c.p, port)
		if err != nil {
			return err
		}
		fr.IPAddress = proto.String(addr.String())
	}
	fr.LabelFingerprint = proto.String(labelFingerprint(fr.GetLabels()))
	return nil
}

// labelFingerprint is the fingerprint of a label set: Google's for none,
// else a hash of the sorted labels (Google's own is opaque; what matters
// is that it changes with the labels and is the same for the same ones).
func labelFingerprint(labels map[string]string) string {
	if len(labels) == 0 {
		return emptyLabelFingerprint
	}
	h := sha256.New()
	for _, k := range sortedKeys(labels) {
		fmt.Fprintf(h, "%s=%s\n", k, labels[k])
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)[:8])
}

// changeRule serves a custom method of a global forwarding rule: the body
// decoded into req, the rule found, change applied to a copy (an error
// leaves the rule as it was), and an operation of type verb answered.
func (a *computeAPI) changeRule(c *computeReq, req proto.Message, verb string, change func(fr *computepb.ForwardingRule) *computeError) {
	if err := computeDecode(c.body, req); err != nil {
		computeWriteError(c.w, err)
		return
	}
	withFound(a, c, forwardingRuleKind.find, func(key string, old proto.Message) {
		fr := proto.Clone(old).(*computepb.ForwardingRule)
		if err := change(fr); err != nil {
			computeWriteError(c.w, err)
			return
		}
		c.p.compute.res[key] = fr
		a.s.changedLocked()
		computeWrite(c.w, a.newOpLocked(c, verb, key, fr, a.s.now()))
	})
}

// setRuleLabels serves globalForwardingRules.setLabels (gcloud compute
// forwarding-rules update --update-labels): the labels replace the rule's
// if the fingerprint sent is the current one, and the fingerprint changes.
func (a *computeAPI) setRuleLabels(c *computeReq) {
	req := &computepb.GlobalSetLabelsRequest{}
	a.changeRule(c, req, "setLabels", func(fr *computepb.ForwardingRule) *computeError {
		if req.LabelFingerprint == nil {
			return computeRequired("labelFingerprint")
		}
		if !sameFingerprint(req.GetLabelFingerprint(), fr.GetLabelFingerprint()) {
			return &computeError{http.StatusPreconditionFailed, "Labels fingerprint either invalid or resource labels have changed", "conditionNotMet"}
		}
		fr.Labels = req.GetLabels()
		fr.LabelFingerprint = proto.String(labelFingerprint(fr.Labels))
		return nil
	})
}

// setRuleTarget serves globalForwardingRules.setTarget: the rule sends its
// traffic to another target proxy, checked as on insert.
func (a *computeAPI) setRuleTarget(c *computeReq) {
	req := &computepb.TargetReference{}
	a.changeRule(c, req, "setTarget", func(fr *computepb.ForwardingRule) *computeError {
		if req.GetTarget() == "" {
			return computeRequired("target")
		}
		proxyKey, full, err := a.computeRef(c.p, "target", req.GetTarget(), "targetHttpProxies", "targetHttpsProxies", "targetGrpcProxies", "targetTcpProxies", "targetSslProxies")
		if err != nil {
			return err
		}
		if proxy, ok := c.p.compute.res[proxyKey].(*computepb.TargetHttpProxy); ok {
			if um, ok := c.p.compute.res[computeKeyOf(proxy.GetUrlMap())].(*computepb.UrlMap); ok {
				if err := c.p.compute.checkScheme(fr.GetLoadBalancingScheme(), um); err != nil {
					return err
				}
			}
		}
		fr.Target = proto.String(full)
		return nil
	})
}

// rulePort reads the one port a rule to an HTTP proxy listens on, from
// portRange ("80" as gcloud --ports sends it, or "80-80") or ports, 80 if
// neither is set.
func rulePort(fr *computepb.ForwardingRule) (int, *computeError) {
	spec, field := fr.GetPortRange(), "resource.portRange"
	if spec == "" && len(fr.GetPorts()) > 0 {
		spec, field = fr.GetPorts()[0], "resource.ports[0]"
		if len(fr.GetPorts()) > 1 {
			return 0, computeInvalid("resource.ports", strings.Join(fr.GetPorts(), ","), "A forwarding rule to a target HTTP proxy listens on one port.")
		}
	}
	if spec == "" {
		return 80, nil
	}
	lo, hi, isRange := strings.Cut(spec, "-")
	if !isRange {
		hi = lo
	}
	from, err1 := strconv.Atoi(lo)
	to, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || from < 1 || to > 65535 || from > to {
		return 0, computeInvalid(field, spec, "Must be a port (1-65535) or a range of ports such as 80-80.")
	}
	if from != to {
		return 0, computeInvalid(field, spec, "A forwarding rule to a target HTTP proxy listens on one port: give a range of one port, such as 80-80.")
	}
	return from, nil
}

// ruleAddrFirst is the first address handed to forwarding rules: loopback,
// so that the data plane can listen on it, and out of the way of 127.0.0.1.
var ruleAddrFirst = netip.MustParseAddr("127.20.0.1")

// allocRuleAddrLocked hands a new forwarding rule of project p, on port, its
// address. On the default host (127.0.0.1) it is a loopback address no rule
// of any project uses: 127.20.0.1 and up, skipping .0 and .255, never reused
// while the simulator runs. On any other host H (`beyond sim --addr H`) it
// is H itself, so that everything the simulator serves is on H: rules of
// different projects share H, each load balancer on a port of its own
// (FrontendAddr says which); a second rule of the same project on the same
// port is refused as in use. Call with s.mu held.
func (s *Sim) allocRuleAddrLocked(p *project, port int) (netip.Addr, *computeError) {
	if s.opts.Host != defaultHost {
		host, err := netip.ParseAddr(s.opts.Host)
		if err != nil || !host.Is4() {
			return netip.Addr{}, computeInvalid("resource.IPAddress", "", fmt.Sprintf("The simulator's host %s is not an IPv4 address: give the rule an IPAddress, or run the simulator on an IPv4 loopback address.", s.opts.Host))
		}
		for _, m := range p.compute.res {
			if fr, ok := m.(*computepb.ForwardingRule); ok && fr.GetIPAddress() == host.String() {
				if got, _ := rulePort(fr); got == port {
					return netip.Addr{}, computeInvalid("resource.IPAddress", host.String(), fmt.Sprintf("Specified IP address is in-use and would result in a conflict: the simulator on %s gives every forwarding rule that address, and rule %s of this project has it on port %d. Use another port.", host, fr.GetName(), port))
				}
			}
		}
		return host, nil
	}
	for {
		n := uint32(s.nextSeq()) // unique across the simulator, so across projects
		b := ruleAddrFirst.As4()
		off := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 // 127.20.0.0
		// 254 usable addresses per /24: the sequence number picks the /24
		// and the host in it.
		off += (n/254)<<8 | (n%254 + 1)
		addr := netip.AddrFrom4([4]byte{byte(off >> 24), byte(off >> 16), byte(off >> 8), byte(off)})
		if !s.ruleAddrUsedLocked(addr, 0) {
			return addr, nil
		}
	}
}

// ruleAddrUsedLocked reports whether a forwarding rule of any project has
// addr, on port (or on any port if port is 0).
func (s *Sim) ruleAddrUsedLocked(addr netip.Addr, port int) bool {
	for _, p := range s.projects {
		if p.compute == nil {
			continue
		}
		for _, m := range p.compute.res {
			fr, ok := m.(*computepb.ForwardingRule)
			if !ok || fr.GetIPAddress() != addr.String() {
				continue
			}
			if got, _ := rulePort(fr); port == 0 || got == port {
				return true
			}
		}
	}
	return false
}
