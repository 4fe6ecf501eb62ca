package gcp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/googleapi"
	"google.golang.org/protobuf/proto"
)

const (
	roleLBAdmin  = "roles/compute.loadBalancerAdmin"
	computeAPI   = "compute.googleapis.com"
	computeBase  = "https://www.googleapis.com/compute/v1/"
	roleNEGAdmin = "roles/compute.networkAdmin"
)

// NEGURL is the full URL of a regional network endpoint group.
func (c *Cloud) NEGURL(region, name string) string {
	return fmt.Sprintf("%sprojects/%s/regions/%s/networkEndpointGroups/%s", computeBase, c.Project, region, name)
}

// GlobalURL is the full URL of a global resource, kind being e.g.
// "backendServices".
func (c *Cloud) GlobalURL(kind, name string) string {
	return fmt.Sprintf("%sprojects/%s/global/%s/%s", computeBase, c.Project, kind, name)
}

// SameResource reports whether two references (full URLs or partial paths)
// name the same resource.
func SameResource(a, b string) bool {
	trim := func(s string) string {
		if i := strings.Index(s, "projects/"); i >= 0 {
			return s[i:]
		}
		return s
	}
	return a != "" && trim(a) == trim(b)
}

// waitCompute waits for a Compute Engine operation, which must come back from
// the call that started it together with err.
func (c *Cloud) waitCompute(ctx context.Context, op *compute.Operation, err error, what, role string, progress Progress) error {
	if err != nil {
		return c.explain(err, what, computeAPI, role)
	}
	err = c.wait(ctx, what, progress, op.Done, func(ctx context.Context) error { return op.Poll(ctx) })
	var reasons []*computepb.Errors
	if err != nil && op != nil {
		reasons = op.Proto().GetError().GetErrors()
	}
	return c.explain(withOperationReasons(err, reasons), what, computeAPI, role)
}

// withOperationReasons adds a failed operation's own error codes to err. The
// Compute library's Poll reports a failed operation as a googleapi.Error
// with the HTTP code and message only, so a quota error inside an operation
// (QUOTA_EXCEEDED, answered 403) would read as a missing role. The codes
// are in op.Proto().GetError().GetErrors() (items); classify reads them as
// reasons.
func withOperationReasons(err error, items []*computepb.Errors) error {
	var gerr *googleapi.Error
	if err == nil || len(items) == 0 || !errors.As(err, &gerr) {
		return err
	}
	out := *gerr
	out.Errors = append([]googleapi.ErrorItem(nil), gerr.Errors...)
	for _, it := range items {
		out.Errors = append(out.Errors, googleapi.ErrorItem{Reason: it.GetCode(), Message: it.GetMessage()})
	}
	if out.Message == "" && len(items) > 0 {
		out.Message = items[0].GetMessage()
	}
	return &out
}

// GetNEG reads a regional network endpoint group.
func (c *Cloud) GetNEG(ctx context.Context, region, name string) (*computepb.NetworkEndpointGroup, error) {
	if c.snap != nil {
		return c.snapNEG(ctx, region, name)
	}
	neg, err := c.negs.Get(ctx, &computepb.GetRegionNetworkEndpointGroupRequest{Project: c.Project, Region: region, NetworkEndpointGroup: name})
	return neg, c.explain(err, fmt.Sprintf("read network endpoint group %s in %s", name, region), computeAPI, "roles/compute.viewer")
}

// CreateServerlessNEG creates a serverless NEG for a Cloud Run service.
func (c *Cloud) CreateServerlessNEG(ctx context.Context, region, name, service string, progress Progress) error {
	op, err := c.negs.Insert(ctx, &computepb.InsertRegionNetworkEndpointGroupRequest{
		Project: c.Project,
		Region:  region,
		NetworkEndpointGroupResource: &computepb.NetworkEndpointGroup{
			Name:                proto.String(name),
			NetworkEndpointType: proto.String(computepb.NetworkEndpointGroup_SERVERLESS.String()),
			CloudRun:            &computepb.NetworkEndpointGroupCloudRun{Service: proto.String(service)},
		},
	})
	return c.waitCompute(ctx, op, err, fmt.Sprintf("create network endpoint group %s in %s", name, region), roleNEGAdmin, progress)
}

// DeleteNEG deletes a NEG; it reports whether there was one.
func (c *Cloud) DeleteNEG(ctx context.Context, region, name string, progress Progress) (bool, error) {
	op, err := c.negs.Delete(ctx, &computepb.DeleteRegionNetworkEndpointGroupRequest{Project: c.Project, Region: region, NetworkEndpointGroup: name})
	if IsNotFound(err) {
		return false, nil
	}
	return true, c.waitCompute(ctx, op, err, fmt.Sprintf("delete network endpoint group %s in %s", name, region), roleNEGAdmin, progress)
}

// GetBackendService reads a global backend service.
func (c *Cloud) GetBackendService(ctx context.Context, name string) (*computepb.BackendService, error) {
	if c.snap != nil {
		return c.snapBackendService(ctx, name)
	}
	bs, err := c.backends.Get(ctx, &computepb.GetBackendServiceRequest{Project: c.Project, BackendService: name})
	return bs, c.explain(err, "read backend service "+name, computeAPI, "roles/compute.viewer")
}

// CreateBackendService inserts a global backend service.
func (c *Cloud) CreateBackendService(ctx context.Context, bs *computepb.BackendService, progress Progress) error {
	op, err := c.backends.Insert(ctx, &computepb.InsertBackendServiceRequest{Project: c.Project, BackendServiceResource: bs})
	return c.waitCompute(ctx, op, err, "create backend service "+bs.GetName(), roleLBAdmin, progress)
}

// UpdateBackendService replaces a backend service with bs, which must carry
// the fingerprint it was read with, as gcloud does.
func (c *Cloud) UpdateBackendService(ctx context.Context, bs *computepb.BackendService, progress Progress) error {
	op, err := c.backends.Update(ctx, &computepb.UpdateBackendServiceRequest{Project: c.Project, BackendService: bs.GetName(), BackendServiceResource: bs})
	return c.waitCompute(ctx, op, err, "update backend service "+bs.GetName(), roleLBAdmin, progress)
}

// DeleteBackendService deletes a backend service; it reports whether there was one.
func (c *Cloud) DeleteBackendService(ctx context.Context, name string, progress Progress) (bool, error) {
	op, err := c.backends.Delete(ctx, &computepb.DeleteBackendServiceRequest{Project: c.Project, BackendService: name})
	if IsNotFound(err) {
		return false, nil
	}
	return true, c.waitCompute(ctx, op, err, "delete backend service "+name, roleLBAdmin, progress)
}

// GetURLMap reads a global URL map.
func (c *Cloud) GetURLMap(ctx context.Context, name string) (*computepb.UrlMap, error) {
	if c.snap != nil {
		return c.snapURLMap(ctx, name)
	}
	m, err := c.urlMaps.Get(ctx, &computepb.GetUrlMapRequest{Project: c.Project, UrlMap: name})
	return m, c.explain(err, "read URL map "+name, computeAPI, "roles/compute.viewer")
}

// CreateURLMap inserts a global URL map.
func (c *Cloud) CreateURLMap(ctx context.Context, m *computepb.UrlMap, progress Progress) error {
	op, err := c.urlMaps.Insert(ctx, &computepb.InsertUrlMapRequest{Project: c.Project, UrlMapResource: m})
	return c.waitCompute(ctx, op, err, "create URL map "+m.GetName(), roleLBAdmin, progress)
}

// UpdateURLMap replaces a URL map with m, which carries its fingerprint.
func (c *Cloud) UpdateURLMap(ctx context.Context, m *computepb.UrlMap, progress Progress) error {
	op, err := c.urlMaps.Update(ctx, &computepb.UpdateUrlMapRequest{Project: c.Project, UrlMap: m.GetName(), UrlMapResource: m})
	return c.waitCompute(ctx, op, err, "update URL map "+m.GetName(), roleLBAdmin, progress)
}

// DeleteURLMap deletes a URL map; it reports whether there was one.
func (c *Cloud) DeleteURLMap(ctx context.Context, name string, progress Progress) (bool, error) {
	op, err := c.urlMaps.Delete(ctx, &computepb.DeleteUrlMapRequest{Project: c.Project, UrlMap: name})
	if IsNotFound(err) {
		return false, nil
	}
	return true, c.waitCompute(ctx, op, err, "delete URL map "+name, roleLBAdmin, progress)
}

// GetTargetHTTPProxy reads a global target HTTP proxy.
func (c *Cloud) GetTargetHTTPProxy(ctx context.Context, name string) (*computepb.TargetHttpProxy, error) {
	if c.snap != nil {
		return c.snapTargetHTTPProxy(ctx, name)
	}
	p, err := c.proxies.Get(ctx, &computepb.GetTargetHttpProxyRequest{Project: c.Project, TargetHttpProxy: name})
	return p, c.explain(err, "read target HTTP proxy "+name, computeAPI, "roles/compute.viewer")
}

// CreateTargetHTTPProxy inserts a target HTTP proxy for a URL map.
func (c *Cloud) CreateTargetHTTPProxy(ctx context.Context, name, urlMap string, progress Progress) error {
	op, err := c.proxies.Insert(ctx, &computepb.InsertTargetHttpProxyRequest{Project: c.Project, TargetHttpProxyResource: &computepb.TargetHttpProxy{
		Name:   proto.String(name),
		UrlMap: proto.String(c.GlobalURL("urlMaps", urlMap)),
	}})
	return c.waitCompute(ctx, op, err, "create target HTTP proxy "+name, roleLBAdmin, progress)
}

// SetURLMap points a proxy at another URL map.
func (c *Cloud) SetURLMap(ctx context.Context, proxy, urlMap string, progress Progress) error {
	op, err := c.proxies.SetUrlMap(ctx, &computepb.SetUrlMapTargetHttpProxyRequest{Project: c.Project, TargetHttpProxy: proxy,
		UrlMapReferenceResource: &computepb.UrlMapReference{UrlMap: proto.String(c.GlobalURL("urlMaps", urlMap))}})
	return c.waitCompute(ctx, op, err, "set the URL map of target HTTP proxy "+proxy, roleLBAdmin, progress)
}

// DeleteTargetHTTPProxy deletes a proxy; it reports whether there was one.
func (c *Cloud) DeleteTargetHTTPProxy(ctx context.Context, name string, progress Progress) (bool, error) {
	op, err := c.proxies.Delete(ctx, &computepb.DeleteTargetHttpProxyRequest{Project: c.Project, TargetHttpProxy: name})
	if IsNotFound(err) {
		return false, nil
	}
	return true, c.waitCompute(ctx, op, err, "delete target HTTP proxy "+name, roleLBAdmin, progress)
}

// GetForwardingRule reads a global forwarding rule.
func (c *Cloud) GetForwardingRule(ctx context.Context, name string) (*computepb.ForwardingRule, error) {
	if c.snap != nil {
		return c.snapForwardingRule(ctx, name)
	}
	r, err := c.rules.Get(ctx, &computepb.GetGlobalForwardingRuleRequest{Project: c.Project, ForwardingRule: name})
	return r, c.explain(err, "read forwarding rule "+name, computeAPI, "roles/compute.viewer")
}

// CreateForwardingRule inserts a global forwarding rule for a target HTTP
// proxy on one port; Google assigns the IP address.
func (c *Cloud) CreateForwardingRule(ctx context.Context, name, proxy, scheme, port string, progress Progress) error {
	op, err := c.rules.Insert(ctx, &computepb.InsertGlobalForwardingRuleRequest{Project: c.Project, ForwardingRuleResource: &computepb.ForwardingRule{
		Name:                proto.String(name),
		Target:              proto.String(c.GlobalURL("targetHttpProxies", proxy)),
		PortRange:           proto.String(port),
		IPProtocol:          proto.String("TCP"),
		LoadBalancingScheme: proto.String(scheme),
		NetworkTier:         proto.String("PREMIUM"),
	}})
	return c.waitCompute(ctx, op, err, "create forwarding rule "+name, roleLBAdmin, progress)
}

// DeleteForwardingRule deletes a rule; it reports whether there was one.
func (c *Cloud) DeleteForwardingRule(ctx context.Context, name string, progress Progress) (bool, error) {
	op, err := c.rules.Delete(ctx, &computepb.DeleteGlobalForwardingRuleRequest{Project: c.Project, ForwardingRule: name})
	if IsNotFound(err) {
		return false, nil
	}
	return true, c.waitCompute(ctx, op, err, "delete forwarding rule "+name, roleLBAdmin, progress)
}
