package steps

import "slices"

// APIs are the APIs the lab enables (the step enable-apis).
func APIs() []string { return slices.Clone(requiredAPIs) }

// ServiceRoles are the project roles the lab grants the service's own
// account (the step grant-vertex-ai), and nothing broader.
func ServiceRoles() []string { return []string{roleVertexAIUser} }
