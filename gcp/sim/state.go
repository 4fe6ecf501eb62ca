package sim

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/beyond-lab/beyond/lab"
)

// Service names of the APIs the simulator serves, as Service Usage knows them.
const (
	APIRun              = lab.APIRun
	APICompute          = lab.APICompute
	APIArtifactRegistry = lab.APIArtifactRegistry
	APIGenerativeAI     = lab.APIGenerativeAI
	APIAIPlatform       = lab.APIAIPlatform
	APIDNS              = lab.APIDNS
	APICertManager      = lab.APICertManager
)

// catalog is every service Service Usage lists for a simulated project. Only
// the ones the lab touches are simulated beyond being listed.
var catalog = []struct{ name, title string }{
	{APIAIPlatform, lab.APITitle(APIAIPlatform)},
	{APIArtifactRegistry, lab.APITitle(APIArtifactRegistry)},
	{APICertManager, lab.APITitle(APICertManager)},
	{APICompute, lab.APITitle(APICompute)},
	{APIDNS, lab.APITitle(APIDNS)},
	{APIGenerativeAI, lab.APITitle(APIGenerativeAI)},
	{APIRun, lab.APITitle(APIRun)},
	{APIResourceManager, lab.APITitle(APIResourceManager)},
	{APIIAM, lab.APITitle(APIIAM)},
	{"logging.googleapis.com", "Cloud Logging API"},
	{lab.APIServiceUsage, lab.APITitle(lab.APIServiceUsage)},
}

// enabledAtStart are the services a new Google project has on: Service Usage
// itself and the basics, none of the lab's.
var enabledAtStart = []string{lab.APIServiceUsage, "logging.googleapis.com", APIIAM, APIResourceManager}

// project is the whole simulated state of one project.
type project struct {
	id      string
	number  int64
	created time.Time
	enabled map[string]bool
	// enabledAt is when each API's enable operation was done, for
	// Conditions.APIPropagation.
	enabledAt map[string]time.Time

	run      *runState      // Cloud Run services, revisions, operations (run.go)
	compute  *computeState  // Compute Engine resources and operations (compute.go)
	registry *registryState // Artifact Registry repositories (artifactregistry.go)
	iam      *projectIAM    // service accounts and the project's IAM policy (iamadmin.go)
	certs    *certState     // Certificate Manager (certmanager.go)
	dns      *dnsState      // Cloud DNS zones and records (dns.go)
}

// readProjectLocked returns the state of project id. Google answers for any
// project that exists, so a project the simulator has not stored answers
// as a new one would (nothing in it, the default APIs on, its number), from
// a fresh value that is not kept: reading any number of IDs leaves nothing
// behind. A write stores it (keepLocked): every write either starts an
// operation (startOpLocked, Compute's newOpLocked) or is one of the few that
// do not (creating a service account, setting the project's IAM policy,
// creating a DNS zone), which call keepLocked themselves. Any other write
// changes a resource that exists, so its project is stored already. It
// fails for an ID Google would refuse. Call with s.mu held.
func (s *Sim) readProjectLocked(id string) (*project, error) {
	if p, ok := s.projects[id]; ok {
		return p, nil
	}
	if !lab.ProjectID.Valid(id) {
		return nil, fmt.Errorf("invalid project ID %q: it must be 6 to 30 lowercase letters, digits or hyphens, start with a letter and not end with a hyphen", id)
	}
	p := &project{
		id:      id,
		number:  s.projectNumberLocked(id),
		created: s.born, // the same on every read, and after the first write

		enabled:   map[string]bool{},
		enabledAt: map[string]time.Time{},
		run:       newRunState(),
		compute:   newComputeState(),
		registry:  newRegistryState(),
		certs:     newCertState(),
		dns:       newDNSState(),
	}
	for _, name := range enabledAtStart {
		p.enabled[name] = true
	}
	p.iam = newProjectIAM(p.id, p.number)
	s.shown.add(p.number, p.id)
	return p, nil
}

// projectLocked returns the state of project id and stores it: the
// explicit create, for code that writes to a project before any API call
// has (tests). Call with s.mu held.
func (s *Sim) projectLocked(id string) (*project, error) {
	p, err := s.readProjectLocked(id)
	if err != nil {
		return nil, err
	}
	s.keepLocked(p)
	return p, nil
}

// keepLocked stores p, a project readProjectLocked handed out, if it is not
// stored yet: something is about to be written to it. Call with s.mu held.
func (s *Sim) keepLocked(p *project) {
	if _, ok := s.projects[p.id]; ok {
		return
	}
	s.projects[p.id] = p
	s.byNumber[p.number] = p
}

// projectNumberLocked is the number of project id. It is worked out from
// the ID rather than handed out in order, so that a project read before it
// is stored (its number shows in answers: Service Usage names, the
// activation URL of SERVICE_DISABLED, the default service account) keeps
// that number once a write stores it, whatever was stored in between. Two
// IDs that meet on one number (a chance of about n²/1.8e12 for n projects)
// are told apart by taking the next free one; only if the other project is
// stored between a read of this one and its first write does the number it
// answered with change. Call with s.mu held.
func (s *Sim) projectNumberLocked(id string) int64 {
	const first, span = 100000000000, 900000000000 // twelve digits, as Google's
	h := fnv.New64a()
	h.Write([]byte(id))
	n := first + int64(h.Sum64()%span)
	for {
		if p, taken := s.byNumber[n]; !taken || p.id == id {
			return n
		}
		n = first + (n-first+1)%span
	}
}

// numbersShown remembers the numbers the newest reads of projects not
// stored answered with, so that a client may name such a project by the
// number it was shown (projects/NUMBER/...), as Google allows. It is bounded:
// reads of ever more projects keep only the newest numbersKept.
type numbersShown struct {
	ids   map[int64]string
	order []int64 // oldest first
}

const numbersKept = 1024

func (ns *numbersShown) add(n int64, id string) {
	if _, ok := ns.ids[n]; ok {
		return
	}
	if ns.ids == nil {
		ns.ids = map[int64]string{}
	}
	if len(ns.order) == numbersKept {
		delete(ns.ids, ns.order[0])
		ns.order = ns.order[1:]
	}
	ns.ids[n] = id
	ns.order = append(ns.order, n)
}

// activationURL is the console page Google's SERVICE_DISABLED errors point to.
func activationURL(api string, projectNumber int64) string {
	return fmt.Sprintf("https://console.developers.google.com/apis/api/%s/overview?project=%d", api, projectNumber)
}

// disabledMessage is the text Google gives when a call reaches a disabled API.
func disabledMessage(title, api string, projectNumber int64) string {
	return fmt.Sprintf("%s has not been used in project %d before or it is disabled. Enable it by visiting %s then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.",
		title, projectNumber, activationURL(api, projectNumber))
}

// answersLocked reports whether calls to api reach it in p: it is enabled
// and, under Conditions.APIPropagation, its enable has spread. Service Usage
// already says ENABLED in that window, as on Google. Call with s.mu held.
func (s *Sim) answersLocked(p *project, api string) bool {
	// Operations that are due apply first: an enable that is overdue has
	// happened, whichever API is asked.
	s.settleLocked(p)
	if !p.enabled[api] {
		return false
	}
	at, ok := p.enabledAt[api]
	return !ok || !s.now().Before(at.Add(s.cond.APIPropagation))
}
