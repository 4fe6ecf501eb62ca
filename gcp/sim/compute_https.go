package sim

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// Production practice on the load balancer: a reserved global address that
// rules on 80 and 443 share, and a target HTTPS proxy whose certificates come
// from a Certificate Manager map (certmanager.go).

// addressKind is the global addresses (globalAddresses in discovery).
var addressKind = &computeKind{
	scope:      "global",
	collection: "addresses",
	discovery:  "globalAddresses",
	kind:       "compute#address",
	label:      "address",
	param:      "address",
	newMsg:     func() proto.Message { return &computepb.Address{} },
	prepare:    prepareAddress,
	users:      addressUsers,
	view:       viewAddress,
}

// targetHTTPSProxyKind is the global target HTTPS proxies.
var targetHTTPSProxyKind = &computeKind{
	scope:      "global",
	collection: "targetHttpsProxies",
	discovery:  "targetHttpsProxies",
	kind:       "compute#targetHttpsProxy",
	label:      "target_https_proxy",
	param:      "targetHttpsProxy",
	mutable:    true,
	patchOnly:  true,
	newMsg:     func() proto.Message { return &computepb.TargetHttpsProxy{} },
	prepare:    prepareTargetHTTPSProxy,
	refs: func(r proto.Message) []string {
		return []string{computeKeyOf(r.(*computepb.TargetHttpsProxy).GetUrlMap())}
	},
}

// prepareAddress reserves a global external address. Given an address that
// a forwarding rule of the project already has, it promotes that ephemeral
// address to a static one, as Google documents; given none, it takes a new
// one.
func prepareAddress(a *computeAPI, c *computeReq, r, old proto.Message) *computeError {
	ad := r.(*computepb.Address)
	computeClear(ad, "status", "users")
	if ad.AddressType == nil {
		ad.AddressType = proto.String("EXTERNAL")
	}
	if ad.GetAddressType() != "EXTERNAL" {
		return computeInvalid("resource.addressType", ad.GetAddressType(), "The simulator reserves global EXTERNAL addresses only.")
	}
	if ad.IpVersion == nil {
		ad.IpVersion = proto.String("IPV4")
	}
	if ad.GetIpVersion() != "IPV4" {
		return computeInvalid("resource.ipVersion", ad.GetIpVersion(), "The simulator reserves IPV4 addresses only.")
	}
	if ad.NetworkTier == nil {
		ad.NetworkTier = proto.String("PREMIUM")
	}
	if ad.GetNetworkTier() != "PREMIUM" {
		return computeInvalid("resource.networkTier", ad.GetNetworkTier(), "Global addresses take the PREMIUM network tier only.")
	}
	if ip := ad.GetAddress(); ip != "" {
		addr, err := netip.ParseAddr(ip)
		if err != nil || !addr.Is4() {
			return computeInvalid("resource.address", ip, "Must be an IPv4 address.")
		}
		for key, m := range c.p.compute.res {
			if other, ok := m.(*computepb.Address); ok && other.GetAddress() == addr.String() {
				return &computeError{http.StatusBadRequest, fmt.Sprintf("Invalid value for field 'resource.address': '%s'. The address is already reserved as 'projects/%s/%s'.", ip, c.p.id, key), "invalid"}
			}
		}
		// Promotion: only an address a rule of this project holds can be
		// made static; any other is not the project's to take.
		if !c.p.compute.ruleHasIP(addr.String()) {
			return computeInvalid("resource.address", ip, "The address is not an ephemeral address of a forwarding rule in this project: to promote one, give the IP a rule has; to reserve a new one, give no address.")
		}
		ad.Address = proto.String(addr.String())
	} else {
		addr, err := a.s.allocRuleAddrLocked(c.p, 0)
		if err != nil {
			return err
		}
		ad.Address = proto.String(addr.String())
	}
	ad.LabelFingerprint = proto.String(emptyLabelFingerprint)
	return nil
}

// addressUsers are the forwarding rules holding the address, as full URLs.
func addressUsers(p *project, m proto.Message) []string {
	ip := m.(*computepb.Address).GetAddress()
	var out []string
	for _, key := range sortedKeys(p.compute.res) {
		if fr, ok := p.compute.res[key].(*computepb.ForwardingRule); ok && fr.GetIPAddress() == ip {
			out = append(out, computeURL(p, key))
		}
	}
	return out
}

// viewAddress fills what Google computes on read: RESERVED, or IN_USE by
// the rules holding it.
func viewAddress(p *project, _ string, m proto.Message) proto.Message {
	ad := proto.Clone(m).(*computepb.Address)
	ad.Users = addressUsers(p, m)
	ad.Status = proto.String("RESERVED")
	if len(ad.Users) > 0 {
		ad.Status = proto.String("IN_USE")
	}
	return ad
}

// ruleHasIP reports whether a forwarding rule of the project holds ip.
func (cs *computeState) ruleHasIP(ip string) bool {
	for _, m := range cs.res {
		if fr, ok := m.(*computepb.ForwardingRule); ok && fr.GetIPAddress() == ip {
			return true
		}
	}
	return false
}

// reservedAddress resolves a rule's IPAddress given as a reference to a
// global address (a URL, "global/addresses/NAME" or "projects/P/..."), to
// its IP; a literal IP comes back as it is.
func (a *computeAPI) reservedAddress(c *computeReq, ref string) (string, *computeError) {
	if _, err := netip.ParseAddr(ref); err == nil {
		return ref, nil
	}
	if !strings.Contains(ref, "addresses/") {
		return "", computeInvalid("resource.IPAddress", ref, "Must be an IPv4 address or the URL of a reserved global address.")
	}
	key, _, err := a.computeRef(c.p, "resource.IPAddress", ref, "addresses")
	if err != nil {
		return "", err
	}
	return c.p.compute.res[key].(*computepb.Address).GetAddress(), nil
}

// certMapPrefix is how Compute names a Certificate Manager map.
const certMapPrefix = "//certificatemanager.googleapis.com/"

func prepareTargetHTTPSProxy(a *computeAPI, c *computeReq, r, old proto.Message) *computeError {
	p := r.(*computepb.TargetHttpsProxy)
	_, full, err := a.computeRef(c.p, "resource.urlMap", p.GetUrlMap(), "urlMaps")
	if err != nil {
		return err
	}
	p.UrlMap = proto.String(full)
	if len(p.GetSslCertificates()) > 0 {
		return computeInvalid("resource.sslCertificates", strings.Join(p.GetSslCertificates(), ","), "The simulator has Certificate Manager certificates only: give a certificateMap.")
	}
	cm := p.GetCertificateMap()
	if cm == "" {
		return computeInvalid("resource.certificateMap", "", "A target HTTPS proxy needs SSL certificates or a certificate map.")
	}
	// gcloud sends the map's URL on the API it reached (https://, or the
	// http:// of an endpoint override, with the version); Google keeps the
	// //certificatemanager.googleapis.com/ form.
	name := cm
	for _, prefix := range []string{"https:", "http:", "//certificatemanager.googleapis.com/", "v1/"} {
		name = strings.TrimPrefix(name, prefix)
	}
	if !strings.HasPrefix(name, "projects/") || strings.Count(name, "/") != 5 {
		return computeInvalid("resource.certificateMap", cm, "Must be //certificatemanager.googleapis.com/projects/PROJECT/locations/global/certificateMaps/NAME.")
	}
	// The map's project may be named by number or ID, as gcloud sends it.
	parts := strings.Split(name, "/")
	if parts[1] != c.p.id && parts[1] != fmt.Sprint(c.p.number) {
		return computeInvalid("resource.certificateMap", cm, "Cross-project references for this resource are not allowed.")
	}
	parts[1] = c.p.id
	name = strings.Join(parts, "/")
	if c.p.certs == nil || c.p.certs.maps[name] == nil {
		return &computeError{http.StatusNotFound, fmt.Sprintf("The resource '%s' was not found", cm), "notFound"}
	}
	p.CertificateMap = proto.String(certMapPrefix + name)
	if p.QuicOverride == nil {
		p.QuicOverride = proto.String("NONE")
	}
	return nil
}

// httpsProxiesUsing returns the keys of the target HTTPS proxies using the
// certificate map with Compute reference ref.
func (cs *computeState) httpsProxiesUsing(ref string) []string {
	var out []string
	for _, k := range sortedKeys(cs.res) {
		if p, ok := cs.res[k].(*computepb.TargetHttpsProxy); ok && p.GetCertificateMap() == ref {
			out = append(out, k)
		}
	}
	return out
}

// AwaitFrontend waits until the data plane listens for the forwarding rule
// of project at ip and port (it follows the rule's insert by a moment) and
// returns where, as FrontendAddr does.
func (s *Sim) AwaitFrontend(ctx context.Context, project, ip string, port int) (string, error) {
	dp := s.dataPlaneOf()
	if dp == nil {
		return "", fmt.Errorf("the simulator is not started")
	}
	for {
		changed := dp.changes()
		if addr, ok := s.FrontendAddr(project, ip, port); ok {
			return addr, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return "", fmt.Errorf("no listener for %s:%d of project %s: %w", ip, port, project, ctx.Err())
		}
	}
}
