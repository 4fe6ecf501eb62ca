package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEmbeddedSimIsPublished: the embedded simulator is published for a
// second terminal in the background (so that the guide's first frame does
// not wait for it); Warning waits for it, and close removes what it wrote.
func TestEmbeddedSimIsPublished(t *testing.T) {
	dir := t.TempDir()
	tg, err := connectEmbedded(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if w := tg.Warning(); w != "" {
		t.Errorf("Warning() = %q, want none", w)
	}
	published := filepath.Join(dir, simFileName)
	if b, err := os.ReadFile(published); err != nil || !strings.Contains(string(b), "BEYOND_RUN_ENDPOINT=") {
		t.Errorf("after Warning, %s = %q, %v; want the simulator's endpoints", published, b, err)
	}
	tg.close()
	if _, err := os.Stat(published); !os.IsNotExist(err) {
		t.Errorf("%s still exists after close (%v)", published, err)
	}
}

// TestEmbeddedSimUnpublishable: gcloud's configuration that cannot be
// written does not stop the lab; Warning says what a second terminal loses.
func TestEmbeddedSimUnpublishable(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gcloud"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tg, err := connectEmbedded(t, dir)
	if err != nil {
		t.Fatalf("connect with no room for gcloud's configuration: %v; want the lab to go on", err)
	}
	defer tg.close()
	if w := tg.Warning(); !strings.Contains(w, "beyond sim env") {
		t.Errorf("Warning() = %q, want what a second terminal cannot do", w)
	}
}

// connectEmbedded connects to an embedded simulator with its state in dir.
func connectEmbedded(t *testing.T, dir string) (*target, error) {
	t.Helper()
	cfg := newConfig(func(k string) string {
		if k == "BEYOND_STATE_DIR" {
			return dir
		}
		return ""
	})
	cfg.profile = "instant"
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	return cfg.connect(context.Background())
}
