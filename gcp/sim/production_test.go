package sim_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/gcp/sim/simtest"
	"github.com/miekg/dns"
	dnsapi "google.golang.org/api/dns/v1"
	"google.golang.org/protobuf/proto"
)

// Production practice on the simulator, through the official clients (via
// package gcp): Cloud DNS and its DNS server, static addresses, HTTPS
// proxies with Certificate Manager maps, TLS and redirects on the data
// plane.

const prodProject = "beyond-prod-test"

func prodCloud(t *testing.T, opts sim.Options) (*sim.Sim, *gcp.Cloud) {
	t.Helper()
	s := simtest.Start(t, opts)
	c := simtest.Connect(t, s, prodProject)
	if err := c.EnableAPIs(context.Background(), []string{"compute.googleapis.com", "dns.googleapis.com", "certificatemanager.googleapis.com"}, nil); err != nil {
		t.Fatal(err)
	}
	return s, c
}

func ask(t *testing.T, net, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	c := &dns.Client{Net: net}
	in, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("dig @%s %s %s over %s: %v", addr, name, dns.TypeToString[qtype], net, err)
	}
	return in
}

func TestDNSServerAnswersTheZones(t *testing.T) {
	s, c := prodCloud(t, sim.Options{})
	ctx := context.Background()
	if _, err := c.CreateZone(ctx, "zone", "beyond.example.", "", nil); err != nil {
		t.Fatal(err)
	}
	for _, rr := range []*dnsapi.ResourceRecordSet{
		{Name: "api.beyond.example.", Type: "A", Ttl: 300, Rrdatas: []string{"192.0.2.1"}},
		{Name: "www.beyond.example.", Type: "CNAME", Ttl: 300, Rrdatas: []string{"api.beyond.example."}},
	} {
		if err := c.SetRecord(ctx, "zone", rr, nil); err != nil {
			t.Fatal(err)
		}
	}
	addr := s.Endpoints().DNS
	for _, proto := range []string{"udp", "tcp"} {
		in := ask(t, proto, addr, "api.beyond.example.", dns.TypeA)
		if len(in.Answer) != 1 || in.Answer[0].(*dns.A).A.String() != "192.0.2.1" || !in.Authoritative {
			t.Errorf("%s: A api = %v", proto, in.Answer)
		}
	}
	in := ask(t, "udp", addr, "www.beyond.example.", dns.TypeA)
	if len(in.Answer) != 2 || in.Answer[0].Header().Rrtype != dns.TypeCNAME || in.Answer[1].(*dns.A).A.String() != "192.0.2.1" {
		t.Errorf("A www = %v; want the CNAME, then the A it leads to", in.Answer)
	}
	if in := ask(t, "udp", addr, "nothing.beyond.example.", dns.TypeA); in.Rcode != dns.RcodeNameError {
		t.Errorf("a name with no records: %s; want NXDOMAIN", dns.RcodeToString[in.Rcode])
	}
	if in := ask(t, "udp", addr, "beyond.example.", dns.TypeNS); len(in.Answer) != 4 {
		t.Errorf("NS at the apex = %v; want the zone's four name servers", in.Answer)
	}
	if in := ask(t, "udp", addr, "example.com.", dns.TypeA); in.Rcode != dns.RcodeRefused {
		t.Errorf("a name in no zone: %s; want REFUSED (no recursion)", dns.RcodeToString[in.Rcode])
	}
	// Google refuses to delete a zone that still has records.
	if _, err := c.DeleteZone(ctx, "zone", nil); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("delete a zone with records: %v; want Google's 'not empty'", err)
	}
	// A CNAME cannot sit beside another type.
	err := c.SetRecord(ctx, "zone", &dnsapi.ResourceRecordSet{Name: "www.beyond.example.", Type: "TXT", Ttl: 300, Rrdatas: []string{"x"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "CNAME") {
		t.Errorf("TXT beside a CNAME: %v; want refused", err)
	}
}

// httpChain makes backend service, URL map, target HTTP proxy and a rule
// on port 80, and returns the rule's IP.
func httpChain(t testing.TB, c *gcp.Cloud) string {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CreateBackendService(ctx, &computepb.BackendService{Name: proto.String("bs"), LoadBalancingScheme: proto.String("EXTERNAL_MANAGED"), Protocol: proto.String("HTTP")}, nil))
	must(c.CreateURLMap(ctx, &computepb.UrlMap{Name: proto.String("web"), DefaultService: proto.String(c.GlobalURL("backendServices", "bs"))}, nil))
	must(c.CreateTargetHTTPProxy(ctx, "http-proxy", "web", nil))
	must(c.CreateForwardingRule(ctx, "http-rule", "http-proxy", "EXTERNAL_MANAGED", "80", nil))
	r, err := c.GetForwardingRule(ctx, "http-rule")
	must(err)
	return r.GetIPAddress()
}

func TestStaticAddressPromotesTheRulesIP(t *testing.T) {
	_, c := prodCloud(t, sim.Options{})
	ctx := context.Background()
	ip := httpChain(t, c)
	if err := c.ReserveAddress(ctx, "other", "127.99.0.1", nil); err == nil || !strings.Contains(err.Error(), "not an ephemeral address") {
		t.Errorf("reserve an IP no rule holds: %v; want refused", err)
	}
	if err := c.ReserveAddress(ctx, "ip", ip, nil); err != nil {
		t.Fatal(err)
	}
	a, err := c.GetAddress(ctx, "ip")
	if err != nil || a.GetAddress() != ip || a.GetStatus() != "IN_USE" || len(a.GetUsers()) != 1 || !strings.HasSuffix(a.GetUsers()[0], "/forwardingRules/http-rule") {
		t.Fatalf("address %v %v; want %s IN_USE by http-rule", a, err, ip)
	}
	if _, err := c.DeleteAddress(ctx, "ip", nil); gcp.KindOf(err) != gcp.KindInUse {
		t.Errorf("release an address a rule holds: %v; want in use", err)
	}
	if _, err := c.DeleteForwardingRule(ctx, "http-rule", nil); err != nil {
		t.Fatal(err)
	}
	if a, _ := c.GetAddress(ctx, "ip"); a.GetStatus() != "RESERVED" {
		t.Errorf("after the rule went: %s; want RESERVED (it outlives the rule)", a.GetStatus())
	}
	if gone, err := c.DeleteAddress(ctx, "ip", nil); !gone || err != nil {
		t.Errorf("release: %v %v", gone, err)
	}
}

// httpsChain adds a zone, a certificate for host, a map, an HTTPS proxy and
// a rule on 443 at the HTTP rule's static address; it returns the address.
func httpsChain(t testing.TB, s *sim.Sim, c *gcp.Cloud, host string) string {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ip := httpChain(t, c)
	must(c.ReserveAddress(ctx, "ip", ip, nil))
	_, err := c.CreateZone(ctx, "zone", "beyond.example.", "", nil)
	must(err)
	must(c.CreateDNSAuthorization(ctx, "auth", host, nil))
	a, err := c.GetDNSAuthorization(ctx, "auth")
	must(err)
	rec := a.GetDnsResourceRecord()
	if rec.GetName() != "_acme-challenge."+host+"." || rec.GetType() != "CNAME" || !strings.HasSuffix(rec.GetData(), ".authorize.certificatemanager.goog.") {
		t.Errorf("DNS authorization record %v", rec)
	}
	must(c.SetRecord(ctx, "zone", &dnsapi.ResourceRecordSet{Name: rec.GetName(), Type: "CNAME", Ttl: 300, Rrdatas: []string{rec.GetData()}}, nil))
	must(c.CreateManagedCertificate(ctx, "cert", []string{host}, []string{"auth"}, nil))
	must(c.CreateCertificateMap(ctx, "map", nil))
	must(c.CreateCertificateMapEntry(ctx, "map", "entry", host, "cert", nil))
	must(c.CreateTargetHTTPSProxy(ctx, "https-proxy", "web", "map", nil))
	must(c.CreateHTTPSForwardingRule(ctx, "https-rule", "https-proxy", "ip", "EXTERNAL_MANAGED", nil))
	r, err := c.GetForwardingRule(ctx, "https-rule")
	must(err)
	if r.GetIPAddress() != ip {
		t.Fatalf("the HTTPS rule is at %s; want the static %s", r.GetIPAddress(), ip)
	}
	return ip
}

// dialTLS makes a TLS handshake with the HTTPS load balancer at ip:443 as a
// client that trusts only the simulator's CA.
func dialTLS(t *testing.T, s *sim.Sim, ip, host string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr, err := s.AwaitFrontend(ctx, prodProject, ip, 443)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := s.CACertPEM()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: host})
	if err == nil {
		conn.Close()
	}
	return err
}

func TestHTTPSServesTheMapsCertificateOnceActive(t *testing.T) {
	s, c := prodCloud(t, sim.Options{})
	host := "api.beyond.example"
	ip := httpsChain(t, s, c, host)
	if err := dialTLS(t, s, ip, host); err != nil {
		t.Errorf("handshake for %s: %v; want the chain to verify to the simulator's CA", host, err)
	}
	// A name the map has no entry for gets no certificate.
	if err := dialTLS(t, s, ip, "other.beyond.example"); err == nil {
		t.Error("handshake for a name the map does not hold succeeded")
	}
	cert, err := c.GetCertificate(context.Background(), "cert")
	if err != nil || cert.GetManaged().GetState().String() != "ACTIVE" || !strings.HasPrefix(cert.GetPemCertificate(), "-----BEGIN CERTIFICATE-----") {
		t.Errorf("certificate %v %v; want ACTIVE with its PEM", cert.GetManaged().GetState(), err)
	}
}

func TestHTTPSHandshakeFailsWhileTheCertificateProvisions(t *testing.T) {
	s, c := prodCloud(t, sim.Options{Conditions: &sim.Conditions{CertStuck: true}})
	host := "api.beyond.example"
	ip := httpsChain(t, s, c, host)
	if err := dialTLS(t, s, ip, host); err == nil {
		t.Error("the handshake succeeded while the certificate is PROVISIONING; Google serves none then")
	}
	e, err := c.GetCertificateMapEntry(context.Background(), "map", "entry")
	if err != nil || e.GetState().String() != "PENDING" {
		t.Errorf("map entry %v %v; want PENDING while its certificate provisions", e.GetState(), err)
	}
}

func TestURLMapRedirectAnswersHTTPS(t *testing.T) {
	s, c := prodCloud(t, sim.Options{})
	ctx := context.Background()
	// The proxy uses the redirect map from the start, so that the rule's
	// listener serves it from its first moment.
	if err := c.CreateURLMap(ctx, &computepb.UrlMap{Name: proto.String("redirect"), DefaultUrlRedirect: &computepb.HttpRedirectAction{
		HttpsRedirect: proto.Bool(true), RedirectResponseCode: proto.String("MOVED_PERMANENTLY_DEFAULT")}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTargetHTTPProxy(ctx, "http-proxy", "redirect", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateForwardingRule(ctx, "http-rule", "http-proxy", "EXTERNAL_MANAGED", "80", nil); err != nil {
		t.Fatal(err)
	}
	r, err := c.GetForwardingRule(ctx, "http-rule")
	if err != nil {
		t.Fatal(err)
	}
	ip := r.GetIPAddress()
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	addr, err := s.AwaitFrontend(actx, prodProject, ip, 80)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/health?x=1", nil)
	req.Host = "api.beyond.example"
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://api.beyond.example/health?x=1" {
		t.Errorf("redirect: %s Location %q", resp.Status, resp.Header.Get("Location"))
	}
	// The redirect map is in use: Google refuses to delete it.
	if _, err := c.DeleteURLMap(ctx, "redirect", nil); gcp.KindOf(err) != gcp.KindInUse {
		t.Errorf("delete a map a proxy uses: %v; want in use", err)
	}
}

func TestCertConditionParses(t *testing.T) {
	c, err := sim.ParseConditions("cert=stuck", sim.Conditions{})
	if err != nil || !c.CertStuck {
		t.Errorf("cert=stuck: %+v %v", c, err)
	}
	if c, err = sim.ParseConditions("cert=ok", c); err != nil || c.CertStuck {
		t.Errorf("cert=ok: %+v %v", c, err)
	}
	if _, err := sim.ParseConditions("cert=slow", sim.Conditions{}); err == nil || !strings.Contains(err.Error(), "stuck") {
		t.Errorf("cert=slow: %v; want refused, naming the values", err)
	}
}

// BenchmarkHTTPSHandshake is one TLS handshake with an HTTPS load balancer:
// the certificate chosen from the map by SNI (its state worked out from the
// DNS under the simulator's lock), the CA's leaf served from its cache.
func BenchmarkHTTPSHandshake(b *testing.B) {
	s := simtest.Start(b, sim.Options{})
	c := simtest.Connect(b, s, prodProject)
	ctx := context.Background()
	if err := c.EnableAPIs(ctx, []string{"compute.googleapis.com", "dns.googleapis.com", "certificatemanager.googleapis.com"}, nil); err != nil {
		b.Fatal(err)
	}
	host := "api.beyond.example"
	ip := httpsChain(b, s, c, host)
	addr, err := s.AwaitFrontend(ctx, prodProject, ip, 443)
	if err != nil {
		b.Fatal(err)
	}
	pem, _ := s.CACertPEM()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool, ServerName: host}
	b.ResetTimer()
	for b.Loop() {
		conn, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			b.Fatal(err)
		}
		conn.Close()
	}
}
