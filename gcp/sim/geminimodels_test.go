package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genai"

	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/service"
)

// bearer adds a fixed token, as Google's credentials transport would.
type bearer struct{}

func (bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer ya29.sim")
	return http.DefaultTransport.RoundTrip(r)
}

func vertexClient(t *testing.T, s *Sim, location string) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		Backend: genai.BackendVertexAI, Project: testProject, Location: location,
		HTTPClient:  &http.Client{Transport: bearer{}},
		HTTPOptions: genai.HTTPOptions{BaseURL: s.Endpoints().Gemini},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A retired model answers 404 with Google's text on both backends, for
// every call.
func TestGeminiRetiredModel(t *testing.T) {
	s := startSim(t, Options{})
	dev := geminiClient(t, s)
	_, err := dev.Models.GenerateContent(geminiCtx(t), "gemini-2.0-flash", genai.Text("hi"), nil)
	geminiWantAPIError(t, err, 404, "NOT_FOUND", "models/gemini-2.0-flash is not found for API version v1beta, or is not supported for generateContent")
	_, err = dev.Models.Get(geminiCtx(t), "gemini-2.0-flash", nil)
	geminiWantAPIError(t, err, 404, "NOT_FOUND", "models/gemini-2.0-flash is not found")

	vx := vertexClient(t, s, "us-central1")
	_, err = vx.Models.GenerateContent(geminiCtx(t), "gemini-2.5-flash", genai.Text("hi"), nil)
	geminiWantAPIError(t, err, 404, "NOT_FOUND", "Publisher Model `projects/"+testProject+"/locations/us-central1/publishers/google/models/gemini-2.5-flash` was not found or your project does not have access to it.")
	_, err = vx.Models.CountTokens(geminiCtx(t), "gemini-2.5-flash", genai.Text("hi"), nil)
	geminiWantAPIError(t, err, 404, "NOT_FOUND", "was not found or your project does not have access to it")
	_, err = vx.Models.Get(geminiCtx(t), "gemini-2.5-flash", nil)
	geminiWantAPIError(t, err, 404, "NOT_FOUND", "Publisher Model `publishers/google/models/gemini-2.5-flash` not found.")

	// The current model is served: get and countTokens answer.
	vx = vertexClient(t, s, lab.GlobalLocation)
	m, err := vx.Models.Get(geminiCtx(t), service.DefaultModel, nil)
	if err != nil || !strings.HasSuffix(m.Name, service.DefaultModel) {
		t.Errorf("get %s: %+v, %v", service.DefaultModel, m, err)
	}
	n, err := vx.Models.CountTokens(geminiCtx(t), service.DefaultModel, genai.Text("one two three four five six"), nil)
	if err != nil || n.TotalTokens <= 0 {
		t.Errorf("countTokens: %+v, %v", n, err)
	}
}

// The Gemini API forwards a deprecated or shut-down model to the one the
// catalogue names, and modelVersion says which model answered; the
// forwarded model's thinking rules apply.
func TestGeminiAPIForwarding(t *testing.T) {
	s := startSim(t, Options{})
	dev := geminiClient(t, s)
	for _, m := range lab.Models.Models {
		to := m.GeminiAPI.ForwardedTo
		if to == "" {
			continue
		}
		resp, err := dev.Models.GenerateContent(geminiCtx(t), m.ID, genai.Text("I love it"), nil)
		if err != nil {
			t.Errorf("%s: %v", m.ID, err)
			continue
		}
		if !strings.HasPrefix(resp.ModelVersion, to+" ") {
			t.Errorf("%s answered as %q, want %s", m.ID, resp.ModelVersion, to)
		}
	}
	// Not forwarded: the model itself answers.
	resp, err := dev.Models.GenerateContent(geminiCtx(t), "gemini-3.8-flash", genai.Text("I love it"), nil)
	if err != nil || !strings.HasPrefix(resp.ModelVersion, "gemini-3.8-flash ") {
		t.Errorf("gemini-3.8-flash: %v, %q", err, resp.ModelVersion)
	}
}

// models.list on both backends names what is served, never a retired model.
func TestGeminiListModels(t *testing.T) {
	s := startSim(t, Options{})
	for name, c := range map[string]*genai.Client{"gemini api": geminiClient(t, s), "vertex": vertexClient(t, s, "global")} {
		var ids []string
		for m, err := range c.Models.All(geminiCtx(t)) {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			ids = append(ids, m.Name)
		}
		if !slices.ContainsFunc(ids, func(id string) bool { return strings.HasSuffix(id, "/"+lab.DefaultModel) }) ||
			slices.ContainsFunc(ids, func(id string) bool { return strings.HasSuffix(id, "/gemini-2.0-flash") }) {
			t.Errorf("%s lists %q", name, ids)
		}
	}
}

// A model Vertex AI serves only from the global location is found in the
// catalog but not served in a region.
func TestGeminiGlobalOnlyModel(t *testing.T) {
	s := startSim(t, Options{})
	if _, err := vertexClient(t, s, "global").Models.CountTokens(geminiCtx(t), "gemini-3.1-flash-lite", genai.Text("hi"), nil); err != nil {
		t.Errorf("global: %v", err)
	}
	vx := vertexClient(t, s, "europe-west1")
	if _, err := vx.Models.Get(geminiCtx(t), "gemini-3.1-flash-lite", nil); err != nil {
		t.Errorf("get: %v", err)
	}
	_, err := vx.Models.CountTokens(geminiCtx(t), "gemini-3.1-flash-lite", genai.Text("hi"), nil)
	geminiWantAPIError(t, err, 404, "NOT_FOUND", "locations/europe-west1/publishers/google/models/gemini-3.1-flash-lite` was not found")

	// gemini-3.5-flash: multi-regions and global, no single region.
	for loc, served := range map[string]bool{"global": true, "us": true, "eu": true, "us-central1": false, "europe-west1": false} {
		_, err := vertexClient(t, s, loc).Models.CountTokens(geminiCtx(t), "gemini-3.5-flash", genai.Text("hi"), nil)
		if (err == nil) != served {
			t.Errorf("gemini-3.5-flash at %s: %v, want served %t", loc, err, served)
		}
	}
}

// Gemini 3 takes a thinking level, Gemini 2.x a budget; both together are
// refused.
func TestGeminiThinkingRules(t *testing.T) {
	s := startSim(t, Options{})
	c := geminiClient(t, s)
	both := &genai.GenerateContentConfig{ThinkingConfig: &genai.ThinkingConfig{ThinkingBudget: genai.Ptr[int32](0), ThinkingLevel: genai.ThinkingLevelMinimal}}
	_, err := c.Models.GenerateContent(geminiCtx(t), "gemini-3.5-flash", genai.Text("hi"), both)
	geminiWantAPIError(t, err, 400, "INVALID_ARGUMENT", "thinking_budget and thinking_level are not supported together")

	level := &genai.GenerateContentConfig{ThinkingConfig: &genai.ThinkingConfig{ThinkingLevel: genai.ThinkingLevelMinimal}}
	_, err = c.Models.GenerateContent(geminiCtx(t), "gemini-2.5-flash-lite", genai.Text("hi"), level)
	geminiWantAPIError(t, err, 400, "INVALID_ARGUMENT", "Thinking level is not supported for this model.")

	resp, err := c.Models.GenerateContent(geminiCtx(t), "gemini-3.5-flash", genai.Text("hi"), level)
	if err != nil || resp.UsageMetadata.ThoughtsTokenCount != 0 {
		t.Errorf("MINIMAL: %v, %+v; want no thoughts", err, resp)
	}
	resp, err = c.Models.GenerateContent(geminiCtx(t), "gemini-3.5-flash", genai.Text("hi"), nil)
	if err != nil || resp.UsageMetadata.ThoughtsTokenCount == 0 {
		t.Errorf("default (MEDIUM): %v; want thoughts", err)
	}

	// 3.8 Flash takes LOW, MEDIUM and HIGH only.
	_, err = c.Models.GenerateContent(geminiCtx(t), "gemini-3.8-flash", genai.Text("hi"), level)
	geminiWantAPIError(t, err, 400, "INVALID_ARGUMENT", "'generation_config.thinking_config.thinking_level' (MINIMAL): gemini-3.8-flash accepts LOW, MEDIUM, HIGH")
	low := &genai.GenerateContentConfig{ThinkingConfig: &genai.ThinkingConfig{ThinkingLevel: genai.ThinkingLevelLow}}
	if _, err := c.Models.GenerateContent(geminiCtx(t), "gemini-3.8-flash", genai.Text("hi"), low); err != nil {
		t.Errorf("LOW: %v", err)
	}
}

// A Cloud Run instance calls Vertex AI with its metadata server's token, at
// the location its revision names: the model's locations and the service
// account's roles both apply, as on Google.
func TestGeminiInstanceCallsVertexAtItsLocation(t *testing.T) {
	s := startSim(t, Options{})
	host, err := s.metadataHostAs(testProject, "europe-west1", "nobody@"+testProject+".iam.gserviceaccount.com")
	if err != nil {
		t.Fatal(err)
	}
	tok := dpGet(t, "http://"+host+"/computeMetadata/v1/instance/service-accounts/default/token", "", "Metadata-Flavor", "Google")
	var token struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(tok.body), &token); err != nil {
		t.Fatalf("token %q: %v", tok.body, err)
	}
	call := func(location string) error {
		c, err := genai.NewClient(geminiCtx(t), &genai.ClientConfig{
			Backend: genai.BackendVertexAI, Project: testProject, Location: location,
			HTTPClient:  &http.Client{Transport: bearerTransport(token.AccessToken)},
			HTTPOptions: genai.HTTPOptions{BaseURL: s.Endpoints().Gemini},
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Models.GenerateContent(geminiCtx(t), "gemini-3.5-flash", genai.Text("hi"), nil)
		return err
	}
	// Not served in the region: 404 before any permission is checked.
	geminiWantAPIError(t, call("europe-west1"), 404, "NOT_FOUND", "locations/europe-west1/publishers/google/models/gemini-3.5-flash` was not found")
	// Served at global, but the account holds no role there.
	geminiWantAPIError(t, call("global"), 403, "PERMISSION_DENIED", "Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/projects/"+testProject+"/locations/global/publishers/google/models/gemini-3.5-flash'")
}
