package sim

import "net/http"

// computeState is one project's Compute Engine state. (stub: replaced by the Compute simulator)
type computeState struct{}

func newComputeState() *computeState { return &computeState{} }

func (s *Sim) registerCompute(mux *http.ServeMux) {}
