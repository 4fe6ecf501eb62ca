package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStoreSavesPrivatelyAndLoadsBack(t *testing.T) {
	st := Store{Dir: filepath.Join(t.TempDir(), "state")}
	saved, err := st.Load("simulator", "p-123456")
	if err != nil || len(saved.Steps) != 0 {
		t.Fatalf("empty load: %+v %v", saved, err)
	}
	saved.Steps[NEGA] = SavedState{Status: StatusPassed}
	saved.Outputs.GlobalIP = "127.20.0.1"
	if err := st.Save(saved); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(st.Dir, "simulator-p-123456.json"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("progress file mode %v, want 0600", info.Mode().Perm())
	}
	back, err := st.Load("simulator", "p-123456")
	if err != nil || back.Steps[NEGA].Status != StatusPassed || back.Outputs.GlobalIP != "127.20.0.1" {
		t.Errorf("loaded %+v %v", back, err)
	}
}

func TestStoreExplainsDamagedFile(t *testing.T) {
	st := Store{Dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(st.Dir, "google-p-123456.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	saved, err := st.Load("google", "p-123456")
	if err == nil || !strings.Contains(err.Error(), "delete the file") {
		t.Errorf("damaged file: %v", err)
	}
	if saved.Steps == nil {
		t.Error("a damaged file must still give usable empty progress")
	}
}
