package steps

import (
	"slices"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/content"
)

// TestEveryStepHasProse: every step has its prose, every prose file but the
// opening and closing pages is a step, and each step's title is its prose's
// heading.
func TestEveryStepHasProse(t *testing.T) {
	var ids []string
	for _, s := range Lab() {
		ids = append(ids, s.ID)
		if _, err := content.Step(s.ID); err != nil {
			t.Errorf("step %s has no prose: %v", s.ID, err)
		}
		if s.Title == "" || s.Title != content.Title(s.ID) {
			t.Errorf("step %s is titled %q; its prose's heading is %q", s.ID, s.Title, content.Title(s.ID))
		}
	}
	for _, id := range content.IDs() {
		if id != content.Intro && id != content.Next && !slices.Contains(ids, id) {
			t.Errorf("content/%s.md is the prose of no step", id)
		}
	}
}

// TestStepMetadata pins what the front ends read instead of step IDs.
func TestStepMetadata(t *testing.T) {
	var live, breaks, restores, optional, creates []string
	for _, s := range Lab() {
		if s.Live {
			live = append(live, s.ID)
		}
		if s.Breaks {
			breaks = append(breaks, s.ID)
		}
		if s.Restores {
			restores = append(restores, s.ID)
		}
		if s.Optional {
			optional = append(optional, s.ID)
		}
		if s.Creates != nil && len(s.Creates(DefaultVars())) > 0 {
			creates = append(creates, s.ID)
		}
		if !slices.ContainsFunc(Parts, func(p Part) bool { return p.ID == s.Part }) {
			t.Errorf("step %s is in part %q, which is not one of Parts", s.ID, s.Part)
		}
	}
	for _, c := range []struct {
		what      string
		got, want []string
	}{
		{"live", live, []string{Curl, BreakWorkshop, BreakRegion, Failover, Restore}},
		{"breaks", breaks, []string{BreakWorkshop, BreakRegion}},
		{"restores", restores, []string{Restore}},
		{"optional", optional, []string{Cleanup}},
		{"creates", creates, []string{ServiceAccount, GrantVertexAI, Repository, BuildImage, DeployA, DeployB, NEGA, NEGB, BackendService, URLMap, Proxy, ForwardingRule, ArmorPreview, StaticIP, DNSZone, Certificate, CertificateMap, HTTPSFrontend, HTTPSRedirect}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s steps %v; want %v", c.what, c.got, c.want)
		}
	}
}

// TestResources: cleanup deletes in dependency order, and Billable lists
// what costs money of what passed steps created, until a cleanup.
func TestResources(t *testing.T) {
	v := DefaultVars()
	v.Project = "beyond-test"
	var got []string
	for _, r := range resources(Lab(), v) {
		got = append(got, r.String())
	}
	want := []string{
		// Part 5, HTTPS: the front end first, then what it uses.
		"URL map gemini-redirect-map (global)",
		"forwarding rule gemini-https-rule (global)",
		"target HTTPS proxy gemini-https-proxy (global)",
		"certificate map entry gemini-cert-map-entry (gemini-cert-map)",
		"certificate map gemini-cert-map (global)",
		"certificate gemini-cert (global)",
		"DNS authorization gemini-cert-auth (global)",
		"DNS record CNAME _acme-challenge.api.beyond-test.example. (beyond-zone)",
		"DNS record A api.beyond-test.example. (beyond-zone)",
		"DNS zone beyond-zone (global)",
		// Detached, then deleted, before the backend service it guards.
		"Cloud Armor security policy gemini-rate-limit (global)",
		"forwarding rule gemini-global-ip (global)",
		"target HTTP proxy gemini-target-proxy (global)",
		"URL map gemini-url-map (global)",
		"backend service global-backend (global)",
		"NEG neg-europe-west1 (europe-west1)",
		"NEG neg-us-central1 (us-central1)",
		"Cloud Run service gemini-service (europe-west1)",
		"Cloud Run service gemini-service (us-central1)",
		"image us-central1-docker.pkg.dev/beyond-test/beyond/gemini-service (us-central1)",
		"Artifact Registry repository beyond (us-central1)",
		// The binding before the account, or Google would keep it in the
		// policy as a deleted member.
		"role binding roles/aiplatform.user for serviceAccount:gemini-service-sa@beyond-test.iam.gserviceaccount.com (project)",
		"service account gemini-service-sa@beyond-test.iam.gserviceaccount.com (project)",
		// Last: the HTTP rule of Part 3 holds it until it is gone.
		"static address gemini-ip (global)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("resources:\n%q\nwant\n%q", got, want)
	}

	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	saved := map[string]SavedState{
		DeployA:        {Status: StatusPassed, At: t0},
		DeployB:        {Status: StatusFailed, At: t0},
		NEGA:           {Status: StatusPassed, At: t0},
		ForwardingRule: {Status: StatusPassed, At: t0},
	}
	var bill []string
	for _, r := range Billable(Lab(), v, saved) {
		bill = append(bill, r.String())
	}
	if want := []string{"forwarding rule gemini-global-ip (global)", "Cloud Run service gemini-service (us-central1)"}; !slices.Equal(bill, want) {
		t.Errorf("billable %q; want %q", bill, want)
	}
	saved[Cleanup] = SavedState{Status: StatusPassed, At: t0.Add(time.Minute)}
	if bill := Billable(Lab(), v, saved); len(bill) != 0 {
		t.Errorf("billable after cleanup: %v", bill)
	}
	v.Image = "us-docker.pkg.dev/cloudrun/container/hello"
	saved = map[string]SavedState{BuildImage: {Status: StatusPassed, At: t0}}
	if bill := Billable(Lab(), v, saved); len(bill) != 0 {
		t.Errorf("with --image, billable %v; nothing was pushed", bill)
	}
}
