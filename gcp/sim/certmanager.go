package sim

import (
	"context"
	"encoding/pem"
	"fmt"
	"sort"
	"strings"
	"time"

	cmpb "cloud.google.com/go/certificatemanager/apiv1/certificatemanagerpb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Certificate Manager v1 over gRPC, as cloud.google.com/go/certificatemanager
// reaches it: DNS authorizations, Google-managed certificates, certificate
// maps and their entries, each change a long-running operation.
//
// A managed certificate is PROVISIONING until every domain is authorized:
// its DNS authorization's CNAME (_acme-challenge.DOMAIN) must resolve, in
// the simulator's DNS, to the record the authorization names, and no CAA
// record on the domain may forbid the CA (pki.goog; Google also issues
// through letsencrypt.org). Then, after Profile.CertIssuance, it is ACTIVE.
// The state is worked out on every read from the DNS as it stands, so a
// learner who adds the CNAME by hand sees the certificate move on.
// Conditions.CertStuck keeps it PROVISIONING though authorized, as a
// certificate sometimes stays for hours.

// certState is one project's Certificate Manager. Guarded by Sim.mu.
type certState struct {
	auths   map[string]*cmpb.DnsAuthorization // by full name
	certs   map[string]*cmpb.Certificate
	maps    map[string]*cmpb.CertificateMap
	entries map[string]*cmpb.CertificateMapEntry
	// authorizedAt is when every domain of a certificate was first seen
	// authorized; activeAt when it became ACTIVE (it then stays so).
	authorizedAt map[string]time.Time
	activeAt     map[string]time.Time
}

func newCertState() *certState {
	return &certState{
		auths: map[string]*cmpb.DnsAuthorization{}, certs: map[string]*cmpb.Certificate{},
		maps: map[string]*cmpb.CertificateMap{}, entries: map[string]*cmpb.CertificateMapEntry{},
		authorizedAt: map[string]time.Time{}, activeAt: map[string]time.Time{},
	}
}

// acmeSuffix is where a DNS authorization's CNAME points.
const acmeSuffix = ".authorize.certificatemanager.goog."

// allowedIssuers are the CAs a CAA record must name for Google to issue.
var allowedIssuers = []string{"pki.goog", "letsencrypt.org"}

type cmServer struct {
	cmpb.UnimplementedCertificateManagerServer
	s *Sim
}

func (s *Sim) registerCertManager(g *grpc.Server) {
	cmpb.RegisterCertificateManagerServer(g, &cmServer{s: s})
}

// cmParent resolves "projects/P/locations/global", checking the API is on.
// Call with s.mu held.
func (s *Sim) cmParentLocked(parent string) (*project, string, error) {
	parts := strings.Split(parent, "/")
	if len(parts) != 4 || parts[0] != "projects" || parts[2] != "locations" {
		return nil, "", grpcInvalid("Invalid resource name %q: want projects/PROJECT/locations/LOCATION", parent)
	}
	p, err := s.lookupProjectLocked(parts[1], APICertManager)
	if err != nil {
		return nil, "", err
	}
	if err := s.requireEnabledLocked(p, APICertManager); err != nil {
		return nil, "", err
	}
	if parts[3] != "global" {
		return nil, "", grpcInvalid("Location %q: the simulator has Certificate Manager resources in location global only, which is what global load balancers use", parts[3])
	}
	return p, "projects/" + p.id + "/locations/global", nil
}

// cmNameLocked resolves a full resource name under a parent and a
// collection: it returns the project and the name with the project ID.
func (s *Sim) cmNameLocked(name, collection string) (*project, string, error) {
	i := strings.Index(name, "/"+collection+"/")
	if i < 0 {
		return nil, "", grpcInvalid("Invalid resource name %q: want projects/PROJECT/locations/global/%s/ID", name, collection)
	}
	p, parent, err := s.cmParentLocked(name[:i])
	if err != nil {
		return nil, "", err
	}
	return p, parent + name[i:], nil
}

func cmNotFound(name string) error {
	return status.Errorf(codes.NotFound, "Resource '%s' was not found", name)
}

func cmCheckID(kind, id string) error {
	if !cmID(id) {
		return grpcInvalid("%s id %q is invalid: it must be 1 to 63 lowercase letters, digits or hyphens, start with a letter and not end with a hyphen", kind, id)
	}
	return nil
}

func cmID(id string) bool {
	if len(id) < 1 || len(id) > 63 || id[0] < 'a' || id[0] > 'z' || strings.HasSuffix(id, "-") {
		return false
	}
	return strings.Trim(id, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}

// cmOpLocked starts the operation of a change, done at once.
func (s *Sim) cmOpLocked(p *project, verb, target string, finish func() (proto.Message, error)) *longrunningpb.Operation {
	now := s.now()
	op := &operation{
		name: fmt.Sprintf("projects/%s/locations/global/operations/operation-%d-%s", p.id, now.UnixMilli(), s.newUUIDLocked()[:13]),
		meta: func() proto.Message {
			return &cmpb.OperationMetadata{CreateTime: timestamppb.New(now), EndTime: timestamppb.New(s.now()), Target: target, Verb: verb, ApiVersion: "v1"}
		},
		finish: func() (proto.Message, error) {
			m, err := finish()
			s.changedLocked()
			return m, err
		},
	}
	return s.startOpLocked(p, op, 0)
}

func (cm *cmServer) CreateDnsAuthorization(ctx context.Context, req *cmpb.CreateDnsAuthorizationRequest) (*longrunningpb.Operation, error) {
	s := cm.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, parent, err := s.cmParentLocked(req.GetParent())
	if err != nil {
		return nil, err
	}
	if err := cmCheckID("dns_authorization", req.GetDnsAuthorizationId()); err != nil {
		return nil, err
	}
	in := req.GetDnsAuthorization()
	domain := strings.TrimSuffix(strings.ToLower(in.GetDomain()), ".")
	if domain == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, "*") {
		return nil, grpcInvalid("dns_authorization.domain %q is not a domain name; give the domain without a wildcard, e.g. example.com", in.GetDomain())
	}
	name := parent + "/dnsAuthorizations/" + req.GetDnsAuthorizationId()
	if _, ok := p.certs.auths[name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "Resource '%s' already exists", name)
	}
	typ := in.GetType()
	if typ == cmpb.DnsAuthorization_TYPE_UNSPECIFIED {
		typ = cmpb.DnsAuthorization_FIXED_RECORD
	}
	now := timestamppb.New(s.now())
	rec := &cmpb.DnsAuthorization_DnsResourceRecord{Name: "_acme-challenge." + domain + ".", Type: "CNAME",
		Data: fmt.Sprintf("%s.%d%s", s.newUUIDLocked(), 1+s.nextSeq()%9, acmeSuffix)}
	if typ == cmpb.DnsAuthorization_PER_PROJECT_RECORD {
		rec.Name = fmt.Sprintf("_acme-challenge_%x.%s.", computeMix(uint64(p.number))&0xffffffffffff, domain)
	}
	a := &cmpb.DnsAuthorization{Name: name, CreateTime: now, UpdateTime: now, Labels: in.GetLabels(), Description: in.GetDescription(), Domain: domain, DnsResourceRecord: rec, Type: typ}
	return s.cmOpLocked(p, "create", name, func() (proto.Message, error) {
		p.certs.auths[name] = a
		return a, nil
	}), nil
}

func (cm *cmServer) GetDnsAuthorization(ctx context.Context, req *cmpb.GetDnsAuthorizationRequest) (*cmpb.DnsAuthorization, error) {
	s := cm.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, name, err := s.cmNameLocked(req.GetName(), "dnsAuthorizations")
	if err != nil {
		return nil, err
	}
	a := p.certs.auths[name]
	if a == nil {
		return nil, cmNotFound(req.GetName())
	}
	return a, nil
}

func (cm *cmServer) ListDnsAuthorizations(ctx context.Context, req *cmpb.ListDnsAuthorizationsRequest) (*cmpb.ListDnsAuthorizationsResponse, error) {
	s := cm.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, parent, err := s.cmParentLocked(req.GetParent())
	if err != nil {
		return nil, err
	}
	var all []*cmpb.DnsAuthorization
	for _, n := range sortedKeys(p.certs.auths) {
		if strings.HasPrefix(n, parent+"/") {
			all = append(all, p.certs.auths[n])
		}
	}
	page, next, err := grpcPage(all, req.GetPageSize(), req.GetPageToken(), 100, 500)
	if err != nil {
		return nil, err
	}
	return &cmpb.ListDnsAuthorizationsResponse{DnsAuthorizations: page, NextPageToken: next}, nil
}

func (cm *cmServer) DeleteDnsAuthorization(ctx context.Context, req *cmpb.DeleteDnsAuthorizationRequest) (*longrunningpb.Operation, error) {
	s := cm.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, name, err := s.cmNameLocked(req.GetName(), "dnsAuthorizations")
	if err != nil {
		return nil, err
	}
	if p.certs.auths[name] == nil {
		return nil, cmNotFound(req.GetName())
	}
	for _, cn := range sortedKeys(p.certs.certs) {
		for _, a := range p.certs.certs[cn].GetManaged().GetDnsAuthorizations() {
			if a == name {
				return nil, status.Errorf(codes.FailedPrecondition, "Resource '%s' is used by '%s': delete the certificate first", name, cn)
			}
		}
	}
	return s.cmOpLocked(p, "delete", name, func() (proto.Message, error) {
		delete(p.certs.auths, name)
		return &emptypb.Empty{}, nil
	}), nil
}

func (cm *cmServer) CreateCertificate(ctx context.Context, req *cmpb.CreateCertificateRequest) (*longrunningpb.Operation, error) {
	s := cm.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, parent, err := s.cmParentLocked(req.GetParent())
	if err != nil {
		return nil, err
	}
	if err := cmCheckID("certificate", req.GetCertificateId()); err != nil {
		return nil, err
	}
	in := req.GetCertificate()
	m := in.GetManaged()
	if m == nil {
		return nil, grpcInvalid("certificate: the simulator has Google-managed certificates only: set managed with domains and dns_authorizations")
	}
	if len(m.GetDomains()) == 0 {
		return nil, grpcInvalid("certificate.managed.domains: at least one domain is required")
	}
	if m.GetIssuanceConfig() != "" {
		return nil, grpcInvalid("certificate.managed.issuance_config: private CA certificates are not simulated")
	}
	name := parent + "/certificates/" + req.GetCertificateId()
	if _, ok := p.certs.certs[name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "Resource '%s' already exists", name)
	}
	var domains, auths []string
	for _, d := range m.GetDomains() {
		domains = append(domains, strings.TrimSuffix(strings.ToLower(d), "."))
	}
	for _, a := range m.GetDnsAuthorizations() {
		_, full, err := s.cmNameLocked(a, "dnsAuthorizations")
		if err != nil {
			return nil, err
		}
		if p.certs.auths[full] == nil {
			return nil, grpcInvalid("certificate.managed.dns_authorizations: %s does not exist", a)
		}
		auths = append(auths, full)
	}
	if len(auths) == 0 {
		return nil, grpcInvalid("certificate.managed.dns_authorizations: the simulator issues with DNS authorization only; create one per domain (gcloud certificate-manager dns-authorizations create) and name it here")
	}
	for _, d := range domains {
		if s.authForLocked(p, auths, d) == nil {
			return nil, grpcInvalid("certificate.managed.domains: domain %q has no DNS authorization among %s: each domain needs an authorization for itself or, for a wildcard, its parent", d, strings.Join(auths, ", "))
		}
	}
	now := timestamppb.New(s.now())
	c := &cmpb.Certificate{Name: name, Description: in.GetDescription(), Labels: in.GetLabels(), CreateTime: now, UpdateTime: now, Scope: in.GetScope(),
		Type: &cmpb.Certificate_Managed{Managed: &cmpb.Certificate_ManagedCertificate{Domains: domains, DnsAuthorizations: auths}}}
	return s.cmOpLocked(p, "create", name, func() (proto.Message, error) {
		p.certs.certs[name] = c
		return s.certViewLocked(p, c), nil
	}), nil
}

// authForLocked is the authorization among auths for domain (a wildcard's
// is its parent's).
func (s *Sim) authForLocked(p *project, auths []string, domain string) *cmpb.DnsAuthorization {
	d := strings.TrimPrefix(domain, "*.")
	for _, n := range auths {
		if a := p.certs.auths[n]; a != nil && a.GetDomain() == d {
			return a
		}
	}
	return nil
}

// certViewLocked is a certificate as Google reports it now: its state and
// each domain's authorization worked out from the DNS as it stands.
func (s *Sim) certViewLocked(p *project, stored *cmpb.Certificate) *cmpb.Certificate {
	c := proto.Clone(stored).(*cmpb.Certificate)
	m := c.GetManaged()
	name := c.GetName()
	now := s.now()
	all, failed := true, false
	m.AuthorizationAttemptInfo = nil
	for _, d := range m.GetDomains() {
		info := &cmpb.Certificate_ManagedCertificate_AuthorizationAttemptInfo{Domain: d, AttemptTime: timestamppb.New(now)}
		info.State, info.FailureReason, info.Details = s.authorizeLocked(p, m.GetDnsAuthorizations(), d)
		switch info.State {
		case cmpb.Certificate_ManagedCertificate_AuthorizationAttemptInfo_FAILED:
			failed, all = true, false
		case cmpb.Certificate_ManagedCertificate_AuthorizationAttemptInfo_AUTHORIZING:
			all = false
		}
		m.AuthorizationAttemptInfo = append(m.AuthorizationAttemptInfo, info)
	}
	if at, ok := p.certs.activeAt[name]; ok {
		s.activeViewLocked(c, at)
		return c
	}
	switch {
	case failed:
		delete(p.certs.authorizedAt, name)
		m.State = cmpb.Certificate_ManagedCertificate_FAILED
		m.ProvisioningIssue = &cmpb.Certificate_ManagedCertificate_ProvisioningIssue{Reason: cmpb.Certificate_ManagedCertificate_ProvisioningIssue_AUTHORIZATION_ISSUE,
			Details: "Authorization failed for at least one domain: see authorizationAttemptInfo"}
	case !all:
		delete(p.certs.authorizedAt, name)
		m.State = cmpb.Certificate_ManagedCertificate_PROVISIONING
	default:
		at, ok := p.certs.authorizedAt[name]
		if !ok {
			at = now
			p.certs.authorizedAt[name] = at
		}
		if s.cond.CertStuck || now.Before(at.Add(s.opts.Profile.CertIssuance)) {
			m.State = cmpb.Certificate_ManagedCertificate_PROVISIONING
			break
		}
		p.certs.activeAt[name] = now
		s.activeViewLocked(c, now)
	}
	return c
}

// activeViewLocked fills what an issued certificate shows.
func (s *Sim) activeViewLocked(c *cmpb.Certificate, issued time.Time) {
	m := c.GetManaged()
	m.State = cmpb.Certificate_ManagedCertificate_ACTIVE
	m.ProvisioningIssue = nil
	for _, info := range m.AuthorizationAttemptInfo {
		info.State, info.FailureReason, info.Details = cmpb.Certificate_ManagedCertificate_AuthorizationAttemptInfo_AUTHORIZED, 0, ""
	}
	c.SanDnsnames = m.GetDomains()
	c.ExpireTime = timestamppb.New(issued.Add(90 * 24 * time.Hour))
	if leaf, err := s.ca.leaf(c.GetName(), m.GetDomains()); err == nil {
		c.PemCertificate = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]}))
	}
}

// authorizeLocked checks one domain the way the CA does: CAA first, then
// the authorization's CNAME.
func (s *Sim) authorizeLocked(p *project, auths []string, domain string) (cmpb.Certificate_ManagedCertificate_AuthorizationAttemptInfo_State, cmpb.Certificate_ManagedCertificate_AuthorizationAttemptInfo_FailureReason, string) {
	const (
		authorizing = cmpb.Certificate_ManagedCertificate_AuthorizationAttemptInfo_AUTHORIZING
		authorized  = cmpb.Certificate_ManagedCertificate_AuthorizationAttemptInfo_AUTHORIZED
		failed      = cmpb.Certificate_ManagedCertificate_AuthorizationAttemptInfo_FAILED
		caa         = cmpb.Certificate_ManagedCertificate_AuthorizationAttemptInfo_CAA
	)
	if at, forbids := s.caaForbidsLocked(domain); forbids {
		return failed, caa, fmt.Sprintf("CAA records at %s forbid issuance: none names %s", at, strings.Join(allowedIssuers, " or "))
	}
	a := s.authForLocked(p, auths, domain)
	if a == nil {
		return failed, cmpb.Certificate_ManagedCertificate_AuthorizationAttemptInfo_CONFIG, "no DNS authorization covers this domain"
	}
	rec := a.GetDnsResourceRecord()
	rr, _, _ := s.lookupLocked(rec.GetName(), "CNAME")
	if rr == nil || len(rr.Rrdatas) == 0 {
		return authorizing, 0, fmt.Sprintf("waiting for the CNAME record %s to resolve to %s", rec.GetName(), rec.GetData())
	}
	if !strings.EqualFold(fqdn(rr.Rrdatas[0]), fqdn(rec.GetData())) {
		return authorizing, 0, fmt.Sprintf("the CNAME record %s resolves to %s, not %s", rec.GetName(), rr.Rrdatas[0], rec.GetData())
	}
	return authorized, 0, ""
}

// caaForbidsLocked reports whether the closest CAA record set at domain or
// above (RFC 8659's tree climbing) allows none of Google's CAs.
func (s *Sim) caaForbidsLocked(domain string) (at string, forbids bool) {
	name := strings.TrimPrefix(domain, "*.")
	for strings.Contains(name, ".") {
		if rr, _, _ := s.lookupLocked(name, "CAA"); rr != nil {
			issue := false
			for _, d := range rr.Rrdatas {
				f := strings.Fields(d)
				if len(f) < 3 || (f[1] != "issue" && f[1] != "issuewild") {
					continue
				}
				issue = true
				ca := strings.Trim(f[2], `"`)
				if i := strings.Index(ca, ";"); i >= 0 {
					ca = ca[:i]
				}
				for _, ok := range allowedIssuers {
					if strings.EqualFold(strings.TrimSpace(ca), ok) {
						return "", false
					}
				}
			}
			return fqdn(name), issue
		}
		_, name, _ = strings.Cut(name, ".")
	}
	return "", false
}

func (cm *cmServer) GetCertificate(ctx context.Context, req *cmpb.GetCertificateRequest) (*cmpb.Certificate, error) {
	s := cm.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, name, err := s.cmNameLocked(req.GetName(), "certificates")
	if err != nil {
		return nil, err
	}
	c := p.certs.certs[name]
	if c == nil {
		return nil, cmNotFound(req.GetName())
	}
	return s.certViewLocked(p, c), nil
}

func (cm *cmServer) ListCertificates(ctx context.Context, req *cmpb.ListCertificatesRequest) (*cmpb.ListCertificatesResponse, error) {
	s := cm.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, parent, err := s.cmParentLocked(req.GetParent())
	if err != nil {
		return nil, err
	}
	var all []*cmpb.Certificate
	for _, n := range sortedKeys(p.certs.certs) {
		if strings.HasPrefix(n, parent+"/") {
			all = append(all, s.certViewLocked(p, p.certs.certs[n]))
		}
	}
	page, next, err := grpcPage(all, req.GetPageSize(), req.GetPageToken(), 100, 500)
	if err != nil {
		return nil, err
	}
	return &cmpb.ListCertificatesResponse{Certificates: page, NextPageToken: next}, nil
}

func (cm *cmServer) DeleteCertificate(ctx context.Context, req *cmpb.DeleteCertificateRequest) (*longrunningpb.Operation, error) {
	s := cm.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, name, err := s.cmNameLocked(req.GetName(), "certificates")
	if err != nil {
		return nil, err
	}
	if p.certs.certs[name] == nil {
		return nil, cmNotFound(req.GetName())
	}
	for _, en := range sortedKeys(p.certs.entries) {
		for _, c := range p.certs.entries[en].GetCertificates() {
			if c == name {
				return nil, status.Errorf(codes.FailedPrecondition, "Resource '%s' is used by '%s': delete the certificate map entry first", name, en)
			}
		}
	}
	return s.cmOpLocked(p, "delete", name, func() (proto.Message, error) {
		delete(p.certs.certs, name)
		delete(p.certs.authorizedAt, name)
		delete(p.certs.activeAt, name)
		return &emptypb.Empty{}, nil
	}), nil
}

func (cm *cmServer) CreateCertificateMap(ctx context.Context, req *cmpb.CreateCertificateMapRequest) (*longrunningpb.Operation, error) {
	s := cm.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, parent, err := s.cmParentLocked(req.GetParent())
	if err != nil {
		return nil, err
	}
	if err := cmCheckID("certificate_map", req.GetCertificateMapId()); err != nil {
		return nil, err
	}
	name := parent + "/certificateMaps/" + req.GetCertificateMapId()
	if _, ok := p.certs.maps[name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "Resource '%s' already exists", name)
	}
	now := timestamppb.New(s.now())
	in := req.GetCertificateMap()
	m := &cmpb.CertificateMap{Name: name, Description: in.GetDescription(), Labels: in.GetLabels(), CreateTime: now, UpdateTime: now}
	return s.cmOpLocked(p, "create", name, func() (proto.Message, error) {
		p.certs.maps[name] = m
		return s.mapViewLocked(p, m), nil
	}), nil
}

// mapViewLocked fills gclbTargets: the target HTTPS proxies using the map.
func (s *Sim) mapViewLocked(p *project, stored *cmpb.CertificateMap) *cmpb.CertificateMap {
	m := proto.Clone(stored).(*cmpb.CertificateMap)
	for _, key := range p.compute.httpsProxiesUsing(certMapPrefix + m.GetName()) {
		m.GclbTargets = append(m.GclbTargets, &cmpb.CertificateMap_GclbTarget{
			TargetProxy: &cmpb.CertificateMap_GclbTarget_TargetHttpsProxy{TargetHttpsProxy: "//compute.googleapis.com/projects/" + p.id + "/" + key},
		})
	}
	return m
}

func (cm *cmServer) GetCertificateMap(ctx context.Context, req *cmpb.GetCertificateMapRequest) (*cmpb.CertificateMap, error) {
	s := cm.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, name, err := s.cmNameLocked(req.GetName(), "certificateMaps")
	if err != nil {
		return nil, err
	}
	m := p.certs.maps[name]
	if m == nil {
		return nil, cmNotFound(req.GetName())
	}
	return s.mapViewLocked(p, m), nil
}

func (cm *cmServer) ListCertificateMaps(ctx context.Context, req *cmpb.ListCertificateMapsRequest) (*cmpb.ListCertificateMapsResponse, error) {
	s := cm.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, parent, err := s.cmParentLocked(req.GetParent())
	if err != nil {
		return nil, err
	}
	var all []*cmpb.CertificateMap
	for _, n := range sortedKeys(p.certs.maps) {
		if strings.HasPrefix(n, parent+"/") {
			all = append(all, s.mapViewLocked(p, p.certs.maps[n]))
		}
	}
	page, next, err := grpcPage(all, req.GetPageSize(), req.GetPageToken(), 100, 500)
	if err != nil {
		return nil, err
	}
	return &cmpb.ListCertificateMapsResponse{CertificateMaps: page, NextPageToken: next}, nil
}

func (cm *cmServer) DeleteCertificateMap(ctx context.Context, req *cmpb.DeleteCertificateMapRequest) (*longrunningpb.Operation, error) {
	s := cm.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, name, err := s.cmNameLocked(req.GetName(), "certificateMaps")
	if err != nil {
		return nil, err
	}
	if p.certs.maps[name] == nil {
		return nil, cmNotFound(req.GetName())
	}
	for _, en := range sortedKeys(p.certs.entries) {
		if strings.HasPrefix(en, name+"/") {
			return nil, status.Errorf(codes.FailedPrecondition, "Resource '%s' has entries (%s): delete them first", name, en)
		}
	}
	if users := p.compute.httpsProxiesUsing(certMapPrefix + name); len(users) > 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "Resource '%s' is used by '%s': delete the target HTTPS proxy first", name, users[0])
	}
	return s.cmOpLocked(p, "delete", name, func() (proto.Message, error) {
		delete(p.certs.maps, name)
		return &emptypb.Empty{}, nil
	}), nil
}

func (cm *cmServer) CreateCertificateMapEntry(ctx context.Context, req *cmpb.CreateCertificateMapEntryRequest) (*longrunningpb.Operation, error) {
	s := cm.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, mapName, err := s.cmNameLocked(req.GetParent(), "certificateMaps")
	if err != nil {
		return nil, err
	}
	if p.certs.maps[mapName] == nil {
		return nil, cmNotFound(req.GetParent())
	}
	if err := cmCheckID("certificate_map_entry", req.GetCertificateMapEntryId()); err != nil {
		return nil, err
	}
	name := mapName + "/certificateMapEntries/" + req.GetCertificateMapEntryId()
	if _, ok := p.certs.entries[name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "Resource '%s' already exists", name)
	}
	in := req.GetCertificateMapEntry()
	if in.GetHostname() == "" && in.GetMatcher() == cmpb.CertificateMapEntry_MATCHER_UNSPECIFIED {
		return nil, grpcInvalid("certificate_map_entry: set hostname, or matcher PRIMARY")
	}
	if len(in.GetCertificates()) != 1 {
		return nil, grpcInvalid("certificate_map_entry.certificates: exactly one certificate is supported, got %d", len(in.GetCertificates()))
	}
	var certs []string
	for _, c := range in.GetCertificates() {
		_, full, err := s.cmNameLocked(c, "certificates")
		if err != nil {
			return nil, err
		}
		if p.certs.certs[full] == nil {
			return nil, grpcInvalid("certificate_map_entry.certificates: %s does not exist", c)
		}
		certs = append(certs, full)
	}
	now := timestamppb.New(s.now())
	e := &cmpb.CertificateMapEntry{Name: name, Description: in.GetDescription(), Labels: in.GetLabels(), CreateTime: now, UpdateTime: now, Certificates: certs}
	if h := in.GetHostname(); h != "" {
		e.Match = &cmpb.CertificateMapEntry_Hostname{Hostname: strings.TrimSuffix(strings.ToLower(h), ".")}
	} else {
		e.Match = &cmpb.CertificateMapEntry_Matcher_{Matcher: in.GetMatcher()}
	}
	return s.cmOpLocked(p, "create", name, func() (proto.Message, error) {
		p.certs.entries[name] = e
		return s.entryViewLocked(p, e), nil
	}), nil
}

// entryViewLocked sets the entry's state: ACTIVE once its certificate is.
func (s *Sim) entryViewLocked(p *project, stored *cmpb.CertificateMapEntry) *cmpb.CertificateMapEntry {
	e := proto.Clone(stored).(*cmpb.CertificateMapEntry)
	e.State = cmpb.ServingState_ACTIVE
	for _, cn := range e.GetCertificates() {
		c := p.certs.certs[cn]
		if c == nil || s.certViewLocked(p, c).GetManaged().GetState() != cmpb.Certificate_ManagedCertificate_ACTIVE {
			e.State = cmpb.ServingState_PENDING
		}
	}
	return e
}

func (cm *cmServer) GetCertificateMapEntry(ctx context.Context, req *cmpb.GetCertificateMapEntryRequest) (*cmpb.CertificateMapEntry, error) {
	s := cm.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, name, err := s.cmNameLocked(req.GetName(), "certificateMaps")
	if err != nil {
		return nil, err
	}
	e := p.certs.entries[name]
	if e == nil {
		return nil, cmNotFound(req.GetName())
	}
	return s.entryViewLocked(p, e), nil
}

func (cm *cmServer) ListCertificateMapEntries(ctx context.Context, req *cmpb.ListCertificateMapEntriesRequest) (*cmpb.ListCertificateMapEntriesResponse, error) {
	s := cm.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, mapName, err := s.cmNameLocked(req.GetParent(), "certificateMaps")
	if err != nil {
		return nil, err
	}
	if p.certs.maps[mapName] == nil {
		return nil, cmNotFound(req.GetParent())
	}
	var all []*cmpb.CertificateMapEntry
	for _, n := range sortedKeys(p.certs.entries) {
		if strings.HasPrefix(n, mapName+"/") {
			all = append(all, s.entryViewLocked(p, p.certs.entries[n]))
		}
	}
	page, next, err := grpcPage(all, req.GetPageSize(), req.GetPageToken(), 100, 500)
	if err != nil {
		return nil, err
	}
	return &cmpb.ListCertificateMapEntriesResponse{CertificateMapEntries: page, NextPageToken: next}, nil
}

func (cm *cmServer) DeleteCertificateMapEntry(ctx context.Context, req *cmpb.DeleteCertificateMapEntryRequest) (*longrunningpb.Operation, error) {
	s := cm.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, name, err := s.cmNameLocked(req.GetName(), "certificateMaps")
	if err != nil {
		return nil, err
	}
	if p.certs.entries[name] == nil {
		return nil, cmNotFound(req.GetName())
	}
	return s.cmOpLocked(p, "delete", name, func() (proto.Message, error) {
		delete(p.certs.entries, name)
		return &emptypb.Empty{}, nil
	}), nil
}

// servingCertLocked is what a load balancer with certificate map mapName
// (full Compute reference) presents for the TLS server name host: the key
// pair of the ACTIVE certificate of the entry for host, else of the PRIMARY
// entry; nil if none is ACTIVE, and the handshake then fails, as Google's
// does while a certificate provisions.
func (s *Sim) servingCertLocked(project, mapRef, host string) (name string, domains []string) {
	p := s.projects[project]
	if p == nil {
		return "", nil
	}
	mapName := strings.TrimPrefix(mapRef, certMapPrefix)
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	var primary, exact, wild *cmpb.CertificateMapEntry
	keys := sortedKeys(p.certs.entries)
	sort.Strings(keys)
	for _, en := range keys {
		if !strings.HasPrefix(en, mapName+"/") {
			continue
		}
		e := p.certs.entries[en]
		switch h := e.GetHostname(); {
		case h == host:
			exact = e
		case strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:]):
			wild = e
		case e.GetMatcher() == cmpb.CertificateMapEntry_PRIMARY:
			primary = e
		}
	}
	for _, e := range []*cmpb.CertificateMapEntry{exact, wild, primary} {
		if e == nil {
			continue
		}
		c := p.certs.certs[e.GetCertificates()[0]]
		if c == nil {
			return "", nil
		}
		v := s.certViewLocked(p, c)
		if v.GetManaged().GetState() != cmpb.Certificate_ManagedCertificate_ACTIVE {
			return "", nil
		}
		return v.GetName(), v.GetManaged().GetDomains()
	}
	return "", nil
}
