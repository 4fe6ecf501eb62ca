package tui

import (
	"encoding/json"
	"testing"

	upstream "charm.land/glamour/v2"
	uansi "charm.land/glamour/v2/ansi"
	"github.com/beyond-lab/beyond/content"
	"github.com/beyond-lab/beyond/tui/internal/glamour"
)

// TestProseRendererMatchesGlamour renders every page of content/, and a page
// with every kind of Markdown block, through the guide's copy of glamour
// (tui/internal/glamour, without chroma) and through charm.land/glamour/v2
// itself, in each of the guide's styles and at several widths: the copy
// must draw exactly what glamour draws.
func TestProseRendererMatchesGlamour(t *testing.T) {
	pages := map[string]string{"every block": `# Title

A paragraph with *emphasis*, **strong**, ~~struck~~, ` + "`code`" + `, a [link](https://cloud.google.com/run/docs) and https://example.com/a/long/path.

> A quote
> on two lines.

- one
- two
  1. nested
  2. list
- [x] done
- [ ] to do

| region | answers |
|---|---|
| us-central1 | [yes](https://example.com) |
| europe-west1 | no |

Term
: definition

<b>html</b> and <!-- a comment --> &amp; an entity

<div>
<p>An HTML block</p> <script>alert(1)</script> <title>gone</title>
</div>

---

` + "```bash\ngcloud run deploy gemini-service --region us-central1 \\\n  --allow-unauthenticated\n```\n\n```\nno language\n```\n\n    indented code\n"}
	for _, id := range content.IDs() {
		md, err := content.Step(id)
		if err != nil {
			t.Fatal(err)
		}
		pages[id] = md
		pages[id+" as the guide feeds it"] = keepHyphens(joinItems(breakCode(md, 78)))
	}
	for _, style := range []struct {
		name           string
		noColor, plain bool
	}{{"colour", false, false}, {"NO_COLOR", true, false}, {"accessible", true, true}} {
		ours := proseStyle(style.noColor, style.plain)
		var theirs uansi.StyleConfig
		b, err := json.Marshal(ours)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &theirs); err != nil {
			t.Fatal(err)
		}
		for _, w := range []int{40, 80, 120} {
			mine, err := glamour.NewTermRenderer(glamour.WithStyles(ours), glamour.WithWordWrap(w))
			if err != nil {
				t.Fatal(err)
			}
			ref, err := upstream.NewTermRenderer(upstream.WithStyles(theirs), upstream.WithWordWrap(w))
			if err != nil {
				t.Fatal(err)
			}
			for name, md := range pages {
				got, err := mine.Render(md)
				if err != nil {
					t.Fatalf("%s, %s, %d columns: %v", name, style.name, w, err)
				}
				want, err := ref.Render(md)
				if err != nil {
					t.Fatalf("glamour: %s, %s, %d columns: %v", name, style.name, w, err)
				}
				if got != want {
					t.Errorf("%s, %s, %d columns: the copy draws\n%q\nglamour draws\n%q", name, style.name, w, got, want)
				}
			}
		}
	}
}
