package steps

import (
	"testing"
	"unicode/utf8"
)

// TestShortTitles: a short title names a step of the lab, is shorter than
// the step's title, and fits the narrowest list (20 cells).
func TestShortTitles(t *testing.T) {
	titles := map[string]string{}
	for _, s := range Lab() {
		titles[s.ID] = s.Title
	}
	for id, short := range shortTitles {
		title, ok := titles[id]
		switch {
		case !ok:
			t.Errorf("short title %q for %q, which is no step of the lab", short, id)
		case utf8.RuneCountInString(short) > 20:
			t.Errorf("%s: short title %q is longer than 20", id, short)
		case utf8.RuneCountInString(short) >= utf8.RuneCountInString(title):
			t.Errorf("%s: short title %q is no shorter than %q", id, short, title)
		}
	}
}
