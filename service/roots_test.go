package service

import "testing"

// TestFallbackRootsOnce: the simulator runs several services in one process,
// and x509.SetFallbackRoots panics when called twice.
func TestFallbackRootsOnce(t *testing.T) {
	useFallbackRoots()
	useFallbackRoots()
}
