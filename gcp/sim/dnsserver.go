package sim

import (
	"fmt"
	"net"
	"strings"

	"github.com/miekg/dns"
)

// dnsServer answers DNS queries (UDP and TCP, one port) from every project's
// public Cloud DNS zones: the simulator's stand-in for the internet's DNS,
// delegation included, so `dig @ADDR -p PORT api.example.test` and the lab's
// resolver see what a learner put in Cloud DNS, at once.
type dnsServer struct {
	addr     string // host:port, UDP and TCP
	udp, tcp *dns.Server
}

// startDNS listens for DNS on the simulator's host, UDP and TCP on one port.
func (s *Sim) startDNS() error {
	h := dns.HandlerFunc(s.serveDNS)
	var lastErr error
	for range 10 {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(s.opts.Host, "0"))
		if err != nil {
			return fmt.Errorf("simulator: listen for DNS (UDP) on %s: %w", s.opts.Host, err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			lastErr = err
			continue // the port is taken for TCP: try another
		}
		s.dns.addr = pc.LocalAddr().String()
		s.dns.udp = &dns.Server{PacketConn: pc, Handler: h}
		s.dns.tcp = &dns.Server{Listener: l, Handler: h}
		go s.dns.udp.ActivateAndServe()
		go s.dns.tcp.ActivateAndServe()
		s.mu.Lock()
		s.endpoints.DNS = s.dns.addr
		s.mu.Unlock()
		if !s.onClose(func() error {
			s.dns.udp.Shutdown()
			return s.dns.tcp.Shutdown()
		}) {
			s.dns.udp.Shutdown()
			s.dns.tcp.Shutdown()
		}
		return nil
	}
	return fmt.Errorf("simulator: listen for DNS (TCP) on %s: %w", s.opts.Host, lastErr)
}

func (s *Sim) serveDNS(w dns.ResponseWriter, q *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(q)
	m.Authoritative = true
	if len(q.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	qn := q.Question[0]
	typ := dns.TypeToString[qn.Qtype]
	s.mu.Lock()
	name := qn.Name
	found, anyZone := false, false
	for hop := 0; hop < 8; hop++ {
		rr, zone, exists := s.lookupLocked(name, typ)
		anyZone = anyZone || zone
		if rr != nil {
			m.Answer = append(m.Answer, dnsRRs(rr.Name, rr.Type, rr.Ttl, rr.Rrdatas)...)
			found = true
			break
		}
		// A CNAME answers any type; follow it if it stays in the zones.
		if cn, _, _ := s.lookupLocked(name, "CNAME"); cn != nil && typ != "CNAME" {
			m.Answer = append(m.Answer, dnsRRs(cn.Name, cn.Type, cn.Ttl, cn.Rrdatas)...)
			found = true
			name = cn.Rrdatas[0]
			continue
		}
		if hop == 0 && !exists && zone {
			m.Rcode = dns.RcodeNameError
		}
		break
	}
	s.mu.Unlock()
	if !found && !anyZone {
		m.Rcode = dns.RcodeRefused // not ours: the simulator is no recursive resolver
		m.Authoritative = false
	}
	w.WriteMsg(m)
}

// dnsRRs turns a Cloud DNS record set into wire records.
func dnsRRs(name, typ string, ttl int64, datas []string) []dns.RR {
	var out []dns.RR
	for _, d := range datas {
		if typ == "TXT" && !strings.HasPrefix(d, `"`) {
			d = `"` + d + `"`
		}
		rr, err := dns.NewRR(fmt.Sprintf("%s %d IN %s %s", name, ttl, typ, d))
		if err == nil && rr != nil {
			out = append(out, rr)
		}
	}
	return out
}
