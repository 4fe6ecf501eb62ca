package service

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// Each request carries the least thinking the catalogue says the model
// accepts, and no temperature on Gemini 3 (Google's prompting guide): a
// model the catalogue lacks gets its family's settings.
func TestSettingsFromCatalogue(t *testing.T) {
	for _, tc := range []struct{ model, thinking, temperature string }{
		{"gemini-3.8-flash", `{"thinkingLevel":"LOW"}`, ""},        // accepts LOW, MEDIUM, HIGH
		{"gemini-3.5-flash", `{"thinkingLevel":"MINIMAL"}`, ""},    // accepts MINIMAL
		{"gemini-3.1-pro", `{"thinkingLevel":"LOW"}`, ""},          // accepts LOW, MEDIUM, HIGH
		{"gemini-2.5-flash", `{"thinkingBudget":0}`, "0"},          // 2.x: budget, temperature 0
		{"gemini-2.5-pro", `{"thinkingBudget":128}`, "0"},          // cannot turn thinking off
		{"gemini-10.0-flash", `{"thinkingLevel":"MINIMAL"}`, ""},   // unknown, Gemini 3 and later
		{"gemini-flash-latest", `{"thinkingLevel":"MINIMAL"}`, ""}, // unknown alias
		{"gemini-1.9-flash", `{"thinkingBudget":0}`, "0"},          // unknown, before Gemini 3
	} {
		f := newFakeGemini(t, verdictAnswer("positive", true, "praise"))
		c, _ := newTestClassifier(t, f, func(c *Config) { c.Model = tc.model })
		if _, err := c.Check(context.Background(), "I love it"); err != nil {
			t.Fatalf("%s: Check: %v", tc.model, err)
		}
		var body struct {
			GenerationConfig map[string]json.RawMessage `json:"generationConfig"`
		}
		if err := json.Unmarshal(f.Calls()[0].Body, &body); err != nil {
			t.Fatal(err)
		}
		if got := string(body.GenerationConfig["thinkingConfig"]); got != tc.thinking {
			t.Errorf("%s: thinkingConfig = %s, want %s", tc.model, got, tc.thinking)
		}
		if got := string(body.GenerationConfig["temperature"]); got != tc.temperature {
			t.Errorf("%s: temperature = %q, want %q", tc.model, got, tc.temperature)
		}
	}
}

// A model that refuses a setting still works: the classifier drops or
// steps up what the 400 names, sends the check again, remembers it for the
// next checks, and says what it changed.
func TestLearnsFromARefusal(t *testing.T) {
	const refusal = "Invalid value at 'generation_config.thinking_config.thinking_level' (MINIMAL): this model accepts LOW, MEDIUM, HIGH."
	f := newFakeGemini(t, errorAnswer(400, "INVALID_ARGUMENT", refusal), verdictAnswer("negative", true, "complaint"))
	c, _ := newTestClassifier(t, f, func(c *Config) { c.Model = "gemini-9.9-flash" })
	res, err := c.Check(context.Background(), "Terrible.")
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if len(res.Adjusted) != 1 || !strings.Contains(res.Adjusted[0], "thinkingLevel MINIMAL") || !strings.Contains(res.Adjusted[0], "sending LOW") {
		t.Errorf("Adjusted = %q, want a note that MINIMAL was refused and LOW sent", res.Adjusted)
	}
	if _, err := c.Check(context.Background(), "Terrible again."); err != nil {
		t.Fatalf("second Check: %v", err)
	}
	calls := f.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d calls, want the refused one, its retry and the next check", len(calls))
	}
	for i, want := range []string{`"MINIMAL"`, `"LOW"`, `"LOW"`} {
		if !strings.Contains(string(calls[i].Body), `"thinkingLevel":`+want) {
			t.Errorf("call %d sent %s, want thinkingLevel %s", i, calls[i].Body, want)
		}
	}
	if got := c.Adjustments(); len(got) != 1 {
		t.Errorf("Adjustments = %q", got)
	}
	// A 400 that names nothing the classifier sends is an error, not a retry.
	f2 := newFakeGemini(t, errorAnswer(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."))
	c2, _ := newTestClassifier(t, f2)
	if _, err := c2.Check(context.Background(), "hello"); !errors.Is(err, ErrRejected) || len(f2.Calls()) != 1 {
		t.Errorf("bad key: %v after %d calls, want ErrRejected after 1", err, len(f2.Calls()))
	}
}

func TestServed(t *testing.T) {
	f := newFakeGemini(t, jsonAnswer(http.StatusOK, map[string]any{
		"name": "publishers/google/models/gemini-3.5-flash", "versionId": "001", "launchStage": "GA",
	}), jsonAnswer(http.StatusOK, map[string]any{"totalTokens": 1}))
	c, _ := newTestClassifier(t, f, func(c *Config) {
		c.VertexAI, c.Project, c.Location = true, "my-proj", "europe-west1"
		c.HTTPClient = f.srv.Client()
	})
	info, err := c.Served(context.Background())
	if err != nil {
		t.Fatalf("Served: %v", err)
	}
	if !strings.HasSuffix(info.Name, "models/gemini-3.5-flash") {
		t.Errorf("name = %q", info.Name)
	}
	calls := f.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d calls, want models.get and countTokens", len(calls))
	}
	if want := "/v1beta1/publishers/google/models/" + DefaultModel; calls[0].Method != http.MethodGet || calls[0].Path != want {
		t.Errorf("first request = %s %s, want GET %s", calls[0].Method, calls[0].Path, want)
	}
	if want := "/v1beta1/projects/my-proj/locations/europe-west1/publishers/google/models/" + DefaultModel + ":countTokens"; calls[1].Method != http.MethodPost || calls[1].Path != want {
		t.Errorf("second request = %s %s, want POST %s", calls[1].Method, calls[1].Path, want)
	}
}

// A retired model: Served says so plainly and names the replacement, and so
// does a check that meets the same 404.
func TestNotServedNamesTheReplacement(t *testing.T) {
	const vertexMsg = "Publisher Model `projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash` was not found or your project does not have access to it. Please ensure you are using a valid model version."
	f := newFakeGemini(t, errorAnswer(404, "NOT_FOUND", vertexMsg))
	c, _ := newTestClassifier(t, f, func(c *Config) {
		c.Model = "gemini-2.5-flash"
		c.VertexAI, c.Project, c.Location = true, "my-proj", "us-central1"
		c.HTTPClient = f.srv.Client()
	})
	_, err := c.Served(context.Background())
	if !errors.Is(err, ErrNotServed) {
		t.Fatalf("Served: %v, want ErrNotServed", err)
	}
	for _, want := range []string{"gemini-2.5-flash is not served by Vertex AI in us-central1", "404 NOT_FOUND",
		"retired it on 2026-10-20", "Google names gemini-3.8-flash or gemini-3.5-flash-lite as its replacement",
		"the lab's default is " + DefaultModel, "--model " + DefaultModel, ModelVersionsURL} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%s", want, err)
		}
	}
	_, err = c.Check(context.Background(), "hello")
	if !errors.Is(err, ErrNotServed) || !strings.Contains(err.Error(), "--model "+DefaultModel) {
		t.Errorf("Check: %v, want ErrNotServed naming %s", err, DefaultModel)
	}
	if len(f.Calls()) != 2 {
		t.Errorf("a 404 was retried: %d calls", len(f.Calls()))
	}
}

func TestReplacement(t *testing.T) {
	if got := Replacement("gemini-2.5-flash"); got != DefaultModel {
		t.Errorf("Replacement(gemini-2.5-flash) = %q", got)
	}
	if got := Replacement(DefaultModel); got != "" {
		t.Errorf("Replacement(default) = %q, want none", got)
	}
}
