package sim

import (
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
)

// Frontend is one global forwarding rule with everything it routes to,
// resolved: rule → target HTTP proxy → URL map → default backend service →
// serverless NEGs. It is what the data plane needs to stand up a listener
// and route like the load balancer. Plain values: it shares nothing with
// the simulator's state.
type Frontend struct {
	Project string
	Rule    string    // forwarding rule name
	RuleID  uint64    // changes when a rule is deleted and made again
	IP      string    // IPAddress, a loopback address such as 127.20.0.1
	Port    int       // the one port of portRange
	Scheme  string    // the rule's loadBalancingScheme: EXTERNAL or EXTERNAL_MANAGED
	Created time.Time // when the rule was inserted; add Profile.Propagation before it serves
	Proxy   string    // target HTTP or HTTPS proxy name
	// CertMap is the target HTTPS proxy's certificate map (Compute's
	// //certificatemanager.googleapis.com/... reference); "" for HTTP.
	CertMap string
	URLMap  string // URL map name
	// Redirect is the URL map's defaultUrlRedirect, nil if none: every
	// request is answered with it.
	Redirect *FrontendRedirect
	// Retry is the URL map's defaultRouteAction.retryPolicy, nil if none.
	Retry *FrontendRetry
	// Service is the URL map's default service; nil if the map has none
	// (a map with only a redirect or weighted services).
	Service *FrontendService
}

// FrontendRedirect is a URL map's defaultUrlRedirect.
type FrontendRedirect struct {
	HTTPS      bool   // httpsRedirect
	Host, Path string // hostRedirect, pathRedirect; "" keeps the request's
	StripQuery bool
	Code       int // from redirectResponseCode: 301 by default
}

// TLS reports whether the rule serves HTTPS.
func (f *Frontend) TLS() bool { return f.CertMap != "" }

// FrontendRetry is a URL map retry policy.
type FrontendRetry struct {
	NumRetries    int           // numRetries, 1 if unset as Google defaults it
	PerTryTimeout time.Duration // perTryTimeout, 0 if unset (Google then uses the service timeout)
	Conditions    []string      // retryConditions: 5xx, gateway-error, connect-failure, ...
}

// FrontendService is a backend service.
type FrontendService struct {
	Name     string
	Scheme   string // loadBalancingScheme
	Protocol string
	Timeout  time.Duration // timeoutSec
	// Outlier is outlierDetection with Google's defaults filled in, nil
	// if the service has none.
	Outlier  *FrontendOutlier
	Backends []FrontendBackend // in the service's order
	// Armor is the Cloud Armor security policy attached to the service
	// (securityPolicy), nil if none.
	Armor *FrontendArmor
}

// FrontendOutlier is outlier detection settings.
type FrontendOutlier struct {
	ConsecutiveErrors                  int // 5xx in a row before ejection...
	EnforcingConsecutiveErrors         int // ...enforced this percent of the time (0: off)
	ConsecutiveGatewayFailure          int // 502, 503, 504 in a row before ejection...
	EnforcingConsecutiveGatewayFailure int // ...enforced this percent of the time
	Interval                           time.Duration
	BaseEjectionTime                   time.Duration // times the number of ejections
	MaxEjectionPercent                 int
}

// FrontendBackend is one backend of a service: a serverless NEG.
type FrontendBackend struct {
	NEG            string // NEG name
	Region         string // NEG region, e.g. us-central1
	Type           string // networkEndpointType: SERVERLESS
	CloudRun       string // cloudRun.service, "" for other serverless kinds
	Tag            string // cloudRun.tag
	CapacityScaler float64
}

// frontendsLocked lists every global forwarding rule of every project with
// its resolved chain, by project then rule name. Call with s.mu held; the
// data plane calls it on every Changes.
func (s *Sim) frontendsLocked() []Frontend {
	var out []Frontend
	for _, id := range sortedKeys(s.projects) {
		cs := s.projects[id].compute
		if cs == nil {
			continue
		}
		for _, key := range sortedKeys(cs.res) {
			fr, ok := cs.res[key].(*computepb.ForwardingRule)
			if !ok {
				continue
			}
			port, _ := rulePort(fr)
			created, _ := time.Parse(time.RFC3339Nano, fr.GetCreationTimestamp())
			f := Frontend{
				Project: id,
				Rule:    fr.GetName(),
				RuleID:  fr.GetId(),
				IP:      fr.GetIPAddress(),
				Port:    port,
				Scheme:  fr.GetLoadBalancingScheme(),
				Created: created,
			}
			var mapRef string
			switch proxy := cs.res[computeKeyOf(fr.GetTarget())].(type) {
			case *computepb.TargetHttpProxy:
				f.Proxy, mapRef = proxy.GetName(), proxy.GetUrlMap()
			case *computepb.TargetHttpsProxy:
				f.Proxy, mapRef, f.CertMap = proxy.GetName(), proxy.GetUrlMap(), proxy.GetCertificateMap()
			}
			if mapRef != "" {
				if um, ok := cs.res[computeKeyOf(mapRef)].(*computepb.UrlMap); ok {
					f.URLMap = um.GetName()
					f.Redirect = frontendRedirect(um.GetDefaultUrlRedirect())
					f.Retry = frontendRetry(um.GetDefaultRouteAction().GetRetryPolicy())
					if bs, ok := cs.res[computeKeyOf(um.GetDefaultService())].(*computepb.BackendService); ok && um.DefaultService != nil {
						f.Service = frontendService(cs, bs)
						if o := f.Service.Outlier; o != nil && s.opts.Profile.EjectionScale > 0 {
							o.BaseEjectionTime = time.Duration(float64(o.BaseEjectionTime) * s.opts.Profile.EjectionScale)
						}
					}
				}
			}
			out = append(out, f)
		}
	}
	return out
}

func frontendRedirect(r *computepb.HttpRedirectAction) *FrontendRedirect {
	if r == nil {
		return nil
	}
	codes := map[string]int{"FOUND": 302, "SEE_OTHER": 303, "TEMPORARY_REDIRECT": 307, "PERMANENT_REDIRECT": 308}
	code := codes[r.GetRedirectResponseCode()]
	if code == 0 {
		code = 301 // MOVED_PERMANENTLY_DEFAULT
	}
	return &FrontendRedirect{HTTPS: r.GetHttpsRedirect(), Host: r.GetHostRedirect(), Path: r.GetPathRedirect(), StripQuery: r.GetStripQuery(), Code: code}
}

func frontendRetry(rp *computepb.HttpRetryPolicy) *FrontendRetry {
	if rp == nil {
		return nil
	}
	r := &FrontendRetry{NumRetries: 1, PerTryTimeout: frontendDuration(rp.GetPerTryTimeout()), Conditions: append([]string(nil), rp.GetRetryConditions()...)}
	if rp.NumRetries != nil {
		r.NumRetries = int(rp.GetNumRetries())
	}
	return r
}

func frontendService(cs *computeState, bs *computepb.BackendService) *FrontendService {
	svc := &FrontendService{
		Name:     bs.GetName(),
		Scheme:   bs.GetLoadBalancingScheme(),
		Protocol: bs.GetProtocol(),
		Timeout:  time.Duration(bs.GetTimeoutSec()) * time.Second,
	}
	if od := bs.GetOutlierDetection(); od != nil {
		// Stored with Google's defaults already filled in (prepareBackendService).
		svc.Outlier = &FrontendOutlier{
			ConsecutiveErrors:                  int(od.GetConsecutiveErrors()),
			EnforcingConsecutiveErrors:         int(od.GetEnforcingConsecutiveErrors()),
			ConsecutiveGatewayFailure:          int(od.GetConsecutiveGatewayFailure()),
			EnforcingConsecutiveGatewayFailure: int(od.GetEnforcingConsecutiveGatewayFailure()),
			Interval:                           frontendDuration(od.GetInterval()),
			BaseEjectionTime:                   frontendDuration(od.GetBaseEjectionTime()),
			MaxEjectionPercent:                 int(od.GetMaxEjectionPercent()),
		}
	}
	if sp, ok := cs.res[computeKeyOf(bs.GetSecurityPolicy())].(*computepb.SecurityPolicy); ok && bs.GetSecurityPolicy() != "" {
		svc.Armor = frontendArmor(sp)
	}
	for _, b := range bs.GetBackends() {
		neg, ok := cs.res[computeKeyOf(b.GetGroup())].(*computepb.NetworkEndpointGroup)
		if !ok {
			continue
		}
		svc.Backends = append(svc.Backends, FrontendBackend{
			NEG:            neg.GetName(),
			Region:         computeName(neg.GetRegion()),
			Type:           neg.GetNetworkEndpointType(),
			CloudRun:       neg.GetCloudRun().GetService(),
			Tag:            neg.GetCloudRun().GetTag(),
			CapacityScaler: float64(b.GetCapacityScaler()),
		})
	}
	return svc
}

func frontendDuration(d *computepb.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return time.Duration(d.GetSeconds())*time.Second + time.Duration(d.GetNanos())
}
