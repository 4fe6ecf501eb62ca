package service

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLookupPlacement(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "Missing Metadata-Flavor:Google header.", http.StatusForbidden)
			return
		}
		w.Header().Set("Metadata-Flavor", "Google")
		switch r.URL.Path {
		case "/computeMetadata/v1/instance/region":
			w.Write([]byte("projects/123456789012/regions/europe-west1"))
		case "/computeMetadata/v1/project/project-id":
			w.Write([]byte("beyond-sim"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(srv.URL, "http://"))
	p := LookupPlacement(context.Background(), time.Second)
	if p.Err != nil || p.Region != "europe-west1" || p.ProjectID != "beyond-sim" {
		t.Errorf("got %+v", p)
	}
}

func TestLookupPlacementWithoutServer(t *testing.T) {
	// A port nobody listens on: the look-up must degrade, quickly.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	t.Setenv("GCE_METADATA_HOST", addr)
	start := time.Now()
	p := LookupPlacement(context.Background(), 500*time.Millisecond)
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("took %v; start-up must not wait long for a missing metadata server", d)
	}
	if p.Region != UnknownRegion || p.Err == nil || !strings.Contains(p.Err.Error(), "GCE_METADATA_HOST") {
		t.Errorf("got %+v; want region unknown and a reason naming GCE_METADATA_HOST", p)
	}
}

func TestParseRegion(t *testing.T) {
	for in, want := range map[string]string{
		"projects/123/regions/us-central1":    "us-central1",
		"projects/123/regions/europe-west1\n": "europe-west1",
		"us-central1":                         "",
		"projects/123/regions/":               "",
		"projects/123/zones/us-central1-a":    "",
	} {
		if got := parseRegion(in); got != want {
			t.Errorf("parseRegion(%q) = %q, want %q", in, got, want)
		}
	}
}
