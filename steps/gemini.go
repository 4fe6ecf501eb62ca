package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
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

// classifier builds the Gemini check as the lab runs it locally: the
// Gemini API when the learner has a key in the environment (location then
// plays no part; on the simulator, its Gemini API with a stand-in key),
// else Vertex AI at location, as the deployed service calls it.
func (s *Session) classifier(ctx context.Context, location string) (*service.Classifier, error) {
	switch {
	case s.geminiKey == "":
		return s.vertexClassifier(ctx, location)
	case s.Cloud.Simulated():
		// The simulator's Gemini API, with a stand-in: the learner's key
		// never leaves for a simulator.
		if s.Cloud.Endpoints.Gemini == "" {
			return nil, errors.New("this simulator has no Gemini endpoint (BEYOND_GEMINI_ENDPOINT): restart `beyond sim` and export every line it prints")
		}
		return service.NewClassifier(ctx, service.Config{Model: s.Vars.Model, Retries: 2, APIKey: simulatedKey, BaseURL: s.Cloud.Endpoints.Gemini})
	}
	return service.NewClassifier(ctx, service.Config{Model: s.Vars.Model, Retries: 2, APIKey: s.geminiKey})
}

// simulatedKey is the API key the lab hands the simulator's Gemini API in
// place of the learner's: it is not a secret.
const simulatedKey = "simulator-key"

// vertexClassifier calls Vertex AI at location, as the deployed service
// does, whatever key the learner has: where the service can call the model
// is Vertex AI's answer, not the Gemini API's.
func (s *Session) vertexClassifier(ctx context.Context, location string) (*service.Classifier, error) {
	cfg := service.Config{Model: s.Vars.Model, Retries: 2, VertexAI: true, Project: s.Vars.Project, Location: location}
	if s.Cloud.Simulated() {
		if s.Cloud.Endpoints.Gemini == "" {
			return nil, errors.New("this simulator has no Gemini endpoint (BEYOND_GEMINI_ENDPOINT): restart `beyond sim` and export every line it prints")
		}
		cfg.BaseURL, cfg.HTTPClient = s.Cloud.Endpoints.Gemini, &http.Client{Transport: simulatedCredentials{}}
	} else {
		cfg.QuotaProject = s.Vars.Project // not the credentials' own, as the other clients do
	}
	return service.NewClassifier(ctx, cfg)
}

// ModelPlacement is where each region's service calls the model: Vertex AI
// in the region itself where Google serves it there, else at the global
// location. confirm-ai decides it from Google's answers; the deploys pass
// it to the service (GOOGLE_CLOUD_LOCATION).
type ModelPlacement struct {
	Model     string            `json:"model"`
	Locations map[string]string `json:"locations"` // region → Vertex AI location
}

// modelLocation is where the service in region calls the model: the
// decision confirm-ai saved for this model, else the region itself.
func (s *Session) modelLocation(region string) string {
	if p := s.Outputs.ModelPlacement; p != nil && p.Model == s.Vars.Model {
		if loc := p.Locations[region]; loc != "" {
			return loc
		}
	}
	return region
}

// placementSaved reports whether confirm-ai's decision for the model is
// known to this session.
func (s *Session) placementSaved() bool {
	p := s.Outputs.ModelPlacement
	return p != nil && p.Model == s.Vars.Model
}

// placeModel asks Vertex AI, for each region's service, whether the model
// is served in that region, and where it is not, whether it is served at
// the global location; it reports each answer and returns the decision. A
// model served at neither fails with Google's answers and the models Google
// lists.
func (s *Session) placeModel(ctx context.Context) (ModelPlacement, error) {
	p := ModelPlacement{Model: s.Vars.Model, Locations: map[string]string{}}
	var refused []refusal
	askedGlobal, servedGlobally := false, false
	for _, region := range []string{s.Vars.RegionA, s.Vars.RegionB} {
		if _, done := p.Locations[region]; done {
			continue
		}
		r, err := s.servedAt(ctx, region)
		if err != nil {
			return p, err
		}
		if r == nil {
			p.Locations[region] = region
			continue
		}
		refused = append(refused, *r)
		if !askedGlobal {
			askedGlobal = true
			g, err := s.servedAt(ctx, lab.GlobalLocation)
			if err != nil {
				return p, err
			}
			if servedGlobally = g == nil; !servedGlobally {
				refused = append(refused, *g)
			}
		}
		if !servedGlobally {
			return p, s.servedNowhere(ctx, refused)
		}
		p.Locations[region] = lab.GlobalLocation
	}
	return p, nil
}

// refusal is Google's answer where a model is not served.
type refusal struct {
	location string
	status   int
	answer   string
}

// servedAt asks Vertex AI whether the model is served at location and
// reports the answer: nil when it is, Google's refusal when it is not, an
// error when Google could not say.
func (s *Session) servedAt(ctx context.Context, location string) (*refusal, error) {
	c, err := s.vertexClassifier(ctx, location)
	if err != nil {
		return nil, geminiError(err)
	}
	info, err := c.Served(ctx)
	var se *service.Error
	switch {
	case err == nil:
		s.Progress(fmt.Sprintf("%s at %s: served (%s)", c.Model(), location, info.Name))
		return nil, nil
	case errors.Is(err, service.ErrNotServed) && errors.As(err, &se):
		s.Progress(fmt.Sprintf("%s at %s: not served (Google answered %d)", c.Model(), location, se.Upstream))
		return &refusal{location: location, status: se.Upstream, answer: se.Answer}, nil
	}
	return nil, geminiError(err)
}

// servedNowhere is the failure of a model Vertex AI serves neither in the
// regions nor at global: Google's answers, what the catalogue knows, and
// the models Google lists.
func (s *Session) servedNowhere(ctx context.Context, refused []refusal) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s is not served where the lab's services would call it. Google answered:", s.Vars.Model)
	for _, r := range refused {
		fmt.Fprintf(&b, "\n  at %s: %d %q", r.location, r.status, r.answer)
	}
	if m, ok := lab.Models.Lookup(s.Vars.Model); ok && m.Vertex.Retired != "" {
		fmt.Fprintf(&b, "\nVertex AI retired it on %s", m.Vertex.Retired)
		if len(m.Vertex.Replacements) > 0 {
			fmt.Fprintf(&b, "; Google names %s as its replacement", strings.Join(m.Vertex.Replacements, " or "))
		}
		fmt.Fprintf(&b, " (%s).", lab.ModelVersionsURL)
	}
	if c, err := s.vertexClassifier(ctx, lab.GlobalLocation); err == nil {
		if ids, err := c.ListModels(ctx); err == nil && len(ids) > 0 {
			fmt.Fprintf(&b, "\nGoogle lists these Gemini models: %s", strings.Join(ids, ", "))
		}
	}
	fix := "Run the step again with --model naming a model Google lists"
	if r := service.Replacement(s.Vars.Model); r != "" {
		fix += ", e.g. the lab's default: --model " + r
	}
	return failf(b.String(), fix)
}

// decided tells the front ends where each region's service calls the
// model, as data (the JSON replay prints it), once a run of the step: the
// check asks Google again, independently, and announces its answer only
// when Do did not announce the same one (alone, as in beyond check, or
// when Google's answer changed in between).
func (s *Session) decided(p ModelPlacement) {
	if a := s.announced; a != nil && a.Model == p.Model && maps.Equal(a.Locations, p.Locations) {
		return
	}
	s.announced = &p
	if s.emit != nil {
		s.emit(Event{Kind: EventDecided, Step: s.step, Placement: &p})
	}
}

// short says the decision: "us-central1 → global, europe-west1 → global".
func (p ModelPlacement) short(regions ...string) string {
	var parts []string
	for _, r := range regions {
		parts = append(parts, r+" → "+p.Locations[r])
	}
	return strings.Join(parts, ", ")
}

// describe says the decision in one line, with its trade-off when a region
// calls the global location.
func (p ModelPlacement) describe(regions ...string) string {
	line := fmt.Sprintf("Decided where each region's service calls %s (Vertex AI location): %s.", p.Model, p.short(regions...))
	if slices.ContainsFunc(regions, func(r string) bool { return p.Locations[r] == lab.GlobalLocation }) {
		line += " Trade-off: at the global location the model is one shared dependency of both regions, so Cloud Run's regional failover does not cover it, and Google does not say where the request is processed; in exchange Google promises higher availability and fewer 429s than one region."
	}
	return line
}

// vertexReady enables the Vertex AI API on Google, which this step asks
// before 'Enable the APIs' runs.
func (s *Session) vertexReady(ctx context.Context) error {
	if s.Cloud.Simulated() {
		return nil
	}
	const api = lab.APIAIPlatform
	on, err := s.Cloud.EnabledAPIs(ctx, []string{api})
	if err != nil || on[api] {
		return err
	}
	s.Progress("enabling " + api + ": the lab asks Vertex AI where the model is served")
	return s.Cloud.EnableAPIs(ctx, []string{api}, s.Progress)
}

// geminiCommand is what a learner can type to ask the same question: one
// countTokens per location (200: served there; 404: not), then the lab's
// own step, which also sends one check.
func (s *Session) geminiCommand() string {
	cmd := fmt.Sprintf(`# Is %[4]s served where each region's service calls it? (200 yes, 404 no)
for loc in %[1]s %[2]s global; do
  host=aiplatform.googleapis.com; [ $loc = global ] || host=$loc-$host
  curl -so /dev/null -w "$loc %%{http_code}\n" -H "Authorization: Bearer $(gcloud auth print-access-token)" \
    -H 'Content-Type: application/json' -d '{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}' \
    https://$host/v1/projects/%[3]s/locations/$loc/publishers/google/models/%[4]s:countTokens
done`, s.Vars.RegionA, s.Vars.RegionB, s.Vars.Project, s.Vars.Model)
	if s.geminiKey != "" && !s.Cloud.Simulated() {
		cmd += fmt.Sprintf(`
# Which model answers on the Gemini API (it may forward a deprecated one):
curl -s -H "x-goog-api-key: $GEMINI_API_KEY" https://generativelanguage.googleapis.com/v1beta/models/%s`, s.Vars.Model)
	}
	return cmd + "\n# The same questions and one check, as the lab asks them: beyond --step confirm-ai"
}

func stepConfirmAI() *Step {
	return &Step{
		ID: ConfirmAI, Part: PartCode,
		Command: func(s *Session) string { return s.geminiCommand() },
		Do: func(ctx context.Context, s *Session) (string, error) {
			if err := s.vertexReady(ctx); err != nil {
				return "", err
			}
			p, err := s.placeModel(ctx)
			if err != nil {
				return "", err
			}
			s.Outputs.ModelPlacement = &p
			s.decided(p)
			decision := p.describe(s.Vars.RegionA, s.Vars.RegionB)
			s.Progress("decided (Vertex AI location): " + p.short(s.Vars.RegionA, s.Vars.RegionB) + "; now one check, as the service will call it")
			c, err := s.classifier(ctx, p.Locations[s.Vars.RegionA])
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
			return fmt.Sprintf("%s\n%q\n→ sentiment %s, allowed %t (%s)\n%s; tokens: %d prompt + %d output = %d; %s",
				decision, sampleText, res.Sentiment, res.Allowed, res.Reason, answeredBy(c, res),
				res.Usage.PromptTokens, res.Usage.OutputTokens, res.Usage.TotalTokens, res.Latency.Round(1e6)), nil
		},
		Check: func(ctx context.Context, s *Session) (string, error) {
			p, err := s.placeModel(ctx)
			if err != nil {
				return "", err
			}
			if saved := s.Outputs.ModelPlacement; saved == nil || saved.Model != p.Model || !maps.Equal(saved.Locations, p.Locations) {
				s.Outputs.ModelPlacement = &p
				s.Progress("Google's answer differs from the decision saved before: the deploys now follow this one")
			}
			s.decided(p)
			c, err := s.classifier(ctx, p.Locations[s.Vars.RegionA])
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
			return fmt.Sprintf("%s is served where each region's service calls it (%s). A plainly negative text is labelled %s, schema-valid, for %d tokens; %s.",
				p.Model, p.short(s.Vars.RegionA, s.Vars.RegionB), res.Sentiment, res.Usage.TotalTokens, answeredBy(c, res)), nil
		},
	}
}

// answeredBy says which model answered and where, and what the classifier
// stopped sending because Gemini refused it.
func answeredBy(c *service.Classifier, res service.Result) string {
	who := "answered by " + res.ModelVersion
	if res.ModelVersion == "" {
		who = "answered (no modelVersion reported)"
	}
	if asked := c.Model(); res.ModelVersion != "" && !strings.HasPrefix(res.ModelVersion, asked) {
		who += " (asked for " + asked + ": Google forwarded the request to another model)"
	}
	who += " via " + c.Where()
	if res.Simulated {
		who += " — SIMULATED: a local lexicon model (VADER) answers offline"
	}
	for _, n := range res.Adjusted {
		who += "; " + n
	}
	return who
}

// geminiError gives a Gemini failure its fix.
func geminiError(err error) error {
	switch {
	case errors.Is(err, service.ErrConfig):
		return failf(err.Error(), "Set GEMINI_API_KEY (from Google AI Studio), or use Vertex AI: `gcloud auth application-default login` and enable aiplatform.googleapis.com")
	case errors.Is(err, service.ErrRateLimited):
		return failf(err.Error(), "Wait a minute and run the step again")
	case errors.Is(err, service.ErrNotServed):
		return failf(err.Error(), "Models retire and move on a schedule: run the step again with --model naming one Google serves (confirm-ai lists them)")
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

// buildImage builds the service's image. It is a variable so that the
// package's tests, which deploy the image many times over, build it once
// (build_test.go).
var buildImage = image.Build

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
			img, err := buildImage(ctx, image.Options{Progress: s.Progress})
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
