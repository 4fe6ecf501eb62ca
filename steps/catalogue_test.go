package steps

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/beyond-lab/beyond/content"
	"github.com/beyond-lab/beyond/lab"
	"github.com/beyond-lab/beyond/service"
)

// The prose must not say about a model what the catalogue does not hold:
// models change every few weeks, and the catalogue (lab/models.json, with
// its sources) is where they are kept true.
var (
	proseModelID = regexp.MustCompile(`gemini-[0-9][0-9a-z.-]*[0-9a-z]`)
	proseDate    = regexp.MustCompile(`\b20[0-9]{2}-[0-9]{2}-[0-9]{2}\b`)
	proseLevel   = regexp.MustCompile(`\b(MINIMAL|LOW|MEDIUM|HIGH)\b`)
	proseBudget  = regexp.MustCompile("thinkingBudget`?:? ?([0-9]+)")
	// A clause: claims are checked within one, where a model and what is
	// said of it sit together.
	proseClause = regexp.MustCompile(`[.;,:()]\s|\n\n`)
)

// proseTexts is every step's prose and the READMEs that teach models.
func proseTexts(t *testing.T) map[string]string {
	t.Helper()
	texts := map[string]string{}
	for _, id := range content.IDs() {
		s, err := content.Step(id)
		if err != nil {
			t.Fatal(err)
		}
		texts["content/"+id+".md"] = s
	}
	for _, f := range []string{"../README.md", "../service/README.md", "../gcp/sim/README.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts[strings.TrimPrefix(f, "../")] = string(b)
	}
	return texts
}

// catalogueDates are every date the catalogue holds as a fact.
func catalogueDates() []string {
	dates := []string{lab.Models.Checked}
	for _, s := range lab.Models.Sources {
		dates = append(dates, s.Checked)
	}
	for _, m := range lab.Models.Models {
		dates = append(dates, m.Vertex.Retired, m.GeminiAPI.Shutdown)
	}
	return dates
}

// proseFindings lists what text says about models that the catalogue does
// not hold: a model ID it lacks; a date it lacks (anywhere with all, else
// in a paragraph naming a model); in a clause about one model, a thinking level the model does not
// take or a date that is not the model's; a thinkingBudget that is no
// model's minimum.
func proseFindings(text string, all bool) []string {
	dates := catalogueDates()
	var budgets []string
	for _, m := range lab.Models.Models {
		if m.Thinking.Control == lab.ThinkingBudget {
			budgets = append(budgets, strconv.Itoa(m.Thinking.MinBudget))
		}
	}
	var out []string
	for _, id := range proseModelID.FindAllString(text, -1) {
		if _, ok := lab.Models.Lookup(id); !ok {
			out = append(out, "names "+id+", which the model catalogue does not hold")
		}
	}
	for _, para := range strings.Split(text, "\n\n") {
		if !all && !proseModelID.MatchString(para) {
			continue
		}
		for _, d := range proseDate.FindAllString(para, -1) {
			if !slices.Contains(dates, d) {
				out = append(out, "says "+d+", a date the model catalogue does not hold")
			}
		}
	}
	for _, clause := range proseClause.Split(text, -1) {
		ids := proseModelID.FindAllString(clause, -1)
		if len(ids) != 1 {
			continue // no model, or several: nothing is said of one
		}
		m, ok := lab.Models.Lookup(ids[0])
		if !ok {
			continue
		}
		for _, level := range proseLevel.FindAllString(clause, -1) {
			if !slices.Contains(m.Thinking.Levels, level) {
				out = append(out, fmt.Sprintf("%q gives %s thinking level %s; the catalogue says it takes %v", clause, m.ID, level, m.Thinking.Levels))
			}
		}
		for _, d := range proseDate.FindAllString(clause, -1) {
			if d != m.Vertex.Retired && d != m.GeminiAPI.Shutdown && d != lab.Models.Checked {
				out = append(out, fmt.Sprintf("%q dates %s %s; the catalogue has retired %q, shut down %q", clause, m.ID, d, m.Vertex.Retired, m.GeminiAPI.Shutdown))
			}
		}
	}
	for _, b := range proseBudget.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(budgets, b[1]) {
			out = append(out, fmt.Sprintf("thinkingBudget %s is no model's minimum in the catalogue (%v)", b[1], budgets))
		}
	}
	return out
}

func TestProseModelFactsAreInTheCatalogue(t *testing.T) {
	for name, text := range proseTexts(t) {
		for _, f := range proseFindings(text, strings.HasPrefix(name, "content/")) {
			t.Errorf("%s: %s", name, f)
		}
	}
}

// The prose names the replacement Google names, and the default the lab
// uses, as the catalogue has them.
func TestProseNamesTheCataloguesDefaultAndReplacements(t *testing.T) {
	texts := proseTexts(t)
	if row := lineWith(texts["README.md"], "| `--model` |"); !strings.Contains(row, "`"+lab.DefaultModel+"`") {
		t.Errorf("README's --model row %q does not name the default %s", row, lab.DefaultModel)
	}
	if service.DefaultModel != lab.DefaultModel {
		t.Errorf("service.DefaultModel %s, lab.DefaultModel %s", service.DefaultModel, lab.DefaultModel)
	}
	for name, text := range texts {
		for _, clause := range strings.Split(text, ".") {
			if !strings.Contains(clause, "as its replacement") {
				continue
			}
			ids := proseModelID.FindAllString(clause, -1)
			for _, m := range lab.Models.Models {
				if len(m.Vertex.Replacements) == 0 || !slices.Contains(ids, m.ID) {
					continue
				}
				for _, id := range ids {
					if id != m.ID && !slices.Contains(m.Vertex.Replacements, id) {
						t.Errorf("%s: %q names %s as a replacement of %s; the catalogue has %v", name, clause, id, m.ID, m.Vertex.Replacements)
					}
				}
			}
		}
	}
}

// A check that cannot fail is no check: it catches what the review of
// 2026-12-01 found.
func TestProseCheckCatchesTheReviewsFindings(t *testing.T) {
	for _, bad := range []string{
		"Vertex AI retired gemini-2.5-flash on 2026-10-16.",
		"It sends thinkingLevel MINIMAL to gemini-3.8-flash.",
		"The lab uses gemini-9.9-flash.",
		"A model that thinks with `thinkingBudget: 64`.",
	} {
		if len(proseFindings(bad, false)) == 0 {
			t.Errorf("%q passes the prose check", bad)
		}
	}
}

func lineWith(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// The enable-apis prose shows every API the step enables.
func TestEnableAPIsProseShowsEveryAPI(t *testing.T) {
	s, err := content.Step(EnableAPIs)
	if err != nil {
		t.Fatal(err)
	}
	for _, api := range requiredAPIs {
		if !strings.Contains(s, api) {
			t.Errorf("content/enable-apis.md does not show %s, which the step enables", api)
		}
	}
}
