package content

import (
	"errors"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// labIDs is every step of the lab, in lab order, plus the opening and the
// closing text.
var labIDs = []string{
	"intro",
	"confirm-ai",
	"project", "enable-apis", "service-account", "grant-vertex-ai", "repository", "build-image", "deploy-a",
	"deploy-b", "neg-a", "neg-b", "backend-service", "backend-a", "backend-b",
	"url-map", "proxy", "forwarding-rule",
	"global-ip", "curl", "break-workshop", "break-region", "failover", "restore",
	"ingress", "armor-preview", "armor-enforce", "max-instances",
	"static-ip", "dns-zone", "certificate", "certificate-map", "https-frontend", "https-redirect", "https-check",
	"cleanup",
	"next",
}

// line is one line of a step with what the test needs to know about it.
type line struct {
	n    int // 1-based
	text string
	code bool // inside a fenced block, fences included
}

func lines(t *testing.T, id string) []line {
	t.Helper()
	s, err := Step(id)
	if err != nil {
		t.Fatal(err)
	}
	var out []line
	in := false
	for i, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		fence := strings.HasPrefix(l, "```")
		if fence {
			in = !in
		}
		out = append(out, line{i + 1, l, in || fence})
	}
	if in {
		t.Errorf("%s: a code block is never closed", id)
	}
	return out
}

func TestEveryStepHasProse(t *testing.T) {
	for _, id := range labIDs {
		s, err := Step(id)
		if err != nil {
			t.Errorf("Step(%q): %v", id, err)
			continue
		}
		if !strings.HasPrefix(s, "# ") {
			t.Errorf("%s: first line %q is not a \"# \" heading", id, strings.SplitN(s, "\n", 2)[0])
		}
		if Title(id) == "" {
			t.Errorf("Title(%q) is empty", id)
		}
	}
}

func TestIDsAreTheLab(t *testing.T) {
	want := slices.Clone(labIDs)
	slices.Sort(want)
	if got := IDs(); !slices.Equal(got, want) {
		t.Errorf("IDs() = %q\nwant     %q\n(a file without a step, or a step without a file)", got, want)
	}
}

func TestTitle(t *testing.T) {
	if got, want := Title("backend-service"), "Create the global backend service"; got != want {
		t.Errorf("Title(backend-service) = %q, want %q", got, want)
	}
	if got := Title("no-such-step"); got != "" {
		t.Errorf("Title(no-such-step) = %q, want empty", got)
	}
}

func TestStepErrors(t *testing.T) {
	for _, id := range []string{"no-such-step", "", "../content/intro", "/intro", "intro.md", "."} {
		s, err := Step(id)
		if err == nil {
			t.Errorf("Step(%q) = %d bytes, want an error", id, len(s))
			continue
		}
		if !strings.Contains(err.Error(), `"`+id+`"`) {
			t.Errorf("Step(%q) error %q does not name the ID", id, err)
		}
	}
	if _, err := Step("no-such-step"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Step(no-such-step) error %v does not wrap fs.ErrNotExist", err)
	}
}

// TestTerminalShape checks what a reader at an 80-column terminal relies on:
// short lines, one heading, labelled code blocks, no HTML, and a length that
// fits a step.
func TestTerminalShape(t *testing.T) {
	html := regexp.MustCompile(`</?[a-zA-Z][a-zA-Z0-9]*[ />]`)
	// Prose lines (outside code blocks and the heading) each text may have.
	size := map[string][2]int{"intro": {8, 12}, "next": {6, 10}, "cleanup": {6, 26}, "failover": {6, 26}}
	for _, id := range IDs() {
		prose := 0
		for _, l := range lines(t, id) {
			if l.code {
				continue
			}
			if n := utf8.RuneCountInString(l.text); n > 80 {
				t.Errorf("%s:%d: %d runes, over 80: %q", id, l.n, n, l.text)
			}
			if strings.HasPrefix(l.text, "#") && l.n != 1 {
				t.Errorf("%s:%d: a second heading %q; only the first line may be one", id, l.n, l.text)
			}
			if html.MatchString(l.text) {
				t.Errorf("%s:%d: HTML in prose: %q", id, l.n, l.text)
			}
			if l.n > 1 && strings.TrimSpace(l.text) != "" {
				prose++
			}
		}
		lim, ok := size[id]
		if !ok {
			lim = [2]int{6, 20}
		}
		if prose < lim[0] || prose > lim[1] {
			t.Errorf("%s: %d lines of prose, want %d to %d", id, prose, lim[0], lim[1])
		}
	}
}

// TestCodeBlocksLabelled checks that every block says what it holds, so the
// front ends can style commands and files apart and a reader knows which is
// which.
func TestCodeBlocksLabelled(t *testing.T) {
	for _, id := range IDs() {
		in := false
		for _, l := range lines(t, id) {
			if !strings.HasPrefix(l.text, "```") {
				continue
			}
			if !in && l.text != "```bash" && l.text != "```yaml" {
				t.Errorf("%s:%d: code block opens with %q, want ```bash or ```yaml", id, l.n, l.text)
			}
			if in && l.text != "```" {
				t.Errorf("%s:%d: code block closes with %q, want ```", id, l.n, l.text)
			}
			in = !in
		}
	}
}

func TestNoSecrets(t *testing.T) {
	secret := regexp.MustCompile(`AIza[0-9A-Za-z_-]*|ya29\.|GOCSPX-|-----BEGIN [A-Z ]*PRIVATE KEY|"private_key"`)
	for _, id := range IDs() {
		for _, l := range lines(t, id) {
			if m := secret.FindString(l.text); m != "" {
				t.Errorf("%s:%d: looks like a secret (%q); use a placeholder", id, l.n, m)
			}
		}
	}
}

// TestCorrections pins the facts where the lab departs from the workshop, so
// an edit cannot quietly drop one.
func TestCorrections(t *testing.T) {
	want := map[string][]string{
		"backend-service": {
			"gcloud compute backend-services create $BACKEND_NAME --global\n",
			"--load-balancing-scheme=EXTERNAL_MANAGED",
			"enforcingConsecutiveErrors: 100",
			"registry.k8s.io",
		},
		"forwarding-rule": {"--load-balancing-scheme=EXTERNAL_MANAGED", "--ports 80"},
		"url-map":         {"retryPolicy", "5xx, gateway-error, connect-failure"},
		"enable-apis":     {"artifactregistry.googleapis.com", "aiplatform.googleapis.com", "iam.googleapis.com", "cloudresourcemanager.googleapis.com"},
		"break-workshop":  {"gcr.io/cloudrun/service-broken", "ready"},
		"break-region":    {"BEYOND_OUTAGE=1", "remove-backend"},
		"curl":            {"It's running!", "Hello World!", "/v1/check"},
		"build-image":     {"gcloud builds submit --tag", "docker push"},
		"cleanup":         {"beyond cleanup", "cleanup tip"},
		"restore":         {"baseEjectionTime", "service health"},
		"confirm-ai":      {"VADER", "simulated", "retired", "`global`", "GOOGLE_CLOUD_LOCATION", "regional failover does not cover", "`thinkingLevel`", "no temperature"},
		"project":         {"Service Account Admin", "Project IAM Admin", "Service Account User", "Vertex AI User", "iam.allowedPolicyMemberDomains", "--no-invoker-iam-check", "recommends"},
		"grant-vertex-ai": {"roles/aiplatform.user", "403 PERMISSION_DENIED", "custom role", "7 minutes"},
		"deploy-a":        {"--no-invoker-iam-check", "allUsers", "GOOGLE_CLOUD_LOCATION"},
		"ingress":         {"internal-and-cloud-load-balancing", "--no-default-url", "Not `--ingress internal`"},
		"armor-preview":   {"--action throttle", "--exceed-action deny-429", "--enforce-on-key IP --preview", "/health"},
		"armor-enforce":   {"--no-preview", "429"},
		"max-instances":   {"cloud.google.com/run/pricing", "--max 5", "Vertex AI quota"},
	}
	for id, subs := range want {
		s, err := Step(id)
		if err != nil {
			t.Errorf("Step(%q): %v", id, err)
			continue
		}
		// Prose wraps anywhere: compare with single spaces.
		flat := strings.Join(strings.Fields(s), " ")
		for _, sub := range subs {
			if !strings.Contains(s, sub) && !strings.Contains(flat, sub) {
				t.Errorf("%s: missing %q", id, sub)
			}
		}
	}
}
