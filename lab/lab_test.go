package lab

import (
	"strings"
	"testing"
)

func TestEndpointsFromEnv(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	if _, ok, err := EndpointsFromEnv(get); ok || err != nil {
		t.Errorf("empty env: %v %v", ok, err)
	}
	env["BEYOND_RUN_ENDPOINT"] = "127.0.0.1:1"
	if _, _, err := EndpointsFromEnv(get); err == nil || !strings.Contains(err.Error(), "beyond sim") {
		t.Errorf("partial env: %v", err)
	}
	env["BEYOND_COMPUTE_ENDPOINT"] = "http://127.0.0.1:2"
	env["BEYOND_SERVICEUSAGE_ENDPOINT"] = "127.0.0.1:1"
	e, ok, err := EndpointsFromEnv(get)
	if !ok || err != nil || e.ArtifactRegistry != "127.0.0.1:1" || e.Compute != "http://127.0.0.1:2" {
		t.Errorf("full env: %+v %v %v", e, ok, err)
	}
}

// TestEndpointsEnvRoundTrip: what `beyond sim` prints is what the lab reads.
func TestEndpointsEnvRoundTrip(t *testing.T) {
	want := Endpoints{Run: "127.0.0.1:1", Compute: "http://127.0.0.1:2", ServiceUsage: "127.0.0.1:3",
		ArtifactRegistry: "127.0.0.1:4", Registry: "127.0.0.1:5", Gemini: "http://127.0.0.1:6", Metadata: "127.0.0.1:7"}
	lines := want.Env()
	if len(lines) != 7 {
		t.Fatalf("Env() = %q; want 7 lines", lines)
	}
	env := map[string]string{}
	for _, l := range lines {
		k, v, _ := strings.Cut(l, "=")
		if !strings.HasPrefix(k, "BEYOND_") || !strings.HasSuffix(k, "_ENDPOINT") {
			t.Errorf("line %q is not BEYOND_*_ENDPOINT=VALUE", l)
		}
		env[k] = v
	}
	got, ok, err := EndpointsFromEnv(func(k string) string { return env[k] })
	if !ok || err != nil || got != want {
		t.Errorf("read back %+v %v %v; want %+v", got, ok, err, want)
	}
	if got := (Endpoints{Run: "h:1"}).Env(); len(got) != 1 || got[0] != "BEYOND_RUN_ENDPOINT=h:1" {
		t.Errorf("Env of one endpoint = %q", got)
	}
	if !(Endpoints{}).IsZero() || want.IsZero() {
		t.Error("IsZero is wrong")
	}
}

func TestNameRules(t *testing.T) {
	cases := []struct {
		rule  NameRule
		name  string
		valid bool
	}{
		{ProjectID, "beyond-lab", true},
		{ProjectID, "short", false},
		{ProjectID, "Bad_Project", false},
		{ProjectID, "ends-with-", false},
		{ProjectID, strings.Repeat("a", 30), true},
		{ProjectID, strings.Repeat("a", 31), false},
		{ComputeName, "neg-us-central1", true},
		{ComputeName, "a", true},
		{ComputeName, "1neg", false},
		{ComputeName, strings.Repeat("a", 63), true},
		{ComputeName, strings.Repeat("a", 64), false},
		{ServiceName, "gemini-service", true},
		{ServiceName, strings.Repeat("a", 49), true},
		{ServiceName, strings.Repeat("a", 50), false},
		{ServiceName, "Hello_World", false},
		{RepositoryID, "beyond", true},
		{RepositoryID, strings.Repeat("a", 63), true},
		{RepositoryID, strings.Repeat("a", 64), false},
		{RepositoryID, "-x", false},
	}
	for _, c := range cases {
		if got := c.rule.Valid(c.name); got != c.valid {
			t.Errorf("%s: Valid(%q) = %v; want %v", c.rule.rule, c.name, got, c.valid)
		}
		if err := c.rule.Check(c.name); (err == nil) != c.valid || (err != nil && err.Error() != c.rule.rule) {
			t.Errorf("Check(%q) = %v", c.name, err)
		}
	}
}

func TestRegions(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Regions {
		if seen[r] {
			t.Errorf("%s is listed twice", r)
		}
		seen[r] = true
	}
	for _, r := range []string{"us-central1", "europe-west1", "asia-east1", "europe-north2", "northamerica-south1"} {
		if !IsRegion(r) {
			t.Errorf("IsRegion(%q) = false", r)
		}
	}
	if IsRegion("mars-north1") || IsRegion("") || IsRegion("us") {
		t.Error("IsRegion accepts what is not a region")
	}
}

func TestOutage(t *testing.T) {
	for _, v := range []string{"1", "true", "TRUE", " True "} {
		if !Outage(v) {
			t.Errorf("Outage(%q) = false", v)
		}
	}
	for _, v := range []string{"", "0", "false", "yes"} {
		if Outage(v) {
			t.Errorf("Outage(%q) = true", v)
		}
	}
}

func TestAPITitle(t *testing.T) {
	if got := APITitle(APIRun); got != "Cloud Run Admin API" {
		t.Errorf("APITitle(%s) = %q", APIRun, got)
	}
	if got := APITitle("secretmanager.googleapis.com"); got != "secretmanager.googleapis.com" {
		t.Errorf("APITitle of an API the lab does not know = %q, want its name", got)
	}
}
