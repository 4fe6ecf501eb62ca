package sim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/beyond-lab/beyond/lab"
)

// The simulated Gemini's models, and the calls that read them: models.get
// and models.list on both backends, and countTokens. They come from the
// lab's catalogue (lab.Models), so the simulator serves what Google's
// pages said on the date they were read:
//   - Vertex AI serves a model only at the locations the catalogue lists: a
//     model served at global only answers 404 in a region, with Google's
//     text; a retired one answers 404 everywhere;
//   - the Gemini API forwards a deprecated or shut-down model to the one
//     Google names, and the answer's modelVersion says which model answered;
//   - a thinking level the model does not accept is refused with a 400.
// A model the catalogue lacks is not served.

// geminiModel is a model as a call meets it: the one asked for, and the
// one that answers (another one when the Gemini API forwards the call).
type geminiModel struct {
	asked    lab.Model
	answerer lab.Model
}

// geminiVertexNotFound is Vertex AI's 404 for a publisher model a project
// cannot use in a location: retired, not offered there, or misspelt.
// Google's text as the simulator had it, link included: the page has moved
// since (lab.ModelVersionsURL), and whether Google's message followed is
// not known.
func geminiVertexNotFound(project, location, model string) string {
	return fmt.Sprintf("Publisher Model `projects/%s/locations/%s/publishers/google/models/%s` was not found or your project does not have access to it. Please ensure you are using a valid model version. For more information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions", project, location, model)
}

// geminiServed looks model up for a call of method at at, answering
// Google's 404 when it is not served there.
func (s *Sim) geminiServed(w http.ResponseWriter, model, method string, at geminiAt) (geminiModel, bool) {
	m, ok := lab.Models.Lookup(model)
	switch {
	case ok && at.vertex && m.ServedAt(at.location):
		return geminiModel{asked: m, answerer: m}, true
	case ok && !at.vertex && m.GeminiAPI.ForwardedTo != "":
		if to, found := lab.Models.Lookup(m.GeminiAPI.ForwardedTo); found {
			return geminiModel{asked: m, answerer: to}, true
		}
	case ok && !at.vertex && m.GeminiAPI.Served:
		return geminiModel{asked: m, answerer: m}, true
	}
	if at.vertex {
		geminiError(w, http.StatusNotFound, geminiVertexNotFound(at.project, at.location, model))
	} else {
		geminiError(w, http.StatusNotFound, fmt.Sprintf("models/%s is not found for API version %s, or is not supported for %s. Call ListModels to see the list of available models and their supported methods.", model, at.version, method))
	}
	if ok && m.Vertex.Retired != "" {
		s.log.Debug("gemini: a retired model was asked for", "model", model, "retired", m.Vertex.Retired)
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

// thinking checks tc against the answering model's rules, returning a
// 400 message when it breaks one. Google's texts where known: both fields
// together, a level on a 2.x model, budget 0 on a model that only thinks;
// the text for a level the model does not take is the simulator's own, and
// names the field, as Google's field errors do.
func (gm geminiModel) thinking(tc *geminiThinkingConfig) (geminiThinking, string) {
	m := gm.answerer
	t := geminiThinking{budget: -1}
	byLevel := m.Thinking.Control == lab.ThinkingLevel
	if byLevel {
		t.level = cmp.Or(m.Thinking.Default, "MEDIUM")
	}
	if tc == nil {
		return t, ""
	}
	if tc.ThinkingBudget != nil && tc.ThinkingLevel != nil {
		return t, "Unable to submit request because thinking_budget and thinking_level are not supported together."
	}
	if tc.ThinkingLevel != nil {
		if !byLevel {
			return t, "Thinking level is not supported for this model."
		}
		l := strings.ToUpper(*tc.ThinkingLevel)
		if !slices.Contains(lab.ThinkingLevels, l) {
			return t, fmt.Sprintf("Invalid value at 'generation_config.thinking_config.thinking_level', %q: use one of %s", *tc.ThinkingLevel, strings.Join(lab.ThinkingLevels, ", "))
		}
		if !slices.Contains(m.Thinking.Levels, l) {
			return t, fmt.Sprintf("Invalid value at 'generation_config.thinking_config.thinking_level' (%s): %s accepts %s.", l, m.ID, strings.Join(m.Thinking.Levels, ", "))
		}
		t.level = l
	}
	if tc.ThinkingBudget != nil {
		// Gemini 3 models honour a budget too; it replaces the level.
		t.budget, t.level = *tc.ThinkingBudget, ""
		if t.budget >= 0 && t.budget < m.Thinking.MinBudget {
			return t, fmt.Sprintf("Budget %d is invalid. This model only works in thinking mode.", t.budget)
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

// geminiCountTokens serves countTokens.
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
	gm, ok := s.geminiServed(w, r.PathValue("model"), "get", geminiAt{version: version})
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(geminiDeveloperModel(gm.asked))
}

func geminiDeveloperModel(m lab.Model) map[string]any {
	return map[string]any{
		"name": "models/" + m.ID, "baseModelId": m.ID, "version": "001", "displayName": m.Display,
		"inputTokenLimit": 1048576, "outputTokenLimit": 65536, "thinking": true,
		"supportedGenerationMethods": []string{"generateContent", "countTokens"},
	}
}

// geminiDeveloperAPIList serves models.list on the Gemini API: the models
// it answers for, forwarded ones included.
func (s *Sim) geminiDeveloperAPIList(w http.ResponseWriter, r *http.Request) {
	if !geminiDeveloperAuth(w, r) {
		return
	}
	models := []any{}
	for _, m := range lab.Models.Models {
		if m.GeminiAPI.Served || m.GeminiAPI.ForwardedTo != "" {
			models = append(models, geminiDeveloperModel(m))
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(map[string]any{"models": models})
}

// geminiVertexAIGet serves Vertex AI's publisher model get, which names no
// project or location: Vertex AI answers it for the location whose endpoint
// it reached, and countTokens at the project's path says more.
func (s *Sim) geminiVertexAIGet(w http.ResponseWriter, r *http.Request) {
	if !geminiVertexAuth(w, r) {
		return
	}
	model := r.PathValue("model")
	m, ok := lab.Models.Lookup(model)
	if !ok || m.Vertex.Retired != "" {
		geminiError(w, http.StatusNotFound, fmt.Sprintf("Publisher Model `publishers/google/models/%s` not found.", model))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(geminiPublisherModel(m))
}

func geminiPublisherModel(m lab.Model) map[string]any {
	return map[string]any{
		"name": "publishers/google/models/" + m.ID, "versionId": "001", "openSourceCategory": "PROPRIETARY",
		"launchStage": "GA", "versionState": "VERSION_STATE_STABLE",
		"publisherModelTemplate": "projects/{project}/locations/{location}/publishers/google/models/" + m.ID,
	}
}

// geminiVertexAIList serves Vertex AI's list of publisher models: those not
// retired, wherever they are served.
func (s *Sim) geminiVertexAIList(w http.ResponseWriter, r *http.Request) {
	if !geminiVertexAuth(w, r) {
		return
	}
	models := []any{}
	for _, m := range lab.Models.Models {
		if m.Vertex.Retired == "" && len(m.Vertex.Locations) > 0 {
			models = append(models, geminiPublisherModel(m))
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(map[string]any{"publisherModels": models})
}
