package sim

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// gcloudCLI runs the real gcloud CLI against a simulator, the way a learner
// in a second terminal does after `eval "$(beyond sim env)"`.
type gcloudCLI struct {
	t   *testing.T
	env []string
}

// newGcloud points gcloud at s, or skips the test where gcloud is not
// installed (a user's fresh machine may lack it). Each gcloud command costs
// about a second of Python start-up, one core: the tests that run gcloud,
// each on its own simulator, call t.Parallel so that they overlap.
func newGcloud(t *testing.T, s *Sim, project string) *gcloudCLI {
	t.Helper()
	if testing.Short() {
		t.Skip("gcloud tests take a few seconds a command; skipped with -short")
	}
	path, err := exec.LookPath("gcloud")
	if err != nil {
		t.Skip("the gcloud CLI is not installed: install the Google Cloud SDK to run the gcloud fidelity tests")
	}
	dir := t.TempDir()
	if err := WriteGcloudConfig(dir, project); err != nil {
		t.Fatal(err)
	}
	env, err := GcloudEnv(s.Endpoints().Compute, dir)
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "CLOUDSDK_CORE_DISABLE_PROMPTS=1"}
	if py := os.Getenv("CLOUDSDK_PYTHON"); py != "" {
		base = append(base, "CLOUDSDK_PYTHON="+py)
	}
	t.Logf("gcloud: %s", path)
	return &gcloudCLI{t: t, env: append(base, env...)}
}

// run runs gcloud with args and returns its standard output; a failure is
// returned with gcloud's standard error.
func (g *gcloudCLI) run(args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "gcloud", args...)
	cmd.Env = g.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// must runs gcloud with args and fails the test if it fails.
func (g *gcloudCLI) must(args ...string) string {
	g.t.Helper()
	out, errOut, err := g.run(args...)
	if err != nil {
		g.t.Fatalf("gcloud %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// TestGcloudCompute runs the workshop's Compute Engine commands, and the
// ones a learner types around them, with the real gcloud.
func TestGcloudCompute(t *testing.T) {
	t.Parallel()
	s, _ := startCompute(t, Options{})
	g := newGcloud(t, s, testProject)

	g.must("compute", "network-endpoint-groups", "create", "neg-us-central1", "--region=us-central1", "--network-endpoint-type=serverless", "--cloud-run-service=gemini-service")
	g.must("compute", "network-endpoint-groups", "create", "neg-europe-west1", "--region=europe-west1", "--network-endpoint-type=serverless", "--cloud-run-service=gemini-service")
	// The workshop's classic backend service, then the lab's corrected one.
	g.must("compute", "backend-services", "create", "global-backend", "--global")
	g.must("compute", "backend-services", "create", "managed-backend", "--global", "--load-balancing-scheme=EXTERNAL_MANAGED")
	// add-backend reads the service and writes it back with its
	// fingerprint, which gcloud re-encodes in URL-safe base64
	// (TestComputeFingerprintAlphabets covers every fingerprint shape).
	for _, bs := range []string{"global-backend", "managed-backend"} {
		g.must("compute", "backend-services", "add-backend", bs, "--global", "--network-endpoint-group=neg-us-central1", "--network-endpoint-group-region=us-central1")
		g.must("compute", "backend-services", "add-backend", bs, "--global", "--network-endpoint-group=neg-europe-west1", "--network-endpoint-group-region=europe-west1")
	}
	if out := g.must("compute", "backend-services", "list", "--format=value(name)"); out != "global-backend\nmanaged-backend\n" {
		t.Errorf("backend-services list without a scope flag (aggregated) = %q, want both services", out)
	}
	if out := g.must("compute", "backend-services", "describe", "global-backend", "--global", "--format=value(backends[].group.basename())"); !strings.Contains(out, "neg-us-central1") || !strings.Contains(out, "neg-europe-west1") {
		t.Errorf("global-backend backends = %q, want both NEGs", out)
	}
	if _, errOut, err := g.run("compute", "backend-services", "update", "managed-backend", "--global", "--timeout=10s"); err == nil || !strings.Contains(errOut, "Timeout sec is not supported") {
		t.Errorf("timeout on a serverless backend service: err %v, stderr %q; want Google's refusal", err, errOut)
	}
	g.must("compute", "backend-services", "get-health", "managed-backend", "--global")

	g.must("compute", "url-maps", "create", "gemini-url-map", "--default-service=global-backend")
	g.must("compute", "url-maps", "create", "other-map", "--default-service=global-backend")
	spec := filepath.Join(t.TempDir(), "map.yaml")
	if err := os.WriteFile(spec, []byte("name: gemini-url-map\ndefaultService: global/backendServices/global-backend\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := g.must("compute", "url-maps", "validate", "--source="+spec, "--global", "--format=value(result.loadSucceeded)"); strings.TrimSpace(out) != "True" {
		t.Errorf("url-maps validate = %q, want True", out)
	}
	g.must("compute", "target-http-proxies", "create", "gemini-target-proxy", "--url-map=gemini-url-map")
	g.must("compute", "forwarding-rules", "create", "gemini-global-ip", "--global", "--target-http-proxy=gemini-target-proxy", "--ports=80")
	ip := strings.TrimSpace(g.must("compute", "forwarding-rules", "describe", "gemini-global-ip", "--global", "--format=value(IPAddress)"))
	if !strings.HasPrefix(ip, "127.") {
		t.Errorf("global IP = %q, want a loopback address the data plane serves", ip)
	}
	// gcloud sends PATCH for this.
	g.must("compute", "target-http-proxies", "update", "gemini-target-proxy", "--url-map=other-map")
	if out := g.must("compute", "target-http-proxies", "describe", "gemini-target-proxy", "--format=value(urlMap.basename())"); strings.TrimSpace(out) != "other-map" {
		t.Errorf("proxy's URL map after update = %q, want other-map", out)
	}
	g.must("compute", "target-http-proxies", "update", "gemini-target-proxy", "--url-map=gemini-url-map")

	if out := g.must("compute", "regions", "list", "--format=value(name)"); !strings.Contains(out, "us-central1\n") || !strings.Contains(out, "europe-west1\n") {
		t.Errorf("regions list = %q, want the lab's regions", out)
	}
	if out := g.must("compute", "project-info", "describe", "--format=value(name)"); strings.TrimSpace(out) != testProject {
		t.Errorf("project-info describe = %q, want %s", out, testProject)
	}

	// Deleting two resources in one command goes through the batch endpoint.
	g.must("compute", "forwarding-rules", "delete", "gemini-global-ip", "--global")
	g.must("compute", "target-http-proxies", "delete", "gemini-target-proxy")
	g.must("compute", "url-maps", "delete", "gemini-url-map", "other-map")
	g.must("compute", "backend-services", "delete", "global-backend", "managed-backend", "--global")
	g.must("compute", "network-endpoint-groups", "delete", "neg-us-central1", "--region=us-central1")
	g.must("compute", "network-endpoint-groups", "delete", "neg-europe-west1", "--region=europe-west1")
	if out := g.must("compute", "network-endpoint-groups", "list", "--format=value(name)"); out != "" {
		t.Errorf("NEGs left after cleanup: %q", out)
	}
}

// TestComputeFingerprintAlphabets updates a resource many times, sending
// back each fingerprint in URL-safe base64 as gcloud does: Google compares
// the bytes, so every update must succeed, and a stale fingerprint in
// either alphabet must still be refused.
func TestComputeFingerprintAlphabets(t *testing.T) {
	if !sameFingerprint("nlZRsO+VNjY=", "nlZRsO-VNjY=") || !sameFingerprint("ab/c", "ab_c") {
		t.Error("the same bytes in the two base64 alphabets compare unequal")
	}
	if sameFingerprint("nlZRsO+VNjY=", "nlZRsO+VNjQ=") {
		t.Error("different fingerprints compare equal")
	}
	_, c := startCompute(t, Options{})
	ctx := context.Background()
	op, err := insertBackendService(ctx, c, &computepb.BackendService{Name: proto.String("web")})
	wait(t, op, err)
	urlSafeSeen := false
	var stale string
	for i := range 12 {
		bs, err := c.bs.Get(ctx, &computepb.GetBackendServiceRequest{Project: testProject, BackendService: "web"})
		if err != nil {
			t.Fatal(err)
		}
		fp := bs.GetFingerprint()
		safe := strings.NewReplacer("+", "-", "/", "_").Replace(fp)
		urlSafeSeen = urlSafeSeen || safe != fp
		bs.Fingerprint = proto.String(safe)
		bs.Description = proto.String(fmt.Sprint("round ", i))
		op, err := c.bs.Update(ctx, &computepb.UpdateBackendServiceRequest{Project: testProject, BackendService: "web", BackendServiceResource: bs})
		wait(t, op, err)
		stale = safe
	}
	if !urlSafeSeen {
		t.Fatal("no fingerprint had + or / in 12 updates: the test proves nothing; update more often")
	}
	bs, err := c.bs.Get(ctx, &computepb.GetBackendServiceRequest{Project: testProject, BackendService: "web"})
	if err != nil {
		t.Fatal(err)
	}
	bs.Fingerprint = proto.String(stale)
	_, err = c.bs.Update(ctx, &computepb.UpdateBackendServiceRequest{Project: testProject, BackendService: "web", BackendServiceResource: bs})
	wantErr(t, err, 412, "conditionNotMet")
}

// TestGcloudRun runs the workshop's Cloud Run commands with the real
// gcloud: deploy to two regions, describe, list, the update to a broken
// image that fails while the old revision keeps serving, revisions, delete.
// Edge cases are TestRunV1Knative's and TestRunV1Edges' (plain HTTP).
//
// It runs on the lab profile, beyond's default, where a deploy and a delete
// take time as on Google: gcloud run services delete then polls the
// service until it is gone, and must not stop at the failed revision's
// condition (the workshop's broken-image test, then its cleanup). The
// second region is deployed without --allow-unauthenticated, as a learner
// who leaves the flag out does: gcloud then asks testIamPermissions of the
// service before it exists.
func TestGcloudRun(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{Profile: ProfileLab})
	g := newGcloud(t, s, testProject)
	enableAPIs(t, s, testProject, APIRun)

	g.must("run", "deploy", "gemini-service", "--image", "us-docker.pkg.dev/cloudrun/container/hello", "--region", "us-central1",
		"--allow-unauthenticated", "--platform", "managed", "--ingress", "all", "--set-env-vars", "GREETING=hi")
	g.must("run", "deploy", "gemini-service", "--image", "us-docker.pkg.dev/cloudrun/container/hello", "--region", "europe-west1",
		"--platform", "managed", "--ingress", "all", "--set-env-vars", "GREETING=hi")
	url, first, _ := strings.Cut(strings.TrimSpace(g.must("run", "services", "describe", "gemini-service", "--region", "us-central1", "--format=value(status.url,status.latestReadyRevisionName)")), "\t")
	inst := waitServing(t, s, "us-central1", "gemini-service", first)
	waitDataPlane(t, s, "the service to be public", func() bool { return inst.access.Load().public })
	if code, body := httpGetStatus(t, url); code != 200 || !strings.Contains(body, first) {
		t.Fatalf("curl %s = %d, want the hello page of %s", url, code, first)
	}
	out := g.must("run", "services", "list", "--format=value(metadata.name,metadata.labels.'cloud.googleapis.com/location')")
	if out != "gemini-service\teurope-west1\ngemini-service\tus-central1\n" {
		t.Errorf("services list = %q, want the service in both regions", out)
	}

	_, errOut, err := g.run("run", "services", "update", "gemini-service", "--image", "gcr.io/cloudrun/service-broken", "--region", "us-central1")
	if err == nil || !strings.Contains(errOut, "is not ready and cannot serve traffic") {
		t.Errorf("update to the broken image: err %v, stderr %q; want Cloud Run's failure", err, errOut)
	}
	if code, body := httpGetStatus(t, url); code != 200 || !strings.Contains(body, first) {
		t.Errorf("after the broken update, curl = %d, want %s still serving", code, first)
	}
	revs := g.must("run", "revisions", "list", "--service", "gemini-service", "--region", "us-central1", "--format=value(metadata.name)")
	if lines := strings.Fields(revs); len(lines) != 2 || lines[1] != first {
		t.Errorf("revisions list = %q, want the broken revision then %s", revs, first)
	}

	for _, region := range []string{"us-central1", "europe-west1"} {
		g.must("run", "services", "delete", "gemini-service", "--region", region, "--quiet")
	}
	if _, errOut, err := g.run("run", "services", "describe", "gemini-service", "--region", "us-central1"); err == nil || !strings.Contains(errOut, "Cannot find service [gemini-service]") {
		t.Errorf("describe after delete: err %v, stderr %q; want gcloud's not found", err, errOut)
	}
}

// TestGcloudRunDeleteAfterAFailedRevisionInstantly is TestGcloudRun's
// delete after the broken-image update on the instant profile, where the
// delete is done at once: gcloud must find the service gone, on every
// profile, whatever condition its last revision left.
func TestGcloudRunDeleteAfterAFailedRevisionInstantly(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{Profile: ProfileInstant})
	g := newGcloud(t, s, testProject)
	enableAPIs(t, s, testProject, APIRun)
	g.must("run", "deploy", "gemini-service", "--image", "us-docker.pkg.dev/cloudrun/container/hello", "--region", "us-central1",
		"--allow-unauthenticated", "--platform", "managed")
	if _, errOut, err := g.run("run", "services", "update", "gemini-service", "--image", "gcr.io/cloudrun/service-broken", "--region", "us-central1"); err == nil {
		t.Errorf("update to the broken image passed (stderr %q); want Cloud Run's failure", errOut)
	}
	g.must("run", "services", "delete", "gemini-service", "--region", "us-central1", "--quiet")
	if _, errOut, err := g.run("run", "services", "describe", "gemini-service", "--region", "us-central1"); err == nil || !strings.Contains(errOut, "Cannot find service [gemini-service]") {
		t.Errorf("describe after delete: err %v, stderr %q; want gcloud's not found", err, errOut)
	}
}

// TestGcloudCertificateManagerListsEveryLocation: gcloud lists Certificate
// Manager resources of every location ("-") unless told one; Google answers
// with all of them, global's included.
func TestGcloudCertificateManagerListsEveryLocation(t *testing.T) {
	t.Parallel()
	s := startSim(t, Options{})
	g := newGcloud(t, s, testProject)
	enableAPIs(t, s, testProject, APICertManager)
	g.must("certificate-manager", "dns-authorizations", "create", "auth", "--domain=api.example.test")
	g.must("certificate-manager", "certificates", "create", "cert", "--domains=api.example.test", "--dns-authorizations=auth")
	if out := g.must("certificate-manager", "certificates", "list", "--format=value(name)"); strings.TrimSpace(out) != "cert" {
		t.Errorf("certificates list = %q; want the certificate made in global", out)
	}
}
