package steps

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/beyond-lab/beyond/content"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/lab"
	"google.golang.org/protobuf/proto"
)

// Lab returns the lab's steps in order. Each step's title is the heading of
// its prose (content/ID.md), so the two cannot disagree.
func Lab() []*Step {
	list := []*Step{
		// Part 1: the code.
		stepConfirmAI(),
		// Part 2: Cloud Run.
		stepProject(),
		stepEnableAPIs(),
		stepServiceAccount(),
		stepGrantVertexAI(),
		stepRepository(),
		stepBuildImage(),
		stepDeploy(DeployA, PartDeploy, func(v Vars) string { return v.RegionA }),
		// Part 3: global resilience.
		stepDeploy(DeployB, PartGlobal, func(v Vars) string { return v.RegionB }),
		stepNEG(NEGA, func(v Vars) (string, string) { return v.NEGA, v.RegionA }),
		stepNEG(NEGB, func(v Vars) (string, string) { return v.NEGB, v.RegionB }),
		stepBackendService(),
		stepAddBackend(BackendA, func(v Vars) (string, string) { return v.NEGA, v.RegionA }),
		stepAddBackend(BackendB, func(v Vars) (string, string) { return v.NEGB, v.RegionB }),
		stepURLMap(),
		stepProxy(),
		stepForwardingRule(),
		// Part 4: verification.
		stepGlobalIP(),
		stepCurl(),
		stepBreakWorkshop(),
		stepBreakRegion(),
		stepFailover(),
		stepRestore(),
		// Part 5: production practice.
		stepIngress(),
		stepArmorPreview(),
		stepArmorEnforce(),
		stepMaxInstances(),
		stepStaticIP(),
		stepDNSZone(),
		stepCertificate(),
		stepCertificateMap(),
		stepHTTPSFrontend(),
		stepHTTPSRedirect(),
		stepHTTPSCheck(),
		// Part 6: cleanup.
		stepCleanup(),
	}
	for _, s := range list {
		s.Title = content.Title(s.ID)
	}
	return list
}

// titleOf names another step in a message: by its title, quoted.
func titleOf(id string) string { return "'" + content.Title(id) + "'" }

// requiredAPIs are the services the lab enables.
var requiredAPIs = []string{lab.APIRun, lab.APICompute, lab.APIArtifactRegistry, lab.APIAIPlatform, lab.APIIAM, lab.APIResourceManager}

func stepProject() *Step {
	return &Step{
		ID: Project, Part: PartDeploy,
		Command: func(s *Session) string { return "gcloud config set project " + s.Vars.Project },
		Do: func(ctx context.Context, s *Session) (string, error) {
			if s.Cloud.Simulated() {
				return fmt.Sprintf("Using simulated project %s: nothing here is billable.", s.Vars.Project), nil
			}
			return fmt.Sprintf("Using Google Cloud project %s: the steps that follow create billable resources.", s.Vars.Project), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			if _, err := s.Cloud.EnabledAPIs(ctx, []string{lab.APIServiceUsage}); err != nil {
				return "", err
			}
			return fmt.Sprintf("Project %s answers through the Service Usage API.", s.Vars.Project), nil
		},
	}
}

func stepEnableAPIs() *Step {
	return &Step{
		ID: EnableAPIs, Part: PartDeploy,
		Command: func(s *Session) string {
			return "gcloud services enable " + strings.Join(requiredAPIs, " \\\n    ")
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			on, err := s.Cloud.EnabledAPIs(ctx, requiredAPIs)
			if err != nil {
				return "", err
			}
			var missing []string
			for _, api := range requiredAPIs {
				if !on[api] {
					missing = append(missing, api)
				}
			}
			if len(missing) == 0 {
				return "Every API was already enabled.", nil
			}
			s.Progress("enabling " + strings.Join(missing, ", "))
			if err := s.Cloud.EnableAPIs(ctx, missing, s.Progress); err != nil {
				return "", err
			}
			did := "Enabled " + strings.Join(missing, ", ") + "."
			waited, err := s.awaitAPIs(ctx, missing)
			if err != nil {
				return "", err
			}
			if waited > 0 {
				did += fmt.Sprintf(" Google said they were on, but they answered SERVICE_DISABLED for %s more while the change spread; the lab waited until each answered.", waited.Round(time.Second))
			}
			return did, nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			on, err := s.Cloud.EnabledAPIs(ctx, requiredAPIs)
			if err != nil {
				return "", err
			}
			for _, api := range requiredAPIs {
				if !on[api] {
					return "", failf(api+" is not enabled", "Run this step again, or `gcloud services enable "+api+"`")
				}
			}
			for _, api := range requiredAPIs {
				ok, err := s.Cloud.APIAnswers(ctx, api, s.Vars.RegionA)
				if err != nil {
					return "", err
				}
				if !ok {
					return "", failf(api+" is enabled but still answers SERVICE_DISABLED: Google is spreading the change", "Wait a minute or two and check again; running this step waits for it")
				}
			}
			return "Enabled and answering: " + strings.Join(requiredAPIs, ", ") + ".", nil
		},
	}
}

// apiReadyWithin bounds the wait for APIs just enabled to answer. Google
// says a few minutes; past this the step fails with what to do.
const apiReadyWithin = 5 * time.Minute

// awaitAPIs waits until every API in apis answers calls, not only says it is
// enabled: for minutes after an enable operation is done, Google can still
// answer SERVICE_DISABLED, and every step after this one would fail in that
// window. It reports progress while it waits and returns how long it
// waited.
func (s *Session) awaitAPIs(ctx context.Context, apis []string) (time.Duration, error) {
	start := time.Now()
	pending := slices.Clone(apis)
	var said string // the last progress line's list, said again every 5 s
	var saidAt time.Time
	for {
		var still []string
		for _, api := range pending {
			ok, err := s.Cloud.APIAnswers(ctx, api, s.Vars.RegionA)
			if err != nil {
				return 0, err
			}
			if !ok {
				still = append(still, api)
			}
		}
		waited := time.Since(start)
		if len(still) == 0 {
			if len(pending) == len(apis) && waited < time.Second {
				return 0, nil // answered at once
			}
			return waited, nil
		}
		if waited > apiReadyWithin {
			return 0, failf(fmt.Sprintf("%s still answered SERVICE_DISABLED %s after being enabled", strings.Join(still, ", "), apiReadyWithin),
				"Google sometimes takes longer to spread an enable: run this step again in a few minutes")
		}
		pending = still
		if list := strings.Join(still, ", "); list != said || time.Since(saidAt) >= 5*time.Second {
			said, saidAt = list, time.Now()
			s.Progress(fmt.Sprintf("enabled, waiting for %s to answer (SERVICE_DISABLED until the change spreads; %s so far, at most %s)",
				list, waited.Round(time.Second), apiReadyWithin))
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(pollEvery(s)):
		}
	}
}

// image is what the deploy steps run: IMAGE if set, else the image the lab
// built and pushed.
func (s *Session) image() (string, error) {
	if s.Vars.Image != "" {
		return s.Vars.Image, nil
	}
	if img := s.Outputs.Image; img != "" {
		return img, nil
	}
	return "", failf("there is no image to deploy yet", "Run the step "+titleOf(BuildImage)+", or pass --image "+lab.HelloImage)
}

// imageForCommand is the image as the learner would type it.
func (s *Session) imageForCommand() string {
	if img, err := s.image(); err == nil {
		return img
	}
	return s.plannedImage()
}

// plannedImage is the Artifact Registry reference the lab pushes to.
func (s *Session) plannedImage() string {
	return fmt.Sprintf("%s-docker.pkg.dev/%s/%s/%s:latest", s.Vars.RegionA, s.Vars.Project, s.Vars.Repository, s.Vars.Service)
}

// deployEnv is the environment the lab gives the service in a region.
func (s *Session) deployEnv(region string) map[string]string {
	if s.customImage() {
		return nil
	}
	return map[string]string{
		"GEMINI_MODEL":              s.Vars.Model,
		"GOOGLE_GENAI_USE_VERTEXAI": "true",
		"GOOGLE_CLOUD_PROJECT":      s.Vars.Project,
		"GOOGLE_CLOUD_LOCATION":     s.modelLocation(region),      // where confirm-ai found the model served
		"CHECK_TIMEOUT":             serviceCheckTimeout.String(), // under the URL map's per-try timeout: see timeouts.go
	}
}

// customImage reports whether the learner chose an image (--image) instead
// of the lab's own service: such an image, like the workshop's hello
// sample, has no outage switch and no Gemini settings.
func (s *Session) customImage() bool { return s.Vars.Image != "" }

func envFlag(env map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		parts = append(parts, k+"="+env[k])
	}
	return strings.Join(parts, ",")
}

func deployCommand(s *Session, region string, env map[string]string, image string) string {
	// alpha: on 2026-12-01 --readiness-probe exists on gcloud's alpha track only.
	cmd := fmt.Sprintf("gcloud alpha run deploy %s \\\n    --image %s \\\n    --region %s \\\n    --service-account %s \\\n    --no-invoker-iam-check \\\n    --ingress all \\\n    --readiness-probe %s \\\n    --min-instances %d",
		s.Vars.Service, image, region, s.serviceAccountEmail(), readinessFlag(s.readiness()), minInstances)
	if len(env) > 0 {
		cmd += " \\\n    --set-env-vars " + envFlag(env)
	}
	return cmd
}

func stepDeploy(id, part string, region func(Vars) string) *Step {
	return &Step{
		ID: id, Part: part, Creates: createsService(region),
		Command: func(s *Session) string {
			r := region(s.Vars)
			return deployCommand(s, r, s.deployEnv(r), s.imageForCommand())
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			r := region(s.Vars)
			img, err := s.image()
			if err != nil {
				return "", err
			}
			if p := s.Outputs.ModelPlacement; !s.customImage() && (p == nil || p.Model != s.Vars.Model) {
				s.Progress(fmt.Sprintf("%s has not asked Google where %s is served: the service calls it in %s; run that step first if it may be served at global only", titleOf(ConfirmAI), s.Vars.Model, r))
			}
			return deploy(ctx, s, gcp.ServiceSpec{Region: r, Name: s.Vars.Service, Image: img, Env: s.deployEnv(r), ServiceAccount: s.serviceAccountEmail(),
				Readiness: s.readiness(), MinInstances: minInstances})
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			r := region(s.Vars)
			img, err := s.image()
			if err != nil {
				return "", err
			}
			return checkService(ctx, s, r, img, s.deployEnv(r))
		},
	}
}

// deploy runs spec and opens the service to unauthenticated calls.
func deploy(ctx context.Context, s *Session, spec gcp.ServiceSpec) (string, error) {
	svc, changed, err := s.Cloud.DeployService(ctx, spec, s.Progress)
	if err != nil {
		return "", err
	}
	// Google recommends disabling the invoker IAM check to make a service
	// public (run/docs/authenticating/public); an allUsers binding is the
	// older way, kept for an organisation policy that requires the check.
	public := ""
	if !svc.InvokerIAMDisabled {
		err = s.Cloud.DisableInvokerCheck(ctx, spec.Region, spec.Name, s.Progress)
		public = " Disabled its invoker IAM check (`--no-invoker-iam-check`, Google's recommended way to a public service)."
		if gcp.KindOf(err) == gcp.KindOrgPolicy {
			s.Progress("an organisation policy keeps the invoker IAM check on; granting roles/run.invoker to allUsers instead")
			var granted bool
			granted, err = s.Cloud.AllowUnauthenticated(ctx, spec.Region, spec.Name)
			public = " An organisation policy keeps the invoker IAM check on, so the lab granted roles/run.invoker to allUsers instead (`--allow-unauthenticated`)."
			if !granted {
				public = " allUsers may invoke it already."
			}
		}
		if err != nil {
			return "", err
		}
	}
	uri := svc.URI
	if uri == "" {
		uri = "no URL of its own (the load balancer only)" // the production part disabled it
	}
	did := fmt.Sprintf("Service %s in %s serves revision %s at %s, running as %s.", spec.Name, spec.Region, svc.LatestReady, uri, svc.ServiceAccount)
	if !changed {
		did = "Adopted: " + did
	}
	did += public
	if s.customImage() {
		return did, nil
	}
	did += fmt.Sprintf(" It calls %s through Vertex AI at %s (confirm-ai's decision).", spec.Env["GEMINI_MODEL"], spec.Env["GOOGLE_CLOUD_LOCATION"])
	if svc.LBOnly() || svc.DefaultURLDisabled {
		// The production part closed its own URL: the call would be
		// refused. The curl step calls it through the global IP.
		return did + " It takes requests through the load balancer only, so the lab does not call it at its own URL.", nil
	}
	answer, err := s.callService(ctx, spec.Region, svc.URI)
	if err != nil {
		return "", err
	}
	return did + " " + answer, nil
}

// callService calls the service just deployed once, at its own URL, with
// the check the curl step sends later: a service that cannot answer (its
// identity lacks a role, its model is not served) fails here with its own
// message, not minutes later at the load balancer. A cold start, or an
// invoker grant still spreading, gets a bounded second chance.
func (s *Session) callService(ctx context.Context, region, uri string) (string, error) {
	deadline := time.Now().Add(checkPatience(s))
	for {
		for s.Cloud.Simulated() && strings.HasSuffix(uri, ".run.app") {
			// The simulator names the service's local URL a moment after
			// the deploy: never look up Google's host name from here.
			if time.Now().After(deadline) {
				return "", failf("the simulator gave service "+s.Vars.Service+" in "+region+" no local URL", "Run this step again")
			}
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			svc, err := s.Cloud.GetService(ctx, region, s.Vars.Service)
			if err != nil {
				return "", err
			}
			uri = svc.URI
		}
		sm, body := s.checkOnce(ctx, uri)
		if sm.Status == http.StatusOK {
			return fmt.Sprintf("It answered a check itself (200 from %s, revision %s).", orNone(sm.Region), sm.Revision), nil
		}
		if err := serviceFault(sm, body); err != nil {
			return "", err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return "", failf(fmt.Sprintf("the service in %s, called at its own URL %s, answered %s", region, uri, describeBody(sm, body)),
				"Read the service's logs (`gcloud run services logs read "+s.Vars.Service+" --region "+region+"`), fix what they say, and run this step again")
		}
		s.Progress("calling the service at its own URL: " + describeBody(sm, body))
		select {
		case <-ctx.Done():
		case <-time.After(runEvery(s)):
		}
	}
}

func checkService(ctx context.Context, s *Session, region, image string, env map[string]string) (string, error) {
	svc, err := s.Cloud.GetService(ctx, region, s.Vars.Service)
	if err != nil {
		return "", err
	}
	fix := "Run this step again"
	switch {
	case svc.LatestReady == "":
		return "", failf(fmt.Sprintf("service %s in %s has no ready revision: %s", svc.Name, region, svc.Failure), fix)
	case svc.Image != image:
		return "", failf(fmt.Sprintf("service %s in %s runs %s, not %s", svc.Name, region, svc.Image, image), fix)
	case svc.ServiceAccount != s.serviceAccountEmail():
		return "", failf(fmt.Sprintf("service %s in %s runs as %s, not the lab's service account %s", svc.Name, region, svc.ServiceAccount, s.serviceAccountEmail()), fix)
	case svc.Ingress != "INGRESS_TRAFFIC_ALL" && !svc.LBOnly(): // the production part's ingress holds too
		return "", failf(fmt.Sprintf("service %s in %s has ingress %s; the load balancer needs ingress all (or internal-and-cloud-load-balancing)", svc.Name, region, svc.Ingress), fix)
	}
	for k, v := range env {
		if k == "GOOGLE_CLOUD_LOCATION" && !s.placementSaved() && (svc.Env[k] == region || svc.Env[k] == lab.GlobalLocation) {
			continue // no decision here to hold it to (a sweep): either is one confirm-ai makes
		}
		if svc.Env[k] != v {
			return "", failf(fmt.Sprintf("service %s in %s has %s=%q, want %q", svc.Name, region, k, svc.Env[k], v), fix)
		}
	}
	if fault := s.healthFault(svc); fault != "" {
		return "", failf(fault, fix)
	}
	public, err := s.Cloud.PublicInvoker(ctx, region, s.Vars.Service)
	if err != nil {
		return "", err
	}
	if !public && !svc.InvokerIAMDisabled {
		return "", failf("the service's invoker IAM check is on and allUsers may not invoke it, so the load balancer's requests would be refused with 403",
			fmt.Sprintf("Run this step again, or `gcloud run services update %s --region %s --no-invoker-iam-check` (Google's recommended way to a public service)", s.Vars.Service, region))
	}
	if svc.LBOnly() {
		return fmt.Sprintf("Revision %s of %s is ready in %s, runs as %s, public through the load balancer only (production practice), %s.", svc.LatestReady, svc.Name, region, svc.ServiceAccount, describeHealth(svc)), nil
	}
	return fmt.Sprintf("Revision %s of %s is ready in %s, runs as %s, with ingress all, public, %s, at %s.", svc.LatestReady, svc.Name, region, svc.ServiceAccount, describeHealth(svc), svc.URI), nil
}

func stepNEG(id string, which func(Vars) (name, region string)) *Step {
	return &Step{
		ID: id, Part: PartGlobal, Creates: createsNEG(which),
		Command: func(s *Session) string {
			name, region := which(s.Vars)
			return fmt.Sprintf("gcloud compute network-endpoint-groups create %s \\\n    --region %s \\\n    --network-endpoint-type serverless \\\n    --cloud-run-service %s", name, region, s.Vars.Service)
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			name, region := which(s.Vars)
			neg, err := s.Cloud.GetNEG(ctx, region, name)
			if err == nil {
				if reason := negDiffers(neg, s.Vars.Service); reason != "" {
					return "", failf(fmt.Sprintf("NEG %s exists in %s but %s", name, region, reason), fmt.Sprintf("Delete it (`gcloud compute network-endpoint-groups delete %s --region %s`) or choose another name with --neg-*", name, region))
				}
				return fmt.Sprintf("Adopted NEG %s in %s, which already points at %s.", name, region, s.Vars.Service), nil
			}
			if !gcp.IsNotFound(err) {
				return "", err
			}
			if err := s.Cloud.CreateServerlessNEG(ctx, region, name, s.Vars.Service, s.Progress); err != nil {
				return "", err
			}
			return fmt.Sprintf("Created serverless NEG %s in %s for Cloud Run service %s.", name, region, s.Vars.Service), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			name, region := which(s.Vars)
			neg, err := s.Cloud.GetNEG(ctx, region, name)
			if err != nil {
				return "", err
			}
			if reason := negDiffers(neg, s.Vars.Service); reason != "" {
				return "", failf("NEG "+name+" "+reason, "Delete it and run this step again")
			}
			if !strings.HasSuffix(neg.GetRegion(), "/regions/"+region) {
				return "", failf(fmt.Sprintf("NEG %s is in %s, not %s", name, neg.GetRegion(), region), "Delete it and run this step again")
			}
			return fmt.Sprintf("NEG %s is serverless, in %s, and points at Cloud Run service %s.", name, region, s.Vars.Service), nil
		},
	}
}

func negDiffers(neg *computepb.NetworkEndpointGroup, service string) string {
	if neg.GetNetworkEndpointType() != "SERVERLESS" {
		return "is of type " + neg.GetNetworkEndpointType() + ", not SERVERLESS"
	}
	if got := neg.GetCloudRun().GetService(); got != service {
		return fmt.Sprintf("points at Cloud Run service %q, not %q", got, service)
	}
	return ""
}

// The lab's outlier detection. Google's defaults leave consecutive 5xx off
// (enforcing 0) and eject for 30 s; the lab enforces both error counters and
// ejects for 10 s so that a replay's restore step stays short.
const (
	labScheme            = "EXTERNAL_MANAGED"
	labConsecutiveErrors = 3
	labBaseEjectionSecs  = 10
)

func labOutlierDetection() *computepb.OutlierDetection {
	return &computepb.OutlierDetection{
		ConsecutiveErrors:                  proto.Int32(labConsecutiveErrors),
		EnforcingConsecutiveErrors:         proto.Int32(100),
		ConsecutiveGatewayFailure:          proto.Int32(labConsecutiveErrors),
		EnforcingConsecutiveGatewayFailure: proto.Int32(100),
		Interval:                           &computepb.Duration{Seconds: proto.Int64(1)},
		BaseEjectionTime:                   &computepb.Duration{Seconds: proto.Int64(labBaseEjectionSecs)},
		MaxEjectionPercent:                 proto.Int32(50),
	}
}

func stepBackendService() *Step {
	return &Step{
		ID: BackendService, Part: PartGlobal, Creates: createsBackendService,
		Command: func(s *Session) string {
			b := s.Vars.Backend
			return fmt.Sprintf(`gcloud compute backend-services create %[1]s \
    --global \
    --load-balancing-scheme=EXTERNAL_MANAGED
gcloud compute backend-services export %[1]s --global \
    --destination=%[1]s.yaml
cat >> %[1]s.yaml <<'EOF'
outlierDetection:
  consecutiveErrors: %[2]d
  enforcingConsecutiveErrors: 100
  consecutiveGatewayFailure: %[2]d
  enforcingConsecutiveGatewayFailure: 100
  interval: {seconds: 1}
  baseEjectionTime: {seconds: %[3]d}
  maxEjectionPercent: 50
EOF
gcloud compute backend-services import %[1]s --global \
    --source=%[1]s.yaml --quiet`, b, labConsecutiveErrors, labBaseEjectionSecs)
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			bs, err := s.Cloud.GetBackendService(ctx, s.Vars.Backend)
			if err == nil {
				if reason := backendDiffers(bs); reason != "" {
					return "", failf(fmt.Sprintf("backend service %s exists but %s", s.Vars.Backend, reason), backendFix(bs, s.Vars.Backend))
				}
				return fmt.Sprintf("Adopted backend service %s (EXTERNAL_MANAGED, with outlier detection).", s.Vars.Backend), nil
			}
			if !gcp.IsNotFound(err) {
				return "", err
			}
			err = s.Cloud.CreateBackendService(ctx, &computepb.BackendService{
				Name:                proto.String(s.Vars.Backend),
				LoadBalancingScheme: proto.String(labScheme),
				Protocol:            proto.String("HTTP"),
				OutlierDetection:    labOutlierDetection(),
			}, s.Progress)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("Created backend service %s with scheme EXTERNAL_MANAGED and outlier detection (eject after %d consecutive 5xx, for %d s).", s.Vars.Backend, labConsecutiveErrors, labBaseEjectionSecs), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			bs, err := s.Cloud.GetBackendService(ctx, s.Vars.Backend)
			if err != nil {
				return "", err
			}
			if reason := backendDiffers(bs); reason != "" {
				return "", failf("backend service "+s.Vars.Backend+" "+reason, "Delete it and run this step again")
			}
			return fmt.Sprintf("Backend service %s is EXTERNAL_MANAGED; outlier detection enforces consecutive errors at 100%%.", s.Vars.Backend), nil
		},
	}
}

// backendDiffers says how a backend service falls short of the lab's, or "".
// backendFix says how to fix a backend service backendDiffers refuses. A
// classic one migrates in place, in stages (Compute API reference,
// BackendService.externalManagedMigrationState); the lab never changes a
// resource it did not make as wanted.
func backendFix(bs *computepb.BackendService, name string) string {
	if bs.GetLoadBalancingScheme() != labScheme {
		return fmt.Sprintf("Migrate it in place, in stages: `gcloud compute backend-services update %[1]s --global --external-managed-migration-state=PREPARE`, then `=TEST_ALL_TRAFFIC` (or TEST_BY_PERCENTAGE first), then `--load-balancing-scheme=%[2]s`, and run this step again; or delete it (`beyond cleanup`, or `gcloud compute backend-services delete %[1]s --global`) and let the lab create it", name, labScheme)
	}
	return fmt.Sprintf("Add the outlier detection the lab sets (this step's command shows it), or delete the backend service (`gcloud compute backend-services delete %s --global`) and run this step again", name)
}

func backendDiffers(bs *computepb.BackendService) string {
	if got := bs.GetLoadBalancingScheme(); got != labScheme {
		return fmt.Sprintf("has scheme %s (classic), which cannot do outlier detection, so a failing region would keep its traffic", got)
	}
	od := bs.GetOutlierDetection()
	if od == nil {
		return "has no outlier detection, so nothing would eject a failing region"
	}
	if od.GetEnforcingConsecutiveErrors() == 0 && od.GetEnforcingConsecutiveGatewayFailure() == 0 {
		return "has outlier detection that enforces nothing"
	}
	return ""
}

func stepAddBackend(id string, which func(Vars) (neg, region string)) *Step {
	return &Step{
		ID: id, Part: PartGlobal,
		Command: func(s *Session) string {
			neg, region := which(s.Vars)
			return fmt.Sprintf("gcloud compute backend-services add-backend %s \\\n    --global \\\n    --network-endpoint-group %s \\\n    --network-endpoint-group-region %s", s.Vars.Backend, neg, region)
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			neg, region := which(s.Vars)
			bs, err := s.Cloud.GetBackendService(ctx, s.Vars.Backend)
			if err != nil {
				return "", err
			}
			url := s.Cloud.NEGURL(region, neg)
			if hasBackend(bs, url) {
				return fmt.Sprintf("Adopted: %s already has NEG %s as a backend.", s.Vars.Backend, neg), nil
			}
			// As gcloud does: read, append, write back with the fingerprint.
			bs.Backends = append(bs.Backends, &computepb.Backend{Group: proto.String(url)})
			err = s.Cloud.UpdateBackendService(ctx, bs, s.Progress)
			if gcp.KindOf(err) == gcp.KindChanged {
				// 412 conditionNotMet: someone changed the service since
				// it was read (another tab, gcloud). Read it again, once.
				s.Progress("backend service " + s.Vars.Backend + " changed since it was read: reading it again")
				if bs, err = s.Cloud.GetBackendService(ctx, s.Vars.Backend); err != nil {
					return "", err
				}
				if hasBackend(bs, url) {
					return fmt.Sprintf("Adopted: %s already has NEG %s as a backend.", s.Vars.Backend, neg), nil
				}
				bs.Backends = append(bs.Backends, &computepb.Backend{Group: proto.String(url)})
				err = s.Cloud.UpdateBackendService(ctx, bs, s.Progress)
			}
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("Added NEG %s (%s) to backend service %s.", neg, region, s.Vars.Backend), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			bs, err := s.Cloud.GetBackendService(ctx, s.Vars.Backend)
			if err != nil {
				return "", err
			}
			neg, region := which(s.Vars)
			if !hasBackend(bs, s.Cloud.NEGURL(region, neg)) {
				return "", failf(fmt.Sprintf("backend service %s has no backend for NEG %s in %s", s.Vars.Backend, neg, region), "Run this step again")
			}
			var names []string
			for _, b := range bs.GetBackends() {
				names = append(names, shortName(b.GetGroup()))
			}
			return fmt.Sprintf("Backend service %s (%s) holds %s.", s.Vars.Backend, bs.GetLoadBalancingScheme(), strings.Join(names, " and ")), nil
		},
	}
}

func hasBackend(bs *computepb.BackendService, negURL string) bool {
	return slices.ContainsFunc(bs.GetBackends(), func(b *computepb.Backend) bool { return gcp.SameResource(b.GetGroup(), negURL) })
}

func shortName(url string) string { return url[strings.LastIndex(url, "/")+1:] }

// labRetry is the URL map's retry policy: a request that meets a failing
// region is retried, on another backend when one is healthy.
func labRetry() *computepb.HttpRetryPolicy {
	return &computepb.HttpRetryPolicy{
		NumRetries:      proto.Uint32(numRetries),
		PerTryTimeout:   &computepb.Duration{Seconds: proto.Int64(int64(perTryTimeout / time.Second))},
		RetryConditions: []string{"5xx", "gateway-error", "connect-failure"},
	}
}

func stepURLMap() *Step {
	return &Step{
		ID: URLMap, Part: PartGlobal, Creates: createsURLMap,
		// gcloud's url-maps import over an existing map sends numRetries
		// null and an empty perTryTimeout, silently dropping them (a
		// gcloud bug; importing a new map keeps them): import only when
		// the map does not exist yet.
		Command: func(s *Session) string {
			return fmt.Sprintf(`# url-maps import over an EXISTING map drops numRetries and perTryTimeout
# (a gcloud bug): import only into a new map.
if gcloud compute url-maps describe %[1]s --global >/dev/null 2>&1; then
  echo "%[1]s exists: importing again would drop its retry policy; check it:"
  gcloud compute url-maps describe %[1]s --global --format="yaml(defaultRouteAction)"
else
  gcloud compute url-maps import %[1]s --global --quiet --source=- <<'EOF'
name: %[1]s
defaultService: global/backendServices/%[2]s
defaultRouteAction:
  retryPolicy:
    numRetries: %[3]d
    perTryTimeout: {seconds: %[4]d}
    retryConditions: [5xx, gateway-error, connect-failure]
EOF
fi`, s.Vars.URLMap, s.Vars.Backend, labRetry().GetNumRetries(), labRetry().GetPerTryTimeout().GetSeconds())
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			m, err := s.Cloud.GetURLMap(ctx, s.Vars.URLMap)
			if err == nil {
				if reason := urlMapDiffers(s, m); reason != "" {
					return "", failf("URL map "+s.Vars.URLMap+" exists but "+reason, fmt.Sprintf("Delete it (`gcloud compute url-maps delete %s`) or choose another --url-map", s.Vars.URLMap))
				}
				return "Adopted URL map " + s.Vars.URLMap + ".", nil
			}
			if !gcp.IsNotFound(err) {
				return "", err
			}
			err = s.Cloud.CreateURLMap(ctx, &computepb.UrlMap{
				Name:               proto.String(s.Vars.URLMap),
				DefaultService:     proto.String(s.Cloud.GlobalURL("backendServices", s.Vars.Backend)),
				DefaultRouteAction: &computepb.HttpRouteAction{RetryPolicy: labRetry()},
			}, s.Progress)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("Created URL map %s: everything goes to %s, retried up to %d times on 5xx, gateway errors and connect failures, %s per try.", s.Vars.URLMap, s.Vars.Backend, numRetries, perTryTimeout), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			m, err := s.Cloud.GetURLMap(ctx, s.Vars.URLMap)
			if err != nil {
				return "", err
			}
			if reason := urlMapDiffers(s, m); reason != "" {
				return "", failf("URL map "+s.Vars.URLMap+" "+reason, "Delete it and run this step again")
			}
			rp := m.GetDefaultRouteAction().GetRetryPolicy()
			return fmt.Sprintf("URL map %s sends every request to %s and retries up to %d times (%d s a try) on %s.", s.Vars.URLMap, s.Vars.Backend, rp.GetNumRetries(), rp.GetPerTryTimeout().GetSeconds(), strings.Join(rp.GetRetryConditions(), ", ")), nil
		},
	}
}

func urlMapDiffers(s *Session, m *computepb.UrlMap) string {
	if !gcp.SameResource(m.GetDefaultService(), s.Cloud.GlobalURL("backendServices", s.Vars.Backend)) {
		return fmt.Sprintf("sends traffic to %s, not %s", shortName(m.GetDefaultService()), s.Vars.Backend)
	}
	rp := m.GetDefaultRouteAction().GetRetryPolicy()
	conds := rp.GetRetryConditions()
	if !slices.Contains(conds, "5xx") && !slices.Contains(conds, "gateway-error") {
		return "has no retry policy on 5xx or gateway errors, so clients would see the failing region's errors"
	}
	// What `gcloud compute url-maps import` over an existing map silently
	// drops (a gcloud bug): without them Google retries once, with no
	// per-try timeout.
	want := labRetry()
	if rp.NumRetries == nil || rp.GetNumRetries() != want.GetNumRetries() {
		return fmt.Sprintf("retries %d times, not %d (url-maps import over an existing map drops numRetries: delete the map and import it again, before the proxy uses it)", rp.GetNumRetries(), want.GetNumRetries())
	}
	if rp.GetPerTryTimeout().GetSeconds() != want.GetPerTryTimeout().GetSeconds() {
		return fmt.Sprintf("has a per-try timeout of %d s, not %d s (url-maps import over an existing map drops perTryTimeout: delete the map and import it again)", rp.GetPerTryTimeout().GetSeconds(), want.GetPerTryTimeout().GetSeconds())
	}
	return ""
}

func stepProxy() *Step {
	return &Step{
		ID: Proxy, Part: PartGlobal, Creates: createsProxy,
		Command: func(s *Session) string {
			return fmt.Sprintf("gcloud compute target-http-proxies create %s \\\n    --url-map %s", s.Vars.Proxy, s.Vars.URLMap)
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			p, err := s.Cloud.GetTargetHTTPProxy(ctx, s.Vars.Proxy)
			if err == nil && redirectsToHTTPS(s, p) {
				return "Adopted target HTTP proxy " + s.Vars.Proxy + " (it redirects to HTTPS since Part 5).", nil
			}
			if err == nil {
				if !gcp.SameResource(p.GetUrlMap(), s.Cloud.GlobalURL("urlMaps", s.Vars.URLMap)) {
					return "", failf(fmt.Sprintf("proxy %s exists but uses URL map %s", s.Vars.Proxy, shortName(p.GetUrlMap())), fmt.Sprintf("Run `gcloud compute target-http-proxies update %s --url-map %s`, or delete it and run this step again", s.Vars.Proxy, s.Vars.URLMap))
				}
				return "Adopted target HTTP proxy " + s.Vars.Proxy + ".", nil
			}
			if !gcp.IsNotFound(err) {
				return "", err
			}
			if err := s.Cloud.CreateTargetHTTPProxy(ctx, s.Vars.Proxy, s.Vars.URLMap, s.Progress); err != nil {
				return "", err
			}
			return fmt.Sprintf("Created target HTTP proxy %s for URL map %s.", s.Vars.Proxy, s.Vars.URLMap), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			p, err := s.Cloud.GetTargetHTTPProxy(ctx, s.Vars.Proxy)
			if err != nil {
				return "", err
			}
			if redirectsToHTTPS(s, p) {
				return fmt.Sprintf("Target HTTP proxy %s uses URL map %s: it redirects to HTTPS (Part 5), which serves URL map %s.", s.Vars.Proxy, s.Vars.RedirectMap, s.Vars.URLMap), nil
			}
			if !gcp.SameResource(p.GetUrlMap(), s.Cloud.GlobalURL("urlMaps", s.Vars.URLMap)) {
				return "", failf(fmt.Sprintf("proxy %s uses URL map %s, not %s", s.Vars.Proxy, shortName(p.GetUrlMap()), s.Vars.URLMap), "Point it at the lab's URL map")
			}
			return fmt.Sprintf("Target HTTP proxy %s uses URL map %s.", s.Vars.Proxy, s.Vars.URLMap), nil
		},
	}
}

func stepForwardingRule() *Step {
	return &Step{
		ID: ForwardingRule, Part: PartGlobal, Creates: createsForwardingRule,
		Command: func(s *Session) string {
			return fmt.Sprintf("gcloud compute forwarding-rules create %s \\\n    --global \\\n    --load-balancing-scheme=EXTERNAL_MANAGED \\\n    --target-http-proxy %s \\\n    --ports 80", s.Vars.Rule, s.Vars.Proxy)
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			r, err := s.Cloud.GetForwardingRule(ctx, s.Vars.Rule)
			if err == nil {
				if reason := ruleDiffers(s, r); reason != "" {
					return "", failf("forwarding rule "+s.Vars.Rule+" exists but "+reason, fmt.Sprintf("Delete it (`gcloud compute forwarding-rules delete %s --global`) and run this step again", s.Vars.Rule))
				}
				return fmt.Sprintf("Adopted forwarding rule %s at %s.", s.Vars.Rule, r.GetIPAddress()), nil
			}
			if !gcp.IsNotFound(err) {
				return "", err
			}
			if err := s.Cloud.CreateForwardingRule(ctx, s.Vars.Rule, s.Vars.Proxy, labScheme, "80", s.Progress); err != nil {
				return "", err
			}
			r, err = s.Cloud.GetForwardingRule(ctx, s.Vars.Rule)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("Created forwarding rule %s: the global IP is %s, port 80.", s.Vars.Rule, r.GetIPAddress()), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			r, err := s.Cloud.GetForwardingRule(ctx, s.Vars.Rule)
			if err != nil {
				return "", err
			}
			if reason := ruleDiffers(s, r); reason != "" {
				return "", failf("forwarding rule "+s.Vars.Rule+" "+reason, "Delete it and run this step again")
			}
			return fmt.Sprintf("Forwarding rule %s (%s) sends %s:%s to proxy %s.", s.Vars.Rule, r.GetLoadBalancingScheme(), r.GetIPAddress(), r.GetPortRange(), s.Vars.Proxy), nil
		},
	}
}

func ruleDiffers(s *Session, r *computepb.ForwardingRule) string {
	switch {
	case !gcp.SameResource(r.GetTarget(), s.Cloud.GlobalURL("targetHttpProxies", s.Vars.Proxy)):
		return "targets " + shortName(r.GetTarget()) + ", not proxy " + s.Vars.Proxy
	case r.GetLoadBalancingScheme() != labScheme:
		return "has scheme " + r.GetLoadBalancingScheme() + ", not " + labScheme
	case r.GetIPAddress() == "":
		return "has no IP address"
	case !strings.HasPrefix(r.GetPortRange(), "80"):
		return "listens on ports " + r.GetPortRange() + ", not 80"
	}
	return ""
}

func stepGlobalIP() *Step {
	return &Step{
		ID: GlobalIP, Part: PartVerify,
		Command: func(s *Session) string {
			return fmt.Sprintf("gcloud compute forwarding-rules describe %s \\\n    --global --format=\"value(IPAddress)\"", s.Vars.Rule)
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			r, err := s.Cloud.GetForwardingRule(ctx, s.Vars.Rule)
			if err != nil {
				return "", err
			}
			s.Outputs.GlobalIP = r.GetIPAddress()
			return "The global IP is " + r.GetIPAddress() + ".", nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			r, err := s.Cloud.GetForwardingRule(ctx, s.Vars.Rule)
			if err != nil {
				return "", err
			}
			if s.Outputs.GlobalIP == "" && r.GetIPAddress() != "" {
				// The learner read it with describe: note it, as Do would.
				s.Outputs.GlobalIP = r.GetIPAddress()
			}
			if r.GetIPAddress() == "" || r.GetIPAddress() != s.Outputs.GlobalIP {
				return "", failf(fmt.Sprintf("forwarding rule %s has IP %q, the lab noted %q", s.Vars.Rule, r.GetIPAddress(), s.Outputs.GlobalIP), "Run this step again")
			}
			return "Forwarding rule " + s.Vars.Rule + " holds " + r.GetIPAddress() + ".", nil
		},
	}
}
