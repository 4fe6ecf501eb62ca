package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Conditions are the ways a real project differs from a happy one: each
// breaks a real run of the lab, and each can be switched on here so that the
// lab's handling of it is tested offline. The zero value is a happy project.
type Conditions struct {
	// BillingOff: the project has no billing account. Enabling an API that
	// is not on at start fails with FAILED_PRECONDITION, ErrorInfo reason
	// UREQ_PROJECT_BILLING_NOT_FOUND, as Service Usage answers.
	BillingOff bool
	// DomainRestrictedSharing: the organisation enforces
	// iam.allowedPolicyMemberDomains (on by default in new organisations): a
	// policy naming allUsers or allAuthenticatedUsers is refused with
	// FAILED_PRECONDITION. A service with the invoker IAM check disabled is
	// still public, as Cloud Run documents.
	DomainRestrictedSharing bool
	// AllowedIngress, if set, is the only ingress the organisation's
	// run.allowedIngress constraint allows ("internal-and-cloud-load-balancing"
	// or "internal"); a service with another is refused.
	AllowedIngress string
	// APIPropagation is how long an API still answers SERVICE_DISABLED after
	// its enable operation is done.
	APIPropagation time.Duration
	// LBFlap is how long a new load balancer flaps after it first serves:
	// on and off, answering 404 or 502 in between, while its configuration
	// spreads to Google's front ends.
	LBFlap time.Duration
	// CertStuck keeps a managed certificate PROVISIONING after every domain
	// is authorized, as Google's sometimes stays for hours.
	CertStuck bool
}

// The organisation policies a spec can name.
const (
	PolicyDomainRestrictedSharing = "domain-restricted-sharing"
	PolicyAllowedIngress          = "allowed-ingress"
)

// defaultFlap is how long lb-flap=on flaps.
const defaultFlap = time.Minute

// conditionKeys are the spec's keys, each with what it takes, for messages.
var conditionKeys = []string{
	"billing=off|on",
	"org-policy=" + PolicyDomainRestrictedSharing + "|" + PolicyAllowedIngress + "|none (join two with +)",
	"api-propagation=DURATION|off",
	"lb-flap=DURATION|on|off",
	"cert=stuck|ok",
}

// ParseConditions applies a flag value such as
// "billing=off,org-policy=domain-restricted-sharing,api-propagation=90s" to
// base (a profile's conditions) and returns the result: a key the spec does
// not name keeps base's value.
func ParseConditions(spec string, base Conditions) (Conditions, error) {
	c := base
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, val, ok := strings.Cut(part, "=")
		if !ok || val == "" {
			return base, fmt.Errorf("condition %q: want KEY=VALUE, one of %s", part, strings.Join(conditionKeys, ", "))
		}
		var err error
		switch key {
		case "billing":
			switch val {
			case "off":
				c.BillingOff = true
			case "on":
				c.BillingOff = false
			default:
				err = fmt.Errorf("condition %q: billing is off or on", part)
			}
		case "org-policy":
			c.DomainRestrictedSharing, c.AllowedIngress = false, ""
			for _, p := range strings.Split(val, "+") {
				switch p {
				case PolicyDomainRestrictedSharing:
					c.DomainRestrictedSharing = true
				case PolicyAllowedIngress:
					c.AllowedIngress = "internal-and-cloud-load-balancing"
				case "none":
				default:
					err = fmt.Errorf("condition %q: org-policy is %s, %s or none", part, PolicyDomainRestrictedSharing, PolicyAllowedIngress)
				}
			}
		case "api-propagation":
			c.APIPropagation, err = conditionDuration(part, val, 0)
		case "lb-flap":
			c.LBFlap, err = conditionDuration(part, val, defaultFlap)
		case "cert":
			switch val {
			case "stuck":
				c.CertStuck = true
			case "ok":
				c.CertStuck = false
			default:
				err = fmt.Errorf("condition %q: cert is stuck (a managed certificate stays PROVISIONING) or ok", part)
			}
		default:
			err = fmt.Errorf("condition %q: unknown condition %q; the conditions are %s", part, key, strings.Join(conditionKeys, ", "))
		}
		if err != nil {
			return base, err
		}
	}
	return c, nil
}

// conditionDuration reads a duration ("90s", "2m"), "off" (0), or "on" (on,
// if on is not 0).
func conditionDuration(part, val string, on time.Duration) (time.Duration, error) {
	switch {
	case val == "off":
		return 0, nil
	case val == "on" && on > 0:
		return on, nil
	}
	d, err := time.ParseDuration(val)
	if err != nil || d < 0 || d > time.Hour {
		return 0, fmt.Errorf("condition %q: give a duration such as 90s or 2m (at most 1h), or off", part)
	}
	return d, nil
}

// String is the spec that gives c from the happy project, "" for none.
func (c Conditions) String() string {
	var parts []string
	if c.BillingOff {
		parts = append(parts, "billing=off")
	}
	var policies []string
	if c.DomainRestrictedSharing {
		policies = append(policies, PolicyDomainRestrictedSharing)
	}
	if c.AllowedIngress != "" {
		policies = append(policies, PolicyAllowedIngress)
	}
	if len(policies) > 0 {
		parts = append(parts, "org-policy="+strings.Join(policies, "+"))
	}
	if c.APIPropagation > 0 {
		parts = append(parts, "api-propagation="+c.APIPropagation.String())
	}
	if c.LBFlap > 0 {
		parts = append(parts, "lb-flap="+c.LBFlap.String())
	}
	return strings.Join(parts, ",")
}

// publicMembers are the members domain-restricted sharing refuses.
var publicMembers = []string{"allUsers", "allAuthenticatedUsers"}

func isPublicMember(m string) bool { return slices.Contains(publicMembers, m) }

// runCheckSpecLocked is runCheckSpec, then the organisation's policies
// (Conditions.AllowedIngress). Call with s.mu held.
func (s *Sim) runCheckSpecLocked(p *project, in *runpb.Service) (*runpb.Service, error) {
	spec, err := runCheckSpec(p, in)
	if err != nil {
		return nil, err
	}
	if allowed := s.cond.AllowedIngress; allowed != "" && ingressName(spec.GetIngress()) != allowed {
		return nil, orgPolicyViolation(fmt.Sprintf("Operation denied by org policy on resource 'projects/%s': [\"constraints/run.allowedIngress\"]: ingress %q is not allowed; allowed: %q.",
			p.id, ingressName(spec.GetIngress()), allowed), "constraints/run.allowedIngress", "projects/"+p.id)
	}
	return spec, nil
}

// ingressName is the ingress as gcloud and the policy name it ("all",
// "internal", "internal-and-cloud-load-balancing").
func ingressName(i runpb.IngressTraffic) string {
	switch i {
	case runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_ONLY:
		return "internal"
	case runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER:
		return "internal-and-cloud-load-balancing"
	case runpb.IngressTraffic_INGRESS_TRAFFIC_NONE:
		return "none"
	}
	return "all"
}

// checkPublicMembersLocked refuses a policy that names allUsers or
// allAuthenticatedUsers when the organisation enforces domain-restricted
// sharing (Conditions.DomainRestrictedSharing), as IAM does.
func (s *Sim) checkPublicMembersLocked(pol *iampb.Policy, resource string) error {
	if !s.cond.DomainRestrictedSharing {
		return nil
	}
	for _, b := range pol.GetBindings() {
		if slices.ContainsFunc(b.GetMembers(), isPublicMember) {
			return orgPolicyViolation("One or more users named in the policy do not belong to a permitted customer, perhaps due to an organization policy.",
				"constraints/iam.allowedPolicyMemberDomains", resource)
		}
	}
	return nil
}

// orgPolicyViolation is FAILED_PRECONDITION naming the constraint, as
// Google's APIs answer an organisation policy's refusal.
func orgPolicyViolation(msg, constraint, subject string) error {
	return grpcWithDetails(status.New(codes.FailedPrecondition, msg),
		&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
			Type: constraint, Subject: subject, Description: msg,
		}}},
	)
}
