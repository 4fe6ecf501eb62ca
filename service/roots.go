package service

import (
	"crypto/x509"
	"sync"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

var fallbackOnce sync.Once

// useFallbackRoots gives crypto/x509 Mozilla's roots, pinned by go.sum, for
// a machine with no CA file of its own (the image ships one from the same
// bundle). It does what importing golang.org/x/crypto/x509roots/fallback
// does, but when the service starts rather than in package init: parsing
// the bundle costs every start of beyond about 2 ms, and only the service
// needs it. The roots are used only where the system has none.
func useFallbackRoots() {
	fallbackOnce.Do(func() {
		p := x509.NewCertPool()
		for c := range bundle.Roots() {
			cert, err := x509.ParseCertificate(c.Certificate)
			if err != nil {
				continue // the bundle is pinned and tested upstream: this does not happen
			}
			if c.Constraint == nil {
				p.AddCert(cert)
			} else {
				p.AddCertWithConstraint(cert, c.Constraint)
			}
		}
		x509.SetFallbackRoots(p)
	})
}
