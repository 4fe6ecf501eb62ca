package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// The simulated Gemini's model catalog, and the calls that read it:
// models.get on both backends and countTokens. A retired model answers 404
// with Google's text on every call, so that a learner who asks for one sees
// exactly what they would see on Google; a model Vertex AI serves only from
// the global location answers 404 in a regional one.

// geminiModel is one model of the catalog.
type geminiModel struct {
	display string
	// levels: a Gemini 3 model, configured with thinkingLevel (default
	// MEDIUM); otherwise a Gemini 2.x model, configured with thinkingBudget
	// (default dynamic), which refuses a level.
	levels bool
	// thinkingOnly models refuse a thinking budget of 0 (gemini-2.5-pro).
	thinkingOnly bool
	// retired is the date Google retired the model; it is then not served.
	retired string
	// globalOnly models are served by Vertex AI from the global location
	// only (gemini-3.1-flash-lite), not from a region.
	globalOnly bool
}

// geminiModels is the catalog. Sources: the Gemini API deprecations page and
// Vertex AI's model versions page (gemini-2.5-flash retired on Vertex AI on
// 2026-10-16, shut down on the Gemini API 2026-12-01; the 2.0 models shut
// down 2026-06-01). gemini-2.5-flash-lite and gemini-2.5-pro have no
// retirement date checked here and are still served.
var geminiModels = map[string]geminiModel{
	"gemini-3.5-flash":         {display: "Gemini 3.5 Flash", levels: true},
	"gemini-3.6-flash":         {display: "Gemini 3.6 Flash", levels: true},
	"gemini-3.7-flash":         {display: "Gemini 3.7 Flash", levels: true},
	"gemini-3.8-flash":         {display: "Gemini 3.8 Flash", levels: true},
	"gemini-3.5-flash-lite":    {display: "Gemini 3.5 Flash-Lite", levels: true},
	"gemini-3.1-flash-lite":    {display: "Gemini 3.1 Flash-Lite", levels: true, globalOnly: true},
	"gemini-flash-latest":      {display: "Gemini Flash Latest", levels: true},
	"gemini-flash-lite-latest": {display: "Gemini Flash-Lite Latest", levels: true},
	"gemini-2.5-flash":         {display: "Gemini 2.5 Flash", retired: "2026-10-16"},
	"gemini-2.5-flash-lite":    {display: "Gemini 2.5 Flash-Lite"},
	"gemini-2.5-pro":           {display: "Gemini 2.5 Pro", thinkingOnly: true},
	"gemini-2.0-flash":         {display: "Gemini 2.0 Flash", retired: "2026-06-01"},
	"gemini-2.0-flash-lite":    {display: "Gemini 2.0 Flash-Lite", retired: "2026-06-01"},
}

// geminiVertexNotFound is Vertex AI's 404 for a publisher model a project
// cannot use in a location: retired, not offered there, or misspelt.
func geminiVertexNotFound(project, location, model string) string {
	return fmt.Sprintf("Publisher Model `projects/%s/locations/%s/publishers/google/models/%s` was not found or your project does not have access to it. Please ensure you are using a valid model version. For more information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions", project, location, model)
}

// geminiServed looks model up for a call of method at at, answering
// Google's 404 when it is not served there.
func (s *Sim) geminiServed(w http.ResponseWriter, model, method string, at geminiAt) (geminiModel, bool) {
	m, ok := geminiModels[model]
	if ok && m.retired == "" && !(at.vertex && m.globalOnly && at.location != "global") {
		return m, true
	}
	if at.vertex {
		geminiError(w, http.StatusNotFound, geminiVertexNotFound(at.project, at.location, model))
	} else {
		geminiError(w, http.StatusNotFound, fmt.Sprintf("models/%s is not found for API version %s, or is not supported for %s. Call ListModels to see the list of available models and their supported methods.", model, at.version, method))
	}
	if ok && m.retired != "" {
		s.log.Debug("gemini: a retired model was asked for", "model", model, "retired", m.retired)
	}
	return geminiModel{}, false
}

// geminiThinkingConfig is a request's thinkingConfig.
type geminiThinkingConfig struct {
	ThinkingBudget *int    `json:"thinkingBudget"`
	ThinkingLevel  *string `json:"thinkingLevel"`
}

// geminiThinking is how much a request lets the model think.
type geminiThinking struct {
	budget int    // -1: dynamic
	level  string // "" with a budget
}

// thinking checks tc against the model's rules, returning Google's 400
// message when it breaks one.
func (m geminiModel) thinking(tc *geminiThinkingConfig) (geminiThinking, string) {
	t := geminiThinking{budget: -1}
	if m.levels {
		t.level = "MEDIUM" // Gemini 3 Flash's default
	}
	if tc == nil {
		return t, ""
	}
	if tc.ThinkingBudget != nil && tc.ThinkingLevel != nil {
		return t, "Unable to submit request because thinking_budget and thinking_level are not supported together."
	}
	if tc.ThinkingLevel != nil {
		if !m.levels {
			return t, "Thinking level is not supported for this model."
		}
		switch l := strings.ToUpper(*tc.ThinkingLevel); l {
		case "MINIMAL", "LOW", "MEDIUM", "HIGH":
			t.level = l
		default:
			return t, fmt.Sprintf("Invalid value at 'generation_config.thinking_config.thinking_level', %q: use MINIMAL, LOW, MEDIUM or HIGH", *tc.ThinkingLevel)
		}
	}
	if tc.ThinkingBudget != nil {
		// Gemini 3 models honour a budget too; it replaces the level.
		t.budget, t.level = *tc.ThinkingBudget, ""
		if t.budget == 0 && m.thinkingOnly {
			return t, "Budget 0 is invalid. This model only works in thinking mode."
		}
	}
	return t, ""
}

// thoughts estimates the thinking tokens spent on a prompt of n tokens.
func (t geminiThinking) thoughts(n int) int {
	switch t.level {
	case "MINIMAL": // "no thinking for most queries"
		return 0
	case "LOW":
		return 16 + n/8
	case "MEDIUM":
		return 64 + n/4
	case "HIGH":
		return 128 + n/2
	}
	switch {
	case t.budget == 0:
		return 0
	case t.budget > 0:
		return min(64+n/4, t.budget)
	}
	return 64 + n/4 // dynamic
}

// promptTokens estimates the prompt: the system instruction, the contents,
// and the response schema's names, descriptions and enum values, which
// Google counts as input too.
func (req *geminiRequest) promptTokens() int {
	n := geminiTokens(req.SystemInstruction.text())
	for _, c := range req.Contents {
		n += geminiTokens(c.text())
	}
	var b strings.Builder
	req.GenerationConfig.ResponseSchema.words(&b)
	return n + geminiTokens(b.String())
}

// words writes the schema's words: property names, descriptions, enums.
func (sc *geminiSchema) words(b *strings.Builder) {
	if sc == nil {
		return
	}
	if sc.Description != "" {
		b.WriteString(sc.Description + " ")
	}
	for _, e := range sc.Enum {
		b.WriteString(e + " ")
	}
	for _, k := range sortedKeys(sc.Properties) {
		b.WriteString(k + " ")
		sc.Properties[k].words(b)
	}
}

// geminiCountTokens serves countTokens, which Google does not bill.
func (s *Sim) geminiCountTokens(w http.ResponseWriter, r *http.Request, model string, at geminiAt) {
	if _, ok := s.geminiServed(w, model, "countTokens", at); !ok {
		return
	}
	var req struct {
		geminiRequest
		GenerateContentRequest *geminiRequest `json:"generateContentRequest"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, geminiMaxBody)).Decode(&req); err != nil {
		geminiError(w, http.StatusBadRequest, "Invalid JSON payload received. "+err.Error())
		return
	}
	body := &req.geminiRequest
	if req.GenerateContentRequest != nil {
		body = req.GenerateContentRequest
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(map[string]any{"totalTokens": body.promptTokens()})
}

// geminiDeveloperAPIGet serves models.get on the Gemini API.
func (s *Sim) geminiDeveloperAPIGet(w http.ResponseWriter, r *http.Request) {
	if !geminiDeveloperAuth(w, r) {
		return
	}
	version, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	model := r.PathValue("model")
	m, ok := s.geminiServed(w, model, "get", geminiAt{version: version})
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(map[string]any{
		"name": "models/" + model, "baseModelId": model, "version": "001", "displayName": m.display,
		"inputTokenLimit": 1048576, "outputTokenLimit": 65536, "thinking": true,
		"supportedGenerationMethods": []string{"generateContent", "countTokens"},
	})
}

// geminiVertexAIGet serves Vertex AI's publisher model get, which names no
// project or location: Vertex AI answers it for the location whose endpoint
// it reached, and countTokens at the project's path says more.
func (s *Sim) geminiVertexAIGet(w http.ResponseWriter, r *http.Request) {
	if !geminiVertexAuth(w, r) {
		return
	}
	model := r.PathValue("model")
	m, ok := geminiModels[model]
	if !ok || m.retired != "" {
		geminiError(w, http.StatusNotFound, fmt.Sprintf("Publisher Model `publishers/google/models/%s` not found.", model))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(map[string]any{
		"name": "publishers/google/models/" + model, "versionId": "001", "openSourceCategory": "PROPRIETARY",
		"launchStage": "GA", "versionState": "VERSION_STATE_STABLE",
		"publisherModelTemplate": "projects/{project}/locations/{location}/publishers/google/models/" + model,
	})
}
