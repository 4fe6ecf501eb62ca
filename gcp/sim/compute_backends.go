package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// backendServiceKind is the global backend services.
var backendServiceKind = &computeKind{
	scope:      "global",
	collection: "backendServices",
	discovery:  "backendServices",
	kind:       "compute#backendService",
	label:      "backend_service",
	param:      "backendService",
	mutable:    true,
	newMsg:     func() proto.Message { return &computepb.BackendService{} },
	prepare:    prepareBackendService,
	// Google answers which URL maps use a backend service (recorded in
	// Config Connector's real computeurlmap log, ca9a9de42b).
	view: func(p *project, key string, r proto.Message) proto.Message {
		users := p.compute.usersOf(key)
		if len(users) == 0 {
			return r
		}
		bs := proto.Clone(r).(*computepb.BackendService)
		for _, u := range users {
			bs.UsedBy = append(bs.UsedBy, &computepb.BackendServiceUsedBy{Reference: proto.String(computeURL(p, u))})
		}
		return bs
	},
	refs: func(r proto.Message) []string {
		bs := r.(*computepb.BackendService)
		var keys []string
		for _, b := range bs.GetBackends() {
			keys = append(keys, computeKeyOf(b.GetGroup()))
		}
		if sp := bs.GetSecurityPolicy(); sp != "" {
			keys = append(keys, computeKeyOf(sp))
		}
		return keys
	},
}

// The load balancing schemes a global backend service may have, and those
// of them that take outlier detection (Google's reference for
// BackendService.outlierDetection: global ones with INTERNAL_SELF_MANAGED or
// EXTERNAL_MANAGED; INTERNAL_MANAGED is the cross-region internal one).
var (
	backendSchemes = map[string]bool{"EXTERNAL": true, "EXTERNAL_MANAGED": true, "INTERNAL_MANAGED": true, "INTERNAL_SELF_MANAGED": true}
	outlierSchemes = map[string]bool{"EXTERNAL_MANAGED": true, "INTERNAL_MANAGED": true, "INTERNAL_SELF_MANAGED": true}
	// backendProtocols are those Google knows; serverless backends take the HTTP family only.
	backendProtocols   = map[string]bool{"HTTP": true, "HTTPS": true, "HTTP2": true, "H2C": true, "GRPC": true, "TCP": true, "SSL": true, "UDP": true, "UNSPECIFIED": true}
	serverlessProtocol = map[string]bool{"HTTP": true, "HTTPS": true, "HTTP2": true}
)

// serverlessTimeoutSec is the backend timeout of a backend service, the
// default, and the only one a service with serverless backends may have.
const serverlessTimeoutSec = 30

func prepareBackendService(a *computeAPI, c *computeReq, r, old proto.Message) *computeError {
	bs := r.(*computepb.BackendService)
	// securityPolicy is output only: setSecurityPolicy changes it, and an
	// update or patch keeps what is there.
	bs.SecurityPolicy = nil
	if o, ok := old.(*computepb.BackendService); ok {
		bs.SecurityPolicy = o.SecurityPolicy
	}
	if bs.LoadBalancingScheme == nil {
		bs.LoadBalancingScheme = proto.String("EXTERNAL") // what gcloud and the API default to: the classic load balancer
	}
	scheme := bs.GetLoadBalancingScheme()
	if !backendSchemes[scheme] {
		return computeInvalid("resource.loadBalancingScheme", scheme, "Must be one of EXTERNAL, EXTERNAL_MANAGED, INTERNAL_MANAGED or INTERNAL_SELF_MANAGED for a global backend service.")
	}
	if o, ok := old.(*computepb.BackendService); ok && o.GetLoadBalancingScheme() != scheme {
		// Google moves a service between schemes only through a migration
		// (externalManagedMigrationState), which the simulator does not have.
		return computeInvalid("resource.loadBalancingScheme", scheme, "Cannot change the load balancing scheme until the migration state is set to TEST_ALL_TRAFFIC.")
	}
	if bs.Protocol == nil {
		bs.Protocol = proto.String("HTTP")
	}
	if !backendProtocols[bs.GetProtocol()] {
		return computeInvalid("resource.protocol", bs.GetProtocol(), "Must be one of HTTP, HTTPS, HTTP2, H2C, GRPC, TCP, SSL, UDP or UNSPECIFIED.")
	}
	if bs.PortName == nil {
		bs.PortName = proto.String("http")
	}
	if bs.Port == nil {
		bs.Port = proto.Int32(80)
	}
	timeoutGiven := bs.TimeoutSec != nil
	if !timeoutGiven {
		bs.TimeoutSec = proto.Int32(serverlessTimeoutSec)
	}
	if t := bs.GetTimeoutSec(); t < 1 {
		return computeInvalid("resource.timeoutSec", fmt.Sprint(t), "Must be greater than or equal to 1.")
	}
	if bs.ConnectionDraining == nil {
		bs.ConnectionDraining = &computepb.ConnectionDraining{}
	}
	if bs.ConnectionDraining.DrainingTimeoutSec == nil {
		bs.ConnectionDraining.DrainingTimeoutSec = proto.Int32(0)
	}
	if bs.SessionAffinity == nil {
		bs.SessionAffinity = proto.String("NONE")
	}
	// Defaults Google answers on every backend service (recorded in
	// parity/testdata).
	if bs.AffinityCookieTtlSec == nil {
		bs.AffinityCookieTtlSec = proto.Int32(0)
	}
	if bs.Description == nil {
		bs.Description = proto.String("")
	}
	if bs.EnableCDN == nil {
		bs.EnableCDN = proto.Bool(false)
	}
	if iap := bs.Iap; iap != nil {
		// The OAuth client secret is write-only: Google keeps and answers
		// its SHA-256 (hex), never the secret. A read-modify-write sends
		// back no secret, which keeps the hash it had.
		if iap.Enabled == nil {
			iap.Enabled = proto.Bool(false)
		}
		if iap.Oauth2ClientId == nil {
			iap.Oauth2ClientId = proto.String("")
		}
		if iap.Oauth2ClientSecret != nil {
			sum := sha256.Sum256([]byte(iap.GetOauth2ClientSecret()))
			iap.Oauth2ClientSecretSha256 = proto.String(hex.EncodeToString(sum[:]))
			iap.Oauth2ClientSecret = nil
		} else if o, ok := old.(*computepb.BackendService); ok && iap.Oauth2ClientSecretSha256 == nil {
			iap.Oauth2ClientSecretSha256 = o.GetIap().Oauth2ClientSecretSha256
		}
	}
	if od := bs.OutlierDetection; od != nil {
		if !outlierSchemes[scheme] {
			return computeInvalid("resource.outlierDetection", outlierText(od), "Outlier detection is not supported.")
		}
		fillOutlierDefaults(od)
		for field, v := range map[string]int32{
			"enforcingConsecutiveErrors":         od.GetEnforcingConsecutiveErrors(),
			"enforcingConsecutiveGatewayFailure": od.GetEnforcingConsecutiveGatewayFailure(),
			"maxEjectionPercent":                 od.GetMaxEjectionPercent(),
		} {
			if v < 0 || v > 100 {
				return computeInvalid("resource.outlierDetection."+field, fmt.Sprint(v), "Must be between 0 and 100.")
			}
		}
	}

	serverless := false
	seen := map[string]int{}
	for i, b := range bs.GetBackends() {
		field := fmt.Sprintf("resource.backends[%d].group", i)
		key, full, err := a.computeRef(c.p, field, b.GetGroup(), "networkEndpointGroups", "instanceGroups")
		if err != nil {
			return err
		}
		if j, dup := seen[key]; dup {
			return computeInvalid(field, b.GetGroup(), fmt.Sprintf("Backend group is already used by resource.backends[%d]: each group may back a backend service once.", j))
		}
		seen[key] = i
		b.Group = proto.String(full)
		if neg, ok := c.p.compute.res[key].(*computepb.NetworkEndpointGroup); ok && neg.GetNetworkEndpointType() == "SERVERLESS" {
			serverless = true
		}
		if b.BalancingMode == nil {
			b.BalancingMode = proto.String("UTILIZATION")
		}
		if b.CapacityScaler == nil {
			b.CapacityScaler = proto.Float32(1)
		}
	}
	// Serverless backends have a fixed timeout: Google refuses any other
	// (terraform-google-lb-http PR 358). gcloud's read-modify-write sends
	// back the 30 it read, which is accepted.
	if serverless && timeoutGiven && bs.GetTimeoutSec() != serverlessTimeoutSec {
		return computeInvalid("resource.timeoutSec", fmt.Sprint(bs.GetTimeoutSec()), "Timeout sec is not supported for a backend service with Serverless network endpoint groups.")
	}
	if serverless && !serverlessProtocol[bs.GetProtocol()] {
		return computeInvalid("resource.protocol", bs.GetProtocol(), "Serverless network endpoint group backends take HTTP, HTTPS or HTTP2 only.")
	}
	if len(bs.GetHealthChecks()) > 0 {
		if serverless {
			return computeInvalid("resource.healthChecks", "", "A backend service cannot have a healthcheck with Serverless network endpoint group backends.")
		}
		for i, hc := range bs.GetHealthChecks() {
			// Health checks are not simulated: none exists to point to.
			if _, _, err := a.computeRef(c.p, fmt.Sprintf("resource.healthChecks[%d]", i), hc, "healthChecks", "httpHealthChecks", "httpsHealthChecks"); err != nil {
				return err
			}
		}
	}
	return nil
}

// fillOutlierDefaults sets the fields left unset to the values Google
// applies (FACTS.md): consecutive 5xx counted but not enforced, gateway
// failures (502, 503, 504) enforced after 3, a 1 s sweep, a 30 s base
// ejection, at most half of the backends ejected.
func fillOutlierDefaults(od *computepb.OutlierDetection) {
	if od.ConsecutiveErrors == nil {
		od.ConsecutiveErrors = proto.Int32(5)
	}
	if od.EnforcingConsecutiveErrors == nil {
		od.EnforcingConsecutiveErrors = proto.Int32(0)
	}
	if od.ConsecutiveGatewayFailure == nil {
		od.ConsecutiveGatewayFailure = proto.Int32(3)
	}
	if od.EnforcingConsecutiveGatewayFailure == nil {
		od.EnforcingConsecutiveGatewayFailure = proto.Int32(100)
	}
	if od.Interval == nil {
		od.Interval = &computepb.Duration{Seconds: proto.Int64(1)}
	}
	if od.BaseEjectionTime == nil {
		od.BaseEjectionTime = &computepb.Duration{Seconds: proto.Int64(30)}
	}
	if od.MaxEjectionPercent == nil {
		od.MaxEjectionPercent = proto.Int32(50)
	}
}

// outlierText renders outlier detection settings as Google quotes them in
// its error: pretty JSON with the line breaks dropped, cut at 100 characters.
func outlierText(od *computepb.OutlierDetection) string {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(od)
	if err != nil {
		return ""
	}
	s := strings.ReplaceAll(string(b), "\n", "")
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return s
}
