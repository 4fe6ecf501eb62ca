// Package content holds the lab's prose: one Markdown file per step, named
// after the step's ID, embedded in the binary so the lab runs from a single
// file with no network.
//
// Each file starts with a "# Title" line. Lines outside code blocks fit in 80
// columns, because the text is read in a terminal.
package content

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

//go:embed *.md
var files embed.FS

// The pages that are not steps: the opening text and the closing one.
const (
	Intro = "intro"
	Next  = "next"
)

// Step returns the Markdown of the step with the given ID. An ID with no
// file is an error that wraps fs.ErrNotExist.
func Step(id string) (string, error) {
	if !fs.ValidPath(id) || strings.Contains(id, "/") || id == "." {
		return "", fmt.Errorf("content: no prose for step %q: an ID is a bare name such as %q", id, "deploy-a")
	}
	b, err := files.ReadFile(id + ".md")
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("content: no prose for step %q: add content/%s.md: %w", id, id, fs.ErrNotExist)
	}
	if err != nil {
		return "", fmt.Errorf("content: read step %q: %w", id, err)
	}
	return string(b), nil
}

// Title returns the text of the step's first-line heading, or "" if the step
// has no file or its first line is not a "# " heading.
func Title(id string) string {
	s, err := Step(id)
	if err != nil {
		return ""
	}
	first, _, _ := strings.Cut(s, "\n")
	t, ok := strings.CutPrefix(strings.TrimRight(first, "\r"), "# ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(t)
}

// IDs returns the ID of every step that has prose, sorted.
func IDs() []string {
	// Glob fails only on a malformed pattern, and this one is constant.
	names, _ := fs.Glob(files, "*.md")
	ids := make([]string, len(names))
	for i, n := range names {
		ids[i] = strings.TrimSuffix(n, ".md")
	}
	slices.Sort(ids)
	return ids
}
