package export

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// TerraformDir is where the configuration goes by default.
const TerraformDir = "beyond-terraform"

// ReportFile is the report's default name.
const ReportFile = "report.md"

// WriteTerraform writes the configuration's files into dir, creating it,
// and returns their paths.
func WriteTerraform(dir string, l *Lab) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write the Terraform configuration: %w", err)
	}
	files := Terraform(l)
	var paths []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return paths, fmt.Errorf("write the Terraform configuration: %w", err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// WriteScript writes the script to path, executable.
func WriteScript(path string, l *Lab) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write the script: %w", err)
	}
	if err := os.WriteFile(path, Script(l), 0o755); err != nil {
		return fmt.Errorf("write the script: %w", err)
	}
	return os.Chmod(path, 0o755)
}

// WriteReport writes the report to path and, when the run measured a
// failover, its chart beside it (ChartFile). It returns the paths written.
func WriteReport(path string, run Run) ([]string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("write the report: %w", err)
	}
	chart := ""
	var paths []string
	if len(run.Record.Samples) > 0 {
		chart = ChartFile
		cp := filepath.Join(filepath.Dir(path), ChartFile)
		if err := os.WriteFile(cp, Chart(run.Record, run.Vars), 0o644); err != nil {
			return nil, fmt.Errorf("write the failover chart: %w", err)
		}
		paths = append(paths, cp)
	}
	if err := os.WriteFile(path, Report(run, chart), 0o644); err != nil {
		return paths, fmt.Errorf("write the report: %w", err)
	}
	return append([]string{path}, paths...), nil
}
