package steps

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	cmpb "cloud.google.com/go/certificatemanager/apiv1/certificatemanagerpb"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/probe"
	dns "google.golang.org/api/dns/v1"
	"google.golang.org/protobuf/proto"
)

// Part 5, second half: the learner's domain on HTTPS, with a certificate
// Google issues (Certificate Manager with DNS authorization), on a static
// IP that the HTTP and HTTPS rules share, and HTTP redirected to HTTPS.

// httpsAPIs are the services this half of the part needs beyond the lab's.
var httpsAPIs = []string{"dns.googleapis.com", "certificatemanager.googleapis.com"}

// simDomainTLD is where the simulator puts a domain when none is given:
// .example is reserved for documentation and tests (RFC 2606), so no real
// domain is ever named.
const simDomainTLD = ".example"

// domain is the learner's domain: DOMAIN, or on the simulator a reserved
// test name for the project; "" on Google without DOMAIN.
func (s *Session) domain() string {
	if s.Vars.Domain != "" {
		return s.Vars.Domain
	}
	if s.Cloud != nil && s.Cloud.Simulated() {
		return s.Vars.Project + simDomainTLD
	}
	return ""
}

// domainForCommand is the domain as a command shows it.
func (s *Session) domainForCommand() string {
	if d := s.domain(); d != "" {
		return d
	}
	return "YOUR_DOMAIN"
}

// apiHost is the name the service answers on: api.DOMAIN.
func (s *Session) apiHost() string { return "api." + s.domainForCommand() }

// dnsAuthName and certEntryName derive from the certificate and the map.
func dnsAuthName(v Vars) string   { return v.CertName + "-auth" }
func certEntryName(v Vars) string { return v.CertMap + "-entry" }

// needsDomain skips the part on Google without a domain: the lab cannot
// point a name it does not have at the load balancer, nor get it a
// certificate.
func needsDomain(s *Session) string {
	if s.domain() != "" {
		return ""
	}
	return "no domain was given: HTTPS with a certificate Google issues needs a domain you control. Run again with --domain example.com (or DOMAIN=example.com) to do this part"
}

func stepStaticIP() *Step {
	return &Step{
		ID: StaticIP, Part: PartProduction, Skip: needsDomain, Creates: createsAddress,
		Command: func(s *Session) string {
			return fmt.Sprintf(`IP=$(gcloud compute forwarding-rules describe %s --global --format="value(IPAddress)")
gcloud compute addresses create %s --global --addresses=$IP`, s.Vars.Rule, s.Vars.Address)
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			r, err := s.Cloud.GetForwardingRule(ctx, s.Vars.Rule)
			if err != nil {
				return "", err
			}
			ip := r.GetIPAddress()
			a, err := s.Cloud.GetAddress(ctx, s.Vars.Address)
			if err == nil {
				if a.GetAddress() != ip {
					return "", failf(fmt.Sprintf("address %s exists but holds %s, while forwarding rule %s is at %s", s.Vars.Address, a.GetAddress(), s.Vars.Rule, ip),
						fmt.Sprintf("The HTTP and HTTPS rules must share one IP: delete that address (`gcloud compute addresses delete %s --global`) and run this step again, or choose another --address", s.Vars.Address))
				}
				return fmt.Sprintf("Adopted static address %s (%s).", s.Vars.Address, ip), nil
			}
			if !gcp.IsNotFound(err) {
				return "", err
			}
			if err := s.Cloud.ReserveAddress(ctx, s.Vars.Address, ip, s.Progress); err != nil {
				return "", err
			}
			return fmt.Sprintf("Promoted %s, the ephemeral IP of forwarding rule %s, to static address %s: it now outlives the rule, and the HTTPS rule can share it.", ip, s.Vars.Rule, s.Vars.Address), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			a, err := s.Cloud.GetAddress(ctx, s.Vars.Address)
			if err != nil {
				return "", err
			}
			r, err := s.Cloud.GetForwardingRule(ctx, s.Vars.Rule)
			if err != nil {
				return "", err
			}
			if a.GetAddress() != r.GetIPAddress() {
				return "", failf(fmt.Sprintf("address %s is %s but forwarding rule %s is at %s", s.Vars.Address, a.GetAddress(), s.Vars.Rule, r.GetIPAddress()), "Promote the rule's own IP: delete the address and run this step again")
			}
			return fmt.Sprintf("Static address %s holds %s (%s, used by %s).", s.Vars.Address, a.GetAddress(), a.GetStatus(), strings.Join(shortNames(a.GetUsers()), ", ")), nil
		},
	}
}

func shortNames(urls []string) []string {
	out := make([]string, 0, len(urls))
	for _, u := range urls {
		out = append(out, shortName(u))
	}
	return out
}

// addressIP reads the static address's IP.
func (s *Session) addressIP(ctx context.Context) (string, error) {
	a, err := s.Cloud.GetAddress(ctx, s.Vars.Address)
	if err != nil {
		return "", err
	}
	return a.GetAddress(), nil
}

func stepDNSZone() *Step {
	return &Step{
		ID: DNSZone, Part: PartProduction, Skip: needsDomain, Creates: createsZone,
		Command: func(s *Session) string {
			d := s.domainForCommand()
			return fmt.Sprintf(`gcloud services enable %[6]s
gcloud dns managed-zones create %[1]s --dns-name=%[2]s. \
    --description="beyond: %[2]s"
IP=$(gcloud compute addresses describe %[3]s --global --format="value(address)")
gcloud dns record-sets create %[4]s. --zone=%[1]s \
    --type=A --ttl=%[5]d --rrdatas=$IP
gcloud dns managed-zones describe %[1]s --format="value(nameServers)"`, s.Vars.DNSZone, d, s.Vars.Address, s.apiHost(), recordTTL, strings.Join(httpsAPIs, " "))
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			if err := s.enableHTTPSAPIs(ctx); err != nil {
				return "", err
			}
			d := s.domain() + "."
			z, err := s.Cloud.GetZone(ctx, s.Vars.DNSZone)
			did := ""
			switch {
			case err == nil && z.DnsName != d:
				return "", failf(fmt.Sprintf("DNS zone %s exists but serves %s, not %s", s.Vars.DNSZone, z.DnsName, d), "Choose another --dns-zone, or delete that zone")
			case err == nil:
				did = fmt.Sprintf("Adopted DNS zone %s (%s)", s.Vars.DNSZone, s.domain())
			case gcp.IsNotFound(err):
				if z, err = s.Cloud.CreateZone(ctx, s.Vars.DNSZone, d, "beyond: "+s.domain(), s.Progress); err != nil {
					return "", err
				}
				did = fmt.Sprintf("Created DNS zone %s for %s", s.Vars.DNSZone, s.domain())
			default:
				return "", err
			}
			ip, err := s.addressIP(ctx)
			if err != nil {
				return "", err
			}
			rr := &dns.ResourceRecordSet{Name: s.apiHost() + ".", Type: "A", Ttl: recordTTL, Rrdatas: []string{ip}}
			if err := s.Cloud.SetRecord(ctx, s.Vars.DNSZone, rr, s.Progress); err != nil {
				return "", err
			}
			did += fmt.Sprintf("; %s points at %s.", s.apiHost(), ip)
			if !s.Cloud.Simulated() {
				did += fmt.Sprintf("\nAt your registrar, set the name servers of %s to: %s. Until then nobody (and no certificate authority) sees these records.", s.domain(), nameServers(z.NameServers))
			}
			return did, nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			z, err := s.Cloud.GetZone(ctx, s.Vars.DNSZone)
			if err != nil {
				return "", err
			}
			if z.DnsName != s.domain()+"." {
				return "", failf(fmt.Sprintf("DNS zone %s serves %s, not %s.", s.Vars.DNSZone, z.DnsName, s.domain()), "Choose another --dns-zone, or delete that zone")
			}
			ip, err := s.addressIP(ctx)
			if err != nil {
				return "", err
			}
			rr, err := s.Cloud.GetRecord(ctx, s.Vars.DNSZone, s.apiHost()+".", "A")
			if gcp.IsNotFound(err) {
				return "", failf(fmt.Sprintf("zone %s has no A record for %s", s.Vars.DNSZone, s.apiHost()), fmt.Sprintf("Run `gcloud dns record-sets create %s. --zone=%s --type=A --ttl=%d --rrdatas=%s`", s.apiHost(), s.Vars.DNSZone, recordTTL, ip))
			}
			if err != nil {
				return "", err
			}
			if !slices.Equal(rr.Rrdatas, []string{ip}) {
				return "", failf(fmt.Sprintf("%s points at %s, not at the load balancer's %s", s.apiHost(), strings.Join(rr.Rrdatas, ", "), ip),
					fmt.Sprintf("Run `gcloud dns record-sets update %s. --zone=%s --type=A --ttl=%d --rrdatas=%s`", s.apiHost(), s.Vars.DNSZone, recordTTL, ip))
			}
			return fmt.Sprintf("Zone %s serves %s with name servers %s; %s has A %s.", s.Vars.DNSZone, s.domain(), nameServers(z.NameServers), s.apiHost(), ip), nil
		},
	}
}

// recordTTL is the lab's records' TTL: short, so that a fix shows soon.
const recordTTL = 300

// enableHTTPSAPIs enables Cloud DNS and Certificate Manager if they are off.
func (s *Session) enableHTTPSAPIs(ctx context.Context) error {
	on, err := s.Cloud.EnabledAPIs(ctx, httpsAPIs)
	if err != nil {
		return err
	}
	var missing []string
	for _, api := range httpsAPIs {
		if !on[api] {
			missing = append(missing, api)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	s.Progress("enabling " + strings.Join(missing, ", "))
	if err := s.Cloud.EnableAPIs(ctx, missing, s.Progress); err != nil {
		return err
	}
	_, err = s.awaitAPIs(ctx, missing)
	return err
}

func stepCertificate() *Step {
	return &Step{
		ID: Certificate, Part: PartProduction, Skip: needsDomain, Creates: createsCertificate,
		Command: func(s *Session) string {
			return fmt.Sprintf(`gcloud certificate-manager dns-authorizations create %[1]s \
    --domain=%[2]s
CNAME=$(gcloud certificate-manager dns-authorizations describe %[1]s \
    --format="value(dnsResourceRecord.data)")
gcloud dns record-sets create _acme-challenge.%[2]s. --zone=%[3]s \
    --type=CNAME --ttl=%[5]d --rrdatas=$CNAME
gcloud certificate-manager certificates create %[4]s \
    --domains=%[2]s --dns-authorizations=%[1]s
gcloud certificate-manager certificates describe %[4]s \
    --format="yaml(managed.state,managed.authorizationAttemptInfo)"`, dnsAuthName(s.Vars), s.apiHost(), s.Vars.DNSZone, s.Vars.CertName, recordTTL)
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			host, auth := s.apiHost(), dnsAuthName(s.Vars)
			a, err := s.Cloud.GetDNSAuthorization(ctx, auth)
			if gcp.IsNotFound(err) {
				if err = s.Cloud.CreateDNSAuthorization(ctx, auth, host, s.Progress); err != nil {
					return "", err
				}
				a, err = s.Cloud.GetDNSAuthorization(ctx, auth)
			}
			if err != nil {
				return "", err
			}
			if a.GetDomain() != host {
				return "", failf(fmt.Sprintf("DNS authorization %s exists for %s, not %s", auth, a.GetDomain(), host), fmt.Sprintf("Delete it (`gcloud certificate-manager dns-authorizations delete %s`) or choose another --certificate", auth))
			}
			rec := a.GetDnsResourceRecord()
			if err := s.Cloud.SetRecord(ctx, s.Vars.DNSZone, &dns.ResourceRecordSet{Name: rec.GetName(), Type: rec.GetType(), Ttl: recordTTL, Rrdatas: []string{rec.GetData()}}, s.Progress); err != nil {
				return "", err
			}
			c, err := s.Cloud.GetCertificate(ctx, s.Vars.CertName)
			if gcp.IsNotFound(err) {
				if err = s.Cloud.CreateManagedCertificate(ctx, s.Vars.CertName, []string{host}, []string{auth}, s.Progress); err != nil {
					return "", err
				}
				c, err = s.Cloud.GetCertificate(ctx, s.Vars.CertName)
			}
			if err != nil {
				return "", err
			}
			if !slices.Equal(c.GetManaged().GetDomains(), []string{host}) {
				return "", failf(fmt.Sprintf("certificate %s exists for %s, not %s", s.Vars.CertName, strings.Join(c.GetManaged().GetDomains(), ", "), host), fmt.Sprintf("Delete it (`gcloud certificate-manager certificates delete %s`) or choose another --certificate", s.Vars.CertName))
			}
			c, err = s.awaitCertificate(ctx)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("DNS authorization %s is proven by %s CNAME %s; certificate %s for %s is ACTIVE (expires %s).", auth, rec.GetName(), rec.GetData(), s.Vars.CertName, host, c.GetExpireTime().AsTime().Format(time.DateOnly)), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			c, err := s.Cloud.GetCertificate(ctx, s.Vars.CertName)
			if err != nil {
				return "", err
			}
			if err := certProblem(s, c); err != nil {
				return "", err
			}
			var doms []string
			for _, info := range c.GetManaged().GetAuthorizationAttemptInfo() {
				doms = append(doms, info.GetDomain()+" "+info.GetState().String())
			}
			return fmt.Sprintf("Certificate %s is ACTIVE; %s.", s.Vars.CertName, strings.Join(doms, ", ")), nil
		},
	}
}

// certPatience bounds the wait for a certificate. Google says issuance
// takes minutes and can take hours; past this the step says where it
// stands and what to do, and running it again waits again.
func certPatience(s *Session) time.Duration {
	return 20 * time.Minute // the simulator's realistic profile takes 10
}

// awaitCertificate polls the certificate until it is ACTIVE, it failed, or
// the wait is over, saying where it stands whenever that changes.
func (s *Session) awaitCertificate(ctx context.Context) (*cmpb.Certificate, error) {
	start := time.Now()
	limit := certPatience(s)
	said := ""
	var saidAt time.Time
	for {
		c, err := s.Cloud.GetCertificate(ctx, s.Vars.CertName)
		if err != nil {
			return nil, err
		}
		problem := certProblem(s, c)
		if problem == nil {
			return c, nil
		}
		if c.GetManaged().GetState() == cmpb.Certificate_ManagedCertificate_FAILED {
			return nil, problem
		}
		waited := time.Since(start)
		if waited > limit {
			var ce *CheckError
			errors.As(problem, &ce)
			return nil, failf(fmt.Sprintf("after %s, %s", limit, ce.Reason), ce.Fix)
		}
		if line := problem.(*CheckError).Reason; line != said || time.Since(saidAt) >= 10*time.Second {
			said, saidAt = line, time.Now()
			s.Progress(fmt.Sprintf("%s (%s so far, at most %s)", line, waited.Round(time.Second), limit))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pollEvery(s)):
		}
	}
}

// certProblem explains a certificate that is not ACTIVE: what it waits for
// or why it failed, and what to do. Nil when it is ACTIVE.
func certProblem(s *Session, c *cmpb.Certificate) error {
	m := c.GetManaged()
	if m.GetState() == cmpb.Certificate_ManagedCertificate_ACTIVE {
		return nil
	}
	for _, info := range m.GetAuthorizationAttemptInfo() {
		d := info.GetDomain()
		switch {
		case info.GetFailureReason() == cmpb.Certificate_ManagedCertificate_AuthorizationAttemptInfo_CAA:
			return failf(fmt.Sprintf("certificate %s FAILED: a CAA record on %s allows no certificate authority Google uses (%s)", c.GetName()[strings.LastIndex(c.GetName(), "/")+1:], d, info.GetDetails()),
				fmt.Sprintf("Allow Google's CAs: add `0 issue \"pki.goog\"` and `0 issue \"letsencrypt.org\"` to the CAA record set (`gcloud dns record-sets list --zone=%s --type=CAA` shows it), or delete it; then delete the certificate and run this step again", s.Vars.DNSZone))
		case info.GetFailureReason() == cmpb.Certificate_ManagedCertificate_AuthorizationAttemptInfo_RATE_LIMITED:
			return failf(fmt.Sprintf("certificate for %s FAILED: the certificate authority's rate limit was reached", d), "Wait an hour or more, then delete the certificate and run this step again")
		case info.GetState() == cmpb.Certificate_ManagedCertificate_AuthorizationAttemptInfo_FAILED:
			return failf(fmt.Sprintf("authorization of %s FAILED (%s): %s", d, info.GetFailureReason(), info.GetDetails()),
				"Check the DNS authorization's CNAME record and that the zone is delegated, then delete the certificate and run this step again")
		case info.GetState() == cmpb.Certificate_ManagedCertificate_AuthorizationAttemptInfo_AUTHORIZING:
			fix := fmt.Sprintf("Add the CNAME that `gcloud certificate-manager dns-authorizations describe %s` names to zone %s (this step does)", dnsAuthName(s.Vars), s.Vars.DNSZone)
			if !s.Cloud.Simulated() {
				fix += fmt.Sprintf("; Google reads the public DNS, so the zone must be delegated: at your registrar, %s's name servers must be the zone's (`gcloud dns managed-zones describe %s`)", s.domain(), s.Vars.DNSZone)
			}
			why := info.GetDetails()
			if why == "" {
				why = "Google has not yet seen the CNAME record of its DNS authorization"
			}
			return failf(fmt.Sprintf("%s is PROVISIONING: authorizing %s (%s)", shortName(c.GetName()), d, why), fix)
		}
	}
	if m.GetState() == cmpb.Certificate_ManagedCertificate_FAILED {
		return failf(fmt.Sprintf("certificate %s FAILED: %s %s", shortName(c.GetName()), m.GetProvisioningIssue().GetReason(), m.GetProvisioningIssue().GetDetails()), "Delete it and run this step again")
	}
	return failf(fmt.Sprintf("%s is PROVISIONING: every domain is authorized and the certificate authority is issuing it", shortName(c.GetName())),
		"This usually takes minutes and can take an hour or more: check again later; nothing needs fixing")
}

func stepCertificateMap() *Step {
	return &Step{
		ID: CertificateMap, Part: PartProduction, Skip: needsDomain, Creates: createsCertificateMap,
		Command: func(s *Session) string {
			return fmt.Sprintf(`gcloud certificate-manager maps create %[1]s
gcloud certificate-manager maps entries create %[2]s \
    --map=%[1]s --certificates=%[3]s --hostname=%[4]s`, s.Vars.CertMap, certEntryName(s.Vars), s.Vars.CertName, s.apiHost())
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			if _, err := s.Cloud.GetCertificateMap(ctx, s.Vars.CertMap); gcp.IsNotFound(err) {
				if err := s.Cloud.CreateCertificateMap(ctx, s.Vars.CertMap, s.Progress); err != nil {
					return "", err
				}
			} else if err != nil {
				return "", err
			}
			e, err := s.Cloud.GetCertificateMapEntry(ctx, s.Vars.CertMap, certEntryName(s.Vars))
			if gcp.IsNotFound(err) {
				if err := s.Cloud.CreateCertificateMapEntry(ctx, s.Vars.CertMap, certEntryName(s.Vars), s.apiHost(), s.Vars.CertName, s.Progress); err != nil {
					return "", err
				}
				return fmt.Sprintf("Created certificate map %s with entry %s: %s gets certificate %s.", s.Vars.CertMap, certEntryName(s.Vars), s.apiHost(), s.Vars.CertName), nil
			}
			if err != nil {
				return "", err
			}
			if reason := entryDiffers(s, e); reason != "" {
				return "", failf("certificate map entry "+certEntryName(s.Vars)+" exists but "+reason, fmt.Sprintf("Delete it (`gcloud certificate-manager maps entries delete %s --map=%s`) and run this step again", certEntryName(s.Vars), s.Vars.CertMap))
			}
			return "Adopted certificate map " + s.Vars.CertMap + " and its entry.", nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			e, err := s.Cloud.GetCertificateMapEntry(ctx, s.Vars.CertMap, certEntryName(s.Vars))
			if err != nil {
				return "", err
			}
			if reason := entryDiffers(s, e); reason != "" {
				return "", failf("certificate map entry "+certEntryName(s.Vars)+" "+reason, "Delete it and run this step again")
			}
			return fmt.Sprintf("Map %s gives %s certificate %s (entry %s).", s.Vars.CertMap, s.apiHost(), s.Vars.CertName, e.GetState()), nil
		},
	}
}

func entryDiffers(s *Session, e *cmpb.CertificateMapEntry) string {
	if e.GetHostname() != s.apiHost() {
		return fmt.Sprintf("is for %q, not %s", e.GetHostname(), s.apiHost())
	}
	if want := s.Cloud.CertParent() + "/certificates/" + s.Vars.CertName; !slices.ContainsFunc(e.GetCertificates(), func(c string) bool { return shortName(c) == shortName(want) }) {
		return fmt.Sprintf("serves %s, not certificate %s", strings.Join(shortNames(e.GetCertificates()), ", "), s.Vars.CertName)
	}
	return ""
}

func stepHTTPSFrontend() *Step {
	return &Step{
		ID: HTTPSFrontend, Part: PartProduction, Skip: needsDomain, Creates: createsHTTPSFrontend,
		Command: func(s *Session) string {
			return fmt.Sprintf(`gcloud compute target-https-proxies create %[1]s \
    --url-map=%[2]s --certificate-map=%[3]s
gcloud compute forwarding-rules create %[4]s \
    --global \
    --load-balancing-scheme=EXTERNAL_MANAGED \
    --target-https-proxy=%[1]s \
    --address=%[5]s \
    --ports=443`, s.Vars.HTTPSProxy, s.Vars.URLMap, s.Vars.CertMap, s.Vars.HTTPSRule, s.Vars.Address)
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			var did []string
			p, err := s.Cloud.GetTargetHTTPSProxy(ctx, s.Vars.HTTPSProxy)
			switch {
			case gcp.IsNotFound(err):
				if err := s.Cloud.CreateTargetHTTPSProxy(ctx, s.Vars.HTTPSProxy, s.Vars.URLMap, s.Vars.CertMap, s.Progress); err != nil {
					return "", err
				}
				did = append(did, fmt.Sprintf("Created target HTTPS proxy %s (URL map %s, certificates from map %s).", s.Vars.HTTPSProxy, s.Vars.URLMap, s.Vars.CertMap))
			case err != nil:
				return "", err
			default:
				if reason := httpsProxyDiffers(s, p); reason != "" {
					return "", failf("target HTTPS proxy "+s.Vars.HTTPSProxy+" exists but "+reason, fmt.Sprintf("Delete it (`gcloud compute target-https-proxies delete %s`) and run this step again", s.Vars.HTTPSProxy))
				}
				did = append(did, "Adopted target HTTPS proxy "+s.Vars.HTTPSProxy+".")
			}
			ip, err := s.addressIP(ctx)
			if err != nil {
				return "", err
			}
			r, err := s.Cloud.GetForwardingRule(ctx, s.Vars.HTTPSRule)
			switch {
			case gcp.IsNotFound(err):
				if err := s.Cloud.CreateHTTPSForwardingRule(ctx, s.Vars.HTTPSRule, s.Vars.HTTPSProxy, s.Vars.Address, labScheme, s.Progress); err != nil {
					return "", err
				}
				did = append(did, fmt.Sprintf("Created forwarding rule %s: %s:443, the same IP as HTTP.", s.Vars.HTTPSRule, ip))
			case err != nil:
				return "", err
			default:
				if reason := httpsRuleDiffers(s, r, ip); reason != "" {
					return "", failf("forwarding rule "+s.Vars.HTTPSRule+" exists but "+reason, fmt.Sprintf("Delete it (`gcloud compute forwarding-rules delete %s --global`) and run this step again", s.Vars.HTTPSRule))
				}
				did = append(did, "Adopted forwarding rule "+s.Vars.HTTPSRule+".")
			}
			return strings.Join(did, " "), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			p, err := s.Cloud.GetTargetHTTPSProxy(ctx, s.Vars.HTTPSProxy)
			if err != nil {
				return "", err
			}
			if reason := httpsProxyDiffers(s, p); reason != "" {
				return "", failf("target HTTPS proxy "+s.Vars.HTTPSProxy+" "+reason, "Delete it and run this step again")
			}
			ip, err := s.addressIP(ctx)
			if err != nil {
				return "", err
			}
			r, err := s.Cloud.GetForwardingRule(ctx, s.Vars.HTTPSRule)
			if err != nil {
				return "", err
			}
			if reason := httpsRuleDiffers(s, r, ip); reason != "" {
				return "", failf("forwarding rule "+s.Vars.HTTPSRule+" "+reason, "Delete it and run this step again")
			}
			return fmt.Sprintf("Forwarding rule %s sends %s:443 to proxy %s, which takes its certificates from map %s.", s.Vars.HTTPSRule, ip, s.Vars.HTTPSProxy, s.Vars.CertMap), nil
		},
	}
}

func httpsProxyDiffers(s *Session, p *computepb.TargetHttpsProxy) string {
	if !gcp.SameResource(p.GetUrlMap(), s.Cloud.GlobalURL("urlMaps", s.Vars.URLMap)) {
		return "uses URL map " + shortName(p.GetUrlMap()) + ", not " + s.Vars.URLMap
	}
	if shortName(p.GetCertificateMap()) != s.Vars.CertMap {
		return fmt.Sprintf("takes its certificates from %q, not map %s", p.GetCertificateMap(), s.Vars.CertMap)
	}
	return ""
}

func httpsRuleDiffers(s *Session, r *computepb.ForwardingRule, ip string) string {
	switch {
	case !gcp.SameResource(r.GetTarget(), s.Cloud.GlobalURL("targetHttpsProxies", s.Vars.HTTPSProxy)):
		return "targets " + shortName(r.GetTarget()) + ", not proxy " + s.Vars.HTTPSProxy
	case r.GetIPAddress() != ip:
		return fmt.Sprintf("is at %s, not the static address %s (%s)", r.GetIPAddress(), s.Vars.Address, ip)
	case !strings.HasPrefix(r.GetPortRange(), "443"):
		return "listens on ports " + r.GetPortRange() + ", not 443"
	}
	return ""
}

// redirectAction is the redirect map's: every request to HTTPS, same host
// and path, 301.
func redirectAction() *computepb.HttpRedirectAction {
	return &computepb.HttpRedirectAction{HttpsRedirect: proto.Bool(true), RedirectResponseCode: proto.String("MOVED_PERMANENTLY_DEFAULT"), StripQuery: proto.Bool(false)}
}

func stepHTTPSRedirect() *Step {
	return &Step{
		ID: HTTPSRedirect, Part: PartProduction, Skip: needsDomain, Creates: createsRedirect,
		Command: func(s *Session) string {
			return fmt.Sprintf(`gcloud compute url-maps import %[1]s --global --quiet --source=- <<'EOF'
name: %[1]s
defaultUrlRedirect:
  httpsRedirect: true
  redirectResponseCode: MOVED_PERMANENTLY_DEFAULT
EOF
gcloud compute target-http-proxies update %[2]s --url-map=%[1]s`, s.Vars.RedirectMap, s.Vars.Proxy)
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			m, err := s.Cloud.GetURLMap(ctx, s.Vars.RedirectMap)
			switch {
			case gcp.IsNotFound(err):
				err = s.Cloud.CreateURLMap(ctx, &computepb.UrlMap{Name: proto.String(s.Vars.RedirectMap), DefaultUrlRedirect: redirectAction()}, s.Progress)
				if err != nil {
					return "", err
				}
			case err != nil:
				return "", err
			case !m.GetDefaultUrlRedirect().GetHttpsRedirect():
				return "", failf("URL map "+s.Vars.RedirectMap+" exists but does not redirect to HTTPS", fmt.Sprintf("Delete it (`gcloud compute url-maps delete %s`) or choose another --redirect-url-map", s.Vars.RedirectMap))
			}
			p, err := s.Cloud.GetTargetHTTPProxy(ctx, s.Vars.Proxy)
			if err != nil {
				return "", err
			}
			if gcp.SameResource(p.GetUrlMap(), s.Cloud.GlobalURL("urlMaps", s.Vars.RedirectMap)) {
				s.useHTTPS()
				return fmt.Sprintf("Adopted: proxy %s already uses redirect map %s.", s.Vars.Proxy, s.Vars.RedirectMap), nil
			}
			if err := s.Cloud.SetURLMap(ctx, s.Vars.Proxy, s.Vars.RedirectMap, s.Progress); err != nil {
				return "", err
			}
			s.useHTTPS()
			return fmt.Sprintf("HTTP proxy %s now uses URL map %s: every plain HTTP request is answered 301 to the same URL on HTTPS; %s keeps serving HTTPS.", s.Vars.Proxy, s.Vars.RedirectMap, s.Vars.URLMap), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			p, err := s.Cloud.GetTargetHTTPProxy(ctx, s.Vars.Proxy)
			if err != nil {
				return "", err
			}
			if !gcp.SameResource(p.GetUrlMap(), s.Cloud.GlobalURL("urlMaps", s.Vars.RedirectMap)) {
				return "", failf(fmt.Sprintf("HTTP proxy %s uses URL map %s, not the redirect map %s", s.Vars.Proxy, shortName(p.GetUrlMap()), s.Vars.RedirectMap), "Run this step again")
			}
			m, err := s.Cloud.GetURLMap(ctx, s.Vars.RedirectMap)
			if err != nil {
				return "", err
			}
			if !m.GetDefaultUrlRedirect().GetHttpsRedirect() {
				return "", failf("URL map "+s.Vars.RedirectMap+" does not redirect to HTTPS", "Delete it and run this step again")
			}
			s.useHTTPS() // done by hand: the probes move to HTTPS, as Do would
			return fmt.Sprintf("HTTP proxy %s uses %s, which redirects to HTTPS (%s).", s.Vars.Proxy, s.Vars.RedirectMap, m.GetDefaultUrlRedirect().GetRedirectResponseCode()), nil
		},
	}
}

func stepHTTPSCheck() *Step {
	return &Step{
		ID: HTTPSCheck, Part: PartProduction, Skip: needsDomain,
		Command: func(s *Session) string {
			h := s.apiHost()
			path := lab.HealthPath
			if s.customImage() {
				path = "/?format=text"
			}
			if s.Cloud != nil && s.Cloud.Simulated() {
				// The simulator's DNS is not this machine's resolver, so
				// dig asks it and curl is told the address.
				return fmt.Sprintf(`IP=$(gcloud compute addresses describe %[3]s --global --format="value(address)")
dig @${BEYOND_DNS_ENDPOINT%%:*} -p ${BEYOND_DNS_ENDPOINT##*:} +short %[1]s
# the simulator's load balancer may listen on a port of its own for IP:443
lb() { curl -s "$BEYOND_COMPUTE_ENDPOINT/beyond/v1/frontends?project=%[4]s&ip=$IP&port=$1" | grep -o '[0-9][0-9.]*:[0-9][0-9]*'; }
curl -sS --cacert "$BEYOND_CA_FILE" --connect-to %[1]s:443:$(lb 443) "https://%[1]s%[2]s"
curl -sSI --connect-to %[1]s:80:$(lb 80) http://%[1]s/ | head -3`, h, path, s.Vars.Address, s.Vars.Project)
			}
			return fmt.Sprintf("dig +short %[1]s\ncurl -sS \"https://%[1]s%[2]s\"\ncurl -sSI http://%[1]s/ | head -3", h, path)
		},
		Do:    checkHTTPS,
		Check: checkHTTPS,
	}
}

// checkHTTPS asks the internet, not the lab's memory: the name resolves to
// the static IP, an HTTPS request verifies the chain and the host name and
// is answered by the service (on the simulator, from each region in turn),
// and plain HTTP is redirected to HTTPS. It waits, bounded, for a new rule
// to serve and for the certificate to reach the front ends.
func checkHTTPS(ctx context.Context, s *Session) (string, error) {
	host := s.apiHost()
	ip, err := s.addressIP(ctx)
	if err != nil {
		return "", err
	}
	ips, err := s.Cloud.Resolve(ctx, host)
	if err != nil {
		fix := fmt.Sprintf("Create the A record (step %s)", titleOf(DNSZone))
		if !s.Cloud.Simulated() {
			fix += fmt.Sprintf("; if it exists, the zone is not delegated yet: at your registrar, set %s's name servers to those of zone %s (`gcloud dns managed-zones describe %s`), then wait for the registrar's TTL", s.domain(), s.Vars.DNSZone, s.Vars.DNSZone)
		}
		return "", failf(fmt.Sprintf("%s does not resolve: %v", host, err), fix)
	}
	if !slices.Contains(ips, ip) {
		return "", failf(fmt.Sprintf("%s resolves to %s, not the load balancer's %s: clients, and Google's checks, go elsewhere", host, strings.Join(ips, ", "), ip),
			fmt.Sprintf("Point the A record at %s: `gcloud dns record-sets update %s. --zone=%s --type=A --ttl=%d --rrdatas=%s` (a registrar's own records win while the zone is not delegated)", ip, host, s.Vars.DNSZone, recordTTL, ip))
	}
	client, err := s.Cloud.WebClient(ctx)
	if err != nil {
		return "", err
	}
	locations := []string{""}
	if s.Cloud.Simulated() {
		// Stand next to each region in turn: each answers from its own.
		locations = []string{s.Vars.RegionA, s.Vars.RegionB}
	}
	serve := httpsPatience(s)
	wctx, cancel := context.WithTimeout(ctx, serve)
	defer cancel()
	start := time.Now()
	var answered []string
	said, saidAt := "", time.Time{}
	for _, loc := range locations {
		h := http.Header{}
		if loc != "" {
			h.Set(lab.ClientLocationHeader, loc)
		}
		cfg := probe.Config{URL: "https://" + host + lab.HealthPath, Header: h, Client: client}
		if s.customImage() {
			cfg.URL = "https://" + host + "/?format=text"
		}
		for {
			sm, body := probe.Once(wctx, cfg)
			if sm.Status == http.StatusOK && (loc == "" || sm.Region == loc) {
				answered = append(answered, sm.Region)
				break
			}
			why := describeBody(sm, body)
			if sm.Err != "" {
				why = tlsReason(sm.Err)
			}
			if err := ctx.Err(); err != nil {
				return "", err // stopped, not timed out
			}
			if wctx.Err() != nil {
				return "", failf(fmt.Sprintf("https://%s did not answer from %s within %s (last: %s)", host, orNearest(loc), serve, why),
					"A new HTTPS rule takes minutes to serve, and a new certificate minutes more to reach every front end: run this step again in a few minutes")
			}
			if why != said || time.Since(saidAt) >= 5*time.Second {
				said, saidAt = why, time.Now()
				if sm.Status == http.StatusNotFound || sm.Status == http.StatusBadGateway {
					why += " (a new rule answers this while it provisions)"
				}
				s.Progress(fmt.Sprintf("waiting for https://%s to answer from %s (%s so far; last: %s)", host, orNearest(loc), time.Since(start).Round(time.Second), why))
			}
			select {
			case <-wctx.Done():
			case <-time.After(runEvery(s)):
			}
		}
	}
	// Plain HTTP: a redirect to the same URL on HTTPS.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/?q=1", nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", failf(fmt.Sprintf("http://%s did not answer: %v", host, err), "Check the HTTP forwarding rule still exists (Part 3)")
	}
	resp.Body.Close()
	want := "https://" + host + "/?q=1"
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		return "", failf(fmt.Sprintf("http://%s/?q=1 answered %s with Location %q, not 301 to %s", host, resp.Status, resp.Header.Get("Location"), want), fmt.Sprintf("Run step %s", titleOf(HTTPSRedirect)))
	}
	return fmt.Sprintf("%s resolves to %s; https://%s verified its certificate chain and host name and answered 200 from %s; http:// answers 301 to https://.", host, ip, host, strings.Join(answered, " and ")), nil
}

// httpsPatience bounds the wait for a new HTTPS rule to serve: Google says
// minutes; the simulator's realistic profile takes 4.
func httpsPatience(s *Session) time.Duration {
	if s.Cloud.Simulated() {
		return 5 * time.Minute
	}
	return 15 * time.Minute
}

func orNearest(loc string) string {
	if loc == "" {
		return "the nearest region"
	}
	return loc
}

// tlsReason says what a failed HTTPS request means for the learner.
func tlsReason(err string) string {
	switch {
	case strings.Contains(err, "certificate is valid for"), strings.Contains(err, "doesn't contain any IP SANs"):
		return err + " (the certificate is not for this host name)"
	case strings.Contains(err, "unknown authority"):
		return err + " (the chain does not lead to a trusted root)"
	case strings.Contains(err, "handshake failure"), strings.Contains(err, "internal error"), strings.Contains(err, "EOF"):
		return err + " (no certificate is served for this name yet: it is provisioning, or the map has no entry for it)"
	}
	return err
}

// redirectsToHTTPS reports whether the HTTP proxy p uses the redirect map
// of Part 5: the proxy step's own map then serves HTTPS instead.
func redirectsToHTTPS(s *Session, p *computepb.TargetHttpProxy) bool {
	return s.domain() != "" && gcp.SameResource(p.GetUrlMap(), s.Cloud.GlobalURL("urlMaps", s.Vars.RedirectMap))
}

// nameServers lists a zone's name servers as a registrar's form takes
// them: comma-separated, without the final dot of each.
func nameServers(ns []string) string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = strings.TrimSuffix(n, ".")
	}
	return strings.Join(out, ", ")
}
