package gcp

import (
	"context"

	cmpb "cloud.google.com/go/certificatemanager/apiv1/certificatemanagerpb"
)

// Certificate Manager v1, through cloud.google.com/go/certificatemanager
// (gRPC). Everything the lab makes lives in location global, which is what
// global load balancers use.

const (
	certAPI       = "certificatemanager.googleapis.com"
	roleCertAdmin = "roles/certificatemanager.editor"
)

// CertParent is the location the lab's Certificate Manager resources live in.
func (c *Cloud) CertParent() string { return "projects/" + c.Project + "/locations/global" }

func certRead[T any](ctx context.Context, c *Cloud, method, what string, get func(context.Context) (T, error)) (T, error) {
	return readOnce(ctx, c, method, what, certAPI, "roles/certificatemanager.viewer", get)
}

// certChange starts a change and waits for its operation, retried as one.
func (c *Cloud) certChange(ctx context.Context, method string, kind callKind, what string, progress Progress, run func(context.Context) error) error {
	err := c.call(ctx, method, kind, progress, run)
	return c.explain(err, what, certAPI, roleCertAdmin)
}

// GetDNSAuthorization reads a DNS authorization.
func (c *Cloud) GetDNSAuthorization(ctx context.Context, id string) (*cmpb.DnsAuthorization, error) {
	return certRead(ctx, c, "certificatemanager.projects.locations.dnsAuthorizations.get", "read DNS authorization "+id, func(ctx context.Context) (*cmpb.DnsAuthorization, error) {
		return c.certs.GetDnsAuthorization(ctx, &cmpb.GetDnsAuthorizationRequest{Name: c.CertParent() + "/dnsAuthorizations/" + id})
	})
}

// CreateDNSAuthorization creates a DNS authorization for domain.
func (c *Cloud) CreateDNSAuthorization(ctx context.Context, id, domain string, progress Progress) error {
	return c.certChange(ctx, "certificatemanager.projects.locations.dnsAuthorizations.create", create, "create DNS authorization "+id, progress, func(ctx context.Context) error {
		op, err := c.certs.CreateDnsAuthorization(ctx, &cmpb.CreateDnsAuthorizationRequest{Parent: c.CertParent(), DnsAuthorizationId: id,
			DnsAuthorization: &cmpb.DnsAuthorization{Domain: domain}})
		if err != nil {
			return err
		}
		_, err = op.Wait(ctx)
		return err
	})
}

// DeleteDNSAuthorization deletes one; it reports whether there was one.
func (c *Cloud) DeleteDNSAuthorization(ctx context.Context, id string, progress Progress) (bool, error) {
	err := c.certChange(ctx, "certificatemanager.projects.locations.dnsAuthorizations.delete", remove, "delete DNS authorization "+id, progress, func(ctx context.Context) error {
		op, err := c.certs.DeleteDnsAuthorization(ctx, &cmpb.DeleteDnsAuthorizationRequest{Name: c.CertParent() + "/dnsAuthorizations/" + id})
		if err != nil {
			return err
		}
		return op.Wait(ctx)
	})
	if IsNotFound(err) {
		return false, nil
	}
	return true, err
}

// GetCertificate reads a certificate, with its state as Google reports it.
func (c *Cloud) GetCertificate(ctx context.Context, id string) (*cmpb.Certificate, error) {
	return certRead(ctx, c, "certificatemanager.projects.locations.certificates.get", "read certificate "+id, func(ctx context.Context) (*cmpb.Certificate, error) {
		return c.certs.GetCertificate(ctx, &cmpb.GetCertificateRequest{Name: c.CertParent() + "/certificates/" + id})
	})
}

// CreateManagedCertificate asks Google for a certificate for domains,
// authorized by the DNS authorizations auths (IDs).
func (c *Cloud) CreateManagedCertificate(ctx context.Context, id string, domains, auths []string, progress Progress) error {
	var names []string
	for _, a := range auths {
		names = append(names, c.CertParent()+"/dnsAuthorizations/"+a)
	}
	return c.certChange(ctx, "certificatemanager.projects.locations.certificates.create", create, "create certificate "+id, progress, func(ctx context.Context) error {
		op, err := c.certs.CreateCertificate(ctx, &cmpb.CreateCertificateRequest{Parent: c.CertParent(), CertificateId: id,
			Certificate: &cmpb.Certificate{Type: &cmpb.Certificate_Managed{Managed: &cmpb.Certificate_ManagedCertificate{Domains: domains, DnsAuthorizations: names}}}})
		if err != nil {
			return err
		}
		_, err = op.Wait(ctx)
		return err
	})
}

// DeleteCertificate deletes one; it reports whether there was one.
func (c *Cloud) DeleteCertificate(ctx context.Context, id string, progress Progress) (bool, error) {
	err := c.certChange(ctx, "certificatemanager.projects.locations.certificates.delete", remove, "delete certificate "+id, progress, func(ctx context.Context) error {
		op, err := c.certs.DeleteCertificate(ctx, &cmpb.DeleteCertificateRequest{Name: c.CertParent() + "/certificates/" + id})
		if err != nil {
			return err
		}
		return op.Wait(ctx)
	})
	if IsNotFound(err) {
		return false, nil
	}
	return true, err
}

// GetCertificateMap reads a certificate map.
func (c *Cloud) GetCertificateMap(ctx context.Context, id string) (*cmpb.CertificateMap, error) {
	return certRead(ctx, c, "certificatemanager.projects.locations.certificateMaps.get", "read certificate map "+id, func(ctx context.Context) (*cmpb.CertificateMap, error) {
		return c.certs.GetCertificateMap(ctx, &cmpb.GetCertificateMapRequest{Name: c.CertParent() + "/certificateMaps/" + id})
	})
}

// CreateCertificateMap creates an empty certificate map.
func (c *Cloud) CreateCertificateMap(ctx context.Context, id string, progress Progress) error {
	return c.certChange(ctx, "certificatemanager.projects.locations.certificateMaps.create", create, "create certificate map "+id, progress, func(ctx context.Context) error {
		op, err := c.certs.CreateCertificateMap(ctx, &cmpb.CreateCertificateMapRequest{Parent: c.CertParent(), CertificateMapId: id, CertificateMap: &cmpb.CertificateMap{}})
		if err != nil {
			return err
		}
		_, err = op.Wait(ctx)
		return err
	})
}

// DeleteCertificateMap deletes one; it reports whether there was one.
func (c *Cloud) DeleteCertificateMap(ctx context.Context, id string, progress Progress) (bool, error) {
	err := c.certChange(ctx, "certificatemanager.projects.locations.certificateMaps.delete", remove, "delete certificate map "+id, progress, func(ctx context.Context) error {
		op, err := c.certs.DeleteCertificateMap(ctx, &cmpb.DeleteCertificateMapRequest{Name: c.CertParent() + "/certificateMaps/" + id})
		if err != nil {
			return err
		}
		return op.Wait(ctx)
	})
	if IsNotFound(err) {
		return false, nil
	}
	return true, err
}

// GetCertificateMapEntry reads an entry of a map.
func (c *Cloud) GetCertificateMapEntry(ctx context.Context, mapID, id string) (*cmpb.CertificateMapEntry, error) {
	return certRead(ctx, c, "certificatemanager.projects.locations.certificateMaps.certificateMapEntries.get", "read certificate map entry "+id, func(ctx context.Context) (*cmpb.CertificateMapEntry, error) {
		return c.certs.GetCertificateMapEntry(ctx, &cmpb.GetCertificateMapEntryRequest{Name: c.CertParent() + "/certificateMaps/" + mapID + "/certificateMapEntries/" + id})
	})
}

// CreateCertificateMapEntry serves certificate cert for hostname in a map.
func (c *Cloud) CreateCertificateMapEntry(ctx context.Context, mapID, id, hostname, cert string, progress Progress) error {
	return c.certChange(ctx, "certificatemanager.projects.locations.certificateMaps.certificateMapEntries.create", create, "create certificate map entry "+id, progress, func(ctx context.Context) error {
		op, err := c.certs.CreateCertificateMapEntry(ctx, &cmpb.CreateCertificateMapEntryRequest{Parent: c.CertParent() + "/certificateMaps/" + mapID, CertificateMapEntryId: id,
			CertificateMapEntry: &cmpb.CertificateMapEntry{Match: &cmpb.CertificateMapEntry_Hostname{Hostname: hostname}, Certificates: []string{c.CertParent() + "/certificates/" + cert}}})
		if err != nil {
			return err
		}
		_, err = op.Wait(ctx)
		return err
	})
}

// DeleteCertificateMapEntry deletes one; it reports whether there was one.
func (c *Cloud) DeleteCertificateMapEntry(ctx context.Context, mapID, id string, progress Progress) (bool, error) {
	err := c.certChange(ctx, "certificatemanager.projects.locations.certificateMaps.certificateMapEntries.delete", remove, "delete certificate map entry "+id, progress, func(ctx context.Context) error {
		op, err := c.certs.DeleteCertificateMapEntry(ctx, &cmpb.DeleteCertificateMapEntryRequest{Name: c.CertParent() + "/certificateMaps/" + mapID + "/certificateMapEntries/" + id})
		if err != nil {
			return err
		}
		return op.Wait(ctx)
	})
	if IsNotFound(err) {
		return false, nil
	}
	return true, err
}
