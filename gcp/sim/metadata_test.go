package sim

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/metadata"

	"github.com/beyond-lab/beyond/service"
)

func mdGet(t *testing.T, host, path string, flavor bool) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+host+path, nil)
	if flavor {
		req.Header.Set("Metadata-Flavor", "Google")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestMetadataDefaultServer(t *testing.T) {
	s := startSim(t, Options{})
	host := s.Endpoints().Metadata
	if host == "" {
		t.Fatal("Endpoints().Metadata is empty")
	}
	s.mu.Lock()
	p, err := s.projectLocked(DefaultMetadataProject)
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	num := strconv.FormatInt(p.number, 10)

	// Through Google's own metadata client, as the service reads it.
	t.Setenv("GCE_METADATA_HOST", host)
	c := metadata.NewWithOptions(&metadata.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for path, want := range map[string]string{
		"instance/region":            "projects/" + num + "/regions/us-central1",
		"instance/zone":              "projects/" + num + "/zones/us-central1-1",
		"project/project-id":         DefaultMetadataProject,
		"project/numeric-project-id": num,
	} {
		got, err := c.GetWithContext(ctx, path)
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", path, got, err, want)
		}
	}
	id, err := c.InstanceIDWithContext(ctx)
	if err != nil || len(id) != 64 {
		t.Errorf("instance/id = %q, %v", id, err)
	}
	if _, err := c.GetWithContext(ctx, "instance/nothing-here"); err == nil {
		t.Error("unknown path answered")
	}
	// And through the service's start-up look-up.
	if pl := service.LookupPlacement(ctx, time.Second); pl.Region != "us-central1" || pl.ProjectID != DefaultMetadataProject || pl.Err != nil {
		t.Errorf("LookupPlacement = %+v", pl)
	}
}

func TestMetadataNeedsFlavorHeader(t *testing.T) {
	s := startSim(t, Options{})
	host := s.Endpoints().Metadata
	code, h, body := mdGet(t, host, "/computeMetadata/v1/instance/region", false)
	if code != http.StatusForbidden || h.Get("Metadata-Flavor") != "Google" || !strings.Contains(body, "Metadata-Flavor") {
		t.Errorf("without the header: %d %q %v; want 403 like GCE", code, body, h)
	}
	code, h, _ = mdGet(t, host, "/computeMetadata/v1/instance/region", true)
	if code != http.StatusOK || h.Get("Metadata-Flavor") != "Google" {
		t.Errorf("with the header: %d %v", code, h)
	}
	// The root answers the "am I on Google Cloud" probe without the header.
	if code, h, _ := mdGet(t, host, "/", false); code != http.StatusOK || h.Get("Metadata-Flavor") != "Google" {
		t.Errorf("root probe: %d %v", code, h)
	}
}

func TestMetadataPerRegion(t *testing.T) {
	s := startSim(t, Options{})
	a, err := s.metadataHost(testProject, "us-central1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.metadataHost(testProject, "europe-west1")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.metadataHost(testProject, "us-central1")
	if a == b || a != again {
		t.Errorf("hosts %s, %s, %s: want one per region, reused", a, b, again)
	}
	_, _, body := mdGet(t, b, "/computeMetadata/v1/instance/region", true)
	if !strings.HasSuffix(body, "/regions/europe-west1") || !strings.HasPrefix(body, "projects/") {
		t.Errorf("europe-west1 server says %q", body)
	}
	_, _, body = mdGet(t, b, "/computeMetadata/v1/project/project-id", true)
	if body != testProject {
		t.Errorf("project-id %q", body)
	}
	for _, bad := range [][2]string{{testProject, "mars"}, {testProject, ""}, {"Bad_Project", "us-central1"}} {
		if _, err := s.metadataHost(bad[0], bad[1]); err == nil {
			t.Errorf("metadataHost(%q, %q) succeeded", bad[0], bad[1])
		}
	}
	s.Close()
	if _, err := s.metadataHost(testProject, "asia-east1"); err == nil {
		t.Error("metadataHost after Close succeeded")
	}
	if _, err := http.Get("http://" + a + "/"); err == nil {
		t.Error("a metadata server still listens after Close")
	}
}
