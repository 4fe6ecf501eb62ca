// Package steps is the lab: its variables, its steps in order, and the runner
// that performs them and reports what happens as a stream of events. Both
// front ends (the TUI and the non-interactive replay) drive this runner and
// nothing else.
package steps

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/service"
)

// Vars are the workshop's variables, with its names and defaults.
type Vars struct {
	Project    string // PROJECT_ID
	Service    string // SERVICE_NAME
	RegionA    string // REGION_A
	RegionB    string // REGION_B
	NEGA       string // NEG_A_NAME
	NEGB       string // NEG_B_NAME
	Backend    string // BACKEND_NAME
	URLMap     string // URL_MAP_NAME
	Proxy      string // TARGET_HTTP_PROXY
	Rule       string // FORWARDING_RULE
	Repository string // REPOSITORY: the lab's Artifact Registry repository
	// Image is what the deploy steps run. Empty means the Gemini service the
	// lab builds; lab.HelloImage is the workshop's sample.
	Image string // IMAGE
	// Model is the Gemini model the service calls (GEMINI_MODEL, as the
	// service itself reads it). Models retire: it is a setting, and
	// confirm-ai asks where it is served before anything is deployed.
	Model string // GEMINI_MODEL
	// ServiceAccount is the ID of the service account the service runs as
	// (the part of its email before the @).
	ServiceAccount string // SERVICE_ACCOUNT
	// SecurityPolicy is the Cloud Armor security policy of the production
	// part.
	SecurityPolicy string // SECURITY_POLICY
	// Domain is the learner's domain for HTTPS (Part 5); empty on Google
	// skips that part, and the simulator then uses a reserved test name.
	Domain     string // DOMAIN
	Address    string // ADDRESS_NAME: the static global address
	DNSZone    string // DNS_ZONE
	CertName   string // CERTIFICATE_NAME
	CertMap    string // CERTIFICATE_MAP
	HTTPSProxy string // TARGET_HTTPS_PROXY
	HTTPSRule  string // HTTPS_FORWARDING_RULE
	// RedirectMap is the URL map the HTTP proxy uses once HTTP redirects
	// to HTTPS.
	RedirectMap string // REDIRECT_URL_MAP
}

// Var describes one variable: its environment name (the workshop's), its
// flag, its default and the rule its value must follow.
type Var struct {
	Env     string
	Flag    string
	Default string
	Usage   string
	Field   func(*Vars) *string
	Rule    func(string) error
}

// VarList is every variable, in the workshop's order.
var VarList = []Var{
	{"PROJECT_ID", "project", "", "Google Cloud project ID; on Google, nothing is created without it", func(v *Vars) *string { return &v.Project }, checkProject},
	{"SERVICE_NAME", "service", "gemini-service", "Cloud Run service name", func(v *Vars) *string { return &v.Service }, lab.ServiceName.Check},
	{"REGION_A", "region-a", lab.DefaultRegionA, "first region", func(v *Vars) *string { return &v.RegionA }, checkRegion},
	{"REGION_B", "region-b", lab.DefaultRegionB, "second region", func(v *Vars) *string { return &v.RegionB }, checkRegion},
	{"NEG_A_NAME", "neg-a", "neg-us-central1", "serverless NEG in region A", func(v *Vars) *string { return &v.NEGA }, lab.ComputeName.Check},
	{"NEG_B_NAME", "neg-b", "neg-europe-west1", "serverless NEG in region B", func(v *Vars) *string { return &v.NEGB }, lab.ComputeName.Check},
	{"BACKEND_NAME", "backend", "global-backend", "global backend service", func(v *Vars) *string { return &v.Backend }, lab.ComputeName.Check},
	{"URL_MAP_NAME", "url-map", "gemini-url-map", "URL map", func(v *Vars) *string { return &v.URLMap }, lab.ComputeName.Check},
	{"TARGET_HTTP_PROXY", "proxy", "gemini-target-proxy", "target HTTP proxy", func(v *Vars) *string { return &v.Proxy }, lab.ComputeName.Check},
	{"FORWARDING_RULE", "forwarding-rule", "gemini-global-ip", "global forwarding rule (the global IP)", func(v *Vars) *string { return &v.Rule }, lab.ComputeName.Check},
	{"REPOSITORY", "repository", "beyond", "Artifact Registry repository for the lab's image, in region A", func(v *Vars) *string { return &v.Repository }, lab.RepositoryID.Check},
	{"IMAGE", "image", "", "image to deploy instead of building the Gemini service, e.g. " + lab.HelloImage, func(v *Vars) *string { return &v.Image }, checkImage},
	{"SERVICE_ACCOUNT", "service-account", "gemini-service-sa", "ID of the service account the service runs as (ID@PROJECT.iam.gserviceaccount.com)", func(v *Vars) *string { return &v.ServiceAccount }, lab.ServiceAccountID.Check},
	{"SECURITY_POLICY", "security-policy", "gemini-rate-limit", "Cloud Armor security policy (production practice)", func(v *Vars) *string { return &v.SecurityPolicy }, lab.ComputeName.Check},
	{"GEMINI_MODEL", "model", service.DefaultModel, "Gemini model the service calls; confirm-ai asks Google where it is served (each region, else global)", func(v *Vars) *string { return &v.Model }, checkModel},
	{"DOMAIN", "domain", "", "your domain, for HTTPS on api.DOMAIN (Part 5); without it, that part is skipped on Google", func(v *Vars) *string { return &v.Domain }, checkDomain},
	{"ADDRESS_NAME", "address", "gemini-ip", "static global IP address", func(v *Vars) *string { return &v.Address }, lab.ComputeName.Check},
	{"DNS_ZONE", "dns-zone", "beyond-zone", "Cloud DNS managed zone for DOMAIN", func(v *Vars) *string { return &v.DNSZone }, lab.ComputeName.Check},
	{"CERTIFICATE_NAME", "certificate", "gemini-cert", "Certificate Manager certificate (its DNS authorization is NAME-auth)", func(v *Vars) *string { return &v.CertName }, lab.ComputeName.Check},
	{"CERTIFICATE_MAP", "certificate-map", "gemini-cert-map", "Certificate Manager map (its entry is NAME-entry)", func(v *Vars) *string { return &v.CertMap }, lab.ComputeName.Check},
	{"TARGET_HTTPS_PROXY", "https-proxy", "gemini-https-proxy", "target HTTPS proxy", func(v *Vars) *string { return &v.HTTPSProxy }, lab.ComputeName.Check},
	{"HTTPS_FORWARDING_RULE", "https-forwarding-rule", "gemini-https-rule", "global forwarding rule on port 443", func(v *Vars) *string { return &v.HTTPSRule }, lab.ComputeName.Check},
	{"REDIRECT_URL_MAP", "redirect-url-map", "gemini-redirect-map", "URL map that redirects HTTP to HTTPS", func(v *Vars) *string { return &v.RedirectMap }, lab.ComputeName.Check},
}

// DefaultVars returns the workshop's defaults, with no project.
func DefaultVars() Vars {
	var v Vars
	for _, d := range VarList {
		*d.Field(&v) = d.Default
	}
	return v
}

// FromEnv sets every variable whose environment variable is set.
func (v *Vars) FromEnv(getenv func(string) string) {
	for _, d := range VarList {
		if val := getenv(d.Env); val != "" {
			*d.Field(v) = val
		}
	}
}

// Validate refuses, before any call, every value Google would refuse, and
// says the rule.
func (v Vars) Validate() error {
	var errs []error
	for _, d := range VarList {
		val := *d.Field(&v)
		if (d.Env == "IMAGE" || d.Env == "DOMAIN") && val == "" {
			continue
		}
		if err := d.Rule(val); err != nil {
			errs = append(errs, fmt.Errorf("%s (--%s) = %q: %w", d.Env, d.Flag, val, err))
		}
	}
	if v.RegionA == v.RegionB && v.RegionA != "" {
		errs = append(errs, fmt.Errorf("REGION_A and REGION_B are both %q: the lab needs two different regions", v.RegionA))
	}
	if v.NEGA == v.NEGB && v.NEGA != "" && v.RegionA == v.RegionB {
		errs = append(errs, errors.New("NEG_A_NAME and NEG_B_NAME must differ"))
	}
	return errors.Join(errs...)
}

// The patterns are compiled on first use, not in package init, which runs
// at every start of beyond, before the guide's first frame.
var (
	// imagePattern is the shape of an image reference the deploy steps accept.
	imagePattern = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$`)
	})
	// modelPattern is the shape of a bare Gemini model ID.
	modelPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$`) })
)

func checkProject(s string) error {
	if s == "" {
		return errors.New("a project ID is required")
	}
	return lab.ProjectID.Check(s)
}

func checkModel(s string) error {
	if !modelPattern().MatchString(s) {
		return errors.New("a model ID is a bare name such as " + service.DefaultModel + " (lowercase letters, digits, dots and hyphens), without models/ or a path")
	}
	return nil
}

func checkImage(s string) error {
	if !imagePattern().MatchString(s) {
		return errors.New("an image is HOST/PATH[:TAG][@sha256:DIGEST] in lowercase, e.g. " + lab.HelloImage)
	}
	return nil
}

// domainPattern is a DNS name of two labels or more, without the final dot.
var domainPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
})

func checkDomain(s string) error {
	if len(s) > 240 || !domainPattern().MatchString(s) {
		return errors.New("a domain is a lowercase DNS name such as example.com, without a scheme, a path or a final dot")
	}
	return nil
}

func checkRegion(s string) error {
	if !lab.IsRegion(s) {
		return fmt.Errorf("not a Cloud Run region; use one of %s", strings.Join(lab.Regions, ", "))
	}
	return nil
}
