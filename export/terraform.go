package export

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// The Terraform configuration is written in three files, as modules
// usually are.
const (
	FileMain      = "main.tf"
	FileVariables = "variables.tf"
	FileImports   = "imports.tf"
)

// variable is one input of the configuration: the lab's variables, so that
// the learner can rename or move what they built.
type variable struct {
	name, description, value string
}

func (l *Lab) variables() []variable {
	v := l.Vars
	vars := []variable{
		{"project", "Google Cloud project ID (PROJECT_ID)", v.Project},
		{"region_a", "first region (REGION_A)", v.RegionA},
		{"region_b", "second region (REGION_B)", v.RegionB},
		{"service", "Cloud Run service name, in both regions (SERVICE_NAME)", v.Service},
		{"service_account_id", "ID of the service's own service account (SERVICE_ACCOUNT)", v.ServiceAccount},
		{"repository", "Artifact Registry repository, in region A (REPOSITORY)", v.Repository},
		{"neg_a", "serverless NEG in region A (NEG_A_NAME)", v.NEGA},
		{"neg_b", "serverless NEG in region B (NEG_B_NAME)", v.NEGB},
		{"backend", "global backend service (BACKEND_NAME)", v.Backend},
		{"url_map", "URL map (URL_MAP_NAME)", v.URLMap},
		{"proxy", "target HTTP proxy (TARGET_HTTP_PROXY)", v.Proxy},
		{"forwarding_rule", "global forwarding rule, the global IP (FORWARDING_RULE)", v.Rule},
		{"security_policy", "Cloud Armor security policy on the backend service (SECURITY_POLICY)", v.SecurityPolicy},
		{"image", "the image both regions run, by digest (what the lab built and pushed, or IMAGE)", l.image()},
	}
	if !l.hasHTTPS() {
		return vars
	}
	if d := l.domain(); d != "" {
		vars = append(vars, variable{"domain", "your domain: the service answers on api.DOMAIN (DOMAIN)", d})
	}
	return append(vars,
		variable{"address", "static global IP address, shared by the rules on 80 and 443 (ADDRESS_NAME)", v.Address},
		variable{"dns_zone", "Cloud DNS managed zone for the domain (DNS_ZONE)", v.DNSZone},
		variable{"certificate", "Certificate Manager certificate; its DNS authorization is NAME-auth (CERTIFICATE_NAME)", v.CertName},
		variable{"certificate_map", "Certificate Manager map; its entry is NAME-entry (CERTIFICATE_MAP)", v.CertMap},
		variable{"https_proxy", "target HTTPS proxy (TARGET_HTTPS_PROXY)", v.HTTPSProxy},
		variable{"https_forwarding_rule", "global forwarding rule on port 443 (HTTPS_FORWARDING_RULE)", v.HTTPSRule},
		variable{"redirect_url_map", "URL map that redirects HTTP to HTTPS (REDIRECT_URL_MAP)", v.RedirectMap},
	)
}

// hasHTTPS reports whether the lab has any of the HTTPS half of the
// production part: its names are then variables too.
func (l *Lab) hasHTTPS() bool {
	if len(l.Addresses) > 0 || len(l.HTTPSProxies) > 0 || len(l.Extra) > 0 {
		return true
	}
	for _, m := range l.URLMaps {
		if m.GetName() == l.Vars.RedirectMap {
			return true
		}
	}
	for _, px := range l.HTTPProxies {
		if lastSegment(px.GetUrlMap()) == l.Vars.RedirectMap {
			return true
		}
	}
	for _, fr := range l.Rules {
		if fr.GetName() == l.Vars.HTTPSRule {
			return true
		}
	}
	return false
}

// image is the image of the first service whose latest revision is the
// one serving: a failed update (the workshop's broken image) leaves its
// image in the template while the previous revision serves.
func (l *Lab) image() string {
	for _, s := range l.Services {
		if cs := s.GetTemplate().GetContainers(); len(cs) > 0 && !s.failed() {
			return cs[0].GetImage()
		}
	}
	if len(l.Services) > 0 && len(l.Services[0].GetTemplate().GetContainers()) > 0 {
		return l.Services[0].GetTemplate().GetContainers()[0].GetImage()
	}
	return ""
}

// failed reports whether the service's latest revision failed, so that
// another, older one serves: its template is not what serves.
func (s Service) failed() bool {
	return s.GetLatestCreatedRevision() != "" && s.GetLatestCreatedRevision() != s.GetLatestReadyRevision()
}

// failedNote says so, for the configuration and the script.
func (s Service) failedNote() string {
	return fmt.Sprintf("In %s the latest revision (%s) failed to start: the previous one (%s) serves, but this\nis the template Cloud Run holds. Deploying it again fails the same way: fix the image first.",
		s.Region, lastSegment(s.GetLatestCreatedRevision()), lastSegment(s.GetLatestReadyRevision()))
}

// refs resolves what the cloud names by URL or value to Terraform
// expressions: a NEG a backend service holds becomes a reference to the
// NEG's block, a name the lab's variable holds becomes var.X.
type refs struct {
	byPath  map[string]string // "projects/P/global/urlMaps/M" → google_compute_url_map.m
	vars    map[string]string // value → var.name (or another resource's attribute)
	project string
	domain  string // the lab's domain, when var.domain holds it
}

// path trims a resource URL to its "projects/…" path.
func path(url string) string {
	if i := strings.Index(url, "projects/"); i >= 0 {
		return url[i:]
	}
	return url
}

// ref is the expression for a resource URL: a reference to its block when
// the configuration holds it, else the URL as it is.
func (r *refs) ref(url, attr string) string {
	if a, ok := r.byPath[path(url)]; ok {
		return a + "." + attr
	}
	return quote(url)
}

// name is the expression for a name: var.X when it is one of the lab's.
func (r *refs) name(value, varName string) string {
	if varName != "" && r.vars[value] == "var."+varName {
		return "var." + varName
	}
	return quote(value)
}

// derivedSuffix is what the lab adds to a variable's value to name
// another resource (steps: the certificate's DNS authorization, the map's
// entry).
var derivedSuffix = map[string]string{"certificate": "-auth", "certificate_map": "-entry"}

// expr is value as an HCL expression: var.X when it is the value of one of
// the variables named, else a string (see inner).
func (r *refs) expr(value string, varNames ...string) string {
	for _, n := range varNames {
		if r.vars[value] == "var."+n {
			return "var." + n
		}
	}
	return `"` + r.inner(value, varNames...) + `"`
}

// inner is value as the inside of an HCL string: a named variable's value
// as ${var.X} (also before the suffix the lab derives a name with:
// "${var.certificate}-auth"), and the lab's domain, wherever it occurs, as
// ${var.domain} ("api.${var.domain}.").
func (r *refs) inner(value string, varNames ...string) string {
	esc := func(s string) string { return strings.TrimSuffix(strings.TrimPrefix(quote(s), `"`), `"`) }
	for _, n := range varNames {
		if r.vars[value] == "var."+n {
			return "${var." + n + "}"
		}
		if suffix := derivedSuffix[n]; suffix != "" {
			if base, ok := strings.CutSuffix(value, suffix); ok && r.vars[base] == "var."+n {
				return "${var." + n + "}" + esc(suffix)
			}
		}
	}
	if r.domain != "" && strings.Contains(value, r.domain) {
		pieces := strings.Split(value, r.domain)
		for i, p := range pieces {
			pieces[i] = esc(p)
		}
		return strings.Join(pieces, "${var.domain}")
	}
	return esc(value)
}

// tmpl is a value as an HCL template, the lab's variables' values written
// as ${var.X}: "projects/${var.project}/global/urlMaps/${var.url_map}".
// Only whole path segments are replaced, never part of one.
func (r *refs) tmpl(value string, vars ...string) string {
	segs := strings.Split(value, "/")
	for i, s := range segs {
		if v, ok := r.vars[s]; ok && (len(vars) == 0 || slices.Contains(vars, strings.TrimPrefix(v, "var."))) {
			segs[i] = "${" + v + "}"
		} else {
			segs[i] = strings.TrimPrefix(strings.TrimSuffix(quote(s), `"`), `"`)
		}
	}
	return `"` + strings.Join(segs, "/") + `"`
}

// Terraform renders the configuration: its files by name (FileMain,
// FileVariables, FileImports), formatted as terraform fmt would.
func Terraform(l *Lab) map[string][]byte {
	res := l.resources()
	var vars, main, imports bytes.Buffer

	fmt.Fprintf(&vars, "# The lab's variables, with the values it ran with in project %s.\n", l.Vars.Project)
	for _, v := range l.variables() {
		fmt.Fprintf(&vars, "\nvariable %q {\n  description = %s\n  type        = string\n  default     = %s\n}\n", v.name, quote(v.description), quote(v.value))
	}

	fmt.Fprintf(&main, `# Beyond the Region: what the lab built in project %s, read from the
# cloud by beyond export terraform. The import blocks (imports.tf) adopt
# what exists: terraform plan should then propose no change. Argument names
# and import ID formats follow the google provider's pages cited above each
# resource.

terraform {
  required_version = ">= 1.7"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.20"
    }
  }
}

provider "google" {
  project = var.project
}
`, l.Vars.Project)
	imports.WriteString("# Adopt what the lab created instead of creating it again (Terraform 1.5+\n# import blocks; the IDs follow each resource's documented import format).\n")
	for _, r := range res {
		main.WriteString("\n")
		fmt.Fprintf(&main, "# %s\n", r.Doc)
		for _, n := range r.Notes {
			for _, line := range strings.Split(n, "\n") {
				fmt.Fprintf(&main, "# %s\n", line)
			}
		}
		fmt.Fprintf(&main, "resource %q %q {\n", r.Type, r.Name)
		for _, line := range strings.Split(strings.TrimRight(r.Body, "\n"), "\n") {
			if line == "" {
				main.WriteString("\n")
				continue
			}
			main.WriteString("  " + line + "\n")
		}
		main.WriteString("}\n")
		fmt.Fprintf(&imports, "\nimport {\n  to = %s\n  id = %s\n}\n", r.Address(), r.Import)
	}
	return map[string][]byte{
		FileMain:      hclwrite.Format(main.Bytes()),
		FileVariables: hclwrite.Format(vars.Bytes()),
		FileImports:   hclwrite.Format(imports.Bytes()),
	}
}

// resources lists the configuration's resources, each before those that
// refer to it.
func (l *Lab) resources() []Resource {
	r := &refs{byPath: map[string]string{}, vars: map[string]string{}, project: l.Vars.Project}
	for _, v := range l.variables() {
		if _, taken := r.vars[v.value]; !taken && v.value != "" {
			r.vars[v.value] = "var." + v.name
		}
	}
	if d := l.domain(); d != "" && r.vars[d] == "var.domain" {
		r.domain = d
	}
	var out []Resource
	add := func(res Resource, paths ...string) {
		if res.Doc == "" {
			res.Doc = docPage(res.Type)
		}
		for _, p := range paths {
			r.byPath[path(p)] = res.Address()
		}
		out = append(out, res)
	}
	p := l.Vars.Project

	for _, api := range l.APIs {
		w := &body{}
		w.attr("service", quote(api))
		w.comment("Leave the API on when this configuration is destroyed: other work may use it.")
		w.attr("disable_on_destroy", "false")
		add(Resource{Type: "google_project_service", Name: localName(strings.TrimSuffix(api, ".googleapis.com")),
			Import: "\"${var.project}/" + api + "\"", Body: w.String()})
	}

	if sa := l.ServiceAccount; sa != nil {
		w := &body{}
		w.attr("account_id", r.name(l.Vars.ServiceAccount, "service_account_id"))
		w.str("display_name", sa.GetDisplayName())
		w.str("description", sa.GetDescription())
		add(Resource{Type: "google_service_account", Name: "service",
			Import: "\"projects/${var.project}/serviceAccounts/${var.service_account_id}@${var.project}.iam.gserviceaccount.com\"", Body: w.String()},
			"projects/"+p+"/serviceAccounts/"+sa.GetEmail())
		r.vars[sa.GetEmail()] = "google_service_account.service.email"
		for _, role := range l.Roles {
			w := &body{}
			w.attr("project", "var.project")
			w.attr("role", quote(role))
			w.attr("member", `"serviceAccount:${google_service_account.service.email}"`)
			add(Resource{Type: "google_project_iam_member", Name: "service_" + localName(strings.TrimPrefix(role, "roles/")),
				Notes:  []string{"The service calls Vertex AI as its own account: this role, and nothing broader."},
				Import: "\"${var.project} " + role + " serviceAccount:${var.service_account_id}@${var.project}.iam.gserviceaccount.com\"", Body: w.String()})
		}
	}

	if repo := l.Repository; repo != nil {
		w := &body{}
		w.attr("repository_id", r.name(l.Vars.Repository, "repository"))
		w.attr("location", r.name(l.Vars.RegionA, "region_a"))
		w.str("format", repo.GetFormat().String())
		w.str("description", repo.GetDescription())
		add(Resource{Type: "google_artifact_registry_repository", Name: "images",
			Import: "\"projects/${var.project}/locations/${var.region_a}/repositories/${var.repository}\"", Body: w.String()})
	}

	image := l.image()
	for _, s := range l.Services {
		regionVar := "region_a"
		if s.Region == l.Vars.RegionB && s.Region != l.Vars.RegionA {
			regionVar = "region_b"
		}
		name := regionVar
		res := l.runService(r, s, regionVar, image)
		res.Name = name
		add(res, fmt.Sprintf("projects/%s/locations/%s/services/%s", p, s.Region, l.Vars.Service))
		if s.Public {
			w := &body{}
			w.attr("project", "var.project")
			w.attr("location", name2(res.Address(), "location"))
			w.attr("name", name2(res.Address(), "name"))
			w.attr("role", quote("roles/run.invoker"))
			w.attr("member", quote("allUsers"))
			add(Resource{Type: "google_cloud_run_v2_service_iam_member", Name: name + "_public",
				Notes:  []string{"Anyone may call the service: the load balancer forwards the caller's request as it is."},
				Import: fmt.Sprintf("\"projects/${var.project}/locations/${var.%s}/services/${var.service} roles/run.invoker allUsers\"", regionVar), Body: w.String()})
		}
	}

	for _, neg := range l.NEGs {
		region := path(neg.GetRegion())
		region = region[strings.LastIndex(region, "/")+1:]
		nameVar, regionVar, local := "", "", localName(neg.GetName())
		switch {
		case neg.GetName() == l.Vars.NEGA && region == l.Vars.RegionA:
			nameVar, regionVar, local = "neg_a", "region_a", "neg_a"
		case neg.GetName() == l.Vars.NEGB && region == l.Vars.RegionB:
			nameVar, regionVar, local = "neg_b", "region_b", "neg_b"
		}
		w := &body{}
		w.attr("name", r.name(neg.GetName(), nameVar))
		w.attr("region", r.name(region, regionVar))
		w.str("network_endpoint_type", neg.GetNetworkEndpointType())
		if cr := neg.GetCloudRun(); cr != nil {
			w.block("cloud_run", func(w *body) {
				// The service of the same region, when the configuration holds it.
				svc := quote(cr.GetService())
				if a, ok := r.byPath[fmt.Sprintf("projects/%s/locations/%s/services/%s", p, region, cr.GetService())]; ok {
					svc = a + ".name"
				}
				w.attr("service", svc)
				w.str("tag", cr.GetTag())
				w.str("url_mask", cr.GetUrlMask())
			})
		}
		add(Resource{Type: "google_compute_region_network_endpoint_group", Name: local,
			Import: r.tmpl(fmt.Sprintf("projects/%s/regions/%s/networkEndpointGroups/%s", p, region, neg.GetName()), "project", regionVar, nameVar),
			Body:   w.String()},
			fmt.Sprintf("projects/%s/regions/%s/networkEndpointGroups/%s", p, region, neg.GetName()))
	}

	for _, sp := range l.SecurityPolicies {
		add(securityPolicy(r, l, sp), fmt.Sprintf("projects/%s/global/securityPolicies/%s", p, sp.GetName()))
	}
	for _, bs := range l.Backends {
		add(backendService(r, l, bs), fmt.Sprintf("projects/%s/global/backendServices/%s", p, bs.GetName()))
	}
	for _, m := range l.URLMaps {
		add(urlMap(r, l, m), fmt.Sprintf("projects/%s/global/urlMaps/%s", p, m.GetName()))
	}
	for _, a := range l.Addresses {
		add(globalAddress(r, p, a), fmt.Sprintf("projects/%s/global/addresses/%s", p, a.GetName()))
		r.vars[a.GetAddress()] = "google_compute_global_address." + localName(a.GetName()) + ".address"
	}
	// Part 6 parts that proxies refer to (certificate maps) come before them.
	for _, part := range l.Extra {
		for _, res := range part.terraform(r) {
			add(res.Resource, res.Paths...)
		}
	}
	for _, px := range l.HTTPProxies {
		w := &body{}
		nameVar := ""
		if px.GetName() == l.Vars.Proxy {
			nameVar = "proxy"
		}
		w.attr("name", r.name(px.GetName(), nameVar))
		w.attr("url_map", r.ref(px.GetUrlMap(), "id"))
		add(Resource{Type: "google_compute_target_http_proxy", Name: localName(px.GetName()),
			Import: r.tmpl(fmt.Sprintf("projects/%s/global/targetHttpProxies/%s", p, px.GetName()), "project", nameVar), Body: w.String()},
			fmt.Sprintf("projects/%s/global/targetHttpProxies/%s", p, px.GetName()))
	}
	for _, px := range l.HTTPSProxies {
		w := &body{}
		w.attr("name", r.expr(px.GetName(), "https_proxy"))
		w.attr("url_map", r.ref(px.GetUrlMap(), "id"))
		if cm := px.GetCertificateMap(); cm != "" {
			// The provider wants the map as //certificatemanager.googleapis.com/ID.
			if a, ok := r.byPath[path(cm)]; ok {
				w.attr("certificate_map", `"//certificatemanager.googleapis.com/${`+a+`.id}"`)
			} else {
				w.str("certificate_map", cm)
			}
		}
		var certs []string
		for _, c := range px.GetSslCertificates() {
			certs = append(certs, r.ref(c, "id"))
		}
		if len(certs) > 0 {
			w.attr("ssl_certificates", "["+strings.Join(certs, ", ")+"]")
		}
		add(Resource{Type: "google_compute_target_https_proxy", Name: localName(px.GetName()),
			Import: r.tmpl(fmt.Sprintf("projects/%s/global/targetHttpsProxies/%s", p, px.GetName()), "project", "https_proxy"), Body: w.String()},
			fmt.Sprintf("projects/%s/global/targetHttpsProxies/%s", p, px.GetName()))
	}
	for _, fr := range l.Rules {
		nameVar := ""
		switch fr.GetName() {
		case l.Vars.Rule:
			nameVar = "forwarding_rule"
		case l.Vars.HTTPSRule:
			nameVar = "https_forwarding_rule"
		}
		w := &body{}
		w.attr("name", r.name(fr.GetName(), nameVar))
		w.attr("target", r.ref(fr.GetTarget(), "id"))
		w.str("load_balancing_scheme", fr.GetLoadBalancingScheme())
		w.str("ip_protocol", fr.GetIPProtocol())
		w.str("port_range", fr.GetPortRange())
		notes := []string(nil)
		if ip := fr.GetIPAddress(); ip != "" {
			if v, ok := r.vars[ip]; ok {
				w.attr("ip_address", v)
			} else {
				notes = append(notes, "Its IP ("+ip+") was given by Google when the rule was created: no reserved address holds it,\nso a rule created again gets another. Reserve a google_compute_global_address to keep one.")
			}
		}
		add(Resource{Type: "google_compute_global_forwarding_rule", Name: localName(fr.GetName()), Notes: notes,
			Import: r.tmpl(fmt.Sprintf("projects/%s/global/forwardingRules/%s", p, fr.GetName()), "project", nameVar), Body: w.String()},
			fmt.Sprintf("projects/%s/global/forwardingRules/%s", p, fr.GetName()))
	}
	return out
}

func name2(address, attr string) string { return address + "." + attr }

// runService renders one region's Cloud Run service.
func (l *Lab) runService(r *refs, s Service, regionVar, image string) Resource {
	w := &body{}
	w.attr("name", r.name(l.Vars.Service, "service"))
	w.attr("location", "var."+regionVar)
	w.str("ingress", s.GetIngress().String())
	w.comment("beyond cleanup deletes it: the provider's default (true) would refuse.")
	w.attr("deletion_protection", "false")
	w.flag("invoker_iam_disabled", s.GetInvokerIamDisabled())
	w.flag("default_uri_disabled", s.GetDefaultUriDisabled())
	if sc := s.GetScaling(); sc != nil {
		w.block("scaling", func(w *body) {
			w.num("min_instance_count", int64(sc.GetMinInstanceCount()))
			w.num("max_instance_count", int64(sc.GetMaxInstanceCount()))
			if m := sc.GetScalingMode(); m != runpb.ServiceScaling_SCALING_MODE_UNSPECIFIED {
				w.str("scaling_mode", m.String())
			}
		})
	}
	var notes []string
	if s.failed() {
		notes = append(notes, s.failedNote())
	}
	w.block("template", func(w *body) {
		t := s.GetTemplate()
		if sa := t.GetServiceAccount(); sa != "" {
			if v, ok := r.vars[sa]; ok {
				w.attr("service_account", v)
			} else {
				w.str("service_account", sa)
			}
		}
		w.num("max_instance_request_concurrency", int64(t.GetMaxInstanceRequestConcurrency()))
		if d := t.GetTimeout(); d != nil && d.GetSeconds() > 0 {
			w.str("timeout", fmt.Sprintf("%ds", d.GetSeconds()))
		}
		if sc := t.GetScaling(); sc != nil {
			w.block("scaling", func(w *body) {
				w.num("min_instance_count", int64(sc.GetMinInstanceCount()))
				w.num("max_instance_count", int64(sc.GetMaxInstanceCount()))
			})
		}
		for _, c := range t.GetContainers() {
			w.block("containers", func(w *body) {
				if c.GetImage() == image && image != "" {
					w.attr("image", "var.image")
				} else {
					w.str("image", c.GetImage())
				}
				w.str("name", c.GetName())
				w.list("command", c.GetCommand())
				w.list("args", c.GetArgs())
				for _, p := range c.GetPorts() {
					w.block("ports", func(w *body) {
						w.str("name", p.GetName())
						w.num("container_port", int64(p.GetContainerPort()))
					})
				}
				if res := c.GetResources(); res != nil {
					w.block("resources", func(w *body) {
						if lim := res.GetLimits(); len(lim) > 0 {
							var kv []string
							for _, k := range slices.Sorted(maps.Keys(lim)) {
								kv = append(kv, quote(k)+" = "+quote(lim[k]))
							}
							w.attr("limits", "{ "+strings.Join(kv, ", ")+" }")
						}
						w.flag("cpu_idle", res.GetCpuIdle())
						w.flag("startup_cpu_boost", res.GetStartupCpuBoost())
					})
				}
				for _, e := range c.GetEnv() {
					if e.GetValueSource() != nil {
						notes = append(notes, "Environment variable "+e.GetName()+" comes from Secret Manager: add its value_source by hand.")
						continue
					}
					w.block("env", func(w *body) {
						w.str("name", e.GetName())
						// The project and region the service was deployed
						// with follow the variables.
						switch v := e.GetValue(); {
						case v == l.Vars.Project:
							w.attr("value", "var.project")
						case v == s.Region:
							w.attr("value", "var."+regionVar)
						default:
							w.attr("value", quote(v))
						}
					})
				}
				probe(w, "startup_probe", c.GetStartupProbe())
				probe(w, "liveness_probe", c.GetLivenessProbe())
				if c.GetReadinessProbe() != nil {
					notes = append(notes, "readiness_probe (Cloud Run service health, Preview) needs a provider release that knows it;\nwith an older one, use the google-beta provider for this resource.")
				}
				probe(w, "readiness_probe", c.GetReadinessProbe())
			})
		}
	})
	return Resource{Type: "google_cloud_run_v2_service", Notes: notes,
		Import: fmt.Sprintf("\"projects/${var.project}/locations/${var.%s}/services/${var.service}\"", regionVar),
		Body:   w.String()}
}

func probe(w *body, name string, p *runpb.Probe) {
	if p == nil {
		return
	}
	w.block(name, func(w *body) {
		w.num("initial_delay_seconds", int64(p.GetInitialDelaySeconds()))
		w.num("timeout_seconds", int64(p.GetTimeoutSeconds()))
		w.num("period_seconds", int64(p.GetPeriodSeconds()))
		w.num("failure_threshold", int64(p.GetFailureThreshold()))
		switch {
		case p.GetHttpGet() != nil:
			h := p.GetHttpGet()
			w.line("http_get {")
			w.depth++
			w.str("path", h.GetPath())
			w.num("port", int64(h.GetPort()))
			w.depth--
			w.line("}")
		case p.GetTcpSocket() != nil:
			w.line("tcp_socket {")
			w.depth++
			w.num("port", int64(p.GetTcpSocket().GetPort()))
			w.depth--
			w.line("}")
		case p.GetGrpc() != nil:
			w.line("grpc {")
			w.depth++
			w.num("port", int64(p.GetGrpc().GetPort()))
			w.str("service", p.GetGrpc().GetService())
			w.depth--
			w.line("}")
		}
	})
}

func duration(w *body, name string, d *computepb.Duration) {
	if d == nil {
		return
	}
	w.block(name, func(w *body) {
		w.attr("seconds", fmt.Sprint(d.GetSeconds()))
		w.num("nanos", int64(d.GetNanos()))
	})
}

func backendService(r *refs, l *Lab, bs *computepb.BackendService) Resource {
	nameVar := ""
	if bs.GetName() == l.Vars.Backend {
		nameVar = "backend"
	}
	w := &body{}
	w.attr("name", r.name(bs.GetName(), nameVar))
	w.str("load_balancing_scheme", bs.GetLoadBalancingScheme())
	w.str("protocol", bs.GetProtocol())
	for _, b := range bs.GetBackends() {
		w.block("backend", func(w *body) {
			w.attr("group", r.ref(b.GetGroup(), "id"))
			w.str("balancing_mode", b.GetBalancingMode())
			if c := b.GetCapacityScaler(); c != 0 && c != 1 {
				w.attr("capacity_scaler", fmt.Sprint(c))
			}
		})
	}
	if od := bs.GetOutlierDetection(); od != nil {
		w.block("outlier_detection", func(w *body) {
			w.num("consecutive_errors", int64(od.GetConsecutiveErrors()))
			if od.EnforcingConsecutiveErrors != nil {
				w.attr("enforcing_consecutive_errors", fmt.Sprint(od.GetEnforcingConsecutiveErrors()))
			}
			w.num("consecutive_gateway_failure", int64(od.GetConsecutiveGatewayFailure()))
			if od.EnforcingConsecutiveGatewayFailure != nil {
				w.attr("enforcing_consecutive_gateway_failure", fmt.Sprint(od.GetEnforcingConsecutiveGatewayFailure()))
			}
			if od.EnforcingSuccessRate != nil {
				w.attr("enforcing_success_rate", fmt.Sprint(od.GetEnforcingSuccessRate()))
			}
			w.num("max_ejection_percent", int64(od.GetMaxEjectionPercent()))
			w.num("success_rate_minimum_hosts", int64(od.GetSuccessRateMinimumHosts()))
			w.num("success_rate_request_volume", int64(od.GetSuccessRateRequestVolume()))
			w.num("success_rate_stdev_factor", int64(od.GetSuccessRateStdevFactor()))
			duration(w, "interval", od.GetInterval())
			duration(w, "base_ejection_time", od.GetBaseEjectionTime())
		})
	}
	if sp := bs.GetSecurityPolicy(); sp != "" {
		w.attr("security_policy", r.ref(sp, "id"))
	}
	notes := []string{"No timeout_sec: a backend service with serverless NEGs refuses one (Cloud Run's own request timeout governs)."}
	if bs.GetLoadBalancingScheme() == "EXTERNAL_MANAGED" && bs.GetOutlierDetection() != nil {
		notes = append(notes, "EXTERNAL_MANAGED: the classic EXTERNAL scheme cannot do outlier detection, the passive failover signal.")
	}
	return Resource{Type: "google_compute_backend_service", Name: localName(bs.GetName()), Notes: notes,
		Import: r.tmpl(fmt.Sprintf("projects/%s/global/backendServices/%s", l.Vars.Project, bs.GetName()), "project", nameVar),
		Body:   w.String()}
}

func urlMap(r *refs, l *Lab, m *computepb.UrlMap) Resource {
	nameVar := ""
	switch m.GetName() {
	case l.Vars.URLMap:
		nameVar = "url_map"
	case l.Vars.RedirectMap:
		nameVar = "redirect_url_map"
	}
	w := &body{}
	var notes []string
	w.attr("name", r.name(m.GetName(), nameVar))
	if ds := m.GetDefaultService(); ds != "" {
		w.attr("default_service", r.ref(ds, "id"))
	}
	if rp := m.GetDefaultRouteAction().GetRetryPolicy(); rp != nil {
		w.block("default_route_action", func(w *body) {
			w.block("retry_policy", func(w *body) {
				w.list("retry_conditions", rp.GetRetryConditions())
				if rp.NumRetries != nil {
					w.attr("num_retries", fmt.Sprint(rp.GetNumRetries()))
				}
				duration(w, "per_try_timeout", rp.GetPerTryTimeout())
			})
		})
	}
	if red := m.GetDefaultUrlRedirect(); red != nil {
		w.block("default_url_redirect", func(w *body) {
			if red.HttpsRedirect != nil {
				w.attr("https_redirect", fmt.Sprint(red.GetHttpsRedirect()))
			}
			// strip_query is required by the provider.
			w.attr("strip_query", fmt.Sprint(red.GetStripQuery()))
			w.str("redirect_response_code", red.GetRedirectResponseCode())
			w.str("host_redirect", red.GetHostRedirect())
			w.str("path_redirect", red.GetPathRedirect())
		})
	}
	if len(m.GetHostRules()) > 0 || len(m.GetPathMatchers()) > 0 {
		notes = append(notes, "This map also has host rules or path matchers, which beyond does not export: add them by hand.")
	}
	return Resource{Type: "google_compute_url_map", Name: localName(m.GetName()), Notes: notes,
		Import: r.tmpl(fmt.Sprintf("projects/%s/global/urlMaps/%s", l.Vars.Project, m.GetName()), "project", nameVar),
		Body:   w.String()}
}

func globalAddress(r *refs, project string, a *computepb.Address) Resource {
	w := &body{}
	w.attr("name", r.expr(a.GetName(), "address"))
	w.str("description", a.GetDescription())
	w.str("address_type", a.GetAddressType())
	w.str("ip_version", a.GetIpVersion())
	return Resource{Type: "google_compute_global_address", Name: localName(a.GetName()),
		Notes:  []string{"Reserved " + a.GetAddress() + ": Google chooses the IP when it is created again."},
		Import: r.tmpl("projects/"+project+"/global/addresses/"+a.GetName(), "project", "address"), Body: w.String()}
}

func securityPolicy(r *refs, l *Lab, sp *computepb.SecurityPolicy) Resource {
	nameVar := ""
	if sp.GetName() == l.Vars.SecurityPolicy {
		nameVar = "security_policy"
	}
	w := &body{}
	w.attr("name", r.name(sp.GetName(), nameVar))
	w.str("description", sp.GetDescription())
	w.str("type", sp.GetType())
	for _, rule := range sp.GetRules() {
		w.block("rule", func(w *body) {
			w.str("action", rule.GetAction())
			w.attr("priority", fmt.Sprint(rule.GetPriority()))
			w.str("description", rule.GetDescription())
			w.flag("preview", rule.GetPreview())
			if m := rule.GetMatch(); m != nil {
				w.block("match", func(w *body) {
					w.str("versioned_expr", m.GetVersionedExpr())
					if c := m.GetConfig(); c != nil {
						w.block("config", func(w *body) { w.list("src_ip_ranges", c.GetSrcIpRanges()) })
					}
					if e := m.GetExpr(); e != nil {
						w.block("expr", func(w *body) { w.str("expression", e.GetExpression()) })
					}
				})
			}
			if ro := rule.GetRateLimitOptions(); ro != nil {
				w.block("rate_limit_options", func(w *body) {
					w.str("conform_action", ro.GetConformAction())
					w.str("exceed_action", ro.GetExceedAction())
					w.str("enforce_on_key", ro.GetEnforceOnKey())
					w.num("ban_duration_sec", int64(ro.GetBanDurationSec()))
					if t := ro.GetRateLimitThreshold(); t != nil {
						w.block("rate_limit_threshold", func(w *body) {
							w.num("count", int64(t.GetCount()))
							w.num("interval_sec", int64(t.GetIntervalSec()))
						})
					}
				})
			}
		})
	}
	return Resource{Type: "google_compute_security_policy", Name: localName(sp.GetName()),
		Notes:  []string{"Cloud Armor: the rules as Google holds them, the default rule (priority 2147483647) included."},
		Import: r.tmpl("projects/"+l.Vars.Project+"/global/securityPolicies/"+sp.GetName(), "project", nameVar), Body: w.String()}
}
