package lab

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
)

// The model catalogue: what Google's pages said about the Gemini models the
// lab may call, each fact with its source and the date it was read. It is
// data (models.json) because it changes every few weeks; the service, the
// steps and the simulator read it here, and nowhere else is a model ID, a
// retirement date or a thinking setting written. The lab still asks Google
// at run time (confirm-ai): an answer from Google beats this file.

//go:embed models.json
var modelsJSON []byte

// Default regions of the lab (the workshop's REGION_A and REGION_B).
const (
	DefaultRegionA = "us-central1"
	DefaultRegionB = "europe-west1"
)

// GlobalLocation is Vertex AI's global endpoint: one location for the whole
// world, served from wherever Google chooses.
const GlobalLocation = "global"

// Thinking controls.
const (
	ThinkingBudget = "budget" // thinkingBudget, a number of tokens (Gemini 2.x)
	ThinkingLevel  = "level"  // thinkingLevel, MINIMAL..HIGH (Gemini 3)
)

// Source is one page a fact comes from.
type Source struct {
	URL     string `json:"url"`
	Checked string `json:"checked"` // the date it was read, YYYY-MM-DD
	Says    string `json:"says"`
}

// Model is one catalogue entry. Sources name keys of Catalogue.Sources;
// Unconfirmed says what the pages did not settle.
type Model struct {
	ID      string `json:"id"`
	Display string `json:"display"`
	// CurrentFlash marks the Flash models Google offers as current: the
	// lab's default is chosen among them.
	CurrentFlash bool `json:"current_flash"`
	Vertex       struct {
		// Locations serve the model: regions, multi-regions (us, eu) and
		// GlobalLocation.
		Locations    []string `json:"locations"`
		Retired      string   `json:"retired"` // YYYY-MM-DD; then served nowhere
		Replacements []string `json:"replacements"`
		Sources      []string `json:"sources"`
		Unconfirmed  string   `json:"unconfirmed"`
	} `json:"vertex"`
	GeminiAPI struct {
		Served     bool   `json:"served"`
		Deprecated bool   `json:"deprecated"`
		Shutdown   string `json:"shutdown"`
		// ForwardedTo is the model that answers requests for this one; the
		// answer's modelVersion names it.
		ForwardedTo string   `json:"forwarded_to"`
		Sources     []string `json:"sources"`
	} `json:"gemini_api"`
	Thinking struct {
		Control     string   `json:"control"` // ThinkingBudget or ThinkingLevel
		Levels      []string `json:"levels"`  // accepted levels, lowest first
		Default     string   `json:"default"`
		MinBudget   int      `json:"min_budget"`
		Sources     []string `json:"sources"`
		Unconfirmed string   `json:"unconfirmed"`
	} `json:"thinking"`
	Sampling struct {
		// Temperature is "default" (send none: Google's advice for Gemini
		// 3) or the value to send.
		Temperature string   `json:"temperature"`
		Sources     []string `json:"sources"`
	} `json:"sampling"`
}

// Catalogue is models.json.
type Catalogue struct {
	Checked string            `json:"checked"`
	About   string            `json:"about"`
	Sources map[string]Source `json:"sources"`
	Models  []Model           `json:"models"`
}

// Models is the catalogue, read once at start-up.
var Models = mustCatalogue(modelsJSON)

// DefaultModel is the model the lab calls unless told otherwise: the first
// current Flash that Vertex AI serves in both default regions, or, when no
// current Flash is served regionally there, the first current Flash (the
// lab then calls it at GlobalLocation and says what that costs).
var DefaultModel = Models.defaultModel(DefaultRegionA, DefaultRegionB)

func mustCatalogue(b []byte) Catalogue {
	var c Catalogue
	if err := json.Unmarshal(b, &c); err != nil {
		panic("lab/models.json: " + err.Error())
	}
	if err := c.validate(); err != nil {
		panic("lab/models.json: " + err.Error())
	}
	return c
}

// validate keeps the file honest: every fact has a source that exists.
func (c Catalogue) validate() error {
	seen := map[string]bool{}
	for _, m := range c.Models {
		if m.ID == "" || seen[m.ID] {
			return fmt.Errorf("model %q: empty or repeated ID", m.ID)
		}
		seen[m.ID] = true
		for _, srcs := range [][]string{m.Vertex.Sources, m.GeminiAPI.Sources, m.Thinking.Sources, m.Sampling.Sources} {
			if len(srcs) == 0 {
				return fmt.Errorf("model %s: a fact without a source", m.ID)
			}
			for _, s := range srcs {
				if _, ok := c.Sources[s]; !ok {
					return fmt.Errorf("model %s: unknown source %q", m.ID, s)
				}
			}
		}
		switch m.Thinking.Control {
		case ThinkingBudget:
		case ThinkingLevel:
			if len(m.Thinking.Levels) == 0 {
				return fmt.Errorf("model %s: thinking by level, but no levels", m.ID)
			}
		default:
			return fmt.Errorf("model %s: thinking control %q", m.ID, m.Thinking.Control)
		}
	}
	for k, s := range c.Sources {
		if s.URL == "" || s.Checked == "" {
			return fmt.Errorf("source %s: no URL or date", k)
		}
	}
	return nil
}

// Lookup returns the entry of model id.
func (c Catalogue) Lookup(id string) (Model, bool) {
	i := slices.IndexFunc(c.Models, func(m Model) bool { return m.ID == id })
	if i < 0 {
		return Model{}, false
	}
	return c.Models[i], true
}

func (c Catalogue) defaultModel(regions ...string) string {
	first := ""
	for _, m := range c.Models {
		if !m.CurrentFlash || m.Vertex.Retired != "" {
			continue
		}
		if first == "" {
			first = m.ID
		}
		if !slices.ContainsFunc(regions, func(r string) bool { return !m.ServedAt(r) }) {
			return m.ID
		}
	}
	if first == "" {
		panic("lab/models.json: no current Flash model")
	}
	return first
}

// ServedAt reports whether the catalogue says Vertex AI serves m at
// location (a region, a multi-region or GlobalLocation).
func (m Model) ServedAt(location string) bool {
	return m.Vertex.Retired == "" && slices.Contains(m.Vertex.Locations, location)
}

// LowestLevel is the least thinking m accepts by level, "" if m takes a
// budget.
func (m Model) LowestLevel() string {
	if m.Thinking.Control != ThinkingLevel || len(m.Thinking.Levels) == 0 {
		return ""
	}
	return m.Thinking.Levels[0]
}

// SourceURLs are the pages the entry's facts come from.
func (c Catalogue) SourceURLs(m Model) []string {
	var urls []string
	for _, srcs := range [][]string{m.Vertex.Sources, m.GeminiAPI.Sources, m.Thinking.Sources, m.Sampling.Sources} {
		for _, s := range srcs {
			if u := c.Sources[s].URL; !slices.Contains(urls, u) {
				urls = append(urls, u)
			}
		}
	}
	return urls
}

// ModelVersionsURL is Google's page of Gemini model versions, retirement
// dates and recommended upgrades on Vertex AI.
var ModelVersionsURL = Models.Sources["vertex-versions"].URL

// ThinkingLevels are the values of thinkingLevel, lowest first.
var ThinkingLevels = []string{"MINIMAL", "LOW", "MEDIUM", "HIGH"}
