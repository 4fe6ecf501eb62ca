package export

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/run/apiv2/runpb"
)

// Script renders a bash script of gcloud commands that builds what l holds
// in any project: its variables first (each overridable from the
// environment), then one block a resource, in the lab's order. Every block
// asks whether its resource exists (describe) and creates it only if not,
// so running the script twice changes nothing the second time.
func Script(l *Lab) []byte {
	v := l.Vars
	var b strings.Builder
	fmt.Fprintf(&b, `#!/usr/bin/env bash
# Beyond the Region: the lab as gcloud commands, read from project %s by
# beyond export script. It builds the same lab in any project:
#
#   PROJECT_ID=my-other-project bash %s
#
# Safe to run twice: every resource is described first and created only when
# it is missing. What exists is left as it is, even where it differs.
set -euo pipefail

`, v.Project, ScriptFile)
	vars := [][2]string{
		{"PROJECT_ID", v.Project}, {"REGION_A", v.RegionA}, {"REGION_B", v.RegionB},
		{"SERVICE_NAME", v.Service}, {"SERVICE_ACCOUNT", v.ServiceAccount}, {"REPOSITORY", v.Repository},
		{"NEG_A_NAME", v.NEGA}, {"NEG_B_NAME", v.NEGB}, {"BACKEND_NAME", v.Backend}, {"URL_MAP_NAME", v.URLMap},
		{"TARGET_HTTP_PROXY", v.Proxy}, {"FORWARDING_RULE", v.Rule}, {"SECURITY_POLICY", v.SecurityPolicy},
	}
	if img := l.image(); img != "" {
		vars = append(vars, [2]string{"IMAGE", img})
	}
	domain := l.domain()
	switch {
	case domain != "" && l.Vars.Domain == "" && domain == v.Project+".example":
		// The simulator's test domain, one a project.
		vars = append(vars, [2]string{"DOMAIN", "${PROJECT_ID}.example"})
	case domain != "":
		vars = append(vars, [2]string{"DOMAIN", domain})
	}
	// The HTTPS half's names, as variables once it has any.
	sv := shellVars{names: map[string]string{}, domain: domain}
	if l.hasHTTPS() {
		for _, kv := range [][2]string{
			{"ADDRESS_NAME", v.Address}, {"DNS_ZONE", v.DNSZone}, {"CERTIFICATE_NAME", v.CertName}, {"CERTIFICATE_MAP", v.CertMap},
			{"TARGET_HTTPS_PROXY", v.HTTPSProxy}, {"HTTPS_FORWARDING_RULE", v.HTTPSRule}, {"REDIRECT_URL_MAP", v.RedirectMap},
		} {
			vars = append(vars, kv)
			sv.names[kv[1]] = "$" + kv[0]
		}
		// The names the lab derives (steps: the DNS authorization, the
		// map's entry).
		sv.names[v.CertName+"-auth"] = "${CERTIFICATE_NAME}-auth"
		sv.names[v.CertMap+"-entry"] = "${CERTIFICATE_MAP}-entry"
	}
	for _, kv := range vars {
		fmt.Fprintf(&b, "%s=\"${%s:-%s}\"\n", kv[0], kv[0], kv[1])
	}
	if l.image() != "" {
		b.WriteString(`# IMAGE is what the services ran in the project it was read from. In another
# project, Cloud Run must be able to pull it: push it to that project's
# repository, or grant that project's Cloud Run service agent
# roles/artifactregistry.reader on this one.
`)
	}
	b.WriteString(`SA_EMAIL="${SERVICE_ACCOUNT}@${PROJECT_ID}.iam.gserviceaccount.com"
export CLOUDSDK_CORE_PROJECT="$PROJECT_ID"
`)

	section := func(title string) { fmt.Fprintf(&b, "\n# %s\n", title) }
	if len(l.APIs) > 0 {
		section("APIs (enabling one that is on changes nothing)")
		fmt.Fprintf(&b, "gcloud services enable %s\n", strings.Join(l.APIs, " \\\n    "))
	}
	if sa := l.ServiceAccount; sa != nil {
		section("The service's own identity")
		fmt.Fprintf(&b, "gcloud iam service-accounts describe \"$SA_EMAIL\" >/dev/null 2>&1 ||\n  gcloud iam service-accounts create \"$SERVICE_ACCOUNT\" --display-name=%s\n", shellQuote(sa.GetDisplayName()))
		for _, role := range l.Roles {
			fmt.Fprintf(&b, "gcloud projects add-iam-policy-binding \"$PROJECT_ID\" \\\n    --member=\"serviceAccount:$SA_EMAIL\" --role=%s --condition=None >/dev/null\n", role)
		}
	}
	if repo := l.Repository; repo != nil {
		section("The image repository")
		fmt.Fprintf(&b, "gcloud artifacts repositories describe \"$REPOSITORY\" --location=\"$REGION_A\" >/dev/null 2>&1 ||\n  gcloud artifacts repositories create \"$REPOSITORY\" --location=\"$REGION_A\" --repository-format=%s",
			strings.ToLower(repo.GetFormat().String()))
		if d := repo.GetDescription(); d != "" {
			fmt.Fprintf(&b, " --description=%s", shellQuote(d))
		}
		b.WriteString("\n")
	}
	for _, s := range l.Services {
		region := "$REGION_A"
		if s.Region == v.RegionB && s.Region != v.RegionA {
			region = "$REGION_B"
		}
		section("Cloud Run in " + s.Region)
		if s.failed() {
			b.WriteString("# " + strings.ReplaceAll(s.failedNote(), "\n", "\n# ") + "\n")
		}
		fmt.Fprintf(&b, "gcloud run services describe \"$SERVICE_NAME\" --region=\"%s\" >/dev/null 2>&1 ||\n  %s\n", region, deployLine(l, s, region))
		serviceSettingsScript(&b, s, region)
	}
	for _, neg := range l.NEGs {
		name, region := shellName(neg.GetName(), map[string]string{v.NEGA: "$NEG_A_NAME", v.NEGB: "$NEG_B_NAME"}), lastSegment(neg.GetRegion())
		rv := shellName(region, map[string]string{v.RegionA: "$REGION_A", v.RegionB: "$REGION_B"})
		section("Serverless NEG in " + region)
		svc := neg.GetCloudRun().GetService()
		if svc == v.Service {
			svc = "$SERVICE_NAME"
		}
		fmt.Fprintf(&b, "gcloud compute network-endpoint-groups describe \"%s\" --region=\"%s\" >/dev/null 2>&1 ||\n  gcloud compute network-endpoint-groups create \"%s\" --region=\"%s\" \\\n    --network-endpoint-type=%s --cloud-run-service=\"%s\"\n",
			name, rv, name, rv, strings.ToLower(neg.GetNetworkEndpointType()), svc)
	}
	for _, sp := range l.SecurityPolicies {
		section("Cloud Armor policy " + sp.GetName())
		b.WriteString(securityPolicyScript(l, sp))
	}
	for _, bs := range l.Backends {
		backendScript(&b, l, bs)
	}
	for _, m := range l.URLMaps {
		urlMapScript(&b, l, m, sv)
	}
	for _, a := range l.Addresses {
		section("Global address " + a.GetName())
		fmt.Fprintf(&b, "gcloud compute addresses describe %s --global >/dev/null 2>&1 ||\n  gcloud compute addresses create %s --global\n", sv.name(a.GetName()), sv.name(a.GetName()))
	}
	for _, part := range l.Extra {
		section(partTitle(part))
		b.WriteString(part.script(sv))
	}
	urlMaps := map[string]string{v.URLMap: "$URL_MAP_NAME"}
	if r, ok := sv.names[v.RedirectMap]; ok && v.RedirectMap != v.URLMap {
		urlMaps[v.RedirectMap] = r
	}
	for _, px := range l.HTTPProxies {
		name := shellName(px.GetName(), map[string]string{v.Proxy: "$TARGET_HTTP_PROXY"})
		section("Target HTTP proxy " + px.GetName())
		fmt.Fprintf(&b, "gcloud compute target-http-proxies describe \"%s\" >/dev/null 2>&1 ||\n  gcloud compute target-http-proxies create \"%s\" --url-map=\"%s\"\n",
			name, name, shellName(lastSegment(px.GetUrlMap()), urlMaps))
	}
	for _, px := range l.HTTPSProxies {
		name := sv.name(px.GetName())
		section("Target HTTPS proxy " + px.GetName())
		fmt.Fprintf(&b, "gcloud compute target-https-proxies describe %s >/dev/null 2>&1 ||\n  gcloud compute target-https-proxies create %s --url-map=\"%s\"", name, name, shellName(lastSegment(px.GetUrlMap()), urlMaps))
		if cm := px.GetCertificateMap(); cm != "" {
			fmt.Fprintf(&b, " --certificate-map=%s", sv.name(lastSegment(cm)))
		}
		b.WriteString("\n")
	}
	rules := map[string]string{v.Rule: "$FORWARDING_RULE"}
	if r, ok := sv.names[v.HTTPSRule]; ok && v.HTTPSRule != v.Rule {
		rules[v.HTTPSRule] = r
	}
	for _, fr := range l.Rules {
		name := shellName(fr.GetName(), rules)
		section("Global forwarding rule " + fr.GetName())
		target := "--target-http-proxy=\"" + shellName(lastSegment(fr.GetTarget()), map[string]string{v.Proxy: "$TARGET_HTTP_PROXY"}) + "\""
		if strings.Contains(fr.GetTarget(), "/targetHttpsProxies/") {
			target = "--target-https-proxy=" + sv.name(lastSegment(fr.GetTarget()))
		}
		fmt.Fprintf(&b, "gcloud compute forwarding-rules describe \"%s\" --global >/dev/null 2>&1 ||\n  gcloud compute forwarding-rules create \"%s\" --global \\\n    --load-balancing-scheme=%s %s --ports=%s",
			name, name, fr.GetLoadBalancingScheme(), target, strings.SplitN(fr.GetPortRange(), "-", 2)[0])
		for _, a := range l.Addresses {
			if a.GetAddress() == fr.GetIPAddress() {
				fmt.Fprintf(&b, " --address=%s", sv.name(a.GetName()))
			}
		}
		b.WriteString("\n")
	}
	if len(l.Rules) > 0 {
		b.WriteString("\necho \"The global IP: $(gcloud compute forwarding-rules describe \"$FORWARDING_RULE\" --global --format='value(IPAddress)')\"\n")
		b.WriteString("echo \"The load balancer takes a few minutes to serve after it is created.\"\n")
	}
	return []byte(b.String())
}

// domain is the lab's domain (DOMAIN): the one it ran with, else that of
// its DNS zone (the simulator's test domain when none was given).
func (l *Lab) domain() string {
	if l.Vars.Domain != "" {
		return l.Vars.Domain
	}
	for _, part := range l.Extra {
		if z, ok := part.(DNSZone); ok {
			return strings.TrimSuffix(z.DNSName, ".")
		}
	}
	return ""
}

func partTitle(p Part) string {
	switch p := p.(type) {
	case DNSZone:
		return "Cloud DNS zone " + p.Name + " and its records"
	case Certificates:
		return "Certificate Manager: the certificate Google issues, its DNS authorization, map and entry"
	}
	return "Part 6"
}

// ScriptFile is the name the script is written under.
const ScriptFile = "beyond-lab.sh"

// deployLine is the gcloud run deploy of one region's service as it is.
func deployLine(l *Lab, s Service, region string) string {
	t := s.GetTemplate()
	cmd := "gcloud run deploy \"$SERVICE_NAME\""
	var flags []string
	c := &runpb.Container{}
	if cs := t.GetContainers(); len(cs) > 0 {
		c = cs[0]
	}
	// gcloud 528: --min (service-level minimum instances) is GA,
	// --max and --[no-]default-url are beta, --readiness-probe (Cloud Run
	// service health, Preview) is alpha.
	// The service-level settings of the production part (--max,
	// --no-default-url) are not deployed: serviceSettingsScript sets them,
	// as the lab's steps do, also on a service that exists.
	if c.GetReadinessProbe() != nil {
		cmd = "gcloud alpha run deploy \"$SERVICE_NAME\""
	}
	if c.GetImage() == l.image() {
		flags = append(flags, `--image="$IMAGE"`)
	} else {
		flags = append(flags, "--image="+shellQuote(c.GetImage()))
	}
	flags = append(flags, `--region="`+region+`"`)
	if sa := t.GetServiceAccount(); sa != "" {
		if sa == l.saEmail() {
			flags = append(flags, `--service-account="$SA_EMAIL"`)
		} else {
			flags = append(flags, "--service-account="+shellQuote(sa))
		}
	}
	flags = append(flags, "--ingress="+ingressFlag(s.GetIngress()))
	switch {
	case s.GetInvokerIamDisabled():
		flags = append(flags, "--no-invoker-iam-check")
	case s.Public:
		flags = append(flags, "--allow-unauthenticated")
	default:
		flags = append(flags, "--no-allow-unauthenticated")
	}
	for _, p := range c.GetPorts() {
		if n := p.GetContainerPort(); n != 0 && n != 8080 {
			flags = append(flags, fmt.Sprintf("--port=%d", n))
		}
	}
	if v := c.GetResources().GetLimits()["cpu"]; v != "" {
		flags = append(flags, "--cpu="+shellQuote(v))
	}
	if v := c.GetResources().GetLimits()["memory"]; v != "" {
		flags = append(flags, "--memory="+shellQuote(v))
	}
	if c.GetResources() != nil {
		// gcloud turns startup CPU boost on for a new service unless told;
		// the Go client (and so a service the lab deployed) leaves it off.
		if c.GetResources().GetStartupCpuBoost() {
			flags = append(flags, "--cpu-boost")
		} else {
			flags = append(flags, "--no-cpu-boost")
		}
	}
	if n := t.GetScaling().GetMinInstanceCount(); n > 0 {
		flags = append(flags, fmt.Sprintf("--min-instances=%d", n))
	}
	if n := t.GetScaling().GetMaxInstanceCount(); n > 0 {
		flags = append(flags, fmt.Sprintf("--max-instances=%d", n))
	}
	if n := s.GetScaling().GetMinInstanceCount(); n > 0 {
		flags = append(flags, fmt.Sprintf("--min=%d", n))
	}
	if p := c.GetReadinessProbe(); p != nil {
		flags = append(flags, "--readiness-probe="+probeFlag(p))
	}
	env := map[string]string{}
	for _, e := range c.GetEnv() {
		if e.GetValueSource() == nil {
			env[e.GetName()] = e.GetValue()
		}
	}
	if len(env) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(env)) {
			val := env[k]
			switch val {
			case l.Vars.Project:
				val = "$PROJECT_ID"
			case s.Region:
				val = strings.Trim(region, `"`)
			}
			kv = append(kv, k+"="+val)
		}
		flags = append(flags, `--set-env-vars="`+strings.Join(kv, ",")+`"`)
	}
	return cmd + " \\\n    " + strings.Join(flags, " \\\n    ")
}

// serviceSettingsScript sets what the production part sets on a service,
// with the commands its steps show (`gcloud beta run services update`):
// ingress through the load balancer only with the default URL disabled,
// and the service-level maximum of instances. Each is read first (Cloud
// Run v1's annotations, as gcloud describes the service) and updated only
// where it differs, so a second run changes nothing, and a service that
// existed before the script (deployed, say, by Part 2) gets them too.
func serviceSettingsScript(b *strings.Builder, s Service, region string) {
	// Where the latest revision failed, gcloud reports that revision and
	// "Update failed" although the setting (which makes no revision) is
	// applied: go on, as the lab's steps do.
	orTrue := ""
	if s.failed() {
		orTrue = " || true"
	}
	describe := func(annotations ...string) string {
		var keys []string
		for _, a := range annotations {
			keys = append(keys, `metadata.annotations."run.googleapis.com/`+a+`"`)
		}
		return fmt.Sprintf(`gcloud run services describe "$SERVICE_NAME" --region="%s" --format='value(%s)'`, region, strings.Join(keys, ","))
	}
	if ing := s.GetIngress(); (ing != runpb.IngressTraffic_INGRESS_TRAFFIC_ALL && ing != runpb.IngressTraffic_INGRESS_TRAFFIC_UNSPECIFIED) || s.GetDefaultUriDisabled() {
		what, read := "requests only through the load balancer", []string{"ingress"}
		flags, want := "--ingress="+ingressFlag(ing), ingressFlag(ing)
		if s.GetDefaultUriDisabled() {
			// gcloud writes Python's True in the annotation: compared in
			// lower case, the two values tab-separated.
			what += ", no run.app URL"
			read = append(read, "default-url-disabled")
			flags += " --no-default-url"
			want += " true"
		}
		fmt.Fprintf(b, `# Production: %s.
[ "$(%s | tr 'A-Z\t' 'a-z ')" = "%s" ] ||
  gcloud beta run services update "$SERVICE_NAME" --region="%s" \
    %s%s
`, what, describe(read...), want, region, flags, orTrue)
	}
	if n := s.GetScaling().GetMaxInstanceCount(); n > 0 {
		fmt.Fprintf(b, `# Production: at most %[1]d instances, across revisions.
[ "$(%[2]s)" = "%[1]d" ] ||
  gcloud beta run services update "$SERVICE_NAME" --region="%[3]s" --max=%[1]d%[4]s
`, n, describe("maxScale"), region, orTrue)
	}
}

func ingressFlag(i runpb.IngressTraffic) string {
	switch i {
	case runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_ONLY:
		return "internal"
	case runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER:
		return "internal-and-cloud-load-balancing"
	}
	return "all"
}

func probeFlag(p *runpb.Probe) string {
	var kv []string
	add := func(k string, n int32) {
		if n != 0 {
			kv = append(kv, fmt.Sprintf("%s=%d", k, n))
		}
	}
	add("timeoutSeconds", p.GetTimeoutSeconds())
	add("periodSeconds", p.GetPeriodSeconds())
	add("failureThreshold", p.GetFailureThreshold())
	switch {
	case p.GetHttpGet() != nil:
		if path := p.GetHttpGet().GetPath(); path != "" {
			kv = append(kv, "httpGet.path="+path)
		}
		add("httpGet.port", p.GetHttpGet().GetPort())
	case p.GetGrpc() != nil:
		add("grpc.port", p.GetGrpc().GetPort())
		if s := p.GetGrpc().GetService(); s != "" {
			kv = append(kv, "grpc.service="+s)
		}
	}
	return shellQuote(strings.Join(kv, ","))
}

func backendScript(b *strings.Builder, l *Lab, bs *computepb.BackendService) {
	v := l.Vars
	name := shellName(bs.GetName(), map[string]string{v.Backend: "$BACKEND_NAME"})
	fmt.Fprintf(b, "\n# Backend service %s\n", bs.GetName())
	fmt.Fprintf(b, "gcloud compute backend-services describe \"%s\" --global >/dev/null 2>&1 ||\n  gcloud compute backend-services create \"%s\" --global \\\n    --load-balancing-scheme=%s --protocol=%s\n",
		name, name, bs.GetLoadBalancingScheme(), bs.GetProtocol())
	if od := bs.GetOutlierDetection(); od != nil {
		// gcloud has no flags for outlier detection: export, add it, import.
		fmt.Fprintf(b, `if [ -z "$(gcloud compute backend-services describe "%[1]s" --global --format='value(outlierDetection)')" ]; then
  tmp="$(mktemp)"
  gcloud compute backend-services export "%[1]s" --global --destination="$tmp"
  cat >> "$tmp" <<'EOF'
outlierDetection:
%[2]sEOF
  gcloud compute backend-services import "%[1]s" --global --source="$tmp" --quiet
  rm -f "$tmp"
fi
`, name, outlierYAML(od))
	}
	for _, be := range bs.GetBackends() {
		neg, region := lastSegment(be.GetGroup()), lastSegment(strings.Split(path(be.GetGroup()), "/networkEndpointGroups/")[0])
		negVar := shellName(neg, map[string]string{v.NEGA: "$NEG_A_NAME", v.NEGB: "$NEG_B_NAME"})
		regionVar := shellName(region, map[string]string{v.RegionA: "$REGION_A", v.RegionB: "$REGION_B"})
		fmt.Fprintf(b, `gcloud compute backend-services describe "%[1]s" --global --format='value(backends[].group)' | tr ';' '\n' | grep -q "/regions/%[3]s/networkEndpointGroups/%[2]s$" ||
  gcloud compute backend-services add-backend "%[1]s" --global \
    --network-endpoint-group="%[2]s" --network-endpoint-group-region="%[3]s"
`, name, negVar, regionVar)
	}
	if sp := bs.GetSecurityPolicy(); sp != "" {
		spName := shellName(lastSegment(sp), map[string]string{v.SecurityPolicy: "$SECURITY_POLICY"})
		fmt.Fprintf(b, `gcloud compute backend-services describe "%[1]s" --global --format='value(securityPolicy)' | grep -q "/securityPolicies/%[2]s$" ||
  gcloud compute backend-services update "%[1]s" --global --security-policy="%[2]s"
`, name, spName)
	}
}

func outlierYAML(od *computepb.OutlierDetection) string {
	var b strings.Builder
	num := func(k string, p *int32) {
		if p != nil {
			fmt.Fprintf(&b, "  %s: %d\n", k, *p)
		}
	}
	num("consecutiveErrors", od.ConsecutiveErrors)
	num("enforcingConsecutiveErrors", od.EnforcingConsecutiveErrors)
	num("consecutiveGatewayFailure", od.ConsecutiveGatewayFailure)
	num("enforcingConsecutiveGatewayFailure", od.EnforcingConsecutiveGatewayFailure)
	num("enforcingSuccessRate", od.EnforcingSuccessRate)
	num("maxEjectionPercent", od.MaxEjectionPercent)
	dur := func(k string, d *computepb.Duration) {
		if d != nil {
			fmt.Fprintf(&b, "  %s: {seconds: %d", k, d.GetSeconds())
			if d.GetNanos() != 0 {
				fmt.Fprintf(&b, ", nanos: %d", d.GetNanos())
			}
			b.WriteString("}\n")
		}
	}
	dur("interval", od.GetInterval())
	dur("baseEjectionTime", od.GetBaseEjectionTime())
	return b.String()
}

func urlMapScript(b *strings.Builder, l *Lab, m *computepb.UrlMap, sv shellVars) {
	v := l.Vars
	names := map[string]string{v.URLMap: "$URL_MAP_NAME"}
	if r, ok := sv.names[v.RedirectMap]; ok && v.RedirectMap != v.URLMap {
		names[v.RedirectMap] = r
	}
	name := shellName(m.GetName(), names)
	fmt.Fprintf(b, "\n# URL map %s. url-maps import over an existing map drops numRetries and\n# perTryTimeout (a gcloud bug): import only when the map is missing.\n", m.GetName())
	fmt.Fprintf(b, "if ! gcloud compute url-maps describe \"%s\" --global >/dev/null 2>&1; then\n  gcloud compute url-maps import \"%s\" --global --quiet --source=- <<EOF\nname: %s\n", name, name, name)
	if ds := m.GetDefaultService(); ds != "" {
		fmt.Fprintf(b, "defaultService: global/backendServices/%s\n", shellName(lastSegment(ds), map[string]string{v.Backend: "$BACKEND_NAME"}))
	}
	if rp := m.GetDefaultRouteAction().GetRetryPolicy(); rp != nil {
		b.WriteString("defaultRouteAction:\n  retryPolicy:\n")
		if rp.NumRetries != nil {
			fmt.Fprintf(b, "    numRetries: %d\n", rp.GetNumRetries())
		}
		if d := rp.GetPerTryTimeout(); d != nil {
			fmt.Fprintf(b, "    perTryTimeout: {seconds: %d}\n", d.GetSeconds())
		}
		if len(rp.GetRetryConditions()) > 0 {
			fmt.Fprintf(b, "    retryConditions: [%s]\n", strings.Join(rp.GetRetryConditions(), ", "))
		}
	}
	if red := m.GetDefaultUrlRedirect(); red != nil {
		b.WriteString("defaultUrlRedirect:\n")
		if red.HttpsRedirect != nil {
			fmt.Fprintf(b, "  httpsRedirect: %v\n", red.GetHttpsRedirect())
		}
		fmt.Fprintf(b, "  stripQuery: %v\n", red.GetStripQuery())
		if c := red.GetRedirectResponseCode(); c != "" {
			fmt.Fprintf(b, "  redirectResponseCode: %s\n", c)
		}
	}
	b.WriteString("EOF\nfi\n")
}

// securityPolicyScript creates a Cloud Armor policy and its rules with the
// flags the lab's step shows, each only when it is missing. A rule the
// source holds enforced that exists in preview is enforced, as the lab's
// second Cloud Armor step does.
func securityPolicyScript(l *Lab, sp *computepb.SecurityPolicy) string {
	var b strings.Builder
	name := shellName(sp.GetName(), map[string]string{l.Vars.SecurityPolicy: "$SECURITY_POLICY"})
	fmt.Fprintf(&b, "gcloud compute security-policies describe \"%[1]s\" >/dev/null 2>&1 ||\n  gcloud compute security-policies create \"%[1]s\"", name)
	if d := sp.GetDescription(); d != "" {
		fmt.Fprintf(&b, " \\\n    --description=%s", shellQuote(d))
	}
	b.WriteString("\n")
	for _, r := range sp.GetRules() {
		if r.GetPriority() == 2147483647 {
			continue // the default rule comes with the policy
		}
		fmt.Fprintf(&b, "gcloud compute security-policies rules describe %[1]d --security-policy=\"%[2]s\" >/dev/null 2>&1 ||\n  gcloud compute security-policies rules create %[1]d \\\n    --security-policy=\"%[2]s\"",
			r.GetPriority(), name)
		if d := r.GetDescription(); d != "" {
			fmt.Fprintf(&b, " \\\n    --description=%s", shellQuote(d))
		}
		if e := r.GetMatch().GetExpr().GetExpression(); e != "" {
			fmt.Fprintf(&b, " \\\n    --expression=%s", shellQuote(e))
		} else if ips := r.GetMatch().GetConfig().GetSrcIpRanges(); len(ips) > 0 {
			fmt.Fprintf(&b, " \\\n    --src-ip-ranges=%s", strings.Join(ips, ","))
		}
		fmt.Fprintf(&b, " \\\n    --action=%s", gcloudAction(r.GetAction()))
		if ro := r.GetRateLimitOptions(); ro != nil {
			t := ro.GetRateLimitThreshold()
			fmt.Fprintf(&b, " \\\n    --rate-limit-threshold-count=%d \\\n    --rate-limit-threshold-interval-sec=%d \\\n    --conform-action=%s \\\n    --exceed-action=%s",
				t.GetCount(), t.GetIntervalSec(), gcloudAction(ro.GetConformAction()), gcloudAction(ro.GetExceedAction()))
			if k := ro.GetEnforceOnKey(); k != "" {
				fmt.Fprintf(&b, " \\\n    --enforce-on-key=%s", k)
			}
		}
		if r.GetPreview() {
			b.WriteString(" \\\n    --preview\n")
			continue
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "[ \"$(gcloud compute security-policies rules describe %[1]d --security-policy=\"%[2]s\" --format='value(preview)' | tr A-Z a-z)\" != true ] ||\n  gcloud compute security-policies rules update %[1]d --security-policy=\"%[2]s\" --no-preview\n",
			r.GetPriority(), name)
	}
	return b.String()
}

// gcloudAction is a Cloud Armor action as gcloud's flags spell it: the
// API's deny(429) is deny-429, rate_based_ban is rate-based-ban.
func gcloudAction(a string) string {
	if strings.HasPrefix(a, "deny(") && strings.HasSuffix(a, ")") {
		return "deny-" + strings.TrimSuffix(strings.TrimPrefix(a, "deny("), ")")
	}
	return strings.ReplaceAll(a, "_", "-")
}

// shellName is "$VAR" for a value one of the script's variables holds, else
// the value itself.
func shellName(value string, vars map[string]string) string {
	if v, ok := vars[value]; ok {
		return v
	}
	return value
}

func lastSegment(url string) string { return url[strings.LastIndex(url, "/")+1:] }

// shellQuote quotes s for bash, in single quotes.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
