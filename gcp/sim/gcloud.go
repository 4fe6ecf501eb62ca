package sim

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// gcloudAPIs are the APIs whose endpoints gcloud is told to take from the
// simulator: each is overridden to http://HOST/, which gcloud sends through
// the simulator's front door (frontdoor.go) as its HTTP proxy.
var gcloudAPIs = []struct{ name, base string }{
	{"ARTIFACTREGISTRY", "http://artifactregistry.googleapis.com/"},
	{"CERTIFICATEMANAGER", "http://certificatemanager.googleapis.com/"},
	{"CLOUDRESOURCEMANAGER", "http://cloudresourcemanager.googleapis.com/"},
	{"COMPUTE", "http://compute.googleapis.com/compute/v1/"},
	{"DNS", "http://dns.googleapis.com/"},
	{"IAM", "http://iam.googleapis.com/"},
	{"RUN", "http://run.googleapis.com/"},
	{"SERVICEUSAGE", "http://serviceusage.googleapis.com/"},
}

// GcloudEnv returns the NAME=VALUE lines that point the gcloud CLI at a
// simulator whose HTTP listener (Endpoints.Compute) is compute, using the
// private configuration directory dir prepared by WriteGcloudConfig: the
// user's own gcloud settings and credentials are never read or touched.
func GcloudEnv(compute, dir string) ([]string, error) {
	u, err := url.Parse(compute)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("simulator HTTP endpoint %q is not a URL such as http://127.0.0.1:8080", compute)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return nil, fmt.Errorf("simulator HTTP endpoint %q has no port: %w", compute, err)
	}
	env := []string{
		"CLOUDSDK_CONFIG=" + dir,
		"CLOUDSDK_AUTH_ACCESS_TOKEN_FILE=" + filepath.Join(dir, gcloudTokenFile),
		"CLOUDSDK_PROXY_TYPE=http",
		"CLOUDSDK_PROXY_ADDRESS=" + host,
		"CLOUDSDK_PROXY_PORT=" + port,
		// gcloud would otherwise look for updates and send usage reports
		// through the proxy, to hosts the simulator does not serve.
		"CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=1",
		"CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=1",
	}
	for _, api := range gcloudAPIs {
		env = append(env, "CLOUDSDK_API_ENDPOINT_OVERRIDES_"+api.name+"="+api.base)
	}
	return env, nil
}

// gcloudTokenFile holds the access token gcloud sends; the simulator takes
// any token, so it is a fixed word and no secret.
const gcloudTokenFile = "simulator-token"

// WriteGcloudConfig prepares dir as gcloud's configuration directory for
// the simulator: an access token file and a default configuration whose
// project is project and whose account is the simulator's learner. It
// leaves an existing configuration as it is, so `gcloud config set` made
// by the learner survives a restart of the simulator.
func WriteGcloudConfig(dir, project string) error {
	if err := os.MkdirAll(filepath.Join(dir, "configurations"), 0o700); err != nil {
		return fmt.Errorf("gcloud configuration for the simulator: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, gcloudTokenFile), []byte("beyond-simulator\n"), 0o600); err != nil {
		return fmt.Errorf("gcloud configuration for the simulator: %w", err)
	}
	cfg := filepath.Join(dir, "configurations", "config_default")
	if _, err := os.Stat(cfg); err == nil {
		return nil
	}
	lines := []string{
		"[core]",
		"account = " + computeOpUser,
		"disable_usage_reporting = True",
	}
	if project != "" {
		lines = append(lines, "project = "+project)
	}
	lines = append(lines, "", "[component_manager]", "disable_update_check = True", "")
	if err := os.WriteFile(cfg, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		return fmt.Errorf("gcloud configuration for the simulator: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "active_config"), []byte("default"), 0o600)
}
