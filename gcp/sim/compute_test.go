package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/proto"
)

// startCompute starts a simulator with Compute Engine enabled in testProject.
func startCompute(t *testing.T, opts Options) (*Sim, *computeClients) {
	t.Helper()
	s := startSim(t, opts)
	s.mu.Lock()
	p, err := s.projectLocked(testProject)
	if err != nil {
		s.mu.Unlock()
		t.Fatal(err)
	}
	p.enabled[APICompute] = true
	s.mu.Unlock()
	return s, newComputeClients(t, s)
}

// wait waits for an operation the way the lab does, failing the test if
// the call or the operation fails.
func wait(t *testing.T, op *compute.Operation, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := op.Wait(ctx); err != nil {
		t.Fatalf("operation %s: %v", op.Name(), err)
	}
}

// wantErr checks that err is a Google API error with that status and reason.
func wantErr(t *testing.T, err error, code int, reason string) *googleapi.Error {
	t.Helper()
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) {
		t.Fatalf("got error %v (%T), want a *googleapi.Error %d %s", err, err, code, reason)
	}
	if gerr.Code != code {
		t.Fatalf("got status %d (%s), want %d", gerr.Code, gerr.Message, code)
	}
	if reason != "" && (len(gerr.Errors) == 0 || gerr.Errors[0].Reason != reason) {
		t.Fatalf("got errors %+v, want reason %s", gerr.Errors, reason)
	}
	return gerr
}

const (
	negAURL  = computeBase + "projects/" + testProject + "/regions/us-central1/networkEndpointGroups/neg-a"
	negBURL  = computeBase + "projects/" + testProject + "/regions/europe-west1/networkEndpointGroups/neg-b"
	bsURL    = computeBase + "projects/" + testProject + "/global/backendServices/web-backend"
	mapURL   = computeBase + "projects/" + testProject + "/global/urlMaps/web-map"
	proxyURL = computeBase + "projects/" + testProject + "/global/targetHttpProxies/web-proxy"
)

func insertNEG(ctx context.Context, c *computeClients, region, name, service string) (*compute.Operation, error) {
	return c.negs.Insert(ctx, &computepb.InsertRegionNetworkEndpointGroupRequest{
		Project: testProject,
		Region:  region,
		NetworkEndpointGroupResource: &computepb.NetworkEndpointGroup{
			Name:                proto.String(name),
			NetworkEndpointType: proto.String("SERVERLESS"),
			CloudRun:            &computepb.NetworkEndpointGroupCloudRun{Service: proto.String(service)},
		},
	})
}

func insertBackendService(ctx context.Context, c *computeClients, bs *computepb.BackendService) (*compute.Operation, error) {
	return c.bs.Insert(ctx, &computepb.InsertBackendServiceRequest{Project: testProject, BackendServiceResource: bs})
}

func insertURLMap(ctx context.Context, c *computeClients, name, service string) (*compute.Operation, error) {
	return c.maps.Insert(ctx, &computepb.InsertUrlMapRequest{Project: testProject, UrlMapResource: &computepb.UrlMap{
		Name:           proto.String(name),
		DefaultService: proto.String(service),
	}})
}

func insertProxy(ctx context.Context, c *computeClients, name, urlMap string) (*compute.Operation, error) {
	return c.proxies.Insert(ctx, &computepb.InsertTargetHttpProxyRequest{Project: testProject, TargetHttpProxyResource: &computepb.TargetHttpProxy{
		Name:   proto.String(name),
		UrlMap: proto.String(urlMap),
	}})
}

func insertRule(ctx context.Context, c *computeClients, name, scheme, target string) (*compute.Operation, error) {
	fr := &computepb.ForwardingRule{Name: proto.String(name), Target: proto.String(target), PortRange: proto.String("80")}
	if scheme != "" {
		fr.LoadBalancingScheme = proto.String(scheme)
	}
	return c.rules.Insert(ctx, &computepb.InsertGlobalForwardingRuleRequest{Project: testProject, ForwardingRuleResource: fr})
}

// addBackend adds a NEG to a backend service as gcloud's add-backend does:
// get the service, append, update with the fingerprint just read.
func addBackend(ctx context.Context, t *testing.T, c *computeClients, service, group string) {
	t.Helper()
	bs, err := c.bs.Get(ctx, &computepb.GetBackendServiceRequest{Project: testProject, BackendService: service})
	if err != nil {
		t.Fatalf("get %s: %v", service, err)
	}
	bs.Backends = append(bs.Backends, &computepb.Backend{Group: proto.String(group)})
	op, err := c.bs.Update(ctx, &computepb.UpdateBackendServiceRequest{Project: testProject, BackendService: service, BackendServiceResource: bs})
	wait(t, op, err)
}

// TestComputeLabChain builds the lab's load balancer, reads it back, changes
// it and takes it down in dependency order, through the official clients.
func TestComputeLabChain(t *testing.T) {
	s, c := startCompute(t, Options{})
	ctx := context.Background()

	op, err := insertNEG(ctx, c, "us-central1", "neg-a", "gemini-service")
	wait(t, op, err)
	if got := op.Proto(); got.GetKind() != "compute#operation" || got.GetOperationType() != "insert" ||
		got.GetTargetLink() != negAURL || !strings.HasSuffix(got.GetRegion(), "/regions/us-central1") ||
		!strings.HasPrefix(got.GetName(), "operation-") || got.GetEndTime() == "" || got.GetTargetId() == 0 {
		t.Errorf("NEG insert operation = %v", got)
	}
	op, err = insertNEG(ctx, c, "europe-west1", "neg-b", "gemini-service")
	wait(t, op, err)

	neg, err := c.negs.Get(ctx, &computepb.GetRegionNetworkEndpointGroupRequest{Project: testProject, Region: "us-central1", NetworkEndpointGroup: "neg-a"})
	if err != nil {
		t.Fatal(err)
	}
	if neg.GetSelfLink() != negAURL || neg.GetKind() != "compute#networkEndpointGroup" || neg.GetId() == 0 ||
		neg.GetCreationTimestamp() == "" || neg.GetRegion() != computeBase+"projects/"+testProject+"/regions/us-central1" ||
		neg.GetNetworkEndpointType() != "SERVERLESS" || neg.GetCloudRun().GetService() != "gemini-service" {
		t.Errorf("NEG = %v", neg)
	}

	// The backend service, as the lab corrects the workshop: EXTERNAL_MANAGED
	// with outlier detection, consecutive 5xx enforced.
	op, err = insertBackendService(ctx, c, &computepb.BackendService{
		Name:                proto.String("web-backend"),
		LoadBalancingScheme: proto.String("EXTERNAL_MANAGED"),
		OutlierDetection:    &computepb.OutlierDetection{EnforcingConsecutiveErrors: proto.Int32(100)},
	})
	wait(t, op, err)
	addBackend(ctx, t, c, "web-backend", "projects/"+testProject+"/regions/us-central1/networkEndpointGroups/neg-a")
	addBackend(ctx, t, c, "web-backend", "regions/europe-west1/networkEndpointGroups/neg-b")

	bs, err := c.bs.Get(ctx, &computepb.GetBackendServiceRequest{Project: testProject, BackendService: "web-backend"})
	if err != nil {
		t.Fatal(err)
	}
	if bs.GetLoadBalancingScheme() != "EXTERNAL_MANAGED" || bs.GetProtocol() != "HTTP" || bs.GetPortName() != "http" ||
		bs.GetTimeoutSec() != 30 || bs.GetConnectionDraining() == nil || bs.GetFingerprint() == "" || bs.GetSelfLink() != bsURL {
		t.Errorf("backend service defaults: %v", bs)
	}
	od := bs.GetOutlierDetection()
	if od.GetConsecutiveErrors() != 5 || od.GetEnforcingConsecutiveErrors() != 100 || od.GetConsecutiveGatewayFailure() != 3 ||
		od.GetEnforcingConsecutiveGatewayFailure() != 100 || od.GetInterval().GetSeconds() != 1 ||
		od.GetBaseEjectionTime().GetSeconds() != 30 || od.GetMaxEjectionPercent() != 50 {
		t.Errorf("outlier detection = %v, want Google's defaults with enforcingConsecutiveErrors 100", od)
	}
	if len(bs.Backends) != 2 || bs.Backends[0].GetGroup() != negAURL || bs.Backends[1].GetGroup() != negBURL {
		t.Fatalf("backends = %v, want neg-a then neg-b as full URLs", bs.Backends)
	}

	// An update with the fingerprint of an older read is refused.
	stale := proto.Clone(bs).(*computepb.BackendService)
	stale.Description = proto.String("first writer")
	op, err = c.bs.Update(ctx, &computepb.UpdateBackendServiceRequest{Project: testProject, BackendService: "web-backend", BackendServiceResource: stale})
	wait(t, op, err)
	stale.Description = proto.String("second writer")
	_, err = c.bs.Update(ctx, &computepb.UpdateBackendServiceRequest{Project: testProject, BackendService: "web-backend", BackendServiceResource: stale})
	wantErr(t, err, 412, "conditionNotMet")

	op, err = c.maps.Insert(ctx, &computepb.InsertUrlMapRequest{Project: testProject, UrlMapResource: &computepb.UrlMap{
		Name:           proto.String("web-map"),
		DefaultService: proto.String("global/backendServices/web-backend"),
		DefaultRouteAction: &computepb.HttpRouteAction{RetryPolicy: &computepb.HttpRetryPolicy{
			NumRetries:      proto.Uint32(3),
			PerTryTimeout:   &computepb.Duration{Seconds: proto.Int64(5)},
			RetryConditions: []string{"5xx", "gateway-error", "connect-failure"},
		}},
	}})
	wait(t, op, err)
	um, err := c.maps.Get(ctx, &computepb.GetUrlMapRequest{Project: testProject, UrlMap: "web-map"})
	if err != nil {
		t.Fatal(err)
	}
	rp := um.GetDefaultRouteAction().GetRetryPolicy()
	if um.GetDefaultService() != bsURL || rp.GetNumRetries() != 3 || rp.GetPerTryTimeout().GetSeconds() != 5 ||
		strings.Join(rp.GetRetryConditions(), ",") != "5xx,gateway-error,connect-failure" || um.GetFingerprint() == "" {
		t.Errorf("URL map = %v", um)
	}

	op, err = insertProxy(ctx, c, "web-proxy", "global/urlMaps/web-map")
	wait(t, op, err)
	op, err = insertRule(ctx, c, "web-rule", "EXTERNAL_MANAGED", proxyURL)
	wait(t, op, err)
	fr, err := c.rules.Get(ctx, &computepb.GetGlobalForwardingRuleRequest{Project: testProject, ForwardingRule: "web-rule"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(fr.GetIPAddress(), "127.20.") || fr.GetPortRange() != "80-80" || fr.GetIPProtocol() != "TCP" ||
		fr.GetNetworkTier() != "PREMIUM" || fr.GetTarget() != proxyURL || fr.GetLoadBalancingScheme() != "EXTERNAL_MANAGED" {
		t.Errorf("forwarding rule = %v", fr)
	}

	// What the data plane sees.
	s.mu.Lock()
	fronts := s.frontendsLocked()
	s.mu.Unlock()
	if len(fronts) != 1 {
		t.Fatalf("frontends = %+v, want one", fronts)
	}
	f := fronts[0]
	if f.Project != testProject || f.Rule != "web-rule" || f.IP != fr.GetIPAddress() || f.Port != 80 || f.Scheme != "EXTERNAL_MANAGED" ||
		f.Proxy != "web-proxy" || f.URLMap != "web-map" || f.Created.IsZero() || f.RuleID != fr.GetId() {
		t.Errorf("frontend = %+v", f)
	}
	if f.Retry == nil || f.Retry.NumRetries != 3 || f.Retry.PerTryTimeout != 5*time.Second || len(f.Retry.Conditions) != 3 {
		t.Errorf("frontend retry = %+v", f.Retry)
	}
	if f.Service == nil || f.Service.Name != "web-backend" || f.Service.Outlier == nil || f.Service.Outlier.EnforcingConsecutiveErrors != 100 ||
		f.Service.Outlier.BaseEjectionTime != 30*time.Second || len(f.Service.Backends) != 2 ||
		f.Service.Backends[0] != (FrontendBackend{NEG: "neg-a", Region: "us-central1", Type: "SERVERLESS", CloudRun: "gemini-service", CapacityScaler: 1}) ||
		f.Service.Backends[1].Region != "europe-west1" {
		t.Errorf("frontend service = %+v", f.Service)
	}

	// Lists.
	if n := countNEGs(t, c, "us-central1"); n != 1 {
		t.Errorf("NEGs in us-central1 = %d, want 1", n)
	}
	for name, n := range map[string]int{
		"backend services": countIter(t, c.bs.List(ctx, &computepb.ListBackendServicesRequest{Project: testProject})),
		"URL maps":         countIter(t, c.maps.List(ctx, &computepb.ListUrlMapsRequest{Project: testProject})),
		"proxies":          countIter(t, c.proxies.List(ctx, &computepb.ListTargetHttpProxiesRequest{Project: testProject})),
		"rules":            countIter(t, c.rules.List(ctx, &computepb.ListGlobalForwardingRulesRequest{Project: testProject})),
	} {
		if n != 1 {
			t.Errorf("%s listed = %d, want 1", name, n)
		}
	}
	if n := countIter(t, c.gops.List(ctx, &computepb.ListGlobalOperationsRequest{Project: testProject})); n != 7 {
		t.Errorf("global operations listed = %d, want 7", n)
	}
	if n := countIter(t, c.rops.List(ctx, &computepb.ListRegionOperationsRequest{Project: testProject, Region: "europe-west1"})); n != 1 {
		t.Errorf("operations in europe-west1 = %d, want 1", n)
	}

	// Patch merges: fields not in the patch stay, nested objects merge.
	before := bs.GetFingerprint()
	op, err = c.bs.Patch(ctx, &computepb.PatchBackendServiceRequest{Project: testProject, BackendService: "web-backend", BackendServiceResource: &computepb.BackendService{
		Description:      proto.String("patched"),
		OutlierDetection: &computepb.OutlierDetection{MaxEjectionPercent: proto.Int32(100)},
	}})
	wait(t, op, err)
	if op.Proto().GetOperationType() != "patch" {
		t.Errorf("patch operation type = %q", op.Proto().GetOperationType())
	}
	bs, err = c.bs.Get(ctx, &computepb.GetBackendServiceRequest{Project: testProject, BackendService: "web-backend"})
	if err != nil {
		t.Fatal(err)
	}
	if bs.GetDescription() != "patched" || bs.GetTimeoutSec() != 30 || len(bs.Backends) != 2 || bs.GetOutlierDetection().GetMaxEjectionPercent() != 100 ||
		bs.GetOutlierDetection().GetEnforcingConsecutiveErrors() != 100 || bs.GetFingerprint() == before {
		t.Errorf("patched backend service = %v", bs)
	}
	// Serverless backends have a fixed timeout: Google refuses another.
	_, err = c.bs.Patch(ctx, &computepb.PatchBackendServiceRequest{Project: testProject, BackendService: "web-backend", BackendServiceResource: &computepb.BackendService{TimeoutSec: proto.Int32(60)}})
	if e := wantErr(t, err, 400, "invalid"); e != nil && !strings.Contains(e.Message, "Timeout sec is not supported") {
		t.Errorf("timeoutSec 60 on serverless backends: %v", e)
	}
	op, err = c.maps.Patch(ctx, &computepb.PatchUrlMapRequest{Project: testProject, UrlMap: "web-map", UrlMapResource: &computepb.UrlMap{
		DefaultRouteAction: &computepb.HttpRouteAction{RetryPolicy: &computepb.HttpRetryPolicy{NumRetries: proto.Uint32(2)}},
	}})
	wait(t, op, err)
	um, err = c.maps.Get(ctx, &computepb.GetUrlMapRequest{Project: testProject, UrlMap: "web-map"})
	if err != nil {
		t.Fatal(err)
	}
	if rp := um.GetDefaultRouteAction().GetRetryPolicy(); rp.GetNumRetries() != 2 || len(rp.GetRetryConditions()) != 3 || um.GetDefaultService() != bsURL {
		t.Errorf("patched URL map = %v", um)
	}

	// setUrlMap moves the proxy to another map; the first is then free to go.
	op, err = insertURLMap(ctx, c, "web-map-2", bsURL)
	wait(t, op, err)
	op, err = c.proxies.SetUrlMap(ctx, &computepb.SetUrlMapTargetHttpProxyRequest{
		Project: testProject, TargetHttpProxy: "web-proxy",
		UrlMapReferenceResource: &computepb.UrlMapReference{UrlMap: proto.String("global/urlMaps/web-map-2")},
	})
	wait(t, op, err)
	if op.Proto().GetOperationType() != "setUrlMap" || op.Proto().GetTargetLink() != proxyURL {
		t.Errorf("setUrlMap operation = %v", op.Proto())
	}
	px, err := c.proxies.Get(ctx, &computepb.GetTargetHttpProxyRequest{Project: testProject, TargetHttpProxy: "web-proxy"})
	if err != nil {
		t.Fatal(err)
	}
	if px.GetUrlMap() != computeBase+"projects/"+testProject+"/global/urlMaps/web-map-2" {
		t.Errorf("proxy URL map = %s, want web-map-2", px.GetUrlMap())
	}
	op, err = c.maps.Delete(ctx, &computepb.DeleteUrlMapRequest{Project: testProject, UrlMap: "web-map"})
	wait(t, op, err)

	// Down in dependency order.
	op, err = c.rules.Delete(ctx, &computepb.DeleteGlobalForwardingRuleRequest{Project: testProject, ForwardingRule: "web-rule"})
	wait(t, op, err)
	if op.Proto().GetOperationType() != "delete" || op.Proto().GetTargetId() != fr.GetId() {
		t.Errorf("delete operation = %v", op.Proto())
	}
	op, err = c.proxies.Delete(ctx, &computepb.DeleteTargetHttpProxyRequest{Project: testProject, TargetHttpProxy: "web-proxy"})
	wait(t, op, err)
	op, err = c.maps.Delete(ctx, &computepb.DeleteUrlMapRequest{Project: testProject, UrlMap: "web-map-2"})
	wait(t, op, err)
	op, err = c.bs.Delete(ctx, &computepb.DeleteBackendServiceRequest{Project: testProject, BackendService: "web-backend"})
	wait(t, op, err)
	for region, name := range map[string]string{"us-central1": "neg-a", "europe-west1": "neg-b"} {
		op, err = c.negs.Delete(ctx, &computepb.DeleteRegionNetworkEndpointGroupRequest{Project: testProject, Region: region, NetworkEndpointGroup: name})
		wait(t, op, err)
	}
	_, err = c.bs.Get(ctx, &computepb.GetBackendServiceRequest{Project: testProject, BackendService: "web-backend"})
	wantErr(t, err, 404, "notFound")
	if n := countNEGs(t, c, "us-central1"); n != 0 {
		t.Errorf("NEGs left = %d", n)
	}
	s.mu.Lock()
	fronts = s.frontendsLocked()
	s.mu.Unlock()
	if len(fronts) != 0 {
		t.Errorf("frontends after teardown = %+v", fronts)
	}
}

func countNEGs(t *testing.T, c *computeClients, region string) int {
	t.Helper()
	return countIter(t, c.negs.List(context.Background(), &computepb.ListRegionNetworkEndpointGroupsRequest{Project: testProject, Region: region}))
}

// countIter counts what a list iterator yields.
func countIter[T any](t *testing.T, it interface{ Next() (T, error) }) int {
	t.Helper()
	n := 0
	for {
		_, err := it.Next()
		if err == iterator.Done {
			return n
		}
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		n++
	}
}

// buildChain makes NEG A and B, an EXTERNAL_MANAGED backend service with
// both, a URL map, a proxy and (if rule) a forwarding rule.
func buildChain(t *testing.T, c *computeClients, rule bool) {
	t.Helper()
	ctx := context.Background()
	op, err := insertNEG(ctx, c, "us-central1", "neg-a", "gemini-service")
	wait(t, op, err)
	op, err = insertNEG(ctx, c, "europe-west1", "neg-b", "gemini-service")
	wait(t, op, err)
	op, err = insertBackendService(ctx, c, &computepb.BackendService{
		Name:                proto.String("web-backend"),
		LoadBalancingScheme: proto.String("EXTERNAL_MANAGED"),
		Backends:            []*computepb.Backend{{Group: proto.String(negAURL)}, {Group: proto.String(negBURL)}},
	})
	wait(t, op, err)
	op, err = insertURLMap(ctx, c, "web-map", bsURL)
	wait(t, op, err)
	op, err = insertProxy(ctx, c, "web-proxy", mapURL)
	wait(t, op, err)
	if rule {
		op, err = insertRule(ctx, c, "web-rule", "EXTERNAL_MANAGED", proxyURL)
		wait(t, op, err)
	}
}

// TestComputeErrors checks every refusal the lab can meet, with the status
// and reason the clients surface.
func TestComputeErrors(t *testing.T) {
	_, c := startCompute(t, Options{})
	ctx := context.Background()
	buildChain(t, c, false)

	t.Run("duplicate", func(t *testing.T) {
		_, err := insertNEG(ctx, c, "us-central1", "neg-a", "other")
		gerr := wantErr(t, err, 409, "alreadyExists")
		if want := "The resource 'projects/" + testProject + "/regions/us-central1/networkEndpointGroups/neg-a' already exists"; gerr.Message != want {
			t.Errorf("message = %q, want %q", gerr.Message, want)
		}
		_, err = insertBackendService(ctx, c, &computepb.BackendService{Name: proto.String("web-backend")})
		wantErr(t, err, 409, "alreadyExists")
	})
	t.Run("missing", func(t *testing.T) {
		_, err := c.maps.Get(ctx, &computepb.GetUrlMapRequest{Project: testProject, UrlMap: "nope"})
		gerr := wantErr(t, err, 404, "notFound")
		if want := "The resource 'projects/" + testProject + "/global/urlMaps/nope' was not found"; gerr.Message != want {
			t.Errorf("message = %q, want %q", gerr.Message, want)
		}
		_, err = c.rules.Delete(ctx, &computepb.DeleteGlobalForwardingRuleRequest{Project: testProject, ForwardingRule: "nope"})
		wantErr(t, err, 404, "notFound")
		_, err = c.gops.Get(ctx, &computepb.GetGlobalOperationRequest{Project: testProject, Operation: "operation-1-2"})
		wantErr(t, err, 404, "notFound")
	})
	t.Run("invalid name", func(t *testing.T) {
		_, err := insertBackendService(ctx, c, &computepb.BackendService{Name: proto.String("Web_Backend")})
		gerr := wantErr(t, err, 400, "invalid")
		if want := "Invalid value for field 'resource.name': 'Web_Backend'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'"; gerr.Message != want {
			t.Errorf("message = %q, want %q", gerr.Message, want)
		}
		_, err = insertBackendService(ctx, c, &computepb.BackendService{})
		wantErr(t, err, 400, "required")
		_, err = c.bs.Get(ctx, &computepb.GetBackendServiceRequest{Project: testProject, BackendService: "Bad_Name"})
		wantErr(t, err, 400, "invalid")
	})
	t.Run("bad NEGs", func(t *testing.T) {
		_, err := insertNEG(ctx, c, "us-moon1", "neg-x", "gemini-service")
		wantErr(t, err, 400, "invalid")
		_, err = c.negs.Insert(ctx, &computepb.InsertRegionNetworkEndpointGroupRequest{Project: testProject, Region: "us-central1",
			NetworkEndpointGroupResource: &computepb.NetworkEndpointGroup{Name: proto.String("neg-x"), NetworkEndpointType: proto.String("SERVERLESS")}})
		wantErr(t, err, 400, "invalid")
		_, err = c.negs.Insert(ctx, &computepb.InsertRegionNetworkEndpointGroupRequest{Project: testProject, Region: "us-central1",
			NetworkEndpointGroupResource: &computepb.NetworkEndpointGroup{Name: proto.String("neg-x"), CloudRun: &computepb.NetworkEndpointGroupCloudRun{Service: proto.String("s")}}})
		wantErr(t, err, 400, "invalid")
	})
	t.Run("outlier detection on EXTERNAL", func(t *testing.T) {
		_, err := insertBackendService(ctx, c, &computepb.BackendService{
			Name:             proto.String("classic"),
			OutlierDetection: &computepb.OutlierDetection{ConsecutiveErrors: proto.Int32(3)},
		})
		gerr := wantErr(t, err, 400, "invalid")
		if !strings.Contains(gerr.Message, "'resource.outlierDetection'") || !strings.HasSuffix(gerr.Message, "Outlier detection is not supported.") {
			t.Errorf("message = %q", gerr.Message)
		}
	})
	t.Run("bad backends", func(t *testing.T) {
		_, err := insertBackendService(ctx, c, &computepb.BackendService{Name: proto.String("bs-x"), LoadBalancingScheme: proto.String("EXTERNAL_MANAGED"),
			Backends: []*computepb.Backend{{Group: proto.String("regions/us-central1/networkEndpointGroups/nope")}}})
		wantErr(t, err, 404, "notFound")
		_, err = insertBackendService(ctx, c, &computepb.BackendService{Name: proto.String("bs-x"), LoadBalancingScheme: proto.String("EXTERNAL_MANAGED"),
			Backends: []*computepb.Backend{{Group: proto.String(negAURL)}, {Group: proto.String("regions/us-central1/networkEndpointGroups/neg-a")}}})
		wantErr(t, err, 400, "invalid")
		_, err = insertBackendService(ctx, c, &computepb.BackendService{Name: proto.String("bs-x"), LoadBalancingScheme: proto.String("EXTERNAL_MANAGED"),
			Backends:     []*computepb.Backend{{Group: proto.String(negAURL)}},
			HealthChecks: []string{"global/healthChecks/hc"}})
		gerr := wantErr(t, err, 400, "invalid")
		if !strings.Contains(gerr.Message, "cannot have a healthcheck with Serverless network endpoint group backends") {
			t.Errorf("message = %q", gerr.Message)
		}
		_, err = insertBackendService(ctx, c, &computepb.BackendService{Name: proto.String("bs-x"),
			Backends: []*computepb.Backend{{Group: proto.String("projects/someone-else/regions/us-central1/networkEndpointGroups/neg-a")}}})
		wantErr(t, err, 400, "invalid")
		_, err = insertBackendService(ctx, c, &computepb.BackendService{Name: proto.String("bs-x"),
			Backends: []*computepb.Backend{{Group: proto.String("neg-a")}}})
		wantErr(t, err, 400, "invalid")
	})
	t.Run("missing references", func(t *testing.T) {
		_, err := insertURLMap(ctx, c, "map-x", "global/backendServices/nope")
		wantErr(t, err, 404, "notFound")
		_, err = insertProxy(ctx, c, "proxy-x", "global/urlMaps/nope")
		wantErr(t, err, 404, "notFound")
		_, err = insertRule(ctx, c, "rule-x", "EXTERNAL_MANAGED", "global/targetHttpProxies/nope")
		wantErr(t, err, 404, "notFound")
		_, err = c.proxies.SetUrlMap(ctx, &computepb.SetUrlMapTargetHttpProxyRequest{Project: testProject, TargetHttpProxy: "web-proxy",
			UrlMapReferenceResource: &computepb.UrlMapReference{UrlMap: proto.String("global/urlMaps/nope")}})
		wantErr(t, err, 404, "notFound")
	})
	t.Run("scheme mismatch", func(t *testing.T) {
		// The workshop's forwarding rule takes the default scheme, EXTERNAL.
		_, err := insertRule(ctx, c, "rule-x", "", proxyURL)
		gerr := wantErr(t, err, 400, "invalid")
		if !strings.Contains(gerr.Message, "Load balancing scheme EXTERNAL does not match the backend service load balancing scheme EXTERNAL_MANAGED") {
			t.Errorf("message = %q", gerr.Message)
		}
		// Nor can a service change scheme under a map.
		bs, err := c.bs.Get(ctx, &computepb.GetBackendServiceRequest{Project: testProject, BackendService: "web-backend"})
		if err != nil {
			t.Fatal(err)
		}
		bs.LoadBalancingScheme = proto.String("EXTERNAL")
		_, err = c.bs.Update(ctx, &computepb.UpdateBackendServiceRequest{Project: testProject, BackendService: "web-backend", BackendServiceResource: bs})
		wantErr(t, err, 400, "invalid")
	})
	t.Run("in use", func(t *testing.T) {
		_, err := c.bs.Delete(ctx, &computepb.DeleteBackendServiceRequest{Project: testProject, BackendService: "web-backend"})
		gerr := wantErr(t, err, 400, "resourceInUseByAnotherResource")
		want := "The backend_service resource 'projects/" + testProject + "/global/backendServices/web-backend' is already being used by 'projects/" + testProject + "/global/urlMaps/web-map'"
		if gerr.Message != want {
			t.Errorf("message = %q, want %q", gerr.Message, want)
		}
		_, err = c.negs.Delete(ctx, &computepb.DeleteRegionNetworkEndpointGroupRequest{Project: testProject, Region: "europe-west1", NetworkEndpointGroup: "neg-b"})
		wantErr(t, err, 400, "resourceInUseByAnotherResource")
		_, err = c.maps.Delete(ctx, &computepb.DeleteUrlMapRequest{Project: testProject, UrlMap: "web-map"})
		wantErr(t, err, 400, "resourceInUseByAnotherResource")
	})
	t.Run("project", func(t *testing.T) {
		_, err := c.bs.Get(ctx, &computepb.GetBackendServiceRequest{Project: "Bad_Project", BackendService: "web-backend"})
		wantErr(t, err, 400, "invalidParameter")
		_, err = c.bs.Get(ctx, &computepb.GetBackendServiceRequest{Project: "abc", BackendService: "web-backend"})
		wantErr(t, err, 404, "notFound")
	})
}

// TestComputeDisabled checks the answer before compute.googleapis.com is on.
func TestComputeDisabled(t *testing.T) {
	s := startSim(t, Options{})
	c := newComputeClients(t, s)
	_, err := insertNEG(context.Background(), c, "us-central1", "neg-a", "gemini-service")
	gerr := wantErr(t, err, 403, "accessNotConfigured")
	if !strings.HasPrefix(gerr.Message, "Compute Engine API has not been used in project ") {
		t.Errorf("message = %q", gerr.Message)
	}
	// The ErrorInfo rides in details, as Google sends it. (apierror cannot
	// parse a body that also has "errors", on Google as here, so read the
	// raw details.)
	if len(gerr.Details) != 1 {
		t.Fatalf("details = %v, want one ErrorInfo", gerr.Details)
	}
	info, _ := gerr.Details[0].(map[string]any)
	meta, _ := info["metadata"].(map[string]any)
	if info["reason"] != "SERVICE_DISABLED" || info["@type"] != "type.googleapis.com/google.rpc.ErrorInfo" || meta["service"] != APICompute ||
		!strings.Contains(meta["activationUrl"].(string), APICompute) || !strings.HasPrefix(meta["consumer"].(string), "projects/") {
		t.Errorf("details = %v", gerr.Details)
	}
}

// TestComputeFaults checks that injected faults fail the calls they name,
// as many times as asked.
func TestComputeFaults(t *testing.T) {
	faults := NewFaults(1, 0,
		Fault{Method: "compute.backendServices.insert", Status: 503, Times: 1},
		Fault{Method: "compute.regionNetworkEndpointGroups.insert", Status: 429, Times: 2},
	)
	_, c := startCompute(t, Options{Faults: faults})
	ctx := context.Background()
	bs := &computepb.BackendService{Name: proto.String("web-backend"), LoadBalancingScheme: proto.String("EXTERNAL_MANAGED")}
	_, err := insertBackendService(ctx, c, bs)
	wantErr(t, err, 503, "backendError")
	op, err := insertBackendService(ctx, c, bs)
	wait(t, op, err)

	for range 2 {
		_, err = insertNEG(ctx, c, "us-central1", "neg-a", "gemini-service")
		wantErr(t, err, 429, "rateLimitExceeded")
	}
	op, err = insertNEG(ctx, c, "us-central1", "neg-a", "gemini-service")
	wait(t, op, err)
}

// TestComputeOperationTiming checks operations that take time: RUNNING at
// first, DONE once the profile's duration has passed, waited on by polling
// or by the wait method.
func TestComputeOperationTiming(t *testing.T) {
	_, c := startCompute(t, Options{Profile: Profile{ComputeOp: 30 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	op, err := insertNEG(ctx, c, "us-central1", "neg-a", "gemini-service")
	if err != nil {
		t.Fatal(err)
	}
	if op.Done() || op.Proto().GetStatus() != computepb.Operation_RUNNING || op.Proto().GetEndTime() != "" {
		t.Fatalf("fresh operation = %v, want RUNNING", op.Proto())
	}
	// The wait method blocks until the operation is done.
	got, err := c.rops.Wait(ctx, &computepb.WaitRegionOperationRequest{Project: testProject, Region: "us-central1", Operation: op.Name()})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetStatus() != computepb.Operation_DONE || got.GetProgress() != 100 || got.GetEndTime() == "" {
		t.Errorf("waited operation = %v, want DONE", got)
	}

	// Polling sees it finish too.
	op, err = insertBackendService(ctx, c, &computepb.BackendService{Name: proto.String("web-backend")})
	if err != nil {
		t.Fatal(err)
	}
	polls := 0
	for !op.Done() {
		if err := op.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		polls++
	}
	if polls == 0 {
		t.Error("operation was done before the first poll")
	}

	// The client's own Wait, as the lab calls it.
	op, err = insertURLMap(ctx, c, "web-map", bsURL)
	wait(t, op, err)
	if _, err := c.gops.Delete(ctx, &computepb.DeleteGlobalOperationRequest{Project: testProject, Operation: op.Name()}); err != nil {
		t.Fatal(err)
	}
	_, err = c.gops.Get(ctx, &computepb.GetGlobalOperationRequest{Project: testProject, Operation: op.Name()})
	wantErr(t, err, 404, "notFound")
}

// TestComputeOperationWaitEnds checks that the wait method ends when the
// caller gives up, and when the simulator closes.
func TestComputeOperationWaitEnds(t *testing.T) {
	s, c := startCompute(t, Options{Profile: Profile{ComputeOp: time.Hour}})
	ctx := context.Background()
	op, err := insertNEG(ctx, c, "us-central1", "neg-a", "gemini-service")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = c.rops.Wait(short, &computepb.WaitRegionOperationRequest{Project: testProject, Region: "us-central1", Operation: op.Name()})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait past the caller's deadline: %v, want context.DeadlineExceeded", err)
	}

	type result struct {
		op  *computepb.Operation
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := c.rops.Wait(ctx, &computepb.WaitRegionOperationRequest{Project: testProject, Region: "us-central1", Operation: op.Name()})
		done <- result{got, err}
	}()
	// Closing the simulator must end the wait, an hour early, whether the
	// request is already blocked on the server or still on its way.
	got, err := c.rops.Get(ctx, &computepb.GetRegionOperationRequest{Project: testProject, Region: "us-central1", Operation: op.Name()})
	if err != nil || got.GetStatus() != computepb.Operation_RUNNING {
		t.Fatalf("operation = %v, %v; want RUNNING", got, err)
	}
	s.Close()
	select {
	case r := <-done:
		// Either the answer as it stood (RUNNING) or a connection error if
		// the close won the race with the request: never a hang.
		if r.err == nil && r.op.GetStatus() != computepb.Operation_RUNNING {
			t.Errorf("wait ended by close = %v", r.op)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("wait did not end when the simulator closed")
	}
}

// TestComputeListPaging checks pages and filters of lists.
func TestComputeListPaging(t *testing.T) {
	_, c := startCompute(t, Options{})
	ctx := context.Background()
	for _, name := range []string{"neg-a", "neg-b", "neg-c"} {
		op, err := insertNEG(ctx, c, "us-central1", name, "gemini-service")
		wait(t, op, err)
	}
	it := c.negs.List(ctx, &computepb.ListRegionNetworkEndpointGroupsRequest{Project: testProject, Region: "us-central1", MaxResults: proto.Uint32(2)})
	var names []string
	for {
		neg, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, neg.GetName())
	}
	if strings.Join(names, ",") != "neg-a,neg-b,neg-c" {
		t.Errorf("listed %v over pages of 2", names)
	}
	pager := c.negs.List(ctx, &computepb.ListRegionNetworkEndpointGroupsRequest{Project: testProject, Region: "us-central1", MaxResults: proto.Uint32(2)})
	if _, err := pager.Next(); err != nil {
		t.Fatal(err)
	}
	if pager.Response.(*computepb.NetworkEndpointGroupList).GetNextPageToken() == "" {
		t.Error("first page of 2 out of 3 has no next page token")
	}
	it = c.negs.List(ctx, &computepb.ListRegionNetworkEndpointGroupsRequest{Project: testProject, Region: "us-central1", Filter: proto.String(`name = "neg-b"`)})
	neg, err := it.Next()
	if err != nil || neg.GetName() != "neg-b" {
		t.Fatalf("filtered list = %v, %v", neg, err)
	}
	if _, err := it.Next(); err != iterator.Done {
		t.Errorf("filtered list has more than neg-b: %v", err)
	}
}

// TestComputeClassicRouteAction: a classic (EXTERNAL) load balancer takes
// no route action beyond urlRewrite, so a retry policy in front of a
// classic backend service is refused, and accepted in front of a managed one.
func TestComputeClassicRouteAction(t *testing.T) {
	_, c := startCompute(t, Options{})
	ctx := context.Background()
	for _, scheme := range []string{"EXTERNAL", "EXTERNAL_MANAGED"} {
		name := strings.ToLower(strings.ReplaceAll(scheme, "_", "-"))
		op, err := insertBackendService(ctx, c, &computepb.BackendService{Name: proto.String(name), LoadBalancingScheme: proto.String(scheme)})
		wait(t, op, err)
		_, err = c.maps.Insert(ctx, &computepb.InsertUrlMapRequest{Project: testProject, UrlMapResource: &computepb.UrlMap{
			Name:               proto.String("map-" + name),
			DefaultService:     proto.String("global/backendServices/" + name),
			DefaultRouteAction: &computepb.HttpRouteAction{RetryPolicy: &computepb.HttpRetryPolicy{NumRetries: proto.Uint32(1), RetryConditions: []string{"5xx"}}},
		}})
		if scheme == "EXTERNAL" {
			if e := wantErr(t, err, 400, "invalid"); !strings.Contains(e.Message, "Advanced routing rules are not supported for scheme EXTERNAL") {
				t.Errorf("retry policy on a classic map: %v", e)
			}
			continue
		}
		if err != nil {
			t.Errorf("retry policy on a managed map: %v", err)
		}
	}
}

// TestComputeRuleLabelsAndTarget checks globalForwardingRules.setLabels and
// setTarget through the official client: labels change only with the
// current labelFingerprint, which changes with them; a rule moves to
// another proxy.
func TestComputeRuleLabelsAndTarget(t *testing.T) {
	_, c := startCompute(t, Options{})
	ctx := context.Background()
	buildChain(t, c, true)
	get := func() *computepb.ForwardingRule {
		t.Helper()
		fr, err := c.rules.Get(ctx, &computepb.GetGlobalForwardingRuleRequest{Project: testProject, ForwardingRule: "web-rule"})
		if err != nil {
			t.Fatal(err)
		}
		return fr
	}
	before := get()
	if before.GetLabelFingerprint() != emptyLabelFingerprint {
		t.Errorf("labelFingerprint without labels = %q, want %q", before.GetLabelFingerprint(), emptyLabelFingerprint)
	}
	set := func(fp string) (*compute.Operation, error) {
		return c.rules.SetLabels(ctx, &computepb.SetLabelsGlobalForwardingRuleRequest{Project: testProject, Resource: "web-rule",
			GlobalSetLabelsRequestResource: &computepb.GlobalSetLabelsRequest{Labels: map[string]string{"lab": "beyond"}, LabelFingerprint: proto.String(fp)}})
	}
	op, err := set(before.GetLabelFingerprint())
	wait(t, op, err)
	after := get()
	if after.GetLabels()["lab"] != "beyond" || after.GetLabelFingerprint() == before.GetLabelFingerprint() {
		t.Errorf("after setLabels: labels %v, fingerprint %q (was %q); want the label and a new fingerprint", after.GetLabels(), after.GetLabelFingerprint(), before.GetLabelFingerprint())
	}
	_, err = set(before.GetLabelFingerprint())
	wantErr(t, err, 412, "conditionNotMet")

	op, err = insertProxy(ctx, c, "web-proxy-2", mapURL)
	wait(t, op, err)
	op, err = c.rules.SetTarget(ctx, &computepb.SetTargetGlobalForwardingRuleRequest{Project: testProject, ForwardingRule: "web-rule",
		TargetReferenceResource: &computepb.TargetReference{Target: proto.String("global/targetHttpProxies/web-proxy-2")}})
	wait(t, op, err)
	if got := get().GetTarget(); !strings.HasSuffix(got, "/global/targetHttpProxies/web-proxy-2") {
		t.Errorf("target after setTarget = %q", got)
	}
	_, err = c.rules.SetTarget(ctx, &computepb.SetTargetGlobalForwardingRuleRequest{Project: testProject, ForwardingRule: "web-rule",
		TargetReferenceResource: &computepb.TargetReference{Target: proto.String("global/targetHttpProxies/nope")}})
	wantErr(t, err, 404, "notFound")
}

// TestComputeBackendServiceUsedBy checks that a backend service answers
// the URL maps that use it, on get and list, as Google does, and that a
// read-modify-write that sends usedBy back does not store it.
func TestComputeBackendServiceUsedBy(t *testing.T) {
	_, c := startCompute(t, Options{})
	ctx := context.Background()
	buildChain(t, c, false)
	bs, err := c.bs.Get(ctx, &computepb.GetBackendServiceRequest{Project: testProject, BackendService: "web-backend"})
	if err != nil {
		t.Fatal(err)
	}
	if len(bs.GetUsedBy()) != 1 || bs.GetUsedBy()[0].GetReference() != mapURL {
		t.Errorf("usedBy = %v, want the URL map %s", bs.GetUsedBy(), mapURL)
	}
	it := c.bs.List(ctx, &computepb.ListBackendServicesRequest{Project: testProject})
	if listed, err := it.Next(); err != nil || len(listed.GetUsedBy()) != 1 {
		t.Errorf("listed usedBy = %v, %v", listed.GetUsedBy(), err)
	}
	op, err := c.bs.Update(ctx, &computepb.UpdateBackendServiceRequest{Project: testProject, BackendService: "web-backend", BackendServiceResource: bs})
	wait(t, op, err)
	op, err = c.maps.Delete(ctx, &computepb.DeleteUrlMapRequest{Project: testProject, UrlMap: "web-map"})
	wantErr(t, err, 400, "resourceInUseByAnotherResource") // the proxy uses it
	op, err = c.proxies.Delete(ctx, &computepb.DeleteTargetHttpProxyRequest{Project: testProject, TargetHttpProxy: "web-proxy"})
	wait(t, op, err)
	op, err = c.maps.Delete(ctx, &computepb.DeleteUrlMapRequest{Project: testProject, UrlMap: "web-map"})
	wait(t, op, err)
	if bs, err = c.bs.Get(ctx, &computepb.GetBackendServiceRequest{Project: testProject, BackendService: "web-backend"}); err != nil || len(bs.GetUsedBy()) != 0 {
		t.Errorf("usedBy after the URL map is gone = %v, %v; want none", bs.GetUsedBy(), err)
	}
}

// TestEjectionScale checks that only the instant profile shortens outlier
// ejections (to EjectionScale of baseEjectionTime), and the lab profile
// keeps Google's.
func TestEjectionScale(t *testing.T) {
	if ProfileLab.EjectionScale != 0 || ProfileRealistic.EjectionScale != 0 {
		t.Errorf("the lab and realistic profiles shorten ejections (%v, %v); they must keep Google's", ProfileLab.EjectionScale, ProfileRealistic.EjectionScale)
	}
	for _, tc := range []struct {
		profile Profile
		want    time.Duration
	}{
		{ProfileInstant, 9 * time.Second},
		{Profile{}, 30 * time.Second},
	} {
		s, c := startCompute(t, Options{Profile: tc.profile})
		ctx := context.Background()
		op, err := insertNEG(ctx, c, "us-central1", "neg-a", "gemini-service")
		wait(t, op, err)
		op, err = insertBackendService(ctx, c, &computepb.BackendService{
			Name: proto.String("web-backend"), LoadBalancingScheme: proto.String("EXTERNAL_MANAGED"),
			Backends:         []*computepb.Backend{{Group: proto.String(negAURL)}},
			OutlierDetection: &computepb.OutlierDetection{}, // Google's defaults: 30 s
		})
		wait(t, op, err)
		op, err = insertURLMap(ctx, c, "web-map", bsURL)
		wait(t, op, err)
		op, err = insertProxy(ctx, c, "web-proxy", mapURL)
		wait(t, op, err)
		op, err = insertRule(ctx, c, "web-rule", "EXTERNAL_MANAGED", proxyURL)
		wait(t, op, err)
		s.mu.Lock()
		fronts := s.frontendsLocked()
		s.mu.Unlock()
		if len(fronts) != 1 || fronts[0].Service == nil || fronts[0].Service.Outlier == nil || fronts[0].Service.Outlier.BaseEjectionTime != tc.want {
			t.Errorf("%s: frontends %+v, want an ejection of %s", tc.profile.Name, fronts, tc.want)
		}
	}
}
