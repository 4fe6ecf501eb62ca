package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	dnsapi "google.golang.org/api/dns/v1"
)

// Cloud DNS v1 over REST, as google.golang.org/api/dns/v1 and gcloud reach
// it: managed zones, their record sets, and changes. Every public zone of
// every project is also served by a real DNS server on loopback (dnsserver.go),
// the simulator's "internet": what it answers is what Certificate Manager's
// authorization checks and the lab's own resolver see.

// dnsState is one project's Cloud DNS. Guarded by Sim.mu.
type dnsState struct {
	zones map[string]*dnsZone // by zone name
}

func newDNSState() *dnsState { return &dnsState{zones: map[string]*dnsZone{}} }

// dnsZone is one managed zone with its records.
type dnsZone struct {
	mz      *dnsapi.ManagedZone
	rrsets  map[string]*dnsapi.ResourceRecordSet // by "NAME TYPE"
	changes []*dnsapi.Change
}

func rrKey(name, typ string) string { return strings.ToLower(name) + " " + strings.ToUpper(typ) }

// fqdn adds the final dot Cloud DNS names carry.
func fqdn(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// inZone reports whether name is the zone's apex or under it.
func inZone(name, zone string) bool {
	return name == zone || strings.HasSuffix(name, "."+zone)
}

// registerDNS puts Cloud DNS v1 on the shared REST router (rest.go), in
// Compute's error shape, which Cloud DNS shares; each route admits its call
// (dnsHandler), which reads the path's variables as the standard library's
// router would give them (Request.PathValue).
func (s *Sim) registerDNS(mux *http.ServeMux) {
	api := &restAPI{s: s, name: "Cloud DNS v1", unrouted: computeUnrouted}
	add := func(verb, pattern, method string, h func(*dnsReq) *computeError) {
		serve := s.dnsHandler(method, h)
		api.addServe(verb, "dns/v1/projects/{project}/managedZones"+pattern, method, func(w http.ResponseWriter, r *http.Request, vars map[string]string) {
			for k, v := range vars {
				r.SetPathValue(k, v)
			}
			serve(w, r)
		})
	}
	add("GET", "", "dns.managedZones.list", s.dnsListZones)
	add("POST", "", "dns.managedZones.create", s.dnsCreateZone)
	add("GET", "/{zone}", "dns.managedZones.get", s.dnsGetZone)
	add("DELETE", "/{zone}", "dns.managedZones.delete", s.dnsDeleteZone)
	add("GET", "/{zone}/rrsets", "dns.resourceRecordSets.list", s.dnsListRecords)
	add("POST", "/{zone}/rrsets", "dns.resourceRecordSets.create", s.dnsCreateRecord)
	add("GET", "/{zone}/rrsets/{name}/{type}", "dns.resourceRecordSets.get", s.dnsGetRecord)
	add("DELETE", "/{zone}/rrsets/{name}/{type}", "dns.resourceRecordSets.delete", s.dnsDeleteRecord)
	add("PATCH", "/{zone}/rrsets/{name}/{type}", "dns.resourceRecordSets.patch", s.dnsPatchRecord)
	add("POST", "/{zone}/changes", "dns.changes.create", s.dnsCreateChange)
	add("GET", "/{zone}/changes", "dns.changes.list", s.dnsListChanges)
	add("GET", "/{zone}/changes/{change}", "dns.changes.get", s.dnsGetChange)
	mux.Handle("/dns/", api)
	s.hosts["dns.googleapis.com"] = googleHost{"Cloud DNS v1", func(string) http.Handler { return api }}
}

// dnsReq is one Cloud DNS call, admitted.
type dnsReq struct {
	w    http.ResponseWriter
	r    *http.Request
	p    *project
	body []byte
	z    *dnsZone                  // the zone the path names, if it names one
	rr   *dnsapi.ResourceRecordSet // the record set the path names, if it names one
}

// dnsHandler admits a call (faults, body, project, the API enabled) and
// runs h with s.mu held.
func (s *Sim) dnsHandler(method string, h func(*dnsReq) *computeError) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if f, hit := s.fault(method); hit {
			computeWriteError(w, &computeError{f.Status, f.Message, computeReason(f.Status)})
			return
		}
		c := &dnsReq{w: w, r: r}
		if r.Method == "POST" || r.Method == "PATCH" {
			b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, computeMaxBody))
			if err != nil {
				computeWriteError(w, &computeError{http.StatusBadRequest, "Could not read the request body: " + err.Error(), "badRequest"})
				return
			}
			c.body = b
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		id := r.PathValue("project")
		p := s.existingProjectLocked(id)
		if p == nil {
			var err error
			if p, err = s.readProjectLocked(id); err != nil {
				computeWriteError(w, &computeError{http.StatusNotFound, fmt.Sprintf("The 'parameters.project' resource named '%s' does not exist.", id), "notFound"})
				return
			}
		}
		if !s.answersLocked(p, APIDNS) {
			computeWriteError(w, &computeError{http.StatusForbidden, disabledMessage("Cloud DNS API", APIDNS, p.number), "accessNotConfigured"})
			return
		}
		c.p = p
		if err := c.resolve(); err != nil {
			computeWriteError(w, err)
			return
		}
		if err := h(c); err != nil {
			computeWriteError(w, err)
		}
	}
}

func dnsDecode(body []byte, v any) *computeError {
	if err := json.Unmarshal(body, v); err != nil {
		return &computeError{http.StatusBadRequest, "Invalid JSON payload received. " + err.Error(), "parseError"}
	}
	return nil
}

// resolve finds the zone and the record set the path names, for every
// method under them: one lookup, answered the same way for all.
func (c *dnsReq) resolve() *computeError {
	var err *computeError
	if c.r.PathValue("zone") != "" {
		if c.z, err = c.zone(); err != nil {
			return err
		}
	}
	if c.r.PathValue("name") != "" {
		c.rr, err = c.record(c.z)
	}
	return err
}

func (c *dnsReq) zone() (*dnsZone, *computeError) {
	name := c.r.PathValue("zone")
	z := c.p.dns.zones[name]
	if z == nil {
		// Google also takes the zone's numeric ID.
		for _, other := range c.p.dns.zones {
			if strconv.FormatUint(other.mz.Id, 10) == name {
				return other, nil
			}
		}
		return nil, &computeError{http.StatusNotFound, fmt.Sprintf("The 'parameters.managedZone' resource named '%s' does not exist.", name), "notFound"}
	}
	return z, nil
}

func (s *Sim) dnsCreateZone(c *dnsReq) *computeError {
	var mz dnsapi.ManagedZone
	if err := dnsDecode(c.body, &mz); err != nil {
		return err
	}
	if err := computeCheckName(mz.Name); err != nil {
		return &computeError{http.StatusBadRequest, fmt.Sprintf("Invalid value for 'entity.managedZone.name': '%s'", mz.Name), "invalid"}
	}
	if mz.DnsName == "" {
		return &computeError{http.StatusBadRequest, "Required field 'entity.managedZone.dnsName' not specified", "required"}
	}
	if !strings.HasSuffix(mz.DnsName, ".") || strings.Count(mz.DnsName, ".") < 2 {
		return &computeError{http.StatusBadRequest, fmt.Sprintf("Invalid value for 'entity.managedZone.dnsName': '%s'", mz.DnsName), "invalid"}
	}
	if mz.Visibility == "" {
		mz.Visibility = "public"
	}
	if mz.Visibility != "public" {
		return &computeError{http.StatusBadRequest, "The simulator has public zones only.", "invalid"}
	}
	if _, ok := c.p.dns.zones[mz.Name]; ok {
		return &computeError{http.StatusConflict, fmt.Sprintf("The resource 'entity.managedZone' named '%s' already exists", mz.Name), "alreadyExists"}
	}
	mz.DnsName = fqdn(mz.DnsName)
	seq := s.nextSeq()
	mz.Id = computeMix(uint64(seq)) >> 1
	mz.Kind = "dns#managedZone"
	mz.CreationTime = s.now().UTC().Format("2006-01-02T15:04:05.000Z")
	// Google hands each zone one of its name server sets.
	set := "abcde"[seq%5 : seq%5+1]
	mz.NameServers = nil
	for i := 1; i <= 4; i++ {
		mz.NameServers = append(mz.NameServers, fmt.Sprintf("ns-cloud-%s%d.googledomains.com.", set, i))
	}
	z := &dnsZone{mz: &mz, rrsets: map[string]*dnsapi.ResourceRecordSet{}}
	z.rrsets[rrKey(mz.DnsName, "NS")] = &dnsapi.ResourceRecordSet{Kind: "dns#resourceRecordSet", Name: mz.DnsName, Type: "NS", Ttl: 21600, Rrdatas: mz.NameServers}
	z.rrsets[rrKey(mz.DnsName, "SOA")] = &dnsapi.ResourceRecordSet{Kind: "dns#resourceRecordSet", Name: mz.DnsName, Type: "SOA", Ttl: 21600,
		Rrdatas: []string{mz.NameServers[0] + " cloud-dns-hostmaster.google.com. 1 21600 3600 259200 300"}}
	s.keepLocked(c.p)
	c.p.dns.zones[mz.Name] = z
	s.changedLocked()
	writeJSON(c.w, http.StatusOK, &mz)
	return nil
}

func (s *Sim) dnsGetZone(c *dnsReq) *computeError {
	writeJSON(c.w, http.StatusOK, c.z.mz)
	return nil
}

func (s *Sim) dnsListZones(c *dnsReq) *computeError {
	out := &dnsapi.ManagedZonesListResponse{Kind: "dns#managedZonesListResponse"}
	want := c.r.URL.Query().Get("dnsName")
	for _, name := range sortedKeys(c.p.dns.zones) {
		z := c.p.dns.zones[name]
		if want == "" || fqdn(want) == z.mz.DnsName {
			out.ManagedZones = append(out.ManagedZones, z.mz)
		}
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

func (s *Sim) dnsDeleteZone(c *dnsReq) *computeError {
	z := c.z
	for _, rr := range z.rrsets {
		if !(rr.Name == z.mz.DnsName && (rr.Type == "NS" || rr.Type == "SOA")) {
			return &computeError{http.StatusBadRequest, fmt.Sprintf("The resource named '%s' cannot be deleted because it is not empty", z.mz.Name), "containerNotEmpty"}
		}
	}
	delete(c.p.dns.zones, z.mz.Name)
	s.changedLocked()
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkRecord validates one record set for zone z, Google's way, and
// normalises its name.
func checkRecord(z *dnsZone, rr *dnsapi.ResourceRecordSet, field string) *computeError {
	if rr.Name == "" {
		return &computeError{http.StatusBadRequest, fmt.Sprintf("Required field '%s.name' not specified", field), "required"}
	}
	rr.Name = fqdn(rr.Name)
	rr.Type = strings.ToUpper(rr.Type)
	rr.Kind = "dns#resourceRecordSet"
	if !inZone(rr.Name, z.mz.DnsName) {
		return &computeError{http.StatusBadRequest, fmt.Sprintf("The resource record set '%s' is not within the DNS name '%s' of the managed zone.", rr.Name, z.mz.DnsName), "invalid"}
	}
	if len(rr.Rrdatas) == 0 {
		return &computeError{http.StatusBadRequest, fmt.Sprintf("Required field '%s.rrdata' not specified", field), "required"}
	}
	if rr.Ttl == 0 {
		rr.Ttl = 300
	}
	switch rr.Type {
	case "A":
		for _, d := range rr.Rrdatas {
			if a, err := netip.ParseAddr(d); err != nil || !a.Is4() {
				return &computeError{http.StatusBadRequest, fmt.Sprintf("Invalid value for '%s.rrdata': '%s'", field, d), "invalid"}
			}
		}
	case "CNAME":
		if len(rr.Rrdatas) != 1 {
			return &computeError{http.StatusBadRequest, fmt.Sprintf("A CNAME resource record set must have one rrdata, not %d.", len(rr.Rrdatas)), "invalid"}
		}
		if rr.Name == z.mz.DnsName {
			return &computeError{http.StatusBadRequest, "A CNAME resource record set cannot be at the apex of a zone.", "invalid"}
		}
		rr.Rrdatas[0] = fqdn(rr.Rrdatas[0])
	case "CAA", "TXT", "AAAA", "MX", "NS":
	default:
		return &computeError{http.StatusBadRequest, fmt.Sprintf("Invalid value for '%s.type': '%s'. The simulator serves A, AAAA, CNAME, CAA, TXT, MX and NS records.", field, rr.Type), "invalid"}
	}
	for key := range z.rrsets {
		name, typ, _ := strings.Cut(key, " ")
		if name != rr.Name || typ == rr.Type {
			continue
		}
		if typ == "CNAME" || rr.Type == "CNAME" {
			return &computeError{http.StatusConflict, fmt.Sprintf("The resource record set '%s' of type CNAME cannot coexist with other types at the same name.", rr.Name), "cnameResourceRecordSetConflict"}
		}
	}
	return nil
}

func (s *Sim) dnsCreateRecord(c *dnsReq) *computeError {
	z := c.z
	var rr dnsapi.ResourceRecordSet
	if err := dnsDecode(c.body, &rr); err != nil {
		return err
	}
	if err := checkRecord(z, &rr, "entity.change.additions[0]"); err != nil {
		return err
	}
	if _, ok := z.rrsets[rrKey(rr.Name, rr.Type)]; ok {
		return &computeError{http.StatusConflict, fmt.Sprintf("The resource 'entity.change.additions[0]' named '%s (%s)' already exists", rr.Name, rr.Type), "alreadyExists"}
	}
	z.rrsets[rrKey(rr.Name, rr.Type)] = &rr
	s.recordChangeLocked(z, []*dnsapi.ResourceRecordSet{&rr}, nil)
	writeJSON(c.w, http.StatusOK, &rr)
	return nil
}

func (c *dnsReq) record(z *dnsZone) (*dnsapi.ResourceRecordSet, *computeError) {
	name, typ := fqdn(c.r.PathValue("name")), strings.ToUpper(c.r.PathValue("type"))
	rr := z.rrsets[rrKey(name, typ)]
	if rr == nil {
		return nil, &computeError{http.StatusNotFound, fmt.Sprintf("The 'parameters.name' resource named '%s' does not exist.", name), "notFound"}
	}
	return rr, nil
}

func (s *Sim) dnsGetRecord(c *dnsReq) *computeError {
	writeJSON(c.w, http.StatusOK, c.rr)
	return nil
}

func (s *Sim) dnsDeleteRecord(c *dnsReq) *computeError {
	z, rr := c.z, c.rr
	if rr.Name == z.mz.DnsName && (rr.Type == "NS" || rr.Type == "SOA") {
		return &computeError{http.StatusBadRequest, "The NS and SOA records at the apex of a zone cannot be deleted.", "invalid"}
	}
	delete(z.rrsets, rrKey(rr.Name, rr.Type))
	s.recordChangeLocked(z, nil, []*dnsapi.ResourceRecordSet{rr})
	writeJSON(c.w, http.StatusOK, &dnsapi.ResourceRecordSetsDeleteResponse{})
	return nil
}

func (s *Sim) dnsPatchRecord(c *dnsReq) *computeError {
	z, old := c.z, c.rr
	var rr dnsapi.ResourceRecordSet
	if err := dnsDecode(c.body, &rr); err != nil {
		return err
	}
	rr.Name, rr.Type = old.Name, old.Type
	if rr.Ttl == 0 {
		rr.Ttl = old.Ttl
	}
	if len(rr.Rrdatas) == 0 {
		rr.Rrdatas = old.Rrdatas
	}
	delete(z.rrsets, rrKey(old.Name, old.Type))
	if err := checkRecord(z, &rr, "entity.rrset"); err != nil {
		z.rrsets[rrKey(old.Name, old.Type)] = old
		return err
	}
	z.rrsets[rrKey(rr.Name, rr.Type)] = &rr
	s.recordChangeLocked(z, []*dnsapi.ResourceRecordSet{&rr}, []*dnsapi.ResourceRecordSet{old})
	writeJSON(c.w, http.StatusOK, &rr)
	return nil
}

func (s *Sim) dnsListRecords(c *dnsReq) *computeError {
	z := c.z
	q := c.r.URL.Query()
	name, typ := q.Get("name"), strings.ToUpper(q.Get("type"))
	if typ != "" && name == "" {
		return &computeError{http.StatusBadRequest, "The 'type' parameter needs a 'name' parameter too.", "invalid"}
	}
	out := &dnsapi.ResourceRecordSetsListResponse{Kind: "dns#resourceRecordSetsListResponse"}
	for _, key := range sortedKeys(z.rrsets) {
		rr := z.rrsets[key]
		if (name == "" || fqdn(name) == rr.Name) && (typ == "" || typ == rr.Type) {
			out.Rrsets = append(out.Rrsets, rr)
		}
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

// dnsCreateChange applies additions and deletions at once, as Google does:
// every deletion must match a record set exactly.
func (s *Sim) dnsCreateChange(c *dnsReq) *computeError {
	z := c.z
	var ch dnsapi.Change
	if err := dnsDecode(c.body, &ch); err != nil {
		return err
	}
	next := map[string]*dnsapi.ResourceRecordSet{}
	for k, v := range z.rrsets {
		next[k] = v
	}
	for i, del := range ch.Deletions {
		del.Name, del.Type = fqdn(del.Name), strings.ToUpper(del.Type)
		cur := next[rrKey(del.Name, del.Type)]
		if cur == nil || cur.Ttl != del.Ttl || strings.Join(cur.Rrdatas, "\x00") != strings.Join(del.Rrdatas, "\x00") {
			return &computeError{http.StatusPreconditionFailed, fmt.Sprintf("The resource 'entity.change.deletions[%d]' named '%s (%s)' does not exist, or does not match the current record set.", i, del.Name, del.Type), "conditionNotMet"}
		}
		delete(next, rrKey(del.Name, del.Type))
	}
	saved := z.rrsets
	z.rrsets = next
	for i, add := range ch.Additions {
		if err := checkRecord(z, add, fmt.Sprintf("entity.change.additions[%d]", i)); err != nil {
			z.rrsets = saved
			return err
		}
		if _, ok := next[rrKey(add.Name, add.Type)]; ok {
			z.rrsets = saved
			return &computeError{http.StatusConflict, fmt.Sprintf("The resource 'entity.change.additions[%d]' named '%s (%s)' already exists", i, add.Name, add.Type), "alreadyExists"}
		}
		next[rrKey(add.Name, add.Type)] = add
	}
	out := s.recordChangeLocked(z, ch.Additions, ch.Deletions)
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

// recordChangeLocked notes a change of z's records, done at once: Cloud DNS
// applies changes in seconds, and the simulator's servers see them at once.
func (s *Sim) recordChangeLocked(z *dnsZone, add, del []*dnsapi.ResourceRecordSet) *dnsapi.Change {
	ch := &dnsapi.Change{
		Kind: "dns#change", Id: strconv.Itoa(len(z.changes) + 1), Status: "done",
		StartTime: s.now().UTC().Format("2006-01-02T15:04:05.000Z"), Additions: add, Deletions: del,
	}
	z.changes = append(z.changes, ch)
	s.changedLocked()
	return ch
}

func (s *Sim) dnsListChanges(c *dnsReq) *computeError {
	writeJSON(c.w, http.StatusOK, &dnsapi.ChangesListResponse{Kind: "dns#changesListResponse", Changes: c.z.changes})
	return nil
}

func (s *Sim) dnsGetChange(c *dnsReq) *computeError {
	id := c.r.PathValue("change")
	for _, ch := range c.z.changes {
		if ch.Id == id {
			writeJSON(c.w, http.StatusOK, ch)
			return nil
		}
	}
	return &computeError{http.StatusNotFound, fmt.Sprintf("The 'parameters.changeId' resource named '%s' does not exist.", id), "notFound"}
}

// lookupLocked answers a DNS question from every project's public zones,
// the zone with the longest matching name winning, as delegation would:
// the record set of that name and type, zone false if no zone holds name,
// and exists false if the name has no record of any type (NXDOMAIN).
func (s *Sim) lookupLocked(name, typ string) (rr *dnsapi.ResourceRecordSet, zone, exists bool) {
	name = fqdn(name)
	var best *dnsZone
	for _, id := range sortedKeys(s.projects) {
		for _, zn := range sortedKeys(s.projects[id].dns.zones) {
			z := s.projects[id].dns.zones[zn]
			if inZone(name, z.mz.DnsName) && (best == nil || len(z.mz.DnsName) > len(best.mz.DnsName)) {
				best = z
			}
		}
	}
	if best == nil {
		return nil, false, false
	}
	if rr := best.rrsets[rrKey(name, typ)]; rr != nil {
		return rr, true, true
	}
	for key := range best.rrsets {
		if n, _, _ := strings.Cut(key, " "); n == name {
			return nil, true, true
		}
		if strings.HasSuffix(key[:strings.Index(key, " ")], "."+name) {
			exists = true // an empty non-terminal
		}
	}
	return nil, true, exists
}
