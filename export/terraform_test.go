package export_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/beyond-lab/beyond/export"
	"github.com/beyond-lab/beyond/steps"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"google.golang.org/protobuf/proto"
)

// providerDocs is, per resource type, what the google provider's page says
// (https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/TYPE,
// "Argument Reference" and "Import"): the arguments it requires and the
// import ID format this configuration uses. A {{field}} is filled from the
// resource's own argument of that name when the configuration sets it.
var providerDocs = map[string]struct {
	required []string
	importID string
}{
	"google_project_service":                           {[]string{"service"}, "{{project}}/{{service}}"},
	"google_service_account":                           {[]string{"account_id"}, "projects/{{project}}/serviceAccounts/{{email}}"},
	"google_project_iam_member":                        {[]string{"project", "role", "member"}, "{{project}} {{role}} {{member}}"},
	"google_artifact_registry_repository":              {[]string{"repository_id", "format"}, "projects/{{project}}/locations/{{location}}/repositories/{{repository_id}}"},
	"google_cloud_run_v2_service":                      {[]string{"name", "location", "template"}, "projects/{{project}}/locations/{{location}}/services/{{name}}"},
	"google_cloud_run_v2_service_iam_member":           {[]string{"name", "role", "member"}, "projects/{{project}}/locations/{{location}}/services/{{name}} {{role}} {{member}}"},
	"google_compute_region_network_endpoint_group":     {[]string{"name", "region"}, "projects/{{project}}/regions/{{region}}/networkEndpointGroups/{{name}}"},
	"google_compute_backend_service":                   {[]string{"name"}, "projects/{{project}}/global/backendServices/{{name}}"},
	"google_compute_url_map":                           {[]string{"name"}, "projects/{{project}}/global/urlMaps/{{name}}"},
	"google_compute_target_http_proxy":                 {[]string{"name", "url_map"}, "projects/{{project}}/global/targetHttpProxies/{{name}}"},
	"google_compute_target_https_proxy":                {[]string{"name", "url_map"}, "projects/{{project}}/global/targetHttpsProxies/{{name}}"},
	"google_compute_global_forwarding_rule":            {[]string{"name", "target"}, "projects/{{project}}/global/forwardingRules/{{name}}"},
	"google_compute_global_address":                    {[]string{"name"}, "projects/{{project}}/global/addresses/{{name}}"},
	"google_compute_security_policy":                   {[]string{"name"}, "projects/{{project}}/global/securityPolicies/{{name}}"},
	"google_dns_managed_zone":                          {[]string{"name", "dns_name"}, "projects/{{project}}/managedZones/{{name}}"},
	"google_dns_record_set":                            {[]string{"name", "type", "managed_zone"}, "projects/{{project}}/managedZones/{{managed_zone}}/rrsets/{{name}}/{{type}}"},
	"google_certificate_manager_certificate":           {[]string{"name"}, "projects/{{project}}/locations/{{location}}/certificates/{{name}}"},
	"google_certificate_manager_dns_authorization":     {[]string{"name", "domain"}, "projects/{{project}}/locations/{{location}}/dnsAuthorizations/{{name}}"},
	"google_certificate_manager_certificate_map":       {[]string{"name"}, "projects/{{project}}/locations/global/certificateMaps/{{name}}"},
	"google_certificate_manager_certificate_map_entry": {[]string{"name", "map"}, "projects/{{project}}/locations/global/certificateMaps/{{map}}/certificateMapEntries/{{name}}"},
}

// config is a parsed configuration: every file's body, and the variables'
// defaults as the evaluation context var.X.
type config struct {
	files map[string]*hclsyntax.Body
	ctx   *hcl.EvalContext
}

func parse(t *testing.T, files map[string][]byte) *config {
	t.Helper()
	c := &config{files: map[string]*hclsyntax.Body{}}
	vars := map[string]cty.Value{}
	for name, src := range files {
		f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s does not parse: %s\n%s", name, diags.Error(), src)
		}
		c.files[name] = f.Body.(*hclsyntax.Body)
		for _, b := range c.files[name].Blocks {
			if b.Type == "variable" {
				v, diags := b.Body.Attributes["default"].Expr.Value(nil)
				if diags.HasErrors() {
					t.Fatalf("variable %s: %s", b.Labels[0], diags.Error())
				}
				vars[b.Labels[0]] = v
			}
		}
	}
	c.ctx = &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(vars)}}
	return c
}

func (c *config) blocks(typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, name := range []string{export.FileMain, export.FileVariables, export.FileImports} {
		if f, ok := c.files[name]; ok {
			for _, b := range f.Blocks {
				if b.Type == typ {
					out = append(out, b)
				}
			}
		}
	}
	return out
}

// value evaluates an attribute that needs no other resource (a literal, or
// var.X); ok is false for a reference to another resource.
func (c *config) value(b *hclsyntax.Body, name string) (string, bool) {
	a, ok := b.Attributes[name]
	if !ok {
		return "", false
	}
	v, diags := a.Expr.Value(c.ctx)
	if diags.HasErrors() || !v.Type().Equals(cty.String) || !v.IsKnown() {
		return "", false
	}
	return v.AsString(), true
}

// checkAgainstDocs checks every resource against providerDocs: its required
// arguments are set, and exactly one import block adopts it, with an ID of
// the documented format whose fields agree with the resource's arguments.
// It returns the resources' addresses.
func checkAgainstDocs(t *testing.T, c *config) []string {
	t.Helper()
	imports := map[string]string{}
	for _, b := range c.blocks("import") {
		to := string(b.Body.Attributes["to"].Expr.(*hclsyntax.ScopeTraversalExpr).Traversal.RootName())
		for _, tr := range b.Body.Attributes["to"].Expr.(*hclsyntax.ScopeTraversalExpr).Traversal[1:] {
			to += "." + tr.(hcl.TraverseAttr).Name
		}
		id, diags := b.Body.Attributes["id"].Expr.Value(c.ctx)
		if diags.HasErrors() {
			t.Fatalf("import of %s: its id does not evaluate: %s", to, diags.Error())
		}
		if _, dup := imports[to]; dup {
			t.Errorf("two import blocks for %s", to)
		}
		imports[to] = id.AsString()
	}
	project, _ := c.value(&hclsyntax.Body{Attributes: hclsyntax.Attributes{"p": {Expr: &hclsyntax.ScopeTraversalExpr{Traversal: hcl.Traversal{hcl.TraverseRoot{Name: "var"}, hcl.TraverseAttr{Name: "project"}}}}}}, "p")
	var addrs []string
	for _, b := range c.blocks("resource") {
		typ, addr := b.Labels[0], b.Labels[0]+"."+b.Labels[1]
		addrs = append(addrs, addr)
		doc, ok := providerDocs[typ]
		if !ok {
			t.Errorf("%s: no entry in the table of the provider's docs", addr)
			continue
		}
		for _, arg := range doc.required {
			_, attr := b.Body.Attributes[arg]
			nested := slices.ContainsFunc(b.Body.Blocks, func(nb *hclsyntax.Block) bool { return nb.Type == arg })
			if !attr && !nested {
				t.Errorf("%s: required argument %q is missing", addr, arg)
			}
		}
		id, ok := imports[addr]
		if !ok {
			t.Errorf("%s has no import block", addr)
			continue
		}
		// The documented format as a pattern: each {{field}} is the
		// resource's own argument when it can be evaluated, else any
		// segment.
		field := regexp.MustCompile(`\{\{(\w+)\}\}`)
		pattern, last := "", 0
		for _, m := range field.FindAllStringSubmatchIndex(doc.importID, -1) {
			name, repl := doc.importID[m[2]:m[3]], `[^/ ]+`
			if v, ok := c.value(b.Body, name); ok {
				repl = regexp.QuoteMeta(v)
			} else if name == "project" {
				repl = regexp.QuoteMeta(project)
			}
			pattern += regexp.QuoteMeta(doc.importID[last:m[0]]) + repl
			last = m[1]
		}
		pattern += regexp.QuoteMeta(doc.importID[last:])
		if !regexp.MustCompile("^" + pattern + "$").MatchString(id) {
			t.Errorf("%s: import id %q does not follow the documented format %q", addr, id, doc.importID)
		}
		delete(imports, addr)
	}
	for to := range imports {
		t.Errorf("import block for %s, which the configuration does not hold", to)
	}
	return addrs
}

// fmtCheck runs terraform fmt -check on the files, where terraform is
// installed.
func fmtCheck(t *testing.T, files map[string][]byte) {
	t.Helper()
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Log("terraform is not installed: fmt -check skipped (the files still parse with hcl/v2)")
		return
	}
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(tf, "fmt", "-check", "-diff", dir)
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=/dev/null", "CHECKPOINT_DISABLE=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("terraform fmt -check: %v\n%s", err, out.String())
	}
}

// TestTerraformOfTheLab exports the lab built on the simulator: the files
// parse, are fmt-clean, every resource the lab created is there with an
// import block whose ID follows the provider's documented format, and the
// values read from the cloud are in it.
func TestTerraformOfTheLab(t *testing.T) {
	b := build(t)
	files := export.Terraform(b.lab)
	c := parse(t, files)
	fmtCheck(t, files)
	addrs := checkAgainstDocs(t, c)
	want := []string{
		"google_project_service.run", "google_project_service.compute",
		"google_service_account.service", "google_project_iam_member.service_aiplatform_user",
		"google_artifact_registry_repository.images",
		"google_cloud_run_v2_service.region_a", "google_cloud_run_v2_service.region_b",
		"google_compute_region_network_endpoint_group.neg_a", "google_compute_region_network_endpoint_group.neg_b",
		"google_compute_backend_service.global_backend", "google_compute_url_map.gemini_url_map",
		"google_compute_target_http_proxy.gemini_target_proxy", "google_compute_global_forwarding_rule.gemini_global_ip",
		"google_compute_security_policy.gemini_rate_limit",
	}
	for _, a := range want {
		if !slices.Contains(addrs, a) {
			t.Errorf("the configuration has no %s; it has %v", a, addrs)
		}
	}
	main := string(files[export.FileMain])
	for _, s := range []string{
		`load_balancing_scheme = "EXTERNAL_MANAGED"`,
		"enforcing_consecutive_errors          = 100",
		`retry_conditions = ["5xx", "gateway-error", "connect-failure"]`,
		"group          = google_compute_region_network_endpoint_group.neg_b.id",
		"service_account                  = google_service_account.service.email",
		// the production part: through the load balancer only, no
		// run.app URL, a ceiling, the Cloud Armor policy attached
		`ingress  = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"`,
		"default_uri_disabled = true",
		"scaling {\n    max_instance_count = 5\n  }",
		"security_policy = google_compute_security_policy.gemini_rate_limit.id",
		"name        = var.security_policy",
		"expression = \"request.path.matches('/v1/check')\"",
		"exceed_action  = \"deny(429)\"",
		// public the way Google recommends, with no allUsers binding
		"invoker_iam_disabled = true",
	} {
		if !strings.Contains(main, s) {
			t.Errorf("main.tf lacks %q", s)
		}
	}
	if v, _ := c.value(&hclsyntax.Body{Attributes: hclsyntax.Attributes{"i": {Expr: &hclsyntax.ScopeTraversalExpr{Traversal: hcl.Traversal{hcl.TraverseRoot{Name: "var"}, hcl.TraverseAttr{Name: "image"}}}}}}, "i"); v != b.vars.Image {
		t.Errorf("var.image defaults to %q; the services run %q", v, b.vars.Image)
	}
}

// TestTerraformOfATypedStep: a setting typed by hand is exported as typed,
// since the export reads the cloud, not the lab's memory.
func TestTerraformOfATypedStep(t *testing.T) {
	b := build(t)
	b.lab.Backends[0].OutlierDetection.BaseEjectionTime = &computepb.Duration{Seconds: proto.Int64(45)}
	main := string(export.Terraform(b.lab)[export.FileMain])
	if !strings.Contains(main, "base_ejection_time {\n      seconds = 45") {
		t.Errorf("the backend's base ejection time as read (45 s) is not exported:\n%s", main)
	}
}

// TestTerraformOfPart6 renders what Part 6 adds (read elsewhere, given
// here as Google returns it): a Cloud Armor policy on the backend, a
// reserved global address, an HTTPS proxy with a certificate map, a rule
// on 443, a URL map that redirects HTTP to HTTPS, a DNS zone with its A
// record, and the Certificate Manager certificate, map and entry. Each is
// checked against the provider's docs like the rest, and refers to the
// others by reference.
func TestTerraformOfPart6(t *testing.T) {
	b := build(t)
	l, p := b.lab, b.vars.Project
	base := "https://www.googleapis.com/compute/v1/projects/" + p + "/global/"
	// The lab built has its own HTTPS half, read from the simulator (see
	// TestTerraformImportsEveryCreatedResource): here it is replaced by
	// Google's answers under other names.
	l.Addresses, l.HTTPSProxies, l.Extra = nil, nil, nil
	l.Rules, l.URLMaps = l.Rules[:1], l.URLMaps[:1]
	l.SecurityPolicies = append(l.SecurityPolicies, &computepb.SecurityPolicy{
		Name: proto.String("gemini-armor"), Type: proto.String("CLOUD_ARMOR"),
		Rules: []*computepb.SecurityPolicyRule{{
			Action: proto.String("throttle"), Priority: proto.Int32(1000),
			Match: &computepb.SecurityPolicyRuleMatcher{VersionedExpr: proto.String("SRC_IPS_V1"), Config: &computepb.SecurityPolicyRuleMatcherConfig{SrcIpRanges: []string{"*"}}},
			RateLimitOptions: &computepb.SecurityPolicyRuleRateLimitOptions{
				ConformAction: proto.String("allow"), ExceedAction: proto.String("deny(429)"), EnforceOnKey: proto.String("IP"),
				RateLimitThreshold: &computepb.SecurityPolicyRuleRateLimitOptionsThreshold{Count: proto.Int32(60), IntervalSec: proto.Int32(60)},
			},
		}, {
			Action: proto.String("allow"), Priority: proto.Int32(2147483647),
			Match: &computepb.SecurityPolicyRuleMatcher{VersionedExpr: proto.String("SRC_IPS_V1"), Config: &computepb.SecurityPolicyRuleMatcherConfig{SrcIpRanges: []string{"*"}}},
		}},
	})
	l.Backends[0].SecurityPolicy = proto.String(base + "securityPolicies/gemini-armor")
	l.Addresses = append(l.Addresses, &computepb.Address{Name: proto.String("gemini-ip"), Address: proto.String("34.1.2.3"), AddressType: proto.String("EXTERNAL"), IpVersion: proto.String("IPV4")})
	l.URLMaps = append(l.URLMaps, &computepb.UrlMap{Name: proto.String("gemini-redirect"),
		DefaultUrlRedirect: &computepb.HttpRedirectAction{HttpsRedirect: proto.Bool(true), StripQuery: proto.Bool(false), RedirectResponseCode: proto.String("MOVED_PERMANENTLY_DEFAULT")}})
	l.HTTPSProxies = append(l.HTTPSProxies, &computepb.TargetHttpsProxy{Name: proto.String("gemini-https-proxy"), UrlMap: proto.String(base + "urlMaps/gemini-url-map"),
		CertificateMap: proto.String("//certificatemanager.googleapis.com/projects/" + p + "/locations/global/certificateMaps/gemini-map")})
	l.Rules[0].IPAddress = proto.String("34.1.2.3")
	l.Rules[0].Target = proto.String(base + "targetHttpProxies/gemini-target-proxy")
	l.Rules = append(l.Rules, &computepb.ForwardingRule{Name: proto.String("gemini-https"), IPAddress: proto.String("34.1.2.3"), PortRange: proto.String("443-443"),
		IPProtocol: proto.String("TCP"), LoadBalancingScheme: proto.String("EXTERNAL_MANAGED"), Target: proto.String(base + "targetHttpsProxies/gemini-https-proxy")})
	l.Extra = append(l.Extra,
		export.DNSZone{Name: "beyond-zone", DNSName: "example.com.", Description: "the lab's domain",
			Records: []export.DNSRecord{{Name: "gemini.example.com.", Type: "A", TTL: 300, RRDatas: []string{"34.1.2.3"}}}},
		export.Certificates{Certificate: "gemini-cert", Domains: []string{"gemini.example.com"}, Map: "gemini-map", Entry: "gemini-entry", Hostname: "gemini.example.com"})

	files := export.Terraform(l)
	c := parse(t, files)
	fmtCheck(t, files)
	addrs := checkAgainstDocs(t, c)
	for _, a := range []string{"google_compute_security_policy.gemini_armor", "google_compute_global_address.gemini_ip",
		"google_compute_url_map.gemini_redirect", "google_compute_target_https_proxy.gemini_https_proxy", "google_compute_global_forwarding_rule.gemini_https",
		"google_dns_managed_zone.beyond_zone", "google_dns_record_set.beyond_zone_gemini_example_com_A",
		"google_certificate_manager_certificate.gemini_cert", "google_certificate_manager_certificate_map.gemini_map",
		"google_certificate_manager_certificate_map_entry.gemini_entry"} {
		if !slices.Contains(addrs, a) {
			t.Errorf("the configuration has no %s; it has %v", a, addrs)
		}
	}
	main := string(files[export.FileMain])
	for _, s := range []string{
		"security_policy = google_compute_security_policy.gemini_armor.id",
		"ip_address            = google_compute_global_address.gemini_ip.address",
		`certificate_map = "//certificatemanager.googleapis.com/${google_certificate_manager_certificate_map.gemini_map.id}"`,
		`exceed_action  = "deny(429)"`,
		"https_redirect         = true",
		"certificates = [google_certificate_manager_certificate.gemini_cert.id]",
	} {
		if !strings.Contains(main, s) {
			t.Errorf("main.tf lacks %q", s)
		}
	}
	script := string(export.Script(l))
	// gemini-ip and gemini-https-proxy are the lab's default names: the
	// script's variables hold them.
	for _, s := range []string{`--security-policy="gemini-armor"`, "--action=throttle", "--exceed-action=deny-429", `--address="$ADDRESS_NAME"`, `--target-https-proxy="$TARGET_HTTPS_PROXY"`,
		`DOMAIN="${DOMAIN:-example.com}"`, `gcloud dns record-sets create 'gemini.'"${DOMAIN}"'.' --type=A`, "gcloud certificate-manager maps entries create gemini-entry"} {
		if !strings.Contains(script, s) {
			t.Errorf("the script lacks %q", s)
		}
	}
}

// TestHTTPSNamesAreVariables: the HTTPS half's names (static address, DNS
// zone, certificate and its DNS authorization, certificate map and its
// entry, HTTPS proxy and rule, redirect map) and the domain are variables
// of the Terraform and of the script, like the lab's other names: none is
// written as a value outside the variables, and each variable's default is
// the name the lab used.
func TestHTTPSNamesAreVariables(t *testing.T) {
	b := build(t)
	v := b.vars
	domain := v.Project + ".example" // the simulator's test domain
	literals := []string{v.Address, v.DNSZone, v.CertName, v.CertMap, v.HTTPSProxy, v.HTTPSRule, v.RedirectMap, domain}
	// written finds the literal names in the lines that are not comments.
	written := func(text string) []string {
		var found []string
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			for _, name := range literals {
				if strings.Contains(line, name) {
					found = append(found, line)
				}
			}
		}
		return found
	}

	files := export.Terraform(b.lab)
	for _, f := range []string{export.FileMain, export.FileImports} {
		if lines := written(string(files[f])); len(lines) > 0 {
			t.Errorf("%s writes the HTTPS half's names as values, not variables:\n%s", f, strings.Join(lines, "\n"))
		}
	}
	c := parse(t, files)
	for name, want := range map[string]string{"domain": domain, "address": v.Address, "dns_zone": v.DNSZone, "certificate": v.CertName,
		"certificate_map": v.CertMap, "https_proxy": v.HTTPSProxy, "https_forwarding_rule": v.HTTPSRule, "redirect_url_map": v.RedirectMap} {
		got, _ := c.value(&hclsyntax.Body{Attributes: hclsyntax.Attributes{"v": {Expr: &hclsyntax.ScopeTraversalExpr{Traversal: hcl.Traversal{hcl.TraverseRoot{Name: "var"}, hcl.TraverseAttr{Name: name}}}}}}, "v")
		if got != want {
			t.Errorf("var.%s defaults to %q; want %q", name, got, want)
		}
	}
	main := string(files[export.FileMain])
	for _, re := range []string{`name\s+= "\$\{var.certificate\}-auth"`, `name\s+= "\$\{var.certificate_map\}-entry"`, `hostname\s+= "api.\$\{var.domain\}"`,
		`dns_name\s+= "\$\{var.domain\}."`, `name\s+= var.redirect_url_map`, `name\s+= var.https_forwarding_rule`} {
		if !regexp.MustCompile(re).MatchString(main) {
			t.Errorf("main.tf lacks %s", re)
		}
	}

	script := string(export.Script(b.lab))
	head, body, _ := strings.Cut(script, "SA_EMAIL=")
	for env, want := range map[string]string{"DOMAIN": "${PROJECT_ID}.example", "ADDRESS_NAME": v.Address, "DNS_ZONE": v.DNSZone, "CERTIFICATE_NAME": v.CertName,
		"CERTIFICATE_MAP": v.CertMap, "TARGET_HTTPS_PROXY": v.HTTPSProxy, "HTTPS_FORWARDING_RULE": v.HTTPSRule, "REDIRECT_URL_MAP": v.RedirectMap} {
		if line := env + `="${` + env + `:-` + want + `}"`; !strings.Contains(head, line) {
			t.Errorf("the script's variables lack %s", line)
		}
	}
	if lines := written(body); len(lines) > 0 {
		t.Errorf("the script writes the HTTPS half's names as values, not variables:\n%s", strings.Join(lines, "\n"))
	}
	for _, s := range []string{`dns-authorizations create "${CERTIFICATE_NAME}-auth"`, `maps entries create "${CERTIFICATE_MAP}-entry" --map="$CERTIFICATE_MAP"`,
		`target-http-proxies create "$TARGET_HTTP_PROXY" --url-map="$REDIRECT_URL_MAP"`, `--target-https-proxy="$TARGET_HTTPS_PROXY" --ports=443 --address="$ADDRESS_NAME"`} {
		if !strings.Contains(body, s) {
			t.Errorf("the script lacks %q", s)
		}
	}
}

// TestTerraformOfAFailedUpdate: after the workshop's broken update, region
// A's template names the broken image while its previous revision serves:
// the export says so, and var.image is what actually serves.
func TestTerraformOfAFailedUpdate(t *testing.T) {
	b := build(t)
	a := b.lab.Services[0]
	a.LatestCreatedRevision = a.GetName() + "/revisions/gemini-service-00002-bad"
	a.Template.Containers[0].Image = "us-docker.pkg.dev/cloudrun/container/broken"
	files := export.Terraform(b.lab)
	if main := string(files[export.FileMain]); !strings.Contains(main, "latest revision (gemini-service-00002-bad) failed to start") {
		t.Errorf("main.tf does not say region A's latest revision failed:\n%s", main)
	}
	c := parse(t, files)
	if v, _ := c.value(&hclsyntax.Body{Attributes: hclsyntax.Attributes{"i": {Expr: &hclsyntax.ScopeTraversalExpr{Traversal: hcl.Traversal{hcl.TraverseRoot{Name: "var"}, hcl.TraverseAttr{Name: "image"}}}}}}, "i"); v != b.vars.Image {
		t.Errorf("var.image = %q; want the image that serves, %q", v, b.vars.Image)
	}
	s := string(export.Script(b.lab))
	if !strings.Contains(s, "# In us-central1 the latest revision") {
		t.Errorf("the script does not say region A's latest revision failed")
	}
	// gcloud reports the failed revision and "Update failed" although a
	// service-level setting is applied: the script goes on in region A only.
	if !strings.Contains(s, `--region="$REGION_A" --max=5 || true`) || strings.Contains(s, `--region="$REGION_B" --max=5 || true`) {
		t.Errorf("the script does not go on past gcloud's report of region A's failed revision, and only there:\n%s", s)
	}
}

// TestScriptOfTheProductionPart: the script sets what the production steps
// set, with the commands they show, each guarded by a read of the setting
// so that a second run changes nothing.
func TestScriptOfTheProductionPart(t *testing.T) {
	b := build(t)
	s := string(export.Script(b.lab))
	for _, want := range []string{
		`SECURITY_POLICY="${SECURITY_POLICY:-gemini-rate-limit}"`,
		// ingress and the default URL, then the ceiling, in each region
		`metadata.annotations."run.googleapis.com/ingress",metadata.annotations."run.googleapis.com/default-url-disabled"`,
		`= "internal-and-cloud-load-balancing true" ] ||` + "\n" + `  gcloud beta run services update "$SERVICE_NAME" --region="$REGION_A" \` + "\n" + `    --ingress=internal-and-cloud-load-balancing --no-default-url`,
		`--format='value(metadata.annotations."run.googleapis.com/maxScale")')" = "5" ] ||` + "\n" + `  gcloud beta run services update "$SERVICE_NAME" --region="$REGION_B" --max=5`,
		// the policy and its rule, with the step's flags
		`gcloud compute security-policies describe "$SECURITY_POLICY" >/dev/null 2>&1 ||` + "\n" + `  gcloud compute security-policies create "$SECURITY_POLICY"`,
		`--expression='request.path.matches('\''/v1/check'\'')'`,
		"--action=throttle \\\n    --rate-limit-threshold-count=20 \\\n    --rate-limit-threshold-interval-sec=60 \\\n    --conform-action=allow \\\n    --exceed-action=deny-429 \\\n    --enforce-on-key=IP\n",
		`gcloud compute security-policies rules update 1000 --security-policy="$SECURITY_POLICY" --no-preview`,
		// attached to the backend service
		`grep -q "/securityPolicies/$SECURITY_POLICY$" ||` + "\n" + `  gcloud compute backend-services update "$BACKEND_NAME" --global --security-policy="$SECURITY_POLICY"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the script lacks %q:\n%s", want, s)
		}
	}
	// Service-level settings are the update's, not the deploy's: a service
	// that exists is not deployed again, yet gets them.
	for _, flag := range []string{"--max=5 \\", "--no-default-url \\"} {
		if strings.Contains(s, flag) {
			t.Errorf("the deploy sets %s; the update after it should", flag)
		}
	}
}

// TestTerraformImportsEveryCreatedResource: every resource a step says it
// creates (Step.Creates, what cleanup deletes) is adopted by an import
// block, under its name and in its region.
func TestTerraformImportsEveryCreatedResource(t *testing.T) {
	b := build(t)
	c := parse(t, export.Terraform(b.lab))
	var ids []string
	for _, blk := range c.blocks("import") {
		id, diags := blk.Body.Attributes["id"].Expr.Value(c.ctx)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		ids = append(ids, id.AsString())
	}
	n, kinds := 0, map[string]bool{}
	for _, s := range steps.Lab() {
		if s.Creates == nil {
			continue
		}
		for _, r := range s.Creates(b.vars) {
			if r.Kind == "image" {
				continue // it lives in the repository
			}
			n++
			kinds[r.Kind] = true
			// A name such as "roles/aiplatform.user for serviceAccount:…"
			// names a binding: its role and member are both in the ID.
			parts := strings.Split(r.Name, " for ")
			if !slices.ContainsFunc(ids, func(id string) bool {
				for _, p := range parts {
					if !strings.Contains(id, p) {
						return false
					}
				}
				return r.Where == "global" || r.Where == "project" || strings.Contains(id, "/"+r.Where+"/")
			}) {
				t.Errorf("no import block adopts %s; the imports are %v", r, ids)
			}
		}
	}
	if n < 9 {
		t.Errorf("only %d resources created by the steps were checked", n)
	}
	// The production part's HTTPS half is built and read too.
	for _, k := range []string{"static address", "DNS zone", "DNS record A", "DNS record CNAME", "certificate", "DNS authorization", "certificate map", "certificate map entry", "target HTTPS proxy"} {
		if !kinds[k] {
			t.Errorf("no step's resource of kind %q was checked", k)
		}
	}
}

// TestExportOfServiceHealth: what #19's steps set (Cloud Run service
// health: a readiness probe and a minimum instance in each region) and
// #20's (ingress through the load balancer only, a maximum) are exported
// as Cloud Run holds them, in the Terraform and in the script, on the
// gcloud track that has each flag.
func TestExportOfServiceHealth(t *testing.T) {
	b := build(t)
	for _, s := range b.lab.Services {
		s.Ingress = runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER
		s.Scaling = &runpb.ServiceScaling{MinInstanceCount: 1}
		s.Template.Scaling = &runpb.RevisionScaling{MaxInstanceCount: 4}
		s.Template.Containers[0].ReadinessProbe = &runpb.Probe{PeriodSeconds: 5, FailureThreshold: 2,
			ProbeType: &runpb.Probe_HttpGet{HttpGet: &runpb.HTTPGetAction{Path: "/health", Port: 8080}}}
	}
	files := export.Terraform(b.lab)
	parse(t, files)
	fmtCheck(t, files)
	main := string(files[export.FileMain])
	for _, s := range []string{
		`ingress  = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"`,
		"scaling {\n    min_instance_count = 1\n  }",
		"readiness_probe {\n        period_seconds    = 5\n        failure_threshold = 2\n        http_get {\n          path = \"/health\"\n          port = 8080",
		"max_instance_count = 4",
		"readiness_probe (Cloud Run service health, Preview)",
	} {
		if !strings.Contains(main, s) {
			t.Errorf("main.tf lacks %q:\n%s", s, main)
		}
	}
	script := string(export.Script(b.lab))
	for _, s := range []string{"gcloud alpha run deploy", "--ingress=internal-and-cloud-load-balancing", "--min=1", "--max-instances=4",
		"--readiness-probe='periodSeconds=5,failureThreshold=2,httpGet.path=/health,httpGet.port=8080'"} {
		if !strings.Contains(script, s) {
			t.Errorf("the script lacks %q:\n%s", s, script)
		}
	}
}
