package sim

import (
	"context"
	"encoding/pem"
	"fmt"
	"slices"
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

// cmKind is one Certificate Manager collection. Create, Get, List and
// Delete work alike for all four (cmKind's methods); what differs is said
// here: how a new resource is checked and built, what a read shows, what
// keeps one from being deleted. Both wire surfaces call the same methods.
type cmKind[M proto.Message] struct {
	collection string // the name's segment and the REST path's: dnsAuthorizations
	idKind     string // the create request's ID field, as errors name it
	rpc, rpcs  string // the RPC names' noun, one and many: DnsAuthorization(s)
	underMap   bool   // entries: the parent is a certificate map, not a location
	store      func(*certState) map[string]M
	// build checks a create request's resource in and returns what is
	// stored under name. Call with s.mu held.
	build func(s *Sim, p *project, name string, in M) (M, error)
	// view is what a read shows of a stored resource; nil: as stored.
	view func(s *Sim, p *project, m M) M
	// inUse says why name may not be deleted; nil if it may.
	inUse func(p *project, name string) error
	// forget drops what else the project keeps about a deleted name.
	forget func(cs *certState, name string)
	// listed is the List response holding a page.
	listed func(page []M, next string) proto.Message
}

// parentLocked resolves a parent: a location, or for entries a map that
// must exist. Call with s.mu held.
func (k *cmKind[M]) parentLocked(s *Sim, parent string) (*project, string, error) {
	if !k.underMap {
		return s.cmParentLocked(parent)
	}
	p, mapName, err := s.cmNameLocked(parent, "certificateMaps")
	if err != nil {
		return nil, "", err
	}
	if p.certs.maps[mapName] == nil {
		return nil, "", cmNotFound(parent)
	}
	return p, mapName, nil
}

// nameLocked resolves a resource's full name. Call with s.mu held.
func (k *cmKind[M]) nameLocked(s *Sim, name string) (*project, string, error) {
	if k.underMap {
		return s.cmNameLocked(name, "certificateMaps")
	}
	return s.cmNameLocked(name, k.collection)
}

// idParam is the REST query parameter of a create's ID: dnsAuthorizationId.
func (k *cmKind[M]) idParam() string { return strings.ToLower(k.rpc[:1]) + k.rpc[1:] + "Id" }

func (k *cmKind[M]) viewLocked(s *Sim, p *project, m M) M {
	if k.view == nil {
		return m
	}
	return k.view(s, p, m)
}

func (k *cmKind[M]) create(s *Sim, parent, id string, in M) (*longrunningpb.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, full, err := k.parentLocked(s, parent)
	if err != nil {
		return nil, err
	}
	if err := cmCheckID(k.idKind, id); err != nil {
		return nil, err
	}
	name := full + "/" + k.collection + "/" + id
	if _, ok := k.store(p.certs)[name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "Resource '%s' already exists", name)
	}
	m, err := k.build(s, p, name, in)
	if err != nil {
		return nil, err
	}
	return s.cmOpLocked(p, "create", name, func() (proto.Message, error) {
		k.store(p.certs)[name] = m
		return k.viewLocked(s, p, m), nil
	}), nil
}

func (k *cmKind[M]) get(s *Sim, name string) (M, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var none M
	p, full, err := k.nameLocked(s, name)
	if err != nil {
		return none, err
	}
	m, ok := k.store(p.certs)[full]
	if !ok {
		return none, cmNotFound(name)
	}
	return k.viewLocked(s, p, m), nil
}

func (k *cmKind[M]) list(s *Sim, parent string, size int32, token string) (proto.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if loc, ok := strings.CutSuffix(parent, "/locations/-"); ok && !k.underMap {
		// "-" lists every location, as gcloud's list does by default; the
		// simulator keeps its resources in global alone.
		parent = loc + "/locations/global"
	}
	p, full, err := k.parentLocked(s, parent)
	if err != nil {
		return nil, err
	}
	stored := k.store(p.certs)
	var all []M
	for _, n := range sortedKeys(stored) {
		if strings.HasPrefix(n, full+"/"+k.collection+"/") {
			all = append(all, k.viewLocked(s, p, stored[n]))
		}
	}
	page, next, err := grpcPage(all, size, token, 100, 500)
	if err != nil {
		return nil, err
	}
	return k.listed(page, next), nil
}

func (k *cmKind[M]) delete(s *Sim, name string) (*longrunningpb.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, full, err := k.nameLocked(s, name)
	if err != nil {
		return nil, err
	}
	if _, ok := k.store(p.certs)[full]; !ok {
		return nil, cmNotFound(name)
	}
	if k.inUse != nil {
		if err := k.inUse(p, full); err != nil {
			return nil, err
		}
	}
	return s.cmOpLocked(p, "delete", full, func() (proto.Message, error) {
		delete(k.store(p.certs), full)
		if k.forget != nil {
			k.forget(p.certs, full)
		}
		return &emptypb.Empty{}, nil
	}), nil
}

// cmList is a kind's List answered as the RPC's own response type R.
func cmList[R, M proto.Message](s *Sim, k *cmKind[M], parent string, size int32, token string) (R, error) {
	var none R
	out, err := k.list(s, parent, size, token)
	if err != nil {
		return none, err
	}
	return out.(R), nil
}

var cmAuths = &cmKind[*cmpb.DnsAuthorization]{
	collection: "dnsAuthorizations", idKind: "dns_authorization", rpc: "DnsAuthorization", rpcs: "DnsAuthorizations",
	store: func(cs *certState) map[string]*cmpb.DnsAuthorization { return cs.auths },
	build: (*Sim).cmBuildAuthLocked,
	inUse: func(p *project, name string) error {
		for _, cn := range sortedKeys(p.certs.certs) {
			if slices.Contains(p.certs.certs[cn].GetManaged().GetDnsAuthorizations(), name) {
				return status.Errorf(codes.FailedPrecondition, "Resource '%s' is used by '%s': delete the certificate first", name, cn)
			}
		}
		return nil
	},
	listed: func(page []*cmpb.DnsAuthorization, next string) proto.Message {
		return &cmpb.ListDnsAuthorizationsResponse{DnsAuthorizations: page, NextPageToken: next}
	},
}

var cmCerts = &cmKind[*cmpb.Certificate]{
	collection: "certificates", idKind: "certificate", rpc: "Certificate", rpcs: "Certificates",
	store: func(cs *certState) map[string]*cmpb.Certificate { return cs.certs },
	build: (*Sim).cmBuildCertLocked,
	view:  (*Sim).certViewLocked,
	inUse: func(p *project, name string) error {
		for _, en := range sortedKeys(p.certs.entries) {
			if slices.Contains(p.certs.entries[en].GetCertificates(), name) {
				return status.Errorf(codes.FailedPrecondition, "Resource '%s' is used by '%s': delete the certificate map entry first", name, en)
			}
		}
		return nil
	},
	forget: func(cs *certState, name string) {
		delete(cs.authorizedAt, name)
		delete(cs.activeAt, name)
	},
	listed: func(page []*cmpb.Certificate, next string) proto.Message {
		return &cmpb.ListCertificatesResponse{Certificates: page, NextPageToken: next}
	},
}

var cmMaps = &cmKind[*cmpb.CertificateMap]{
	collection: "certificateMaps", idKind: "certificate_map", rpc: "CertificateMap", rpcs: "CertificateMaps",
	store: func(cs *certState) map[string]*cmpb.CertificateMap { return cs.maps },
	build: func(s *Sim, _ *project, name string, in *cmpb.CertificateMap) (*cmpb.CertificateMap, error) {
		now := timestamppb.New(s.now())
		return &cmpb.CertificateMap{Name: name, Description: in.GetDescription(), Labels: in.GetLabels(), CreateTime: now, UpdateTime: now}, nil
	},
	view: (*Sim).mapViewLocked,
	inUse: func(p *project, name string) error {
		for _, en := range sortedKeys(p.certs.entries) {
			if strings.HasPrefix(en, name+"/") {
				return status.Errorf(codes.FailedPrecondition, "Resource '%s' has entries (%s): delete them first", name, en)
			}
		}
		if users := p.compute.httpsProxiesUsing(certMapPrefix + name); len(users) > 0 {
			return status.Errorf(codes.FailedPrecondition, "Resource '%s' is used by '%s': delete the target HTTPS proxy first", name, users[0])
		}
		return nil
	},
	listed: func(page []*cmpb.CertificateMap, next string) proto.Message {
		return &cmpb.ListCertificateMapsResponse{CertificateMaps: page, NextPageToken: next}
	},
}

var cmEntries = &cmKind[*cmpb.CertificateMapEntry]{
	collection: "certificateMapEntries", idKind: "certificate_map_entry", rpc: "CertificateMapEntry", rpcs: "CertificateMapEntries",
	underMap: true,
	store:    func(cs *certState) map[string]*cmpb.CertificateMapEntry { return cs.entries },
	build:    (*Sim).cmBuildEntryLocked,
	view:     (*Sim).entryViewLocked,
	listed: func(page []*cmpb.CertificateMapEntry, next string) proto.Message {
		return &cmpb.ListCertificateMapEntriesResponse{CertificateMapEntries: page, NextPageToken: next}
	},
}

// cmBuildAuthLocked checks a new DNS authorization and gives it the CNAME
// record the learner must add.
func (s *Sim) cmBuildAuthLocked(p *project, name string, in *cmpb.DnsAuthorization) (*cmpb.DnsAuthorization, error) {
	domain := strings.TrimSuffix(strings.ToLower(in.GetDomain()), ".")
	if domain == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, "*") {
		return nil, grpcInvalid("dns_authorization.domain %q is not a domain name; give the domain without a wildcard, e.g. example.com", in.GetDomain())
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
	return &cmpb.DnsAuthorization{Name: name, CreateTime: now, UpdateTime: now, Labels: in.GetLabels(), Description: in.GetDescription(), Domain: domain, DnsResourceRecord: rec, Type: typ}, nil
}

// cmBuildCertLocked checks a new Google-managed certificate: domains, each
// with a DNS authorization that exists.
func (s *Sim) cmBuildCertLocked(p *project, name string, in *cmpb.Certificate) (*cmpb.Certificate, error) {
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
	return &cmpb.Certificate{Name: name, Description: in.GetDescription(), Labels: in.GetLabels(), CreateTime: now, UpdateTime: now, Scope: in.GetScope(),
		Type: &cmpb.Certificate_Managed{Managed: &cmpb.Certificate_ManagedCertificate{Domains: domains, DnsAuthorizations: auths}}}, nil
}

// cmBuildEntryLocked checks a new map entry: a hostname or PRIMARY, and one
// certificate that exists.
func (s *Sim) cmBuildEntryLocked(p *project, name string, in *cmpb.CertificateMapEntry) (*cmpb.CertificateMapEntry, error) {
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
	return e, nil
}

// The gRPC methods: each is its kind's verb.

func (cm *cmServer) CreateDnsAuthorization(_ context.Context, req *cmpb.CreateDnsAuthorizationRequest) (*longrunningpb.Operation, error) {
	return cmAuths.create(cm.s, req.GetParent(), req.GetDnsAuthorizationId(), req.GetDnsAuthorization())
}

func (cm *cmServer) GetDnsAuthorization(_ context.Context, req *cmpb.GetDnsAuthorizationRequest) (*cmpb.DnsAuthorization, error) {
	return cmAuths.get(cm.s, req.GetName())
}

func (cm *cmServer) ListDnsAuthorizations(_ context.Context, req *cmpb.ListDnsAuthorizationsRequest) (*cmpb.ListDnsAuthorizationsResponse, error) {
	return cmList[*cmpb.ListDnsAuthorizationsResponse](cm.s, cmAuths, req.GetParent(), req.GetPageSize(), req.GetPageToken())
}

func (cm *cmServer) DeleteDnsAuthorization(_ context.Context, req *cmpb.DeleteDnsAuthorizationRequest) (*longrunningpb.Operation, error) {
	return cmAuths.delete(cm.s, req.GetName())
}

func (cm *cmServer) CreateCertificate(_ context.Context, req *cmpb.CreateCertificateRequest) (*longrunningpb.Operation, error) {
	return cmCerts.create(cm.s, req.GetParent(), req.GetCertificateId(), req.GetCertificate())
}

func (cm *cmServer) GetCertificate(_ context.Context, req *cmpb.GetCertificateRequest) (*cmpb.Certificate, error) {
	return cmCerts.get(cm.s, req.GetName())
}

func (cm *cmServer) ListCertificates(_ context.Context, req *cmpb.ListCertificatesRequest) (*cmpb.ListCertificatesResponse, error) {
	return cmList[*cmpb.ListCertificatesResponse](cm.s, cmCerts, req.GetParent(), req.GetPageSize(), req.GetPageToken())
}

func (cm *cmServer) DeleteCertificate(_ context.Context, req *cmpb.DeleteCertificateRequest) (*longrunningpb.Operation, error) {
	return cmCerts.delete(cm.s, req.GetName())
}

func (cm *cmServer) CreateCertificateMap(_ context.Context, req *cmpb.CreateCertificateMapRequest) (*longrunningpb.Operation, error) {
	return cmMaps.create(cm.s, req.GetParent(), req.GetCertificateMapId(), req.GetCertificateMap())
}

func (cm *cmServer) GetCertificateMap(_ context.Context, req *cmpb.GetCertificateMapRequest) (*cmpb.CertificateMap, error) {
	return cmMaps.get(cm.s, req.GetName())
}

func (cm *cmServer) ListCertificateMaps(_ context.Context, req *cmpb.ListCertificateMapsRequest) (*cmpb.ListCertificateMapsResponse, error) {
	return cmList[*cmpb.ListCertificateMapsResponse](cm.s, cmMaps, req.GetParent(), req.GetPageSize(), req.GetPageToken())
}

func (cm *cmServer) DeleteCertificateMap(_ context.Context, req *cmpb.DeleteCertificateMapRequest) (*longrunningpb.Operation, error) {
	return cmMaps.delete(cm.s, req.GetName())
}

func (cm *cmServer) CreateCertificateMapEntry(_ context.Context, req *cmpb.CreateCertificateMapEntryRequest) (*longrunningpb.Operation, error) {
	return cmEntries.create(cm.s, req.GetParent(), req.GetCertificateMapEntryId(), req.GetCertificateMapEntry())
}

func (cm *cmServer) GetCertificateMapEntry(_ context.Context, req *cmpb.GetCertificateMapEntryRequest) (*cmpb.CertificateMapEntry, error) {
	return cmEntries.get(cm.s, req.GetName())
}

func (cm *cmServer) ListCertificateMapEntries(_ context.Context, req *cmpb.ListCertificateMapEntriesRequest) (*cmpb.ListCertificateMapEntriesResponse, error) {
	return cmList[*cmpb.ListCertificateMapEntriesResponse](cm.s, cmEntries, req.GetParent(), req.GetPageSize(), req.GetPageToken())
}

func (cm *cmServer) DeleteCertificateMapEntry(_ context.Context, req *cmpb.DeleteCertificateMapEntryRequest) (*longrunningpb.Operation, error) {
	return cmEntries.delete(cm.s, req.GetName())
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
