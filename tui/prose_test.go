package tui

import (
	"strings"
	"testing"

	"github.com/beyond-lab/beyond/content"
	"github.com/beyond-lab/beyond/steps"
	"github.com/charmbracelet/x/ansi"
)

func TestRenderMarkdown(t *testing.T) {
	md := "# Title\n\nA paragraph that goes on\nacross lines, with `inline code` in it.\n\n" +
		"## Heading\n\n- one item\n  continued\n- two\n\n> a quote\n\n" +
		"```bash\ngcloud run deploy $SERVICE_NAME --region $REGION_A --allow-unauthenticated --ingress all\n```\n\n[docs](https://cloud.google.com/run)\n"
	v := steps.DefaultVars()
	got := renderMarkdown(expand(md, v), 40, NewStyles(true), true)
	text := ansi.Strip(strings.Join(got, "\n")) // links carry OSC 8 hyperlinks
	for _, want := range []string{
		"A paragraph that goes on across lines,\nwith `inline code` in it.",
		"Heading",
		"- one item continued\n- two",
		"> a quote",
		"  gcloud run deploy gemini-service \\\n      --region us-central1 \\\n      --allow-unauthenticated \\\n      --ingress all",
		"docs (https://cloud.google.com/run)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Title") || strings.Contains(text, "```") || strings.Contains(text, "$REGION_A") {
		t.Errorf("rendered text keeps the title, a fence or a variable:\n%s", text)
	}
	for _, l := range got {
		if ansi.StringWidth(l) > 40 {
			t.Errorf("line wider than 40: %q", l)
		}
	}

	// In colour, inline code loses its backticks, even across a line break.
	col := ansi.Strip(strings.Join(renderMarkdown("say `a b c d e f` now", 8, NewStyles(false), false), "\n"))
	if strings.Contains(col, "`") {
		t.Errorf("colour rendering keeps backticks: %q", col)
	}
}

// TestEveryStepRenders draws the prose of every content file at 80 and 40
// columns: nothing wider than the screen.
func TestEveryStepRenders(t *testing.T) {
	v := steps.DefaultVars()
	v.Project = "my-project"
	for _, id := range content.IDs() {
		md, err := content.Step(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []int{80, 52, 40} {
			for _, plain := range []bool{false, true} {
				for _, l := range renderMarkdown(expand(md, v), w, NewStyles(plain), plain) {
					if ansi.StringWidth(l) > w {
						t.Errorf("%s at %d: line %q is %d wide", id, w, ansi.Strip(l), ansi.StringWidth(l))
					}
				}
			}
		}
	}
}

func TestExpand(t *testing.T) {
	v := steps.DefaultVars()
	v.Project = "my-project"
	got := expand("$PROJECT_ID in $REGION_A, $IMAGE and $HOME", v)
	if got != "my-project in us-central1, $IMAGE and $HOME" {
		t.Errorf("expand = %q", got)
	}
}

// TestCodeLines: a long command breaks where the shell still reads it as
// one command.
func TestCodeLines(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"gcloud run deploy svc --region us-central1", []string{"gcloud run deploy \\", "    svc --region \\", "    us-central1"}},
		{"KO_DOCKER_REPO=us-central1-docker.pkg.dev/p", []string{"KO_DOCKER_REPO=us-c\\", "entral1-docker.pkg.\\", "dev/p"}},
		{"  # a comment that is long enough", []string{"  # a comment that", "  # is long enough"}},
	} {
		got := codeLines(c.in, 20)
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("codeLines(%q) = %q, want %q", c.in, got, c.want)
		}
		for _, l := range got {
			if ansi.StringWidth(l) > 20 {
				t.Errorf("line %q wider than 20", l)
			}
		}
	}
}

// BenchmarkRenderMarkdown renders the longest page of content/ at 80
// columns in colour: the cost of moving to a step, or of a resize.
func BenchmarkRenderMarkdown(b *testing.B) {
	v := steps.DefaultVars()
	longest := ""
	for _, id := range content.IDs() {
		if md, _ := content.Step(id); len(md) > len(longest) {
			longest = md
		}
	}
	md := expand(longest, v)
	st := NewStyles(false)
	for b.Loop() {
		renderMarkdown(md, 80, st, false)
	}
}
