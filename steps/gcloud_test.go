package steps_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/steps"
)

// A learner's second terminal: bash with the real gcloud pointed at the
// simulator, as after `eval "$(beyond sim env)"`. Variables exported by one
// block stay for the next, as in a terminal.
type terminal struct {
	t     *testing.T
	env   []string
	dir   string // the working directory, where exported files land
	state string // the file that carries exports from block to block
	// runREST is whether the simulator answers gcloud run (Cloud Run v1 REST
	// on REGION-run.googleapis.com), which lands on another branch.
	runREST bool
}

func newTerminal(t *testing.T, s *sim.Sim, project string) *terminal {
	t.Helper()
	if testing.Short() {
		t.Skip("gcloud tests take a few seconds a command; skipped with -short")
	}
	for _, tool := range []string{"gcloud", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: install the Google Cloud SDK to run the workshop with gcloud", tool)
		}
	}
	dir := t.TempDir()
	if err := sim.WriteGcloudConfig(dir, project); err != nil {
		t.Fatal(err)
	}
	env, err := sim.GcloudEnv(s.Endpoints().Compute, dir)
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "CLOUDSDK_CORE_DISABLE_PROMPTS=1"}
	if py := os.Getenv("CLOUDSDK_PYTHON"); py != "" {
		base = append(base, "CLOUDSDK_PYTHON="+py)
	}
	state := filepath.Join(dir, "exports.sh")
	if err := os.WriteFile(state, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// As `beyond sim env` prints: the endpoints (the DNS server's for dig)
	// and the CA file (for curl --cacert).
	ca, err := s.CACertPEM()
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "simulator-ca.pem")
	if err := os.WriteFile(caFile, ca, 0o644); err != nil {
		t.Fatal(err)
	}
	env = append(append(env, s.Endpoints().Env()...), "BEYOND_CA_FILE="+caFile)
	return &terminal{t: t, env: append(base, env...), dir: t.TempDir(), state: state, runREST: servesRunREST(t, s)}
}

// servesRunREST asks the front door whether it serves Cloud Run's REST
// API, as gcloud would reach it.
func servesRunREST(t *testing.T, s *sim.Sim) bool {
	proxy, err := url.Parse(s.Endpoints().Compute)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}
	resp, err := c.Get("http://us-central1-run.googleapis.com/apis/serving.knative.dev/v1/namespaces/p/services")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return !strings.Contains(string(body), "does not serve")
}

// run types one block into the terminal (bash -e: the block stops at its
// first failing command, and the failure is returned with stderr).
func (tm *terminal) run(block string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	script := "set -e\nsource " + tm.state + "\ntrap 'export -p > " + tm.state + "' EXIT\n" + block + "\n"
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Env = tm.env
	cmd.Dir = tm.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func (tm *terminal) must(block string) string {
	tm.t.Helper()
	out, errOut, err := tm.run(block)
	if err != nil {
		tm.t.Fatalf("%s\n%v\n%s", block, err, errOut)
	}
	return out
}

// The seed workshop's blocks, verbatim. The learner replaces the bracketed
// placeholders; the simulator replaces nothing else.
const (
	wsSetProject = "gcloud config set project [YOUR_PROJECT_ID]"
	wsEnable     = `gcloud services enable run.googleapis.com \
    compute.googleapis.com`
	wsDeployA = `# Set the service name
export SERVICE_NAME="gemini-service"
export REGION_A="us-central1"

# Deploy the container to Region A
gcloud run deploy $SERVICE_NAME \
    --image us-docker.pkg.dev/cloudrun/container/hello \
    --region $REGION_A \
    --allow-unauthenticated \
    --platform managed \
    --ingress all`
	wsDeployB = `export REGION_B="europe-west1"

# Deploy the identical container to Region B
gcloud run deploy $SERVICE_NAME \
    --image us-docker.pkg.dev/cloudrun/container/hello \
    --region $REGION_B \
    --allow-unauthenticated \
    --platform managed \
    --ingress all`
	wsNEGA = `export NEG_A_NAME="neg-us-central1"

gcloud compute network-endpoint-groups create $NEG_A_NAME \
    --region $REGION_A \
    --network-endpoint-type serverless \
    --cloud-run-service $SERVICE_NAME`
	wsNEGB = `export NEG_B_NAME="neg-europe-west1"

gcloud compute network-endpoint-groups create $NEG_B_NAME \
    --region $REGION_B \
    --network-endpoint-type serverless \
    --cloud-run-service $SERVICE_NAME`
	wsBackend = `export BACKEND_NAME="global-backend"

gcloud compute backend-services create $BACKEND_NAME \
    --global

# Add Region A NEG to the Backend Service
gcloud compute backend-services add-backend $BACKEND_NAME \
    --global \
    --network-endpoint-group $NEG_A_NAME \
    --network-endpoint-group-region $REGION_A

# Add Region B NEG to the Backend Service
gcloud compute backend-services add-backend $BACKEND_NAME \
    --global \
    --network-endpoint-group $NEG_B_NAME \
    --network-endpoint-group-region $REGION_B`
	wsFrontend = `export URL_MAP_NAME="gemini-url-map"
export TARGET_HTTP_PROXY="gemini-target-proxy"
export FORWARDING_RULE="gemini-global-ip"

# 4a. Create URL Map
gcloud compute url-maps create $URL_MAP_NAME \
    --default-service $BACKEND_NAME

# 4b. Create Target HTTP Proxy
gcloud compute target-http-proxies create $TARGET_HTTP_PROXY \
    --url-map $URL_MAP_NAME

# 4c. Create Global Forwarding Rule (This creates your Global IP)
gcloud compute forwarding-rules create $FORWARDING_RULE \
    --global \
    --target-http-proxy $TARGET_HTTP_PROXY \
    --ports 80`
	wsDescribeIP = `gcloud compute forwarding-rules describe $FORWARDING_RULE --global --format="value(IPAddress)"`
	wsCurl       = `# Replace [YOUR_GLOBAL_IP] with the IP you retrieved
curl http://[YOUR_GLOBAL_IP]

# Expected output (from the sample service): "Hello World!"`
	// The failover block, split where the learner's terminal (not bash -e)
	// would carry on past the update that fails.
	wsBreak = `# Set the service to use a placeholder image that immediately fails or serves no content
gcloud run services update $SERVICE_NAME \
    --image gcr.io/cloudrun/service-broken \
    --region $REGION_A`
	wsBreakAfter = `# Wait ~60 seconds for the load balancer's health check to fail for us-central1
echo "Waiting for health check failure... (60s)"
sleep 60

# Re-test the Global IP
curl http://[YOUR_GLOBAL_IP]`
)

// TestWorkshopWithGcloud types the seed workshop with the real gcloud
// against the simulator, then runs the lab's own checks over what gcloud
// built: the ones the workshop satisfies pass, and the ones that teach what
// it lacks fail with their reasons.
func TestWorkshopWithGcloud(t *testing.T) {
	withGcloud(t)
	l := newLab(t)
	l.vars.Image = lab.HelloImage
	tm := newTerminal(t, l.sim, "")
	r := l.runner(t)
	ctx := context.Background()
	project := l.vars.Project

	tm.must(strings.ReplaceAll(wsSetProject, "[YOUR_PROJECT_ID]", project))
	tm.must(wsEnable)
	// Until Cloud Run's REST surface is served, the deploys are done with
	// the lab's Go client, as gcloud run deploy would do them: the hello
	// image, Cloud Run's default identity, open to allUsers.
	gcloudRun := func(block, region string) {
		t.Helper()
		if tm.runREST {
			tm.must(block)
			return
		}
		t.Logf("WAITING for Cloud Run REST: the deploy to %s done by the Go client instead of `gcloud run deploy`", region)
		spec := gcp.ServiceSpec{Region: region, Name: l.vars.Service, Image: lab.HelloImage}
		if _, _, err := l.cloud.DeployService(ctx, spec, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := l.cloud.AllowUnauthenticated(ctx, region, l.vars.Service); err != nil {
			t.Fatal(err)
		}
		tm.must(`export SERVICE_NAME="gemini-service"
export REGION_A="us-central1"
export REGION_B="europe-west1"`)
	}
	gcloudRun(wsDeployA, l.vars.RegionA)
	gcloudRun(wsDeployB, l.vars.RegionB)
	tm.must(wsNEGA)
	tm.must(wsNEGB)
	tm.must(wsBackend)
	tm.must(wsFrontend)
	ip := strings.TrimSpace(tm.must(wsDescribeIP))
	if !strings.HasPrefix(ip, "127.") {
		t.Fatalf("the global IP is %q, want a loopback address the simulator serves", ip)
	}
	target := globalTarget(t, l, ip)
	curl := strings.ReplaceAll(wsCurl, "[YOUR_GLOBAL_IP]", target)
	if out := tm.must(curl); !strings.Contains(out, "It's running!") {
		t.Errorf("curl of the global IP = %q, want the hello page", out)
	}
	region := servedRegion(t, target)
	if region == "" {
		t.Fatal("the global IP's answer names no region")
	}

	// The lab's checks over what gcloud built.
	l.take()
	want := map[string]steps.Status{
		steps.Project: steps.StatusPassed,
		// The workshop enables two of the lab's four APIs, gives the service
		// no identity of its own (it runs as the Compute Engine default
		// account) and grants it nothing.
		steps.EnableAPIs:     steps.StatusFailed,
		steps.ServiceAccount: steps.StatusFailed, steps.GrantVertexAI: steps.StatusFailed,
		steps.DeployA: steps.StatusFailed, steps.DeployB: steps.StatusFailed,
		steps.NEGA: steps.StatusPassed, steps.NEGB: steps.StatusPassed,
		// The lessons: a classic backend service, no retry policy, a classic rule.
		steps.BackendService: steps.StatusFailed,
		steps.BackendA:       steps.StatusPassed, steps.BackendB: steps.StatusPassed,
		steps.URLMap:         steps.StatusFailed,
		steps.Proxy:          steps.StatusPassed,
		steps.ForwardingRule: steps.StatusFailed,
		steps.GlobalIP:       steps.StatusPassed,
		steps.Curl:           steps.StatusPassed,
	}
	for _, s := range r.Steps() {
		w, ok := want[s.ID]
		if !ok {
			continue
		}
		if st, err := r.CheckStep(ctx, s.ID); err != nil || st != w {
			t.Errorf("check %s over the workshop's build = %s, %v; want %s %v", s.ID, st, err, w, failures(l.take()))
		}
	}
	if o := r.Outputs().GlobalIP; o != ip {
		t.Errorf("the lab noted global IP %q; gcloud showed %q", o, ip)
	}

	// The broken-image update fails, and region A keeps serving.
	if tm.runREST {
		if _, errOut, err := tm.run(wsBreak); err == nil || !strings.Contains(errOut, "not ready") {
			t.Errorf("the broken-image update: err %v, stderr %q; want Cloud Run's refusal", err, errOut)
		}
	} else {
		t.Log("WAITING for Cloud Run REST: the broken-image update done by the Go client instead of `gcloud run services update`")
		spec := gcp.ServiceSpec{Region: l.vars.RegionA, Name: l.vars.Service, Image: lab.BrokenImage}
		if _, _, err := l.cloud.DeployService(ctx, spec, nil); err == nil || !strings.Contains(err.Error(), "not ready") {
			t.Errorf("the broken-image update: %v; want Cloud Run's refusal", err)
		}
	}
	// `sleep 60` is the one thing not typed as written: tests never sleep,
	// and nothing here waits for a health check.
	after := strings.ReplaceAll(strings.ReplaceAll(wsBreakAfter, "[YOUR_GLOBAL_IP]", target), "sleep 60", "")
	if out := tm.must(after); !strings.Contains(out, "It's running!") {
		t.Errorf("curl after the broken update = %q, want the hello page still served", out)
	}
	if got := servedRegion(t, target); got != region {
		t.Errorf("after the broken update the global IP is served from %q, before from %q: region A should keep serving", got, region)
	}
	if st, err := r.CheckStep(ctx, steps.BreakWorkshop); err != nil || st != steps.StatusPassed {
		t.Errorf("check %s = %s, %v %v", steps.BreakWorkshop, st, err, failures(l.take()))
	}

	// Cleanup with gcloud deletes, in dependency order.
	tm.must(`gcloud compute forwarding-rules delete $FORWARDING_RULE --global
gcloud compute target-http-proxies delete $TARGET_HTTP_PROXY
gcloud compute url-maps delete $URL_MAP_NAME
gcloud compute backend-services delete $BACKEND_NAME --global
gcloud compute network-endpoint-groups delete $NEG_A_NAME --region $REGION_A
gcloud compute network-endpoint-groups delete $NEG_B_NAME --region $REGION_B`)
	if tm.runREST {
		tm.must(`gcloud run services delete $SERVICE_NAME --region $REGION_A
gcloud run services delete $SERVICE_NAME --region $REGION_B`)
	} else {
		t.Log("WAITING for Cloud Run REST: the services deleted by the lab's Go client instead of `gcloud run services delete`")
		for _, region := range []string{l.vars.RegionA, l.vars.RegionB} {
			if _, err := l.cloud.DeleteService(ctx, region, l.vars.Service, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st, err := r.CheckStep(ctx, steps.Cleanup); err != nil || st != steps.StatusPassed {
		t.Errorf("check %s after gcloud's deletes = %s, %v %v", steps.Cleanup, st, err, failures(l.take()))
	}
}

// globalTarget is where curl reaches the global IP: the IP itself when the
// simulator could listen on its port 80, else the address it listens on.
func globalTarget(t *testing.T, l *simLab, ip string) string {
	t.Helper()
	u, err := l.cloud.FrontendURL(context.Background(), ip, 80)
	if err != nil {
		t.Fatal(err)
	}
	target := strings.TrimPrefix(u, "http://")
	if target != ip {
		t.Logf("port 80 could not be bound here: curl goes to %s instead of %s", target, ip)
	}
	return target
}

// servedRegion asks the global IP, from Go, which region answered.
func servedRegion(t *testing.T, target string) string {
	t.Helper()
	resp, err := http.Get("http://" + target + "/?format=json")
	if err != nil {
		t.Fatalf("GET the global IP: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET the global IP: %s %s", resp.Status, body)
	}
	for _, r := range lab.Regions {
		if strings.Contains(string(body), `"`+r+`"`) {
			return r
		}
	}
	return ""
}

// TestDisplayedCommandsRun runs every command the lab displays, rendered
// with the default variables, exactly as displayed, in a terminal pointed
// at the simulator, and then the step's check. Two cannot run here as
// displayed, and the lab's own Do stands in for them: confirm-ai calls
// https://REGION-aiplatform.googleapis.com with curl (the simulator does
// not tunnel HTTPS), and build-image runs ko, which is not installed.
// Part 5's commands are run by two tests of their own, at the same time.
func TestDisplayedCommandsRun(t *testing.T) {
	t.Parallel() // the package's longest chain of work: at once, outside the turns
	l := newLab(t)
	l.vars = steps.DefaultVars()
	l.vars.Project = "beyond-steps-test"
	tm := newTerminal(t, l.sim, "")
	r := l.runner(t)
	ctx := context.Background()
	byLab := map[string]string{
		steps.ConfirmAI:  "it calls https://REGION-aiplatform.googleapis.com with curl, and the simulator does not tunnel HTTPS",
		steps.BuildImage: "it runs ko, which builds and pushes the image; the lab builds it in-process",
	}
	if _, err := exec.LookPath("dig"); err != nil {
		byLab[steps.HTTPSCheck] = "it runs dig, which is not installed (apt-get install dnsutils)"
	}
	// Part 5's commands run exactly as displayed, each followed by its
	// check, in TestProductionCommandsRunWithGcloud and
	// TestHTTPSCommandsRunWithGcloud, in parallel with this test; here the
	// lab does them, so that cleanup's command, run as displayed, deletes
	// what they make too.
	for _, id := range productionPart {
		byLab[id] = "its displayed command runs in TestProductionCommandsRunWithGcloud"
	}
	https, err := r.Select(httpsPart)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range https {
		byLab[s.ID] = "its displayed command runs in TestHTTPSCommandsRunWithGcloud"
	}
	for _, s := range r.Steps() {
		if _, ok := byLab[s.ID]; s.Part == steps.PartProduction && !ok {
			t.Errorf("%s: no test runs the command it displays", s.ID)
		}
	}
	for _, s := range r.Steps() {
		cmd := r.Command(s.ID)
		why, ok := byLab[s.ID]
		if !ok && strings.Contains(cmd, "gcloud run ") && !tm.runREST {
			why, ok = "WAITING for Cloud Run REST: gcloud run cannot reach the simulator yet", s.ID != steps.Cleanup
		}
		switch {
		case ok:
			t.Logf("%s: done by the lab, not as displayed: %s", s.ID, why)
			if st, _ := r.RunStep(ctx, s.ID); st != steps.StatusPassed {
				t.Fatalf("%s by the lab: %s %v", s.ID, st, failures(l.take()))
			}
			continue
		case s.ID == steps.Cleanup && !tm.runREST:
			t.Logf("%s: WAITING for Cloud Run REST: its gcloud run lines replaced by the lab's Go client", s.ID)
			var keep []string
			for _, line := range strings.Split(cmd, "\n") {
				if !strings.HasPrefix(line, "gcloud run ") {
					keep = append(keep, line)
				}
			}
			tm.must(strings.Join(keep, "\n"))
			for _, region := range []string{l.vars.RegionA, l.vars.RegionB} {
				if _, err := l.cloud.DeleteService(ctx, region, l.vars.Service, nil); err != nil {
					t.Fatal(err)
				}
			}
		case s.ID == steps.BreakWorkshop:
			// Displayed to show that Cloud Run refuses the update.
			if _, errOut, err := tm.run(cmd); err == nil {
				t.Errorf("%s: the broken-image update succeeded; want Cloud Run's refusal\n%s", s.ID, errOut)
			}
		default:
			out := tm.must(cmd)
			if s.ID == steps.GlobalIP {
				tm.must("export GLOBAL_IP=" + strings.TrimSpace(out))
			}
		}
		if st, err := r.CheckStep(ctx, s.ID); err != nil || st != steps.StatusPassed {
			t.Errorf("%s: the check after the displayed command = %s, %v\n%s\n%v", s.ID, st, err, cmd, failures(l.take()))
		}
	}
}
