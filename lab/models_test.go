package lab

import (
	"strings"
	"testing"
)

// The default is the first current Flash served in both default regions;
// when none is, the first current Flash (called at global).
func TestDefaultModelRule(t *testing.T) {
	c := mustCatalogue([]byte(`{"checked":"2026-12-01","sources":{"s":{"url":"https://example.com","checked":"2026-12-01"}},"models":[
		{"id":"gemini-9-flash","current_flash":true,"vertex":{"locations":["global"],"sources":["s"]},"gemini_api":{"sources":["s"]},"thinking":{"control":"level","levels":["LOW"],"sources":["s"]},"sampling":{"sources":["s"]}},
		{"id":"gemini-8-flash","current_flash":true,"vertex":{"locations":["global","us-central1","europe-west1"],"sources":["s"]},"gemini_api":{"sources":["s"]},"thinking":{"control":"level","levels":["LOW"],"sources":["s"]},"sampling":{"sources":["s"]}},
		{"id":"gemini-7-flash","current_flash":true,"vertex":{"locations":["us-central1","europe-west1"],"retired":"2026-01-01","sources":["s"]},"gemini_api":{"sources":["s"]},"thinking":{"control":"budget","sources":["s"]},"sampling":{"sources":["s"]}}
	]}`))
	if got := c.defaultModel(DefaultRegionA, DefaultRegionB); got != "gemini-8-flash" {
		t.Errorf("default = %s, want the regional gemini-8-flash", got)
	}
	if got := c.defaultModel("asia-east1", DefaultRegionB); got != "gemini-9-flash" {
		t.Errorf("default with no regional Flash = %s, want the first current Flash", got)
	}
}

// The real catalogue: every entry has sources with dates, and the default
// is one of its current Flash models.
func TestCatalogue(t *testing.T) {
	m, ok := Models.Lookup(DefaultModel)
	if !ok || !m.CurrentFlash || m.Vertex.Retired != "" {
		t.Errorf("default %s is not a current Flash of the catalogue", DefaultModel)
	}
	for _, m := range Models.Models {
		for _, u := range Models.SourceURLs(m) {
			if !strings.HasPrefix(u, "https://") {
				t.Errorf("%s: source %q", m.ID, u)
			}
		}
		if m.Thinking.Control == ThinkingLevel && m.LowestLevel() != m.Thinking.Levels[0] {
			t.Errorf("%s: lowest level %q", m.ID, m.LowestLevel())
		}
		if m.GeminiAPI.ForwardedTo != "" {
			if _, ok := Models.Lookup(m.GeminiAPI.ForwardedTo); !ok {
				t.Errorf("%s forwards to %s, which the catalogue lacks", m.ID, m.GeminiAPI.ForwardedTo)
			}
		}
		for _, r := range m.Vertex.Replacements {
			if _, ok := Models.Lookup(r); !ok {
				t.Errorf("%s: replacement %s is not in the catalogue", m.ID, r)
			}
		}
	}
}

// A fact without a source is refused when the catalogue is read.
func TestCatalogueRefusesAFactWithoutASource(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "without a source") {
			t.Errorf("recovered %v, want a refusal naming the missing source", r)
		}
	}()
	mustCatalogue([]byte(`{"sources":{},"models":[{"id":"gemini-x","vertex":{},"gemini_api":{},"thinking":{"control":"budget"},"sampling":{}}]}`))
}
