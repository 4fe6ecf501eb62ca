package steps

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Saved is the progress of one project, kept between runs. It holds no
// secret: step states and public facts such as the global IP.
type Saved struct {
	Target  string                `json:"target"` // "google" or "simulator"
	Project string                `json:"project"`
	Steps   map[string]SavedState `json:"steps"`
	Outputs Outputs               `json:"outputs"`
	Updated time.Time             `json:"updated"`
}

// Outputs are the facts steps learn and later steps use. They are saved
// with progress, and never hold a secret.
type Outputs struct {
	GlobalIP    string `json:"global_ip,omitempty"`    // the forwarding rule's address
	GlobalURL   string `json:"global_url,omitempty"`   // where the global IP answers from here
	Image       string `json:"image,omitempty"`        // the image the lab pushed, by digest
	BreakMethod string `json:"break_method,omitempty"` // how region A was broken: methodOutage or methodDetach
	NearRegion  string `json:"near_region,omitempty"`  // the region that answered the curl step: the one nearest the learner, which the lab breaks
	// ServingImage is the image region A served when the workshop's broken
	// update replaced it in the service's template: what restore puts back.
	ServingImage string `json:"serving_image,omitempty"`
	// ModelPlacement is where each region's service calls the model, as
	// confirm-ai decided from Google's answers.
	ModelPlacement *ModelPlacement `json:"model_placement,omitempty"`
	HTTPSURL       string          `json:"https_url,omitempty"` // https://api.DOMAIN once HTTP redirects to it (Part 5): what the probes use then
}

// SavedState is one step's saved state.
type SavedState struct {
	Status Status    `json:"status"`
	At     time.Time `json:"at"`
	By     By        `json:"by,omitempty"` // who did a passed step; empty in files saved before typing mode
}

// Store keeps saved progress in a directory, one file per target and project.
type Store struct {
	Dir string
}

// DefaultStateDir is where progress is saved: $BEYOND_STATE_DIR, else
// $XDG_STATE_HOME/beyond, else ~/.local/state/beyond.
func DefaultStateDir(getenv func(string) string) (string, error) {
	if d := getenv("BEYOND_STATE_DIR"); d != "" {
		return d, nil
	}
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "beyond"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find a directory to save progress in: %w (set BEYOND_STATE_DIR)", err)
	}
	return filepath.Join(home, ".local", "state", "beyond"), nil
}

func (s Store) path(target, project string) string {
	return filepath.Join(s.Dir, target+"-"+project+".json")
}

// Load reads saved progress; a missing file is empty progress.
func (s Store) Load(target, project string) (Saved, error) {
	saved := Saved{Target: target, Project: project, Steps: map[string]SavedState{}}
	if s.Dir == "" {
		return saved, nil
	}
	data, err := os.ReadFile(s.path(target, project))
	if errors.Is(err, fs.ErrNotExist) {
		return saved, nil
	}
	if err != nil {
		return saved, fmt.Errorf("read saved progress: %w", err)
	}
	if err := json.Unmarshal(data, &saved); err != nil {
		return Saved{Target: target, Project: project, Steps: map[string]SavedState{}},
			fmt.Errorf("saved progress in %s is damaged (%v): delete the file to start afresh", s.path(target, project), err)
	}
	if saved.Steps == nil {
		saved.Steps = map[string]SavedState{}
	}
	return saved, nil
}

// Save writes progress atomically, readable by the user alone.
func (s Store) Save(saved Saved) error {
	if s.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("save progress: %w", err)
	}
	saved.Updated = time.Now().UTC()
	data, err := json.MarshalIndent(saved, "", "  ")
	if err != nil {
		return fmt.Errorf("save progress: %w", err)
	}
	tmp, err := os.CreateTemp(s.Dir, ".progress-*")
	if err != nil {
		return fmt.Errorf("save progress: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save progress: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save progress: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save progress: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path(saved.Target, saved.Project)); err != nil {
		return fmt.Errorf("save progress: %w", err)
	}
	return nil
}

// Forget deletes saved progress.
func (s Store) Forget(target, project string) error {
	if s.Dir == "" {
		return nil
	}
	err := os.Remove(s.path(target, project))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
