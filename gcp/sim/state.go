package sim

import (
	"fmt"
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

// projectLocked returns the state of project id, creating it on first use as
// Google does for a project that exists. It fails for an ID Google would
// refuse. Call with s.mu held.
func (s *Sim) projectLocked(id string) (*project, error) {
	if p, ok := s.projects[id]; ok {
		return p, nil
	}
	if !lab.ProjectID.Valid(id) {
		return nil, fmt.Errorf("invalid project ID %q: it must be 6 to 30 lowercase letters, digits or hyphens, start with a letter and not end with a hyphen", id)
	}
	p := &project{
		id:        id,
		number:    100000000000 + int64(len(s.projects)+1)*7919,
		created:   s.now(),
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
	s.projects[id] = p
	s.byNumber[p.number] = p
	return p, nil
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
