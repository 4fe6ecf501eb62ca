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

	"github.com/beyond-lab/beyond/lab"
)

const (
	roleLBAdmin  = "roles/compute.loadBalancerAdmin"
	computeAPI   = lab.APICompute
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

// computeChange sends a Compute Engine change (start) and waits for its
// operation, retrying both as one (Cloud.call): method is its name as
// Google's discovery document gives it, what says what it does.
func (c *Cloud) computeChange(ctx context.Context, method string, kind callKind, what, role string, progress Progress, start func(context.Context) (*compute.Operation, error)) error {
	err := c.call(ctx, method, kind, progress, func(ctx context.Context) error {
		op, err := start(ctx)
		if err != nil {
			return err
		}
		opMethod := "compute.globalOperations.get"
		if op.Proto().GetRegion() != "" {
			opMethod = "compute.regionOperations.get"
		}
		err = c.waitOp(ctx, what, opMethod, progress, op.Done, func(ctx context.Context) error { return op.Poll(ctx, noRetry) })
		if err != nil {
			err = withOperationReasons(err, op.Proto().GetError().GetErrors())
		}
		return err
	})
	return c.explain(err, what, computeAPI, role)
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

// computeRead makes one Compute Engine read, retried (Cloud.call).
func computeRead[T any](ctx context.Context, c *Cloud, method, what string, get func(context.Context) (T, error)) (T, error) {
	return readOnce(ctx, c, method, what, computeAPI, "roles/compute.viewer", get)
}

// GetNEG reads a regional network endpoint group.
func (c *Cloud) GetNEG(ctx context.Context, region, name string) (*computepb.NetworkEndpointGroup, error) {
	if c.snap != nil {
		return c.snapNEG(ctx, region, name)
	}
	return computeRead(ctx, c, "compute.regionNetworkEndpointGroups.get", fmt.Sprintf("read network endpoint group %s in %s", name, region), func(ctx context.Context) (*computepb.NetworkEndpointGroup, error) {
		return c.negs.Get(ctx, &computepb.GetRegionNetworkEndpointGroupRequest{Project: c.Project, Region: region, NetworkEndpointGroup: name}, noRetry)
	})
}

// CreateServerlessNEG creates a serverless NEG for a Cloud Run service.
func (c *Cloud) CreateServerlessNEG(ctx context.Context, region, name, service string, progress Progress) error {
	return c.computeChange(ctx, "compute.regionNetworkEndpointGroups.insert", create, fmt.Sprintf("create network endpoint group %s in %s", name, region), roleNEGAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.negs.Insert(ctx, &computepb.InsertRegionNetworkEndpointGroupRequest{
			Project: c.Project,
			Region:  region,
			NetworkEndpointGroupResource: &computepb.NetworkEndpointGroup{
				Name:                proto.String(name),
				NetworkEndpointType: proto.String(computepb.NetworkEndpointGroup_SERVERLESS.String()),
				CloudRun:            &computepb.NetworkEndpointGroupCloudRun{Service: proto.String(service)},
			},
		}, noRetry)
	})
}

// DeleteNEG deletes a NEG; it reports whether there was one.
func (c *Cloud) DeleteNEG(ctx context.Context, region, name string, progress Progress) (bool, error) {
	err := c.computeChange(ctx, "compute.regionNetworkEndpointGroups.delete", remove, fmt.Sprintf("delete network endpoint group %s in %s", name, region), roleNEGAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.negs.Delete(ctx, &computepb.DeleteRegionNetworkEndpointGroupRequest{Project: c.Project, Region: region, NetworkEndpointGroup: name}, noRetry)
	})
	if IsNotFound(err) {
		return false, nil
	}
	return true, err
}

// GetBackendService reads a global backend service.
func (c *Cloud) GetBackendService(ctx context.Context, name string) (*computepb.BackendService, error) {
	if c.snap != nil {
		return c.snapBackendService(ctx, name)
	}
	return computeRead(ctx, c, "compute.backendServices.get", "read backend service "+name, func(ctx context.Context) (*computepb.BackendService, error) {
		return c.backends.Get(ctx, &computepb.GetBackendServiceRequest{Project: c.Project, BackendService: name}, noRetry)
	})
}

// CreateBackendService inserts a global backend service.
func (c *Cloud) CreateBackendService(ctx context.Context, bs *computepb.BackendService, progress Progress) error {
	return c.computeChange(ctx, "compute.backendServices.insert", create, "create backend service "+bs.GetName(), roleLBAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.backends.Insert(ctx, &computepb.InsertBackendServiceRequest{Project: c.Project, BackendServiceResource: bs}, noRetry)
	})
}

// UpdateBackendService replaces a backend service with bs, which must carry
// the fingerprint it was read with, as gcloud does.
func (c *Cloud) UpdateBackendService(ctx context.Context, bs *computepb.BackendService, progress Progress) error {
	return c.computeChange(ctx, "compute.backendServices.update", update, "update backend service "+bs.GetName(), roleLBAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.backends.Update(ctx, &computepb.UpdateBackendServiceRequest{Project: c.Project, BackendService: bs.GetName(), BackendServiceResource: bs}, noRetry)
	})
}

// DeleteBackendService deletes a backend service; it reports whether there was one.
func (c *Cloud) DeleteBackendService(ctx context.Context, name string, progress Progress) (bool, error) {
	err := c.computeChange(ctx, "compute.backendServices.delete", remove, "delete backend service "+name, roleLBAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.backends.Delete(ctx, &computepb.DeleteBackendServiceRequest{Project: c.Project, BackendService: name}, noRetry)
	})
	if IsNotFound(err) {
		return false, nil
	}
	return true, err
}

// GetURLMap reads a global URL map.
func (c *Cloud) GetURLMap(ctx context.Context, name string) (*computepb.UrlMap, error) {
	if c.snap != nil {
		return c.snapURLMap(ctx, name)
	}
	return computeRead(ctx, c, "compute.urlMaps.get", "read URL map "+name, func(ctx context.Context) (*computepb.UrlMap, error) {
		return c.urlMaps.Get(ctx, &computepb.GetUrlMapRequest{Project: c.Project, UrlMap: name}, noRetry)
	})
}

// CreateURLMap inserts a global URL map.
func (c *Cloud) CreateURLMap(ctx context.Context, m *computepb.UrlMap, progress Progress) error {
	return c.computeChange(ctx, "compute.urlMaps.insert", create, "create URL map "+m.GetName(), roleLBAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.urlMaps.Insert(ctx, &computepb.InsertUrlMapRequest{Project: c.Project, UrlMapResource: m}, noRetry)
	})
}

// UpdateURLMap replaces a URL map with m, which carries its fingerprint.
func (c *Cloud) UpdateURLMap(ctx context.Context, m *computepb.UrlMap, progress Progress) error {
	return c.computeChange(ctx, "compute.urlMaps.update", update, "update URL map "+m.GetName(), roleLBAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.urlMaps.Update(ctx, &computepb.UpdateUrlMapRequest{Project: c.Project, UrlMap: m.GetName(), UrlMapResource: m}, noRetry)
	})
}

// DeleteURLMap deletes a URL map; it reports whether there was one.
func (c *Cloud) DeleteURLMap(ctx context.Context, name string, progress Progress) (bool, error) {
	err := c.computeChange(ctx, "compute.urlMaps.delete", remove, "delete URL map "+name, roleLBAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.urlMaps.Delete(ctx, &computepb.DeleteUrlMapRequest{Project: c.Project, UrlMap: name}, noRetry)
	})
	if IsNotFound(err) {
		return false, nil
	}
	return true, err
}

// GetTargetHTTPProxy reads a global target HTTP proxy.
func (c *Cloud) GetTargetHTTPProxy(ctx context.Context, name string) (*computepb.TargetHttpProxy, error) {
	if c.snap != nil {
		return c.snapTargetHTTPProxy(ctx, name)
	}
	return computeRead(ctx, c, "compute.targetHttpProxies.get", "read target HTTP proxy "+name, func(ctx context.Context) (*computepb.TargetHttpProxy, error) {
		return c.proxies.Get(ctx, &computepb.GetTargetHttpProxyRequest{Project: c.Project, TargetHttpProxy: name}, noRetry)
	})
}

// CreateTargetHTTPProxy inserts a target HTTP proxy for a URL map.
func (c *Cloud) CreateTargetHTTPProxy(ctx context.Context, name, urlMap string, progress Progress) error {
	return c.computeChange(ctx, "compute.targetHttpProxies.insert", create, "create target HTTP proxy "+name, roleLBAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.proxies.Insert(ctx, &computepb.InsertTargetHttpProxyRequest{Project: c.Project, TargetHttpProxyResource: &computepb.TargetHttpProxy{
			Name:   proto.String(name),
			UrlMap: proto.String(c.GlobalURL("urlMaps", urlMap)),
		}}, noRetry)
	})
}

// SetURLMap points a proxy at another URL map.
func (c *Cloud) SetURLMap(ctx context.Context, proxy, urlMap string, progress Progress) error {
	return c.computeChange(ctx, "compute.targetHttpProxies.setUrlMap", write, "set the URL map of target HTTP proxy "+proxy, roleLBAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.proxies.SetUrlMap(ctx, &computepb.SetUrlMapTargetHttpProxyRequest{Project: c.Project, TargetHttpProxy: proxy,
			UrlMapReferenceResource: &computepb.UrlMapReference{UrlMap: proto.String(c.GlobalURL("urlMaps", urlMap))}}, noRetry)
	})
}

// DeleteTargetHTTPProxy deletes a proxy; it reports whether there was one.
func (c *Cloud) DeleteTargetHTTPProxy(ctx context.Context, name string, progress Progress) (bool, error) {
	err := c.computeChange(ctx, "compute.targetHttpProxies.delete", remove, "delete target HTTP proxy "+name, roleLBAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.proxies.Delete(ctx, &computepb.DeleteTargetHttpProxyRequest{Project: c.Project, TargetHttpProxy: name}, noRetry)
	})
	if IsNotFound(err) {
		return false, nil
	}
	return true, err
}

// GetForwardingRule reads a global forwarding rule.
func (c *Cloud) GetForwardingRule(ctx context.Context, name string) (*computepb.ForwardingRule, error) {
	if c.snap != nil {
		return c.snapForwardingRule(ctx, name)
	}
	return computeRead(ctx, c, "compute.globalForwardingRules.get", "read forwarding rule "+name, func(ctx context.Context) (*computepb.ForwardingRule, error) {
		return c.rules.Get(ctx, &computepb.GetGlobalForwardingRuleRequest{Project: c.Project, ForwardingRule: name}, noRetry)
	})
}

// CreateForwardingRule inserts a global forwarding rule for a target HTTP
// proxy on one port; Google assigns the IP address.
func (c *Cloud) CreateForwardingRule(ctx context.Context, name, proxy, scheme, port string, progress Progress) error {
	return c.computeChange(ctx, "compute.globalForwardingRules.insert", create, "create forwarding rule "+name, roleLBAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.rules.Insert(ctx, &computepb.InsertGlobalForwardingRuleRequest{Project: c.Project, ForwardingRuleResource: &computepb.ForwardingRule{
			Name:                proto.String(name),
			Target:              proto.String(c.GlobalURL("targetHttpProxies", proxy)),
			PortRange:           proto.String(port),
			IPProtocol:          proto.String("TCP"),
			LoadBalancingScheme: proto.String(scheme),
			NetworkTier:         proto.String("PREMIUM"),
		}}, noRetry)
	})
}

// DeleteForwardingRule deletes a rule; it reports whether there was one.
func (c *Cloud) DeleteForwardingRule(ctx context.Context, name string, progress Progress) (bool, error) {
	err := c.computeChange(ctx, "compute.globalForwardingRules.delete", remove, "delete forwarding rule "+name, roleLBAdmin, progress, func(ctx context.Context) (*compute.Operation, error) {
		return c.rules.Delete(ctx, &computepb.DeleteGlobalForwardingRuleRequest{Project: c.Project, ForwardingRule: name}, noRetry)
	})
	if IsNotFound(err) {
		return false, nil
	}
	return true, err
}
