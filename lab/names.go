package lab

import (
	"errors"
	"regexp"
)

// NameRule is Google's rule for one kind of resource name.
type NameRule struct {
	pattern *regexp.Regexp
	rule    string // the rule in words, for the learner
}

// Rules for the names the lab gives its resources.
var (
	// ProjectID: 6 to 30 characters, lowercase letters, digits and hyphens,
	// starting with a letter and not ending with a hyphen.
	ProjectID = NameRule{regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`),
		"a project ID has 6 to 30 lowercase letters, digits or hyphens, starts with a letter and does not end with a hyphen"}
	// ComputeName is the rule (RFC 1035) for every Compute Engine resource.
	ComputeName = NameRule{regexp.MustCompile(`^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$`),
		"a Compute Engine name has 1 to 63 lowercase letters, digits or hyphens, starts with a letter and does not end with a hyphen"}
	// ServiceName is Cloud Run's rule for service IDs.
	ServiceName = NameRule{regexp.MustCompile(`^[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?$`),
		"a Cloud Run service name has 1 to 49 lowercase letters, digits or hyphens, starts with a letter and does not end with a hyphen"}
	// RepositoryID is Artifact Registry's rule for repository IDs.
	RepositoryID = NameRule{regexp.MustCompile(`^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$`),
		"an Artifact Registry repository ID has 1 to 63 lowercase letters, digits or hyphens, starts with a letter and does not end with a hyphen"}
	// ServiceAccountID is IAM's rule for the ID of a service account (the
	// part of its email before @).
	ServiceAccountID = NameRule{regexp.MustCompile(`^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$`),
		"a service account ID has 6 to 30 lowercase letters, digits or hyphens, starts with a letter and does not end with a hyphen"}
)

// Valid reports whether name follows the rule.
func (r NameRule) Valid(name string) bool { return r.pattern.MatchString(name) }

// Check returns nil if name follows the rule, else an error stating it.
func (r NameRule) Check(name string) error {
	if r.Valid(name) {
		return nil
	}
	return errors.New(r.rule)
}
