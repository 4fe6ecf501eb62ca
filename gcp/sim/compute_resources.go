package sim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/beyond-lab/beyond/lab"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// computeKind describes one collection of Compute Engine resources: where it
// lives, what Google calls it, and what is particular to it. What every
// collection shares (names, IDs, selfLinks, fingerprints, operations, the
// checks on references) is done once, by the handlers below.
type computeKind struct {
	scope      string // "global" or "regions/{region}"
	collection string // the URL segment, "backendServices"
	discovery  string // the collection in discovery method names, "regionNetworkEndpointGroups"
	kind       string // "compute#backendService"
	label      string // the type in resourceInUse messages, "backend_service"
	param      string // the path parameter, "backendService"
	mutable    bool   // has patch (PATCH), and update (PUT) unless patchOnly
	patchOnly  bool   // mutable through patch only, as target HTTP proxies are
	newMsg     func() proto.Message
	// prepare validates r and fills Google's defaults; old is the resource r
	// replaces, nil on insert. Called with s.mu held.
	prepare func(a *computeAPI, c *computeReq, r, old proto.Message) *computeError
	// refs lists the keys of the resources r references.
	refs func(r proto.Message) []string
	// view, if set, is what a read answers for the resource at key: the
	// stored one with the fields Google computes on read (usedBy). Called
	// with s.mu held; it must not change r.
	view func(p *project, key string, r proto.Message) proto.Message
	// users, if set, lists the resources that use r without naming it (the
	// rules holding an address): it cannot be deleted while they do.
	users func(p *project, r proto.Message) []string
}

// read is what a get or list answers for the resource r at key.
func (k *computeKind) read(p *project, key string, r proto.Message) proto.Message {
	if k.view == nil {
		return r
	}
	return k.view(p, key, r)
}

// usersOf returns the keys of the resources that reference key, in key
// order.
func (cs *computeState) usersOf(key string) []string {
	var out []string
	for _, other := range sortedKeys(cs.res) {
		k := computeKindOf(other)
		if k == nil || k.refs == nil || other == key {
			continue
		}
		if slices.Contains(k.refs(cs.res[other]), key) {
			out = append(out, other)
		}
	}
	return out
}

// computeKinds are the simulated collections; computeKindByCollection
// finds one by the collection segment of a key.
var (
	computeKinds            []*computeKind
	computeKindByCollection = map[string]*computeKind{}
)

func init() {
	computeKinds = []*computeKind{negKind, backendServiceKind, urlMapKind, targetHTTPProxyKind, forwardingRuleKind, securityPolicyKind, addressKind, targetHTTPSProxyKind}
	for _, k := range computeKinds {
		computeKindByCollection[k.collection] = k
	}
}

// computeURL is the full URL of the resource with key in project p.
func computeURL(p *project, key string) string {
	return computeBase + "projects/" + p.id + "/" + key
}

// computeKeyOf is the key of a full URL this simulator stored.
func computeKeyOf(u string) string {
	rest := strings.TrimPrefix(u, computeBase+"projects/")
	_, key, _ := strings.Cut(rest, "/")
	return key
}

// computeName is the last segment of a key or URL.
func computeName(u string) string {
	return u[strings.LastIndex(u, "/")+1:]
}

// computeRef resolves a reference to a resource of project p, given as a
// full URL (https://www.googleapis.com/compute/v1/projects/P/...), a partial
// one (projects/P/..., global/..., regions/R/...), to a resource of one of
// the collections want. It answers the resource's key and full URL, or the
// error Google gives: malformed, cross-project, or not found.
func (a *computeAPI) computeRef(p *project, field, ref string, want ...string) (key, full string, err *computeError) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", "", computeRequired(field)
	}
	rest := ref
	if strings.Contains(ref, "://") {
		u, perr := url.Parse(ref)
		if perr != nil {
			return "", "", computeInvalid(field, ref, "The URL is malformed.")
		}
		_, after, ok := strings.Cut(u.Path, "/compute/")
		if !ok {
			return "", "", computeInvalid(field, ref, "The URL is malformed.")
		}
		if _, after, ok = strings.Cut(after, "/"); !ok { // the version: v1, beta, alpha
			return "", "", computeInvalid(field, ref, "The URL is malformed.")
		}
		rest = after
	} else if !strings.HasPrefix(ref, "projects/") {
		rest = "projects/" + p.id + "/" + ref
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	if len(segs) < 2 || segs[0] != "projects" {
		return "", "", computeInvalid(field, ref, "The URL is malformed.")
	}
	if segs[1] != p.id {
		return "", "", computeInvalid(field, ref, "Cross-project references for this resource are not allowed.")
	}
	segs = segs[2:]
	ok := (len(segs) == 3 && segs[0] == "global") || (len(segs) == 4 && (segs[0] == "regions" || segs[0] == "zones"))
	if !ok || !slices.Contains(want, segs[len(segs)-2]) || !lab.ComputeName.Valid(segs[len(segs)-1]) {
		return "", "", computeInvalid(field, ref, "The URL is malformed.")
	}
	key = strings.Join(segs, "/")
	if _, exists := p.compute.res[key]; !exists {
		return "", "", computeNotFound("projects/" + p.id + "/" + key)
	}
	return key, computeURL(p, key), nil
}

// The fields every resource has, reached by name through reflection so that
// one set of handlers serves every collection.

func computeField(m proto.Message, name string) protoreflect.FieldDescriptor {
	return m.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(name))
}

func computeStr(m proto.Message, name string) string {
	fd := computeField(m, name)
	if fd == nil || !m.ProtoReflect().Has(fd) {
		return ""
	}
	return m.ProtoReflect().Get(fd).String()
}

func computeSetStr(m proto.Message, name, v string) {
	if fd := computeField(m, name); fd != nil {
		m.ProtoReflect().Set(fd, protoreflect.ValueOfString(v))
	}
}

func computeClear(m proto.Message, names ...string) {
	for _, name := range names {
		if fd := computeField(m, name); fd != nil {
			m.ProtoReflect().Clear(fd)
		}
	}
}

func computeID(m proto.Message) uint64 {
	fd := computeField(m, "id")
	if fd == nil || !m.ProtoReflect().Has(fd) {
		return 0
	}
	return m.ProtoReflect().Get(fd).Uint()
}

// computeOutputOnly are the fields a client may send but Google sets.
var computeOutputOnly = []string{"id", "kind", "self_link", "creation_timestamp", "region", "fingerprint", "used_by"}

// computeCheckName refuses a resource name Google would refuse.
func computeCheckName(name string) *computeError {
	if name == "" {
		return computeRequired("resource.name")
	}
	if !lab.ComputeName.Valid(name) {
		return computeInvalid("resource.name", name, "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'")
	}
	return nil
}

// computeCheckParam refuses a path parameter that is neither a name nor an ID.
func computeCheckParam(param, v string) *computeError {
	if lab.ComputeName.Valid(v) || computeIsID(v) {
		return nil
	}
	return computeInvalid(param, v, "Must be a match of regex '[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?|[1-9][0-9]{0,19}'")
}

func computeIsID(v string) bool {
	if len(v) == 0 || len(v) > 20 || v[0] == '0' {
		return false
	}
	_, err := strconv.ParseUint(v, 10, 64)
	return err == nil
}

// find looks up a resource of kind k by name or, as Google allows, by ID.
func (k *computeKind) find(c *computeReq) (string, proto.Message, *computeError) {
	name := c.vars["name"]
	if err := computeCheckParam(k.param, name); err != nil {
		return "", nil, err
	}
	prefix := c.scope() + "/" + k.collection + "/"
	if m, ok := c.p.compute.res[prefix+name]; ok {
		return prefix + name, m, nil
	}
	if computeIsID(name) {
		id, _ := strconv.ParseUint(name, 10, 64)
		for key, m := range c.p.compute.res {
			if strings.HasPrefix(key, prefix) && computeID(m) == id {
				return key, m, nil
			}
		}
	}
	return "", nil, computeNotFound("projects/" + c.p.id + "/" + prefix + name)
}

// withFound runs do, with s.mu held, on what find finds for the request
// (a resource, an operation) under its key; what is not there is answered
// as Google does. Every method on one resource looks it up here.
func withFound[T any](a *computeAPI, c *computeReq, find func(*computeReq) (string, T, *computeError), do func(key string, found T)) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	key, found, err := find(c)
	if err != nil {
		computeWriteError(c.w, err)
		return
	}
	do(key, found)
}

func (a *computeAPI) getter(k *computeKind) func(*computeReq) {
	return func(c *computeReq) {
		withFound(a, c, k.find, func(key string, m proto.Message) {
			computeWrite(c.w, k.read(c.p, key, m))
		})
	}
}

func (a *computeAPI) lister(k *computeKind) func(*computeReq) {
	return func(c *computeReq) {
		prefix := c.scope() + "/" + k.collection + "/"
		a.listFiltered(c, k.kind+"List", c.scope()+"/"+k.collection, func(yield func(proto.Message) bool) {
			for _, key := range sortedKeys(c.p.compute.res) {
				if strings.HasPrefix(key, prefix) && !yield(k.read(c.p, key, c.p.compute.res[key])) {
					return
				}
			}
		})
	}
}

// listFiltered answers a list: of what all gives (read with s.mu held),
// what the request's filter matches, one page of it. Every Compute list is
// answered here.
func (a *computeAPI) listFiltered(c *computeReq, kind, path string, all iter.Seq[proto.Message]) {
	f, ferr := computeParseFilter(c.r.URL.Query().Get("filter"))
	if ferr != nil {
		computeWriteError(c.w, ferr)
		return
	}
	var items []json.RawMessage
	var err error
	a.s.mu.Lock()
	for m := range all {
		if !f.match(m) {
			continue
		}
		var b []byte
		if b, err = protojson.Marshal(m); err != nil {
			break
		}
		items = append(items, b)
	}
	a.s.mu.Unlock()
	if err != nil {
		computeWriteError(c.w, &computeError{http.StatusInternalServerError, "encode response: " + err.Error(), "backendError"})
		return
	}
	computeWriteList(c, kind, path, items)
}

// computeWriteList answers one page of a list, as Google shapes them.
func computeWriteList(c *computeReq, kind, path string, items []json.RawMessage) {
	lo, hi, next, err := computePage(c, len(items))
	if err != nil {
		computeWriteError(c.w, err)
		return
	}
	out := struct {
		Kind          string            `json:"kind"`
		ID            string            `json:"id"`
		Items         []json.RawMessage `json:"items,omitempty"`
		NextPageToken string            `json:"nextPageToken,omitempty"`
		SelfLink      string            `json:"selfLink"`
	}{kind, "projects/" + c.p.id + "/" + path, items[lo:hi], next, computeBase + "projects/" + c.p.id + "/" + path}
	b, merr := json.Marshal(out)
	if merr != nil {
		computeWriteError(c.w, &computeError{http.StatusInternalServerError, "encode response: " + merr.Error(), "backendError"})
		return
	}
	c.w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	c.w.Write(b)
}

func (a *computeAPI) inserter(k *computeKind) func(*computeReq) {
	return func(c *computeReq) {
		m := k.newMsg()
		if err := computeDecode(c.body, m); err != nil {
			computeWriteError(c.w, err)
			return
		}
		name := computeStr(m, "name")
		if err := computeCheckName(name); err != nil {
			computeWriteError(c.w, err)
			return
		}
		a.s.mu.Lock()
		defer a.s.mu.Unlock()
		key := c.scope() + "/" + k.collection + "/" + name
		if _, ok := c.p.compute.res[key]; ok {
			computeWriteError(c.w, &computeError{http.StatusConflict, fmt.Sprintf("The resource 'projects/%s/%s' already exists", c.p.id, key), "alreadyExists"})
			return
		}
		computeClear(m, computeOutputOnly...)
		if err := k.prepare(a, c, m, nil); err != nil {
			computeWriteError(c.w, err)
			return
		}
		now := a.s.now()
		computeSetStr(m, "kind", k.kind)
		computeSetStr(m, "self_link", computeURL(c.p, key))
		computeSetStr(m, "creation_timestamp", computeTime(now))
		if fd := computeField(m, "id"); fd != nil {
			m.ProtoReflect().Set(fd, protoreflect.ValueOfUint64(computeMix(uint64(a.s.nextSeq()))))
		}
		if computeField(m, "fingerprint") != nil {
			computeSetStr(m, "fingerprint", a.s.computeFingerprint())
		}
		if r := c.vars["region"]; r != "" {
			computeSetStr(m, "region", computeURL(c.p, "regions/"+r))
		}
		c.p.compute.res[key] = m
		a.s.changedLocked()
		computeWrite(c.w, a.newOpLocked(c, "insert", key, m, now))
	}
}

// updater serves update (PUT, the body replaces the resource) and patch
// (PATCH, the body is a JSON merge patch). Both honour the fingerprint: a
// stale one means someone changed the resource since the caller read it.
func (a *computeAPI) updater(k *computeKind, patch bool) func(*computeReq) {
	return func(c *computeReq) {
		body := k.newMsg()
		if err := computeDecode(c.body, body); err != nil {
			computeWriteError(c.w, err)
			return
		}
		withFound(a, c, k.find, func(key string, old proto.Message) {
			if fp := computeStr(body, "fingerprint"); fp != "" && !sameFingerprint(fp, computeStr(old, "fingerprint")) {
				computeWriteError(c.w, &computeError{http.StatusPreconditionFailed, fmt.Sprintf("Supplied fingerprint does not match the current fingerprint of resource 'projects/%s/%s': it changed since it was read. Get it again and retry.", c.p.id, key), "conditionNotMet"})
				return
			}
			name := computeName(key)
			if n := computeStr(body, "name"); n != "" && n != name {
				computeWriteError(c.w, computeInvalid("resource.name", n, "The name of a resource cannot be changed."))
				return
			}
			m := body
			if patch {
				var perr *computeError
				if m, perr = computePatched(old, c.body); perr != nil {
					computeWriteError(c.w, perr)
					return
				}
			}
			computeClear(m, computeOutputOnly...)
			computeSetStr(m, "name", name)
			if err := k.prepare(a, c, m, old); err != nil {
				computeWriteError(c.w, err)
				return
			}
			for _, f := range []string{"id", "kind", "self_link", "creation_timestamp", "region"} {
				if fd := computeField(m, f); fd != nil && old.ProtoReflect().Has(fd) {
					m.ProtoReflect().Set(fd, old.ProtoReflect().Get(fd))
				}
			}
			computeSetStr(m, "fingerprint", a.s.computeFingerprint())
			c.p.compute.res[key] = m
			a.s.changedLocked()
			verb := "update"
			if patch {
				verb = "patch"
			}
			computeWrite(c.w, a.newOpLocked(c, verb, key, m, a.s.now()))
		})
	}
}

// sameFingerprint compares two fingerprints as the bytes they encode:
// fingerprints are bytes fields, and gcloud (apitools) sends back in URL-safe
// base64 what it read in standard base64. Google accepts both alphabets.
func sameFingerprint(a, b string) bool {
	da, erra := decodeFingerprint(a)
	db, errb := decodeFingerprint(b)
	if erra != nil || errb != nil {
		return a == b
	}
	return bytes.Equal(da, db)
}

func decodeFingerprint(s string) ([]byte, error) {
	if strings.ContainsAny(s, "-_") {
		return base64.URLEncoding.DecodeString(s)
	}
	return base64.StdEncoding.DecodeString(s)
}

// computePatched is old with the JSON merge patch body applied. Output-only
// fields in the patch are ignored, as Google ignores them.
func computePatched(old proto.Message, body []byte) (proto.Message, *computeError) {
	var patch map[string]any
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &patch); err != nil {
			return nil, &computeError{http.StatusBadRequest, "Invalid JSON payload received. " + err.Error(), "parseError"}
		}
	}
	for _, f := range []string{"id", "kind", "selfLink", "creationTimestamp", "region", "fingerprint", "name", "usedBy"} {
		delete(patch, f)
	}
	b, err := protojson.Marshal(old)
	if err != nil {
		return nil, &computeError{http.StatusInternalServerError, "encode resource: " + err.Error(), "backendError"}
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, &computeError{http.StatusInternalServerError, "decode resource: " + err.Error(), "backendError"}
	}
	merged, err := json.Marshal(computeMergePatch(doc, patch))
	if err != nil {
		return nil, &computeError{http.StatusInternalServerError, "encode resource: " + err.Error(), "backendError"}
	}
	m := computeNew(old)
	if err := computeDecode(merged, m); err != nil {
		return nil, err
	}
	return m, nil
}

func (a *computeAPI) deleter(k *computeKind) func(*computeReq) {
	return func(c *computeReq) {
		withFound(a, c, k.find, func(key string, m proto.Message) {
			user := c.p.compute.userOf(key)
			if k.users != nil && user == "" {
				if us := k.users(c.p, m); len(us) > 0 {
					user = computeKeyOf(us[0])
				}
			}
			if user != "" {
				computeWriteError(c.w, &computeError{http.StatusBadRequest,
					fmt.Sprintf("The %s resource 'projects/%s/%s' is already being used by 'projects/%s/%s'", k.label, c.p.id, key, c.p.id, user),
					"resourceInUseByAnotherResource"})
				return
			}
			delete(c.p.compute.res, key)
			a.s.changedLocked()
			computeWrite(c.w, a.newOpLocked(c, "delete", key, m, a.s.now()))
		})
	}
}

// userOf returns the key of a resource that references key, the first in
// key order, or "" if none does.
func (cs *computeState) userOf(key string) string {
	if users := cs.usersOf(key); len(users) > 0 {
		return users[0]
	}
	return ""
}

// computeKindOf is the kind of the resource with key.
func computeKindOf(key string) *computeKind {
	segs := strings.Split(key, "/")
	if len(segs) < 2 {
		return nil
	}
	return computeKindByCollection[segs[len(segs)-2]]
}
