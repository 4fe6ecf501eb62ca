package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"cloud.google.com/go/artifactregistry/apiv1/artifactregistrypb"
	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/image"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/service"
)

// The texts the lab checks: one for the step, one for its check.
const (
	sampleText = "The failover worked on the first try, and I love how simple it was!"
	checkWord  = "This outage ruined my whole evening. Terrible."
)

// simulatedToken is the bearer token the lab hands the simulator's Vertex
// AI, which accepts any: it is not a secret.
const simulatedToken = "simulator-token"

// simulatedCredentials adds the simulator's token to every request, as
// Google's credentials transport adds an access token.
type simulatedCredentials struct{}

func (simulatedCredentials) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+simulatedToken)
	return http.DefaultTransport.RoundTrip(r)
}

// classifier builds the Gemini check as the lab runs it locally, calling
// Gemini from location: on Google, the Developer API when the learner has a
// key in the environment (location then plays no part), else Vertex AI in
// location with their credentials, as the deployed service does; on the
// simulator, its Vertex AI, the same way.
func (s *Session) classifier(ctx context.Context, location string) (*service.Classifier, error) {
	cfg := service.Config{Model: s.Vars.Model, Retries: 2}
	switch {
	case s.Cloud.Simulated():
		if s.Cloud.Endpoints.Gemini == "" {
			return nil, errors.New("this simulator has no Gemini endpoint (BEYOND_GEMINI_ENDPOINT): restart `beyond sim` and export every line it prints")
		}
		cfg.VertexAI, cfg.Project, cfg.Location = true, s.Vars.Project, location
		cfg.BaseURL, cfg.HTTPClient = s.Cloud.Endpoints.Gemini, &http.Client{Transport: simulatedCredentials{}}
	case s.geminiKey != "":
		cfg.APIKey = s.geminiKey
	default:
		cfg.VertexAI, cfg.Project, cfg.Location = true, s.Vars.Project, location
		cfg.QuotaProject = s.Vars.Project // not the credentials' own, as the other clients do
	}
	return service.NewClassifier(ctx, cfg)
}

// geminiLocations are where the lab calls Gemini from: the service calls
// Vertex AI in its own region, so both regions; with an API key, the Gemini
// API, which has no location.
func (s *Session) geminiLocations() []string {
	if s.geminiKey != "" && !s.Cloud.Simulated() {
		return []string{""}
	}
	return []string{s.Vars.RegionA, s.Vars.RegionB}
}

// modelServed asks, for every location the lab calls Gemini from, whether
// the model is served there, and reports each answer.
func (s *Session) modelServed(ctx context.Context) error {
	for _, loc := range s.geminiLocations() {
		c, err := s.classifier(ctx, loc)
		if err != nil {
			return geminiError(err)
		}
		info, err := c.Served(ctx)
		if err != nil {
			return geminiError(err)
		}
		s.Progress(fmt.Sprintf("%s is served by %s (%s)", c.Model(), c.Where(), info.Name))
	}
	return nil
}

// vertexReady enables the Vertex AI API when the local check will use it
// (on Google, without an API key): this step comes before 'Enable the APIs'.
func (s *Session) vertexReady(ctx context.Context) error {
	if s.Cloud.Simulated() || s.geminiKey != "" {
		return nil
	}
	const api = "aiplatform.googleapis.com"
	on, err := s.Cloud.EnabledAPIs(ctx, []string{api})
	if err != nil || on[api] {
		return err
	}
	s.Progress("enabling " + api + " for the Gemini call (set GEMINI_API_KEY to use an AI Studio key instead)")
	return s.Cloud.EnableAPIs(ctx, []string{api}, s.Progress)
}

// geminiCommand is the curl a learner can paste: a models.get per region,
// then the very request a check sends, schema and thinking settings
// included (built by the service's own code, not written by hand).
func (s *Session) geminiCommand() string {
	body := "{}"
	if c, err := service.NewClassifier(context.Background(), service.Config{Model: s.Vars.Model, APIKey: "unused", BaseURL: "http://capture.invalid"}); err == nil {
		if req, err := c.Request(context.Background(), sampleText); err == nil {
			var b bytes.Buffer
			if json.Indent(&b, req.Body, "", "  ") == nil {
				body = strings.TrimSpace(b.String())
			}
		}
	}
	m := s.Vars.Model
	if s.geminiKey == "" || s.Cloud.Simulated() {
		return fmt.Sprintf(`# Is the model served where the service will call it?
for r in %[1]s %[2]s; do
  curl -s -o /dev/null -w "$r %%{http_code}\n" \
      -H "Authorization: Bearer $(gcloud auth print-access-token)" \
      -H 'Content-Type: application/json' -d '{"contents":[{"role":"user","parts":[{"text":"ping"}]}]}' \
      https://$r-aiplatform.googleapis.com/v1/projects/%[3]s/locations/$r/publishers/google/models/%[4]s:countTokens
done
# The check itself, exactly as the service sends it:
curl -s https://%[1]s-aiplatform.googleapis.com/v1/projects/%[3]s/locations/%[1]s/publishers/google/models/%[4]s:generateContent \
    -H "Authorization: Bearer $(gcloud auth print-access-token)" \
    -H 'Content-Type: application/json' -d @- <<'EOF'
%[5]s
EOF`, s.Vars.RegionA, s.Vars.RegionB, s.Vars.Project, m, body)
	}
	return fmt.Sprintf(`# Is the model served?
curl -s -H "x-goog-api-key: $GEMINI_API_KEY" https://generativelanguage.googleapis.com/v1beta/models/%[1]s
# The check itself, exactly as the service sends it:
curl -s https://generativelanguage.googleapis.com/v1beta/models/%[1]s:generateContent \
    -H "x-goog-api-key: $GEMINI_API_KEY" \
    -H 'Content-Type: application/json' -d @- <<'EOF'
%[2]s
EOF`, m, body)
}

func stepConfirmAI() *Step {
	return &Step{
		ID: ConfirmAI, Part: PartCode,
		Command: func(s *Session) string { return s.geminiCommand() },
		Do: func(ctx context.Context, s *Session) (string, error) {
			if err := s.vertexReady(ctx); err != nil {
				return "", err
			}
			if err := s.modelServed(ctx); err != nil {
				return "", err
			}
			c, err := s.classifier(ctx, s.Vars.RegionA)
			if err != nil {
				return "", geminiError(err)
			}
			req, err := c.Request(ctx, sampleText)
			if err != nil {
				return "", geminiError(err)
			}
			s.Progress(fmt.Sprintf("request: %s %s", req.Method, req.URL))
			for _, line := range describeRequest(req.Body) {
				s.Progress(line)
			}
			s.countModelCall()
			res, err := c.Check(ctx, sampleText)
			if err != nil {
				return "", geminiError(err)
			}
			who := res.ModelVersion
			if res.Simulated {
				who += " — SIMULATED: a local lexicon model (VADER) answers offline"
			}
			return fmt.Sprintf("%q\n→ sentiment %s, allowed %t (%s)\nmodel %s; tokens: %d prompt + %d output = %d; %s",
				sampleText, res.Sentiment, res.Allowed, res.Reason, who,
				res.Usage.PromptTokens, res.Usage.OutputTokens, res.Usage.TotalTokens, res.Latency.Round(1e6)), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			if err := s.modelServed(ctx); err != nil {
				return "", err
			}
			c, err := s.classifier(ctx, s.Vars.RegionA)
			if err != nil {
				return "", geminiError(err)
			}
			s.countModelCall()
			res, err := c.Check(ctx, checkWord)
			if err != nil {
				return "", geminiError(err)
			}
			if res.Sentiment != "negative" {
				return "", failf(fmt.Sprintf("a plainly negative text came back %q", res.Sentiment), "")
			}
			if res.Usage.TotalTokens == 0 {
				return "", failf("the answer reported no token usage", "")
			}
			where := "in " + strings.Join(s.geminiLocations(), " and ")
			if s.geminiLocations()[0] == "" {
				where = "by the Gemini API"
			}
			return fmt.Sprintf("%s is served %s; a plainly negative text is labelled %s, schema-valid, for %d tokens.", s.Vars.Model, where, res.Sentiment, res.Usage.TotalTokens), nil
		},
	}
}

// geminiError gives a Gemini failure its fix.
func geminiError(err error) error {
	switch {
	case errors.Is(err, service.ErrConfig):
		return failf(err.Error(), "Set GEMINI_API_KEY (from Google AI Studio), or use Vertex AI: `gcloud auth application-default login` and enable aiplatform.googleapis.com")
	case errors.Is(err, service.ErrRateLimited):
		return failf(err.Error(), "Wait a minute and run the step again")
	case errors.Is(err, service.ErrNotServed):
		return failf(err.Error(), "Models retire on a schedule: run the step again with --model naming one that is served in both regions")
	}
	return err
}

// describeRequest picks out of a generateContent body what a learner should
// see: the user's text, the rules, and the generation settings.
func describeRequest(body []byte) []string {
	var req struct {
		Contents []struct {
			Parts []struct{ Text string } `json:"parts"`
		} `json:"contents"`
		SystemInstruction struct {
			Parts []struct{ Text string } `json:"parts"`
		} `json:"systemInstruction"`
		GenerationConfig map[string]json.RawMessage `json:"generationConfig"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return []string{"body: " + truncate(string(body), 300)}
	}
	var lines []string
	for _, c := range req.Contents {
		for _, p := range c.Parts {
			lines = append(lines, "content (the user's text only): "+truncate(p.Text, 200))
		}
	}
	for _, p := range req.SystemInstruction.Parts {
		lines = append(lines, "systemInstruction (the rules): "+truncate(strings.Join(strings.Fields(p.Text), " "), 160))
	}
	for _, k := range []string{"temperature", "maxOutputTokens", "responseMimeType", "thinkingConfig", "responseSchema"} {
		if v, ok := req.GenerationConfig[k]; ok {
			lines = append(lines, "generationConfig."+k+": "+truncate(string(v), 200))
		}
	}
	return lines
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func stepRepository() *Step {
	return &Step{
		ID: Repository, Part: PartDeploy, Creates: createsRepository,
		Command: func(s *Session) string {
			return fmt.Sprintf("gcloud artifacts repositories create %s \\\n    --repository-format=docker \\\n    --location=%s", s.Vars.Repository, s.Vars.RegionA)
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			repo, err := s.Cloud.GetRepository(ctx, s.Vars.RegionA, s.Vars.Repository)
			if err == nil {
				if repo.GetFormat() != artifactregistrypb.Repository_DOCKER {
					return "", failf(fmt.Sprintf("repository %s exists with format %s, not DOCKER", s.Vars.Repository, repo.GetFormat()), "Choose another --repository")
				}
				return "Adopted Docker repository " + s.Vars.Repository + " in " + s.Vars.RegionA + ".", nil
			}
			if !gcp.IsNotFound(err) {
				return "", err
			}
			if err := s.Cloud.CreateDockerRepository(ctx, s.Vars.RegionA, s.Vars.Repository, "Images of the Beyond the Region lab", s.Progress); err != nil {
				return "", err
			}
			return "Created Docker repository " + s.Vars.Repository + " in " + s.Vars.RegionA + ".", nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			repo, err := s.Cloud.GetRepository(ctx, s.Vars.RegionA, s.Vars.Repository)
			if err != nil {
				return "", err
			}
			if repo.GetFormat() != artifactregistrypb.Repository_DOCKER {
				return "", failf("repository "+s.Vars.Repository+" is not a Docker repository", "Choose another --repository")
			}
			return fmt.Sprintf("Repository %s holds Docker images at %s-docker.pkg.dev/%s/%s.", s.Vars.Repository, s.Vars.RegionA, s.Vars.Project, s.Vars.Repository), nil
		},
	}
}

// pushTarget is where an image reference is pushed from here: Artifact
// Registry itself, or its stand-in in the simulator's registry.
func (s *Session) pushTarget(ref string) (string, image.PushOptions) {
	if s.Cloud.Simulated() {
		return image.SimRef(ref, s.Cloud.Endpoints.Registry), image.PushOptions{Insecure: true}
	}
	return ref, image.PushOptions{}
}

func stepBuildImage() *Step {
	return &Step{
		ID: BuildImage, Part: PartDeploy, Creates: createsImage,
		Command: func(s *Session) string {
			repo := fmt.Sprintf("%s-docker.pkg.dev/%s/%s/%s", s.Vars.RegionA, s.Vars.Project, s.Vars.Repository, s.Vars.Service)
			return fmt.Sprintf("# beyond builds the image in-process, without Docker; ko does the same:\ngcloud auth configure-docker %s-docker.pkg.dev\nKO_DOCKER_REPO=%s \\\n    ko build --bare --platform=linux/amd64 ./cmd/gemini-service", s.Vars.RegionA, repo)
		},
		Do: func(ctx context.Context, s *Session) (string, error) {
			if s.Vars.Image != "" {
				return "Nothing to build: the lab deploys " + s.Vars.Image + " (--image).", nil
			}
			if s.Cloud.Simulated() && s.Cloud.Endpoints.Registry == "" {
				return "", errors.New("this simulator has no registry (BEYOND_REGISTRY_ENDPOINT): restart `beyond sim` and export every line it prints")
			}
			img, err := image.Build(ctx, image.Options{Progress: s.Progress})
			if err != nil {
				if errors.Is(err, image.ErrNoToolchain) {
					return "", failf(err.Error(), "Install beyond with `CGO_ENABLED=0 go install "+image.Module+"/cmd/beyond@latest`, or run it from a checkout of its source with Go installed, or pass --image "+lab.HelloImage)
				}
				return "", err
			}
			ref := s.plannedImage()
			target, opts := s.pushTarget(ref)
			s.Progress("pushing to " + ref)
			digest, err := image.Push(ctx, img, target, opts)
			if err != nil {
				return "", failf(err.Error(), "Run the step "+titleOf(Repository)+" first; on Google, check `gcloud auth application-default login`")
			}
			byDigest := strings.TrimSuffix(ref, ":latest") + "@" + digest
			s.Outputs.Image = byDigest
			return "Pushed " + ref + "\nas " + byDigest + " (the deploy steps use the digest).", nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			if s.Vars.Image != "" {
				return "Not needed: the lab deploys " + s.Vars.Image + ".", nil
			}
			img := s.Outputs.Image
			if img == "" {
				return "", failf("no image has been pushed yet", "Run this step")
			}
			target, opts := s.pushTarget(img)
			digest, err := image.Digest(ctx, target, opts)
			if err != nil {
				return "", failf(err.Error(), "Run this step again")
			}
			if !strings.HasSuffix(img, "@"+digest) {
				return "", failf(fmt.Sprintf("the registry holds %s, not the pushed digest", digest), "Run this step again")
			}
			return "The registry holds " + img + ".", nil
		},
	}
}
