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
	// Terraform renders its resources in project, each with the resource
	// paths ("projects/P/…") that other resources use to refer to it.
	Terraform(project string) []PartResource
	// Script renders the gcloud commands that create it when it does not
	// exist (describe, or create), in bash. The lab's domain, when not
	// empty, is written as the script's variable $DOMAIN.
	Script(domain string) string
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
func (z DNSZone) Terraform(project string) []PartResource {
	w := &body{}
	w.str("name", z.Name)
	w.str("dns_name", z.DNSName)
	w.str("description", z.Description)
	zone := Resource{Type: "google_dns_managed_zone", Name: localName(z.Name), Doc: docPage("google_dns_managed_zone"),
		Notes:  []string{"Your registrar must delegate the domain to this zone's name servers (output name_servers)."},
		Import: fmt.Sprintf(`"projects/${var.project}/managedZones/%s"`, z.Name), Body: w.String()}
	out := []PartResource{{zone, []string{"projects/" + project + "/managedZones/" + z.Name}}}
	for _, rec := range z.Records {
		w := &body{}
		w.str("name", rec.Name)
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
			Import: fmt.Sprintf(`"projects/${var.project}/managedZones/%s/rrsets/%s/%s"`, z.Name, rec.Name, rec.Type), Body: w.String()}})
	}
	return out
}

func (z DNSZone) Script(domain string) string {
	q := func(s string) string { return domainQuote(s, domain) }
	var b strings.Builder
	fmt.Fprintf(&b, "gcloud dns managed-zones describe %s >/dev/null 2>&1 ||\n  gcloud dns managed-zones create %s --dns-name=%s --description=%s\n",
		z.Name, z.Name, q(z.DNSName), q(z.Description))
	for _, r := range z.Records {
		data := q(strings.Join(r.RRDatas, ","))
		switch {
		case r.Address != "":
			data = fmt.Sprintf(`"$(gcloud compute addresses describe %s --global --format='value(address)')"`, r.Address)
		case r.Auth != "":
			data = fmt.Sprintf(`"$(gcloud certificate-manager dns-authorizations describe %s --format='value(dnsResourceRecord.data)')"`, r.Auth)
		}
		fmt.Fprintf(&b, "gcloud dns record-sets describe %s --type=%s --zone=%s >/dev/null 2>&1 ||\n  gcloud dns record-sets create %s --type=%s --ttl=%d --rrdatas=%s --zone=%s\n",
			q(r.Name), r.Type, z.Name, q(r.Name), r.Type, r.TTL, data, z.Name)
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
func (c Certificates) Terraform(project string) []PartResource {
	base := "projects/" + project + "/locations/global/"
	var out []PartResource
	authRef := func(name string) string {
		return "google_certificate_manager_dns_authorization." + localName(name) + ".id"
	}
	for _, a := range c.Authorizations {
		w := &body{}
		w.str("name", a.Name)
		w.str("domain", a.Domain)
		out = append(out, PartResource{Resource{Type: "google_certificate_manager_dns_authorization", Name: localName(a.Name), Doc: docPage("google_certificate_manager_dns_authorization"),
			Notes:  []string{"Its CNAME (attribute dns_resource_record) must be in the domain's zone for Google to issue the certificate."},
			Import: fmt.Sprintf(`"projects/${var.project}/locations/global/dnsAuthorizations/%s"`, a.Name), Body: w.String()},
			[]string{base + "dnsAuthorizations/" + a.Name}})
	}
	certAddr := "google_certificate_manager_certificate." + localName(c.Certificate)
	if c.Certificate != "" {
		cw := &body{}
		cw.str("name", c.Certificate)
		cw.block("managed", func(w *body) {
			w.list("domains", c.Domains)
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
			Import: fmt.Sprintf(`"projects/${var.project}/locations/global/certificates/%s"`, c.Certificate), Body: cw.String()},
			[]string{base + "certificates/" + c.Certificate}})
	}
	if c.Map != "" {
		mw := &body{}
		mw.str("name", c.Map)
		cmap := Resource{Type: "google_certificate_manager_certificate_map", Name: localName(c.Map), Doc: docPage("google_certificate_manager_certificate_map"),
			Import: fmt.Sprintf(`"projects/${var.project}/locations/global/certificateMaps/%s"`, c.Map), Body: mw.String()}
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
			ew.str("name", c.Entry)
			ew.attr("map", cmap.Address()+".name")
			ew.str("hostname", c.Hostname)
			ew.attr("certificates", "["+strings.Join(certs, ", ")+"]")
			out = append(out, PartResource{Resource{Type: "google_certificate_manager_certificate_map_entry", Name: localName(c.Entry), Doc: docPage("google_certificate_manager_certificate_map_entry"),
				Import: fmt.Sprintf(`"projects/${var.project}/locations/global/certificateMaps/%s/certificateMapEntries/%s"`, c.Map, c.Entry), Body: ew.String()},
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

// Script: the commands of the steps certificate and certificate-map.
func (c Certificates) Script(domain string) string {
	q := func(s string) string { return domainQuote(s, domain) }
	var b strings.Builder
	for _, a := range c.Authorizations {
		fmt.Fprintf(&b, "gcloud certificate-manager dns-authorizations describe %[1]s >/dev/null 2>&1 ||\n  gcloud certificate-manager dns-authorizations create %[1]s --domain=%[2]s\n", a.Name, q(a.Domain))
	}
	if c.Certificate != "" {
		fmt.Fprintf(&b, "gcloud certificate-manager certificates describe %[1]s >/dev/null 2>&1 ||\n  gcloud certificate-manager certificates create %[1]s --domains=%[2]s", c.Certificate, q(strings.Join(c.Domains, ",")))
		if len(c.Auths) > 0 {
			fmt.Fprintf(&b, " --dns-authorizations=%s", strings.Join(c.Auths, ","))
		}
		b.WriteString("\n")
	}
	if c.Map != "" {
		fmt.Fprintf(&b, "gcloud certificate-manager maps describe %[1]s >/dev/null 2>&1 ||\n  gcloud certificate-manager maps create %[1]s\n", c.Map)
		if c.Entry != "" {
			fmt.Fprintf(&b, "gcloud certificate-manager maps entries describe %[1]s --map=%[2]s >/dev/null 2>&1 ||\n  gcloud certificate-manager maps entries create %[1]s --map=%[2]s --certificates=%[3]s --hostname=%[4]s\n",
				c.Entry, c.Map, strings.Join(c.entryCerts(), ","), q(c.Hostname))
		}
	}
	return b.String()
}

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
