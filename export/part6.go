package export

import (
	"fmt"
	"slices"
	"strings"
)

// A Part is a part of the lab this package does not read itself: Part 6's
// Cloud DNS zone and records, Certificate Manager certificate, map and map
// entry. Whoever reads them through gcp adds them to Lab.Extra, and they
// are exported with the rest: as Terraform resources and as gcloud
// commands of the script.
type Part interface {
	// terraform renders its resources, each with the resource paths
	// ("projects/P/…") that other resources use to refer to it; the lab's
	// names and domain are written as its variables (r.expr).
	terraform(r *refs) []PartResource
	// script renders the gcloud commands that create it when it does not
	// exist (describe, or create), in bash, the lab's names and domain as
	// the script's variables ($DNS_ZONE, ${DOMAIN}).
	script(sv shellVars) string
}

// PartResource is one resource of a Part and the paths it is known by.
type PartResource struct {
	Resource
	Paths []string
}

// DNSZone is a Cloud DNS managed zone and its record sets.
type DNSZone struct {
	Name        string // the zone's name, e.g. beyond-zone
	DNSName     string // e.g. example.com. (with the final dot)
	Description string
	Records     []DNSRecord
}

// DNSRecord is one record set of a zone.
type DNSRecord struct {
	Name    string // e.g. gemini.example.com.
	Type    string // A, AAAA, CNAME, …
	TTL     int64
	RRDatas []string
	// Address is the global address whose IP the record holds, and Auth
	// the DNS authorization whose CNAME it is, when so: the configuration
	// refers to them and the script asks them for the data, which another
	// project's address and authorization do not share.
	Address, Auth string
}

// Terraform: google_dns_managed_zone (import
// projects/{{project}}/managedZones/{{name}}) and google_dns_record_set
// (import projects/{{project}}/managedZones/{{zone}}/rrsets/{{name}}/{{type}}),
// as their provider pages give them.
func (z DNSZone) terraform(r *refs) []PartResource {
	w := &body{}
	w.attr("name", r.expr(z.Name, "dns_zone"))
	w.attr("dns_name", r.expr(z.DNSName))
	if z.Description != "" {
		w.attr("description", r.expr(z.Description))
	}
	zone := Resource{Type: "google_dns_managed_zone", Name: localName(z.Name), Doc: docPage("google_dns_managed_zone"),
		Notes:  []string{"Your registrar must delegate the domain to this zone's name servers (output name_servers)."},
		Import: `"projects/${var.project}/managedZones/` + r.inner(z.Name, "dns_zone") + `"`, Body: w.String()}
	out := []PartResource{{zone, []string{"projects/" + r.project + "/managedZones/" + z.Name}}}
	for _, rec := range z.Records {
		w := &body{}
		w.attr("name", r.expr(rec.Name))
		w.str("type", rec.Type)
		w.num("ttl", rec.TTL)
		w.attr("managed_zone", zone.Address()+".name")
		switch {
		case rec.Address != "":
			w.attr("rrdatas", "[google_compute_global_address."+localName(rec.Address)+".address]")
		case rec.Auth != "":
			w.attr("rrdatas", "[google_certificate_manager_dns_authorization."+localName(rec.Auth)+".dns_resource_record[0].data]")
		default:
			w.list("rrdatas", rec.RRDatas)
		}
		out = append(out, PartResource{Resource: Resource{Type: "google_dns_record_set", Doc: docPage("google_dns_record_set"),
			Name:   localName(z.Name + "_" + strings.TrimSuffix(rec.Name, ".") + "_" + rec.Type),
			Import: fmt.Sprintf(`"projects/${var.project}/managedZones/%s/rrsets/%s/%s"`, r.inner(z.Name, "dns_zone"), r.inner(rec.Name), rec.Type), Body: w.String()}})
	}
	return out
}

func (z DNSZone) script(sv shellVars) string {
	q, zone := sv.text, sv.name(z.Name)
	var b strings.Builder
	fmt.Fprintf(&b, "gcloud dns managed-zones describe %s >/dev/null 2>&1 ||\n  gcloud dns managed-zones create %s --dns-name=%s --description=%s\n",
		zone, zone, q(z.DNSName), q(z.Description))
	for _, r := range z.Records {
		data := q(strings.Join(r.RRDatas, ","))
		switch {
		case r.Address != "":
			data = fmt.Sprintf(`"$(gcloud compute addresses describe %s --global --format='value(address)')"`, sv.name(r.Address))
		case r.Auth != "":
			data = fmt.Sprintf(`"$(gcloud certificate-manager dns-authorizations describe %s --format='value(dnsResourceRecord.data)')"`, sv.name(r.Auth))
		}
		fmt.Fprintf(&b, "gcloud dns record-sets describe %s --type=%s --zone=%s >/dev/null 2>&1 ||\n  gcloud dns record-sets create %s --type=%s --ttl=%d --rrdatas=%s --zone=%s\n",
			q(r.Name), r.Type, zone, q(r.Name), r.Type, r.TTL, data, zone)
	}
	return b.String()
}

// Certificates is Certificate Manager's Google-managed certificate, the
// DNS authorizations it is issued on, the map that serves it and the map's
// entry for its hostname (all global). An empty name is one that does not
// exist, and is left out.
type Certificates struct {
	Authorizations []DNSAuthorization
	Certificate    string   // certificate name
	Domains        []string // the domains it covers
	// Auths are the DNS authorizations (names) the certificate is issued on.
	Auths    []string
	Map      string // certificate map name
	Entry    string // map entry name
	Hostname string // the entry's hostname
	// EntryCerts are the certificates (names) the entry serves; empty is
	// Certificate.
	EntryCerts []string
}

// DNSAuthorization is a Certificate Manager DNS authorization of a domain.
type DNSAuthorization struct {
	Name, Domain string
	record       string // the name of its CNAME, as read
}

// Terraform: google_certificate_manager_dns_authorization (import
// projects/{{project}}/locations/{{location}}/dnsAuthorizations/{{name}}),
// google_certificate_manager_certificate (import
// projects/{{project}}/locations/{{location}}/certificates/{{name}}),
// google_certificate_manager_certificate_map (import
// projects/{{project}}/locations/global/certificateMaps/{{name}}) and
// google_certificate_manager_certificate_map_entry (import
// projects/{{project}}/locations/global/certificateMaps/{{map}}/certificateMapEntries/{{name}}).
func (c Certificates) terraform(r *refs) []PartResource {
	base := "projects/" + r.project + "/locations/global/"
	var out []PartResource
	authRef := func(name string) string {
		return "google_certificate_manager_dns_authorization." + localName(name) + ".id"
	}
	for _, a := range c.Authorizations {
		w := &body{}
		w.attr("name", r.expr(a.Name, "certificate"))
		w.attr("domain", r.expr(a.Domain))
		out = append(out, PartResource{Resource{Type: "google_certificate_manager_dns_authorization", Name: localName(a.Name), Doc: docPage("google_certificate_manager_dns_authorization"),
			Notes:  []string{"Its CNAME (attribute dns_resource_record) must be in the domain's zone for Google to issue the certificate."},
			Import: `"projects/${var.project}/locations/global/dnsAuthorizations/` + r.inner(a.Name, "certificate") + `"`, Body: w.String()},
			[]string{base + "dnsAuthorizations/" + a.Name}})
	}
	certAddr := "google_certificate_manager_certificate." + localName(c.Certificate)
	if c.Certificate != "" {
		cw := &body{}
		cw.attr("name", r.expr(c.Certificate, "certificate"))
		cw.block("managed", func(w *body) {
			if len(c.Domains) > 0 {
				var domains []string
				for _, d := range c.Domains {
					domains = append(domains, r.expr(d))
				}
				w.attr("domains", "["+strings.Join(domains, ", ")+"]")
			}
			if len(c.Auths) > 0 {
				var refs []string
				for _, a := range c.Auths {
					if slices.ContainsFunc(c.Authorizations, func(d DNSAuthorization) bool { return d.Name == a }) {
						refs = append(refs, authRef(a))
					} else {
						refs = append(refs, quote(base+"dnsAuthorizations/"+a))
					}
				}
				w.attr("dns_authorizations", "["+strings.Join(refs, ", ")+"]")
			}
		})
		out = append(out, PartResource{Resource{Type: "google_certificate_manager_certificate", Name: localName(c.Certificate), Doc: docPage("google_certificate_manager_certificate"),
			Notes:  []string{"Google-managed: Google issues it once the domain's A record points at the load balancer."},
			Import: `"projects/${var.project}/locations/global/certificates/` + r.inner(c.Certificate, "certificate") + `"`, Body: cw.String()},
			[]string{base + "certificates/" + c.Certificate}})
	}
	if c.Map != "" {
		mw := &body{}
		mw.attr("name", r.expr(c.Map, "certificate_map"))
		mapID := `"projects/${var.project}/locations/global/certificateMaps/` + r.inner(c.Map, "certificate_map")
		cmap := Resource{Type: "google_certificate_manager_certificate_map", Name: localName(c.Map), Doc: docPage("google_certificate_manager_certificate_map"),
			Import: mapID + `"`, Body: mw.String()}
		out = append(out, PartResource{cmap, []string{base + "certificateMaps/" + c.Map}})
		if c.Entry != "" {
			var certs []string
			for _, name := range c.entryCerts() {
				if name == c.Certificate {
					certs = append(certs, certAddr+".id")
				} else {
					certs = append(certs, quote(base+"certificates/"+name))
				}
			}
			ew := &body{}
			ew.attr("name", r.expr(c.Entry, "certificate_map"))
			ew.attr("map", cmap.Address()+".name")
			if c.Hostname != "" {
				ew.attr("hostname", r.expr(c.Hostname))
			}
			ew.attr("certificates", "["+strings.Join(certs, ", ")+"]")
			out = append(out, PartResource{Resource{Type: "google_certificate_manager_certificate_map_entry", Name: localName(c.Entry), Doc: docPage("google_certificate_manager_certificate_map_entry"),
				Import: mapID + "/certificateMapEntries/" + r.inner(c.Entry, "certificate_map") + `"`, Body: ew.String()},
				[]string{base + "certificateMaps/" + c.Map + "/certificateMapEntries/" + c.Entry}})
		}
	}
	return out
}

func (c Certificates) entryCerts() []string {
	if len(c.EntryCerts) > 0 {
		return c.EntryCerts
	}
	return []string{c.Certificate}
}

// script: the commands of the steps certificate and certificate-map.
func (c Certificates) script(sv shellVars) string {
	q := sv.text
	names := func(list []string) string {
		out := make([]string, len(list))
		for i, n := range list {
			out[i] = sv.name(n)
		}
		return strings.Join(out, ",")
	}
	var b strings.Builder
	for _, a := range c.Authorizations {
		fmt.Fprintf(&b, "gcloud certificate-manager dns-authorizations describe %[1]s >/dev/null 2>&1 ||\n  gcloud certificate-manager dns-authorizations create %[1]s --domain=%[2]s\n", sv.name(a.Name), q(a.Domain))
	}
	if c.Certificate != "" {
		fmt.Fprintf(&b, "gcloud certificate-manager certificates describe %[1]s >/dev/null 2>&1 ||\n  gcloud certificate-manager certificates create %[1]s --domains=%[2]s", sv.name(c.Certificate), q(strings.Join(c.Domains, ",")))
		if len(c.Auths) > 0 {
			fmt.Fprintf(&b, " --dns-authorizations=%s", names(c.Auths))
		}
		b.WriteString("\n")
	}
	if c.Map != "" {
		m := sv.name(c.Map)
		fmt.Fprintf(&b, "gcloud certificate-manager maps describe %[1]s >/dev/null 2>&1 ||\n  gcloud certificate-manager maps create %[1]s\n", m)
		if c.Entry != "" {
			fmt.Fprintf(&b, "gcloud certificate-manager maps entries describe %[1]s --map=%[2]s >/dev/null 2>&1 ||\n  gcloud certificate-manager maps entries create %[1]s --map=%[2]s --certificates=%[3]s --hostname=%[4]s\n",
				sv.name(c.Entry), m, names(c.entryCerts()), q(c.Hostname))
		}
	}
	return b.String()
}

// shellVars are the script's variables by value: a name one of them holds
// is written as the variable, in double quotes ("$DNS_ZONE",
// "${CERTIFICATE_NAME}-auth"), any other as it is (names are letters,
// digits and hyphens); text has the lab's domain written as "${DOMAIN}".
type shellVars struct {
	names  map[string]string
	domain string
}

func (sv shellVars) name(value string) string {
	if v, ok := sv.names[value]; ok {
		return `"` + v + `"`
	}
	return value
}

func (sv shellVars) text(s string) string { return domainQuote(s, sv.domain) }

// domainQuote quotes s for bash, each occurrence of domain in it written
// as "${DOMAIN}".
func domainQuote(s, domain string) string {
	if domain == "" || !strings.Contains(s, domain) {
		return shellQuote(s)
	}
	var b strings.Builder
	for i, piece := range strings.Split(s, domain) {
		if i > 0 {
			b.WriteString(`"${DOMAIN}"`)
		}
		if piece != "" {
			b.WriteString(shellQuote(piece))
		}
	}
	return b.String()
}
