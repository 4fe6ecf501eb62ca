package steps

import (
	"strings"
	"testing"
)

func TestValidateRefusesWhatGoogleRefuses(t *testing.T) {
	good := DefaultVars()
	good.Project = "my-project-1"
	if err := good.Validate(); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	cases := []struct {
		set  func(*Vars)
		want string
	}{
		{func(v *Vars) { v.Project = "" }, "PROJECT_ID"},
		{func(v *Vars) { v.Project = "My_Project" }, "6 to 30 lowercase"},
		{func(v *Vars) { v.Project = "short" }, "6 to 30"},
		{func(v *Vars) { v.Backend = "Global_Backend" }, "BACKEND_NAME"},
		{func(v *Vars) { v.NEGA = "neg-" }, "does not end with a hyphen"},
		{func(v *Vars) { v.NEGB = strings.Repeat("a", 64) }, "1 to 63"},
		{func(v *Vars) { v.Service = strings.Repeat("s", 50) }, "1 to 49"},
		{func(v *Vars) { v.RegionA = "us-central9" }, "not a Cloud Run region"},
		{func(v *Vars) { v.RegionB = v.RegionA }, "two different regions"},
		{func(v *Vars) { v.Image = "UPPER/case" }, "IMAGE"},
	}
	for _, c := range cases {
		v := good
		c.set(&v)
		err := v.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error with %q", v, err, c.want)
		}
	}
}

func TestVarsFromEnv(t *testing.T) {
	v := DefaultVars()
	env := map[string]string{"SERVICE_NAME": "svc", "REGION_B": "asia-east1", "FORWARDING_RULE": "ip"}
	v.FromEnv(func(k string) string { return env[k] })
	if v.Service != "svc" || v.RegionB != "asia-east1" || v.Rule != "ip" || v.RegionA != "us-central1" {
		t.Errorf("from env: %+v", v)
	}
}
