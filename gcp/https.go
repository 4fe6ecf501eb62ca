package gcp

import (
	"context"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// Production practice on the load balancer: a static global address and a
// target HTTPS proxy with a Certificate Manager map.

// GetAddress reads a global address.
func (c *Cloud) GetAddress(ctx context.Context, name string) (*computepb.Address, error) {
	return computeRead(ctx, c, "compute.globalAddresses.get", "read global address "+name, func(ctx context.Context) (*computepb.Address, error) {
		return c.addresses.Get(ctx, &computepb.GetGlobalAddressRequest{Project: c.Project, Address: name}, noRetry)
	})
}

// ReserveAddress reserves a global external address; with ip set it
// promotes that ephemeral address (a forwarding rule's) to a static one.
func (c *Cloud) ReserveAddress(ctx context.Context, name, ip string, progress Progress) error {
	a := &computepb.Address{Name: proto.String(name), AddressType: proto.String("EXTERNAL"), IpVersion: proto.String("IPV4"), NetworkTier: proto.String("PREMIUM")}
	if ip != "" {
		a.Address = proto.String(ip)
	}
	return c.computeChange(ctx, "compute.globalAddresses.insert", create, "reserve global address "+name, roleLBAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.addresses.Insert(ctx, &computepb.InsertGlobalAddressRequest{Project: c.Project, AddressResource: a}, noRetry)
	})
}

// DeleteAddress releases a global address; it reports whether there was one.
func (c *Cloud) DeleteAddress(ctx context.Context, name string, progress Progress) (bool, error) {
	err := c.computeChange(ctx, "compute.globalAddresses.delete", remove, "release global address "+name, roleLBAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.addresses.Delete(ctx, &computepb.DeleteGlobalAddressRequest{Project: c.Project, Address: name}, noRetry)
	})
	if IsNotFound(err) {
		return false, nil
	}
	return true, err
}

// CertificateMapRef is how Compute names a Certificate Manager map.
func (c *Cloud) CertificateMapRef(m string) string {
	return "//certificatemanager.googleapis.com/projects/" + c.Project + "/locations/global/certificateMaps/" + m
}

// GetTargetHTTPSProxy reads a global target HTTPS proxy.
func (c *Cloud) GetTargetHTTPSProxy(ctx context.Context, name string) (*computepb.TargetHttpsProxy, error) {
	return computeRead(ctx, c, "compute.targetHttpsProxies.get", "read target HTTPS proxy "+name, func(ctx context.Context) (*computepb.TargetHttpsProxy, error) {
		return c.https.Get(ctx, &computepb.GetTargetHttpsProxyRequest{Project: c.Project, TargetHttpsProxy: name}, noRetry)
	})
}

// CreateTargetHTTPSProxy inserts a target HTTPS proxy for a URL map whose
// certificates come from a certificate map.
func (c *Cloud) CreateTargetHTTPSProxy(ctx context.Context, name, urlMap, certMap string, progress Progress) error {
	return c.computeChange(ctx, "compute.targetHttpsProxies.insert", create, "create target HTTPS proxy "+name, roleLBAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.https.Insert(ctx, &computepb.InsertTargetHttpsProxyRequest{Project: c.Project, TargetHttpsProxyResource: &computepb.TargetHttpsProxy{
			Name:           proto.String(name),
			UrlMap:         proto.String(c.GlobalURL("urlMaps", urlMap)),
			CertificateMap: proto.String(c.CertificateMapRef(certMap)),
		}}, noRetry)
	})
}

// DeleteTargetHTTPSProxy deletes a proxy; it reports whether there was one.
func (c *Cloud) DeleteTargetHTTPSProxy(ctx context.Context, name string, progress Progress) (bool, error) {
	err := c.computeChange(ctx, "compute.targetHttpsProxies.delete", remove, "delete target HTTPS proxy "+name, roleLBAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.https.Delete(ctx, &computepb.DeleteTargetHttpsProxyRequest{Project: c.Project, TargetHttpsProxy: name}, noRetry)
	})
	if IsNotFound(err) {
		return false, nil
	}
	return true, err
}

// CreateHTTPSForwardingRule inserts a global forwarding rule on port 443 at
// a reserved address, for a target HTTPS proxy.
func (c *Cloud) CreateHTTPSForwardingRule(ctx context.Context, name, proxy, address, scheme string, progress Progress) error {
	return c.computeChange(ctx, "compute.globalForwardingRules.insert", create, "create forwarding rule "+name, roleLBAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.rules.Insert(ctx, &computepb.InsertGlobalForwardingRuleRequest{Project: c.Project, ForwardingRuleResource: &computepb.ForwardingRule{
			Name:                proto.String(name),
			Target:              proto.String(c.GlobalURL("targetHttpsProxies", proxy)),
			IPAddress:           proto.String(c.GlobalURL("addresses", address)),
			PortRange:           proto.String("443"),
			IPProtocol:          proto.String("TCP"),
			LoadBalancingScheme: proto.String(scheme),
			NetworkTier:         proto.String("PREMIUM"),
		}}, noRetry)
	})
}
