package service

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/beyond-lab/beyond/lab"
	"google.golang.org/genai"
)

// ModelVersionsURL is Google's list of Gemini models, their retirement dates
// and their recommended replacements on Vertex AI.
var ModelVersionsURL = lab.ModelVersionsURL

// ModelInfo is what Gemini says about a model it serves.
type ModelInfo struct {
	Name        string // models/ID (Gemini API) or publishers/google/models/ID (Vertex AI)
	Version     string
	DisplayName string
}

// Served asks Gemini whether the classifier's model is served where the
// classifier would call it: through Vertex AI, in Config.Location; through
// the Gemini API, at all. It makes two calls that generate nothing: a
// models.get (the model's catalog entry; on Vertex AI through the location's
// own endpoint), then a countTokens of one word at the very path a check
// posts to (on Vertex AI: the project and location), which Google answers
// 404 for a retired model or one not offered there. A model that is not served fails with ErrNotServed and a message
// that names a replacement; other failures are *Error as for Check.
//
// Models are retired faster than code is rewritten: ask before deploying.
func (c *Classifier) Served(ctx context.Context) (ModelInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	m, err := c.client.Models.Get(ctx, c.cfg.Model, nil)
	if err != nil {
		cerr, _ := c.classify(ctx, err)
		return ModelInfo{}, cerr
	}
	if _, err := c.client.Models.CountTokens(ctx, c.cfg.Model, genai.Text("ping"), nil); err != nil {
		cerr, _ := c.classify(ctx, err)
		return ModelInfo{}, cerr
	}
	return ModelInfo{Name: m.Name, Version: m.Version, DisplayName: m.DisplayName}, nil
}

// Where says where the classifier calls Gemini: "Vertex AI in us-central1",
// or "the Gemini API".
func (c *Classifier) Where() string {
	if c.cfg.VertexAI {
		return "Vertex AI in " + c.cfg.Location
	}
	return "the Gemini API"
}

// Location is where the classifier calls Vertex AI ("" on the Gemini API).
func (c *Classifier) Location() string {
	if c.cfg.VertexAI {
		return c.cfg.Location
	}
	return ""
}

// ListModels returns the IDs of the Gemini models Google lists: Vertex AI's
// publisher models, or the Gemini API's models. It generates nothing.
func (c *Classifier) ListModels(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var ids []string
	for m, err := range c.client.Models.All(ctx) {
		if err != nil {
			cerr, _ := c.classify(ctx, err)
			return ids, cerr
		}
		id := m.Name[strings.LastIndex(m.Name, "/")+1:]
		if strings.HasPrefix(id, "gemini-") && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
		if len(ids) >= 50 {
			break
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// notServed explains a 404 for the classifier's model with what the
// catalogue knows about it, and names what to use instead.
func (c *Classifier) notServed(api genai.APIError) string {
	msg := fmt.Sprintf("model %s is not served by %s (Gemini answered %d %s: %s)",
		c.cfg.Model, c.Where(), api.Code, api.Status, truncate(redact(api.Message, c.cfg.APIKey), 300))
	m, known := lab.Models.Lookup(c.cfg.Model)
	switch {
	case known && m.Vertex.Retired != "" && c.cfg.VertexAI:
		msg += fmt.Sprintf(": Vertex AI retired it on %s", m.Vertex.Retired)
	case known && !m.GeminiAPI.Served && m.GeminiAPI.Shutdown != "" && !c.cfg.VertexAI:
		msg += fmt.Sprintf(": the Gemini API shut it down on %s", m.GeminiAPI.Shutdown)
	case known && c.cfg.VertexAI && len(m.Vertex.Locations) > 0:
		msg += fmt.Sprintf(": Google's pages (read %s) list it at %s only", lab.Models.Checked, strings.Join(m.Vertex.Locations, ", "))
	}
	if known && len(m.Vertex.Replacements) > 0 {
		msg += fmt.Sprintf("; Google names %s as its replacement", strings.Join(m.Vertex.Replacements, " or "))
	}
	if r := Replacement(c.cfg.Model); r != "" {
		return msg + fmt.Sprintf(" (%s); the lab's default is %s: --model %s, or GEMINI_MODEL=%s", ModelVersionsURL, r, r, r)
	}
	return msg + ": check that it is offered in this location and not retired (" + ModelVersionsURL + "), and choose a model that is with --model or GEMINI_MODEL"
}

// Replacement is the model to use when model is not served: the lab's
// default; "" when model is that default already, since then only
// Google's list can say what replaced it.
func Replacement(model string) string {
	if model == DefaultModel {
		return ""
	}
	return DefaultModel
}
