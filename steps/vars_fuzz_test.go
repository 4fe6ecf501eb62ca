package steps

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// shellSafe is what an accepted value may hold: it is pasted into gcloud
// commands the learner runs, so nothing a shell would read (spaces, quotes,
// $, ;, |, backquotes, newlines...) may get through.
var shellSafe = regexp.MustCompile(`^[A-Za-z0-9._:/@-]*$`)

// FuzzVars: every variable, set to anything, is accepted only when it is
// safe to paste into a shell command and a valid name for Google; refused, it
// names the variable and its flag and says the rule, and nothing panics.
func FuzzVars(f *testing.F) {
	for _, s := range []string{"my-project-123", "gemini-service", "us-central1", "neg-a", "Bad_Name", "", "a", strings.Repeat("a", 64),
		"us-docker.pkg.dev/cloudrun/container/hello", "gemini-3.5-flash", "x; rm -rf /", "$(id)", "naïve", "-neg", "neg-", "a\nb"} {
		for i := range VarList {
			f.Add(i, s)
		}
	}
	f.Fuzz(func(t *testing.T, which int, value string) {
		if which < 0 {
			which = -which
		}
		d := VarList[which%len(VarList)]
		v := DefaultVars()
		v.Project = "my-project-123"
		*d.Field(&v) = value
		err := v.Validate()
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, d.Env) && !strings.Contains(msg, "REGION_A and REGION_B") && !strings.Contains(msg, "NEG_A_NAME and NEG_B_NAME") {
				t.Fatalf("%s=%q refused without naming it: %v", d.Env, value, err)
			}
			return
		}
		if !utf8.ValidString(value) || !shellSafe.MatchString(value) {
			t.Fatalf("%s=%q accepted, but it is not safe in a gcloud command", d.Env, value)
		}
		if d.Env == "DOMAIN" && len(value) <= 240 {
			return // optional, and a DNS name may be long
		}
		if d.Env != "IMAGE" && (value == "" || len(value) > 100) {
			t.Fatalf("%s=%q accepted", d.Env, value)
		}
	})
}
