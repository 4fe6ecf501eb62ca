package tui

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/beyond-lab/beyond/content"
	"github.com/beyond-lab/beyond/steps"
	"github.com/charmbracelet/x/ansi"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// colorSGR matches an escape code that sets a colour: NO_COLOR forbids it.
var colorSGR = regexp.MustCompile(`\x1b\[[0-9;]*(3[0-9]|4[0-9]|9[0-7]|10[0-7])(;[0-9]+)*m`)

// TestProseGolden renders every page of content/ at 80 columns with
// NO_COLOR, through glamour, and compares the text with
// testdata/prose-80-nocolor.golden (go test ./tui -run TestProseGolden
// -update rewrites it after a change to content/ that is meant).
func TestProseGolden(t *testing.T) {
	v := steps.DefaultVars()
	var b strings.Builder
	for _, id := range content.IDs() {
		md, err := content.Step(id)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("==== " + id + " ====\n")
		for _, l := range renderMarkdown(expand(md, v), 80, NewStyles(true), false) {
			if c := colorSGR.FindString(l); c != "" {
				t.Errorf("%s: NO_COLOR rendering sets a colour (%q) in %q", id, c, l)
			}
			if w := ansi.StringWidth(l); w > 80 {
				t.Errorf("%s: a line of %d cells: %q", id, w, ansi.Strip(l))
			}
			b.WriteString(ansi.Strip(l) + "\n")
		}
	}
	got := b.String()
	for _, bad := range []string{"```", "**", "$REGION_A", "$SERVICE_NAME", hyphen} {
		if strings.Contains(got, bad) {
			t.Errorf("the rendered prose holds %q", bad)
		}
	}
	path := filepath.Join("testdata", "prose-80-nocolor.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run go test ./tui -run TestProseGolden -update to write it", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("the prose differs from %s at line %d:\n got  %q\n want %q\n(go test ./tui -run TestProseGolden -update rewrites it)", path, i+1, g, w)
			}
		}
	}
}
