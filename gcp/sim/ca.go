package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// The simulator's certificate authority: it stands in for Google Trust
// Services (pki.goog), which issues Google-managed certificates. Its root is
// new for every simulator, so nothing it signs is trusted outside it; the
// lab trusts it for the simulator only, and `beyond sim` writes it to the
// state directory for `curl --cacert`.
type simCA struct {
	once sync.Once
	err  error
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte

	mu     sync.Mutex
	leaves map[string]*tls.Certificate // by certificate name and its domains
}

// caIssuer is the name certificates carry, and CAA records must allow.
const caIssuer = "pki.goog"

func (ca *simCA) init() error {
	ca.once.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			ca.err = err
			return
		}
		now := time.Now()
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{Organization: []string{"beyond simulator"}, CommonName: "beyond simulator CA (stands in for " + caIssuer + ")"},
			NotBefore:             now.Add(-time.Hour),
			NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			ca.err = err
			return
		}
		if ca.cert, err = x509.ParseCertificate(der); err != nil {
			ca.err = err
			return
		}
		ca.key = key
		ca.pem = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		ca.leaves = map[string]*tls.Certificate{}
	})
	return ca.err
}

// CACertPEM is the simulator CA's certificate, PEM-encoded: trust it to
// verify what the simulator's load balancers serve over HTTPS.
func (s *Sim) CACertPEM() ([]byte, error) {
	if err := s.ca.init(); err != nil {
		return nil, fmt.Errorf("simulator CA: %w", err)
	}
	return s.ca.pem, nil
}

// leaf returns the key pair the CA issued for a certificate (named name)
// covering domains, issuing it on first use.
func (ca *simCA) leaf(name string, domains []string) (*tls.Certificate, error) {
	if err := ca.init(); err != nil {
		return nil, err
	}
	domains = slices.Sorted(slices.Values(domains))
	id := name + "|" + strings.Join(domains, ",")
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c := ca.leaves[id]; c != nil {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: domains[0]},
		DNSNames:     domains,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(90 * 24 * time.Hour), // Google-managed certificates last 90 days
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key, Leaf: leaf}
	ca.leaves[id] = c
	return c, nil
}

// serveCA serves, beside the Compute API, GET /beyond/v1/ca: the CA's
// certificate (PEM), for a lab that reached the simulator over the network.
func (s *Sim) serveCA(w http.ResponseWriter, r *http.Request) {
	b, err := s.CACertPEM()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(b)
}
