package sim

// registryImage reports whether ref names an image pushed to the simulator's
// own registry, and its digest. (stub: replaced by the registry's owner)
func (s *Sim) registryImage(ref string) (digest string, ok bool) { return "", false }
