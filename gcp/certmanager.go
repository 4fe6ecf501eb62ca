package gcp

import (
	"context"

	cmpb "cloud.google.com/go/certificatemanager/apiv1/certificatemanagerpb"
	"github.com/beyond-lab/beyond/lab"
	"github.com/googleapis/gax-go/v2"
)

// Certificate Manager v1, through cloud.google.com/go/certificatemanager
// (gRPC). Everything the lab makes lives in location global, which is what
// global load balancers use.

const (
	certAPI       = lab.APICertManager
	roleCertAdmin = "roles/certificatemanager.editor"
)

// CertParent is the location the lab's Certificate Manager resources live in.
func (c *Cloud) CertParent() string { return "projects/" + c.Project + "/locations/global" }

func certRead[T any](ctx context.Context, c *Cloud, method, what string, get func(context.Context) (T, error)) (T, error) {
	return readOnce(ctx, c, method, what, certAPI, "roles/certificatemanager.viewer", get)
}

// certWait waits for a started operation to end.
type certWait = func(context.Context) error

// certOp is a started create of any kind of resource, R.
type certOp[R any] interface {
	Wait(context.Context, ...gax.CallOption) (R, error)
}

// certDeleteOp is a started delete.
type certDeleteOp interface {
	Wait(context.Context, ...gax.CallOption) error
}

// created is the wait of a started create (op, or its error), whatever it
// creates: the lab needs to know that it ended, not what it answered.
func created[R any](op certOp[R], err error) (certWait, error) {
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		_, err := op.Wait(ctx)
		return err
	}, nil
}

// certCreate starts a create and waits for its operation, retried as one.
func certCreate(ctx context.Context, c *Cloud, method, what string, progress Progress, start func(context.Context) (certWait, error)) error {
	return c.certChange(ctx, method, create, what, progress, func(ctx context.Context) error {
		wait, err := start(ctx)
		if err != nil {
			return err
		}
		return wait(ctx)
	})
}

// certDelete starts a delete and waits for its operation, retried as one;
// it reports whether there was something to delete.
func certDelete(ctx context.Context, c *Cloud, method, what string, progress Progress, start func(context.Context) (certDeleteOp, error)) (bool, error) {
	err := c.certChange(ctx, method, remove, what, progress, func(ctx context.Context) error {
		op, err := start(ctx)
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
	return certCreate(ctx, c, "certificatemanager.projects.locations.dnsAuthorizations.create", "create DNS authorization "+id, progress, func(ctx context.Context) (certWait, error) {
		return created(c.certs.CreateDnsAuthorization(ctx, &cmpb.CreateDnsAuthorizationRequest{Parent: c.CertParent(), DnsAuthorizationId: id,
			DnsAuthorization: &cmpb.DnsAuthorization{Domain: domain}}))
	})
}

// DeleteDNSAuthorization deletes one; it reports whether there was one.
func (c *Cloud) DeleteDNSAuthorization(ctx context.Context, id string, progress Progress) (bool, error) {
	return certDelete(ctx, c, "certificatemanager.projects.locations.dnsAuthorizations.delete", "delete DNS authorization "+id, progress, func(ctx context.Context) (certDeleteOp, error) {
		return c.certs.DeleteDnsAuthorization(ctx, &cmpb.DeleteDnsAuthorizationRequest{Name: c.CertParent() + "/dnsAuthorizations/" + id})
	})
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
	return certCreate(ctx, c, "certificatemanager.projects.locations.certificates.create", "create certificate "+id, progress, func(ctx context.Context) (certWait, error) {
		return created(c.certs.CreateCertificate(ctx, &cmpb.CreateCertificateRequest{Parent: c.CertParent(), CertificateId: id,
			Certificate: &cmpb.Certificate{Type: &cmpb.Certificate_Managed{Managed: &cmpb.Certificate_ManagedCertificate{Domains: domains, DnsAuthorizations: names}}}}))
	})
}

// DeleteCertificate deletes one; it reports whether there was one.
func (c *Cloud) DeleteCertificate(ctx context.Context, id string, progress Progress) (bool, error) {
	return certDelete(ctx, c, "certificatemanager.projects.locations.certificates.delete", "delete certificate "+id, progress, func(ctx context.Context) (certDeleteOp, error) {
		return c.certs.DeleteCertificate(ctx, &cmpb.DeleteCertificateRequest{Name: c.CertParent() + "/certificates/" + id})
	})
}

// GetCertificateMap reads a certificate map.
func (c *Cloud) GetCertificateMap(ctx context.Context, id string) (*cmpb.CertificateMap, error) {
	return certRead(ctx, c, "certificatemanager.projects.locations.certificateMaps.get", "read certificate map "+id, func(ctx context.Context) (*cmpb.CertificateMap, error) {
		return c.certs.GetCertificateMap(ctx, &cmpb.GetCertificateMapRequest{Name: c.CertParent() + "/certificateMaps/" + id})
	})
}

// CreateCertificateMap creates an empty certificate map.
func (c *Cloud) CreateCertificateMap(ctx context.Context, id string, progress Progress) error {
	return certCreate(ctx, c, "certificatemanager.projects.locations.certificateMaps.create", "create certificate map "+id, progress, func(ctx context.Context) (certWait, error) {
		return created(c.certs.CreateCertificateMap(ctx, &cmpb.CreateCertificateMapRequest{Parent: c.CertParent(), CertificateMapId: id, CertificateMap: &cmpb.CertificateMap{}}))
	})
}

// DeleteCertificateMap deletes one; it reports whether there was one.
func (c *Cloud) DeleteCertificateMap(ctx context.Context, id string, progress Progress) (bool, error) {
	return certDelete(ctx, c, "certificatemanager.projects.locations.certificateMaps.delete", "delete certificate map "+id, progress, func(ctx context.Context) (certDeleteOp, error) {
		return c.certs.DeleteCertificateMap(ctx, &cmpb.DeleteCertificateMapRequest{Name: c.CertParent() + "/certificateMaps/" + id})
	})
}

// GetCertificateMapEntry reads an entry of a map.
func (c *Cloud) GetCertificateMapEntry(ctx context.Context, mapID, id string) (*cmpb.CertificateMapEntry, error) {
	return certRead(ctx, c, "certificatemanager.projects.locations.certificateMaps.certificateMapEntries.get", "read certificate map entry "+id, func(ctx context.Context) (*cmpb.CertificateMapEntry, error) {
		return c.certs.GetCertificateMapEntry(ctx, &cmpb.GetCertificateMapEntryRequest{Name: c.CertParent() + "/certificateMaps/" + mapID + "/certificateMapEntries/" + id})
	})
}

// CreateCertificateMapEntry serves certificate cert for hostname in a map.
func (c *Cloud) CreateCertificateMapEntry(ctx context.Context, mapID, id, hostname, cert string, progress Progress) error {
	return certCreate(ctx, c, "certificatemanager.projects.locations.certificateMaps.certificateMapEntries.create", "create certificate map entry "+id, progress, func(ctx context.Context) (certWait, error) {
		return created(c.certs.CreateCertificateMapEntry(ctx, &cmpb.CreateCertificateMapEntryRequest{Parent: c.CertParent() + "/certificateMaps/" + mapID, CertificateMapEntryId: id,
			CertificateMapEntry: &cmpb.CertificateMapEntry{Match: &cmpb.CertificateMapEntry_Hostname{Hostname: hostname}, Certificates: []string{c.CertParent() + "/certificates/" + cert}}}))
	})
}

// DeleteCertificateMapEntry deletes one; it reports whether there was one.
func (c *Cloud) DeleteCertificateMapEntry(ctx context.Context, mapID, id string, progress Progress) (bool, error) {
	return certDelete(ctx, c, "certificatemanager.projects.locations.certificateMaps.certificateMapEntries.delete", "delete certificate map entry "+id, progress, func(ctx context.Context) (certDeleteOp, error) {
		return c.certs.DeleteCertificateMapEntry(ctx, &cmpb.DeleteCertificateMapEntryRequest{Name: c.CertParent() + "/certificateMaps/" + mapID + "/certificateMapEntries/" + id})
	})
}
