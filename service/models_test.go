package service

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// Gemini 3 takes a thinking level, Gemini 2.x a budget; Google refuses a
// request with both, so each request carries exactly one.
func TestThinkingConfigByFamily(t *testing.T) {
	for _, tc := range []struct{ model, want string }{
		{"gemini-3.5-flash", `{"thinkingLevel":"MINIMAL"}`},
		{"gemini-3.1-flash-lite", `{"thinkingLevel":"MINIMAL"}`},
		{"gemini-10.0-flash", `{"thinkingLevel":"MINIMAL"}`},
		{"gemini-flash-latest", `{"thinkingLevel":"MINIMAL"}`},
		{"gemini-2.5-flash", `{"thinkingBudget":0}`},
		{"gemini-2.0-flash-lite", `{"thinkingBudget":0}`},
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
		if got := string(body.GenerationConfig["thinkingConfig"]); got != tc.want {
			t.Errorf("%s: thinkingConfig = %s, want %s", tc.model, got, tc.want)
		}
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
	for _, want := range []string{"gemini-2.5-flash is not served by Vertex AI in us-central1", "404 NOT_FOUND", "use " + DefaultModel + " instead", "--model " + DefaultModel, ModelVersionsURL} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%s", want, err)
		}
	}
	_, err = c.Check(context.Background(), "hello")
	if !errors.Is(err, ErrNotServed) || !strings.Contains(err.Error(), "use "+DefaultModel) {
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
