// Package export turns what the lab built in a project into files the
// learner keeps: a Terraform configuration, a bash script of gcloud
// commands that builds the same lab in another project, and a Markdown
// report of the run with an SVG chart of its failover. The configuration
// and the script are written from the cloud, read through package gcp, not
// from the lab's memory: a step the learner typed by hand is kept as typed.
package export

import (
	"context"
	"fmt"
	"slices"

	"cloud.google.com/go/artifactregistry/apiv1/artifactregistrypb"
	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/iam/admin/apiv1/adminpb"
	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/steps"
)

// Lab is what the lab created in one project, as the cloud has it. A nil
// field (or a missing entry) is a resource that does not exist.
type Lab struct {
	Vars steps.Vars
	// APIs are the lab's APIs that are enabled.
	APIs           []string
	ServiceAccount *adminpb.ServiceAccount
	// Roles are the project roles the service account holds (of those the
	// lab grants).
	Roles      []string
	Repository *artifactregistrypb.Repository
	// Services holds the Cloud Run service of each region, A then B.
	Services []Service
	NEGs     []*computepb.NetworkEndpointGroup
	// The load balancer. Read fills in the lab's one backend service, URL
	// map, HTTP proxy and forwarding rule, and the production part's Cloud
	// Armor policy; Part 6's (a redirect map, an HTTPS proxy, a rule on
	// 443, a global address) are added by whoever reads them (a function
	// in computeReads), and rendered the same way.
	Backends         []*computepb.BackendService
	URLMaps          []*computepb.UrlMap
	HTTPProxies      []*computepb.TargetHttpProxy
	HTTPSProxies     []*computepb.TargetHttpsProxy
	Rules            []*computepb.ForwardingRule
	Addresses        []*computepb.Address
	SecurityPolicies []*computepb.SecurityPolicy
	// Extra are parts of the lab this package does not read itself
	// (Part 6: Cloud DNS, Certificate Manager, HTTPS): whoever reads them
	// adds them here, and they are exported with the rest.
	Extra []Part
}

// Service is one region's Cloud Run service and who may invoke it.
type Service struct {
	Region string
	*runpb.Service
	// Public is whether allUsers holds roles/run.invoker on it.
	Public bool
}

// Read reads, through cloud, everything the lab creates under vars' names.
// What does not exist is left out; any other error stops the read.
func Read(ctx context.Context, cloud *gcp.Cloud, vars steps.Vars) (*Lab, error) {
	l := &Lab{Vars: vars}
	on, err := cloud.EnabledAPIs(ctx, steps.APIs())
	if err != nil {
		return nil, err
	}
	for _, api := range steps.APIs() {
		if on[api] {
			l.APIs = append(l.APIs, api)
		}
	}
	// Nothing of an API that is off can exist, and reading it would only
	// answer that the API is off.
	if !on[lab.APIIAM] {
		return l, nil
	}
	if l.ServiceAccount, err = found(cloud.GetServiceAccount(ctx, vars.ServiceAccount)); err != nil {
		return nil, err
	}
	if l.ServiceAccount != nil {
		for _, role := range steps.ServiceRoles() {
			ok, err := cloud.ProjectRoleHolds(ctx, role, "serviceAccount:"+l.ServiceAccount.GetEmail())
			if err != nil {
				return nil, err
			}
			if ok {
				l.Roles = append(l.Roles, role)
			}
		}
	}
	if on[lab.APIArtifactRegistry] {
		if l.Repository, err = found(cloud.GetRepository(ctx, vars.RegionA, vars.Repository)); err != nil {
			return nil, err
		}
	}
	for _, region := range []string{vars.RegionA, vars.RegionB} {
		if !on[lab.APIRun] {
			break
		}
		svc, err := found(cloud.RunService(ctx, region, vars.Service))
		if err != nil {
			return nil, err
		}
		if svc == nil {
			continue
		}
		p, err := cloud.ServicePolicy(ctx, region, vars.Service)
		if err != nil {
			return nil, err
		}
		public := slices.ContainsFunc(p.GetBindings(), func(b *iampb.Binding) bool {
			return b.GetRole() == "roles/run.invoker" && slices.Contains(b.GetMembers(), "allUsers")
		})
		l.Services = append(l.Services, Service{Region: region, Service: svc, Public: public})
	}
	if !on[lab.APICompute] {
		return l, nil
	}
	for _, n := range []struct{ region, name string }{{vars.RegionA, vars.NEGA}, {vars.RegionB, vars.NEGB}} {
		neg, err := found(cloud.GetNEG(ctx, n.region, n.name))
		if err != nil {
			return nil, err
		}
		if neg != nil {
			l.NEGs = append(l.NEGs, neg)
		}
	}
	if l.Backends, err = one(cloud.GetBackendService(ctx, vars.Backend)); err != nil {
		return nil, err
	}
	if l.URLMaps, err = one(cloud.GetURLMap(ctx, vars.URLMap)); err != nil {
		return nil, err
	}
	if l.HTTPProxies, err = one(cloud.GetTargetHTTPProxy(ctx, vars.Proxy)); err != nil {
		return nil, err
	}
	if l.Rules, err = one(cloud.GetForwardingRule(ctx, vars.Rule)); err != nil {
		return nil, err
	}
	for _, read := range computeReads {
		if err := read(ctx, cloud, l); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// computeReads read the parts of the lab that came after the load balancer,
// once the lab's own resources above are read, each adding to l what
// exists: the production part's Cloud Armor policy and its HTTPS half (the
// static address, the HTTPS proxy, rule and redirect map, Certificate
// Manager, then Cloud DNS, whose records refer to the address and the DNS
// authorization read before). A new part is one more function here.
var computeReads = []func(ctx context.Context, cloud *gcp.Cloud, l *Lab) error{
	readSecurityPolicies,
	readAddress,
	readHTTPS,
	readCertificates,
	readDNS,
}

// part6APIs are the APIs the HTTPS half of the production part enables
// beyond the lab's (steps' dns-zone step enables them).
var part6APIs = []string{lab.APIDNS, lab.APICertManager}

// readAddress reads the static global address (ADDRESS_NAME) and any
// other the lab's rules are on.
func readAddress(ctx context.Context, cloud *gcp.Cloud, l *Lab) error {
	a, err := found(cloud.GetAddress(ctx, l.Vars.Address))
	if err != nil || a == nil {
		return err
	}
	l.Addresses = append(l.Addresses, a)
	return nil
}

// readHTTPS reads the redirect URL map (REDIRECT_URL_MAP), the target
// HTTPS proxy (TARGET_HTTPS_PROXY) and the rule on 443
// (HTTPS_FORWARDING_RULE).
func readHTTPS(ctx context.Context, cloud *gcp.Cloud, l *Lab) error {
	if l.Vars.RedirectMap != l.Vars.URLMap {
		m, err := found(cloud.GetURLMap(ctx, l.Vars.RedirectMap))
		if err != nil {
			return err
		}
		if m != nil {
			l.URLMaps = append(l.URLMaps, m)
		}
	}
	px, err := found(cloud.GetTargetHTTPSProxy(ctx, l.Vars.HTTPSProxy))
	if err != nil {
		return err
	}
	if px != nil {
		l.HTTPSProxies = append(l.HTTPSProxies, px)
	}
	if l.Vars.HTTPSRule != l.Vars.Rule {
		fr, err := found(cloud.GetForwardingRule(ctx, l.Vars.HTTPSRule))
		if err != nil {
			return err
		}
		if fr != nil {
			l.Rules = append(l.Rules, fr)
		}
	}
	return nil
}

// part6On reports whether api is on, adding it to the lab's APIs (those
// of Part 6 are not in steps.APIs()).
func part6On(ctx context.Context, cloud *gcp.Cloud, l *Lab, api string) (bool, error) {
	if slices.Contains(l.APIs, api) {
		return true, nil
	}
	on, err := cloud.EnabledAPIs(ctx, []string{api})
	if err != nil || !on[api] {
		return false, err
	}
	l.APIs = append(l.APIs, api)
	return true, nil
}

// readCertificates reads Certificate Manager's certificate
// (CERTIFICATE_NAME), its DNS authorizations (NAME-auth, and whichever it
// names), the map (CERTIFICATE_MAP) and its entry (MAP-entry).
func readCertificates(ctx context.Context, cloud *gcp.Cloud, l *Lab) error {
	if on, err := part6On(ctx, cloud, l, lab.APICertManager); err != nil || !on {
		return err
	}
	var c Certificates
	auths := []string{l.Vars.CertName + "-auth"}
	cert, err := found(cloud.GetCertificate(ctx, l.Vars.CertName))
	if err != nil {
		return err
	}
	if cert != nil {
		c.Certificate = l.Vars.CertName
		c.Domains = cert.GetManaged().GetDomains()
		for _, a := range cert.GetManaged().GetDnsAuthorizations() {
			c.Auths = append(c.Auths, lastSegment(a))
			if !slices.Contains(auths, lastSegment(a)) {
				auths = append(auths, lastSegment(a))
			}
		}
	}
	for _, name := range auths {
		a, err := found(cloud.GetDNSAuthorization(ctx, name))
		if err != nil {
			return err
		}
		if a != nil {
			c.Authorizations = append(c.Authorizations, DNSAuthorization{Name: name, Domain: a.GetDomain(), record: a.GetDnsResourceRecord().GetName()})
		}
	}
	m, err := found(cloud.GetCertificateMap(ctx, l.Vars.CertMap))
	if err != nil {
		return err
	}
	if m != nil {
		c.Map = l.Vars.CertMap
		e, err := found(cloud.GetCertificateMapEntry(ctx, l.Vars.CertMap, l.Vars.CertMap+"-entry"))
		if err != nil {
			return err
		}
		if e != nil {
			c.Entry, c.Hostname = l.Vars.CertMap+"-entry", e.GetHostname()
			for _, name := range e.GetCertificates() {
				c.EntryCerts = append(c.EntryCerts, lastSegment(name))
			}
		}
	}
	if c.Certificate != "" || c.Map != "" || len(c.Authorizations) > 0 {
		l.Extra = append(l.Extra, c)
	}
	return nil
}

// readDNS reads the Cloud DNS zone (DNS_ZONE) and its record sets but
// those Cloud DNS makes itself (NS and SOA). A record that holds the
// static address's IP, or a DNS authorization's CNAME, says so, for the
// script to ask for the data in the project it builds.
func readDNS(ctx context.Context, cloud *gcp.Cloud, l *Lab) error {
	if on, err := part6On(ctx, cloud, l, lab.APIDNS); err != nil || !on {
		return err
	}
	z, err := found(cloud.GetZone(ctx, l.Vars.DNSZone))
	if err != nil || z == nil {
		return err
	}
	rrs, err := cloud.ListRecords(ctx, l.Vars.DNSZone)
	if err != nil {
		return err
	}
	zone := DNSZone{Name: z.Name, DNSName: z.DnsName, Description: z.Description}
	for _, rr := range rrs {
		if rr.Type == "NS" || rr.Type == "SOA" {
			continue
		}
		rec := DNSRecord{Name: rr.Name, Type: rr.Type, TTL: rr.Ttl, RRDatas: rr.Rrdatas}
		for _, a := range l.Addresses {
			if rr.Type == "A" && len(rr.Rrdatas) == 1 && rr.Rrdatas[0] == a.GetAddress() {
				rec.Address = a.GetName()
			}
		}
		for _, part := range l.Extra {
			if c, ok := part.(Certificates); ok && rr.Type == "CNAME" {
				for _, a := range c.Authorizations {
					if a.record == rr.Name {
						rec.Auth = a.Name
					}
				}
			}
		}
		zone.Records = append(zone.Records, rec)
	}
	l.Extra = append(l.Extra, zone)
	return nil
}

// readSecurityPolicies reads the lab's Cloud Armor policy (SECURITY_POLICY)
// and any other policy a backend service of the lab uses: one the learner
// attached by hand under another name is exported as it is.
func readSecurityPolicies(ctx context.Context, cloud *gcp.Cloud, l *Lab) error {
	names := []string{l.Vars.SecurityPolicy}
	for _, bs := range l.Backends {
		if sp := bs.GetSecurityPolicy(); sp != "" && !slices.Contains(names, lastSegment(sp)) {
			names = append(names, lastSegment(sp))
		}
	}
	for _, name := range names {
		if name == "" {
			continue
		}
		sp, err := found(cloud.GetSecurityPolicy(ctx, name))
		if err != nil {
			return err
		}
		if sp != nil {
			l.SecurityPolicies = append(l.SecurityPolicies, sp)
		}
	}
	return nil
}

// found is a read's value, nil without an error when it was not found.
func found[T any](v *T, err error) (*T, error) {
	if gcp.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// one is found as a list of none or one.
func one[T any](v *T, err error) ([]*T, error) {
	v, err = found(v, err)
	if v == nil || err != nil {
		return nil, err
	}
	return []*T{v}, nil
}

// Empty reports whether nothing of the lab exists.
func (l *Lab) Empty() bool {
	return l.ServiceAccount == nil && l.Repository == nil && len(l.Services) == 0 && len(l.NEGs) == 0 &&
		len(l.Backends) == 0 && len(l.URLMaps) == 0 && len(l.HTTPProxies) == 0 && len(l.HTTPSProxies) == 0 &&
		len(l.Rules) == 0 && len(l.Addresses) == 0 && len(l.SecurityPolicies) == 0 && len(l.Extra) == 0
}

func (l *Lab) saEmail() string {
	if l.ServiceAccount != nil {
		return l.ServiceAccount.GetEmail()
	}
	return fmt.Sprintf("%s@%s.iam.gserviceaccount.com", l.Vars.ServiceAccount, l.Vars.Project)
}
