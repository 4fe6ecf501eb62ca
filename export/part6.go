package export

import (
	"fmt"
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
	// exist (describe, or create), in bash.
	Script() string
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
		w.list("rrdatas", rec.RRDatas)
		out = append(out, PartResource{Resource: Resource{Type: "google_dns_record_set", Doc: docPage("google_dns_record_set"),
			Name:   localName(z.Name + "_" + strings.TrimSuffix(rec.Name, ".") + "_" + rec.Type),
			Import: fmt.Sprintf(`"projects/${var.project}/managedZones/%s/rrsets/%s/%s"`, z.Name, rec.Name, rec.Type), Body: w.String()}})
	}
	return out
}

func (z DNSZone) Script() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gcloud dns managed-zones describe %s >/dev/null 2>&1 ||\n  gcloud dns managed-zones create %s --dns-name=%s --description=%s\n",
		z.Name, z.Name, shellQuote(z.DNSName), shellQuote(z.Description))
	for _, r := range z.Records {
		fmt.Fprintf(&b, "gcloud dns record-sets describe %s --type=%s --zone=%s >/dev/null 2>&1 ||\n  gcloud dns record-sets create %s --type=%s --ttl=%d --rrdatas=%s --zone=%s\n",
			shellQuote(r.Name), r.Type, z.Name, shellQuote(r.Name), r.Type, r.TTL, shellQuote(strings.Join(r.RRDatas, ",")), z.Name)
	}
	return b.String()
}

// Certificates is Certificate Manager's Google-managed certificate, the
// map that serves it and the map's entry for its hostname (global).
type Certificates struct {
	Certificate string   // certificate name
	Domains     []string // the domains it covers
	Map         string   // certificate map name
	Entry       string   // map entry name
	Hostname    string   // the entry's hostname
}

// Terraform: google_certificate_manager_certificate (import
// projects/{{project}}/locations/{{location}}/certificates/{{name}}),
// google_certificate_manager_certificate_map (import
// projects/{{project}}/locations/global/certificateMaps/{{name}}) and
// google_certificate_manager_certificate_map_entry (import
// projects/{{project}}/locations/global/certificateMaps/{{map}}/certificateMapEntries/{{name}}).
func (c Certificates) Terraform(project string) []PartResource {
	cw := &body{}
	cw.str("name", c.Certificate)
	cw.block("managed", func(w *body) { w.list("domains", c.Domains) })
	cert := Resource{Type: "google_certificate_manager_certificate", Name: localName(c.Certificate), Doc: docPage("google_certificate_manager_certificate"),
		Notes:  []string{"Google-managed: Google issues it once the domain's A record points at the load balancer."},
		Import: fmt.Sprintf(`"projects/${var.project}/locations/global/certificates/%s"`, c.Certificate), Body: cw.String()}
	mw := &body{}
	mw.str("name", c.Map)
	cmap := Resource{Type: "google_certificate_manager_certificate_map", Name: localName(c.Map), Doc: docPage("google_certificate_manager_certificate_map"),
		Import: fmt.Sprintf(`"projects/${var.project}/locations/global/certificateMaps/%s"`, c.Map), Body: mw.String()}
	ew := &body{}
	ew.str("name", c.Entry)
	ew.attr("map", cmap.Address()+".name")
	ew.str("hostname", c.Hostname)
	ew.attr("certificates", "["+cert.Address()+".id]")
	entry := Resource{Type: "google_certificate_manager_certificate_map_entry", Name: localName(c.Entry), Doc: docPage("google_certificate_manager_certificate_map_entry"),
		Import: fmt.Sprintf(`"projects/${var.project}/locations/global/certificateMaps/%s/certificateMapEntries/%s"`, c.Map, c.Entry), Body: ew.String()}
	base := "projects/" + project + "/locations/global/"
	return []PartResource{
		{cert, []string{base + "certificates/" + c.Certificate}},
		{cmap, []string{base + "certificateMaps/" + c.Map}},
		{entry, []string{base + "certificateMaps/" + c.Map + "/certificateMapEntries/" + c.Entry}},
	}
}

func (c Certificates) Script() string {
	return fmt.Sprintf(`gcloud certificate-manager certificates describe %[1]s >/dev/null 2>&1 ||
  gcloud certificate-manager certificates create %[1]s --domains=%[2]s
gcloud certificate-manager maps describe %[3]s >/dev/null 2>&1 ||
  gcloud certificate-manager maps create %[3]s
gcloud certificate-manager maps entries describe %[4]s --map=%[3]s >/dev/null 2>&1 ||
  gcloud certificate-manager maps entries create %[4]s --map=%[3]s --certificates=%[1]s --hostname=%[5]s
`, c.Certificate, shellQuote(strings.Join(c.Domains, ",")), c.Map, c.Entry, shellQuote(c.Hostname))
}
