package gcp

import (
	"context"
	"fmt"
	"strings"

	"github.com/beyond-lab/beyond/lab"
	dns "google.golang.org/api/dns/v1"
)

// Cloud DNS v1, through google.golang.org/api/dns/v1.

const (
	dnsAPI       = lab.APIDNS
	roleDNSAdmin = "roles/dns.admin"
)

func (c *Cloud) dnsRead(ctx context.Context, method, what string, get func(context.Context) error) error {
	err := c.call(ctx, method, read, nil, get)
	return c.explain(err, what, dnsAPI, "roles/dns.reader")
}

// dnsMemo is dnsRead for a read that answers a value, once per Snapshot.
func dnsMemo[T any](ctx context.Context, c *Cloud, method, what string, get func(context.Context) (T, error)) (T, error) {
	return readOnce(ctx, c, method, what, dnsAPI, "roles/dns.reader", get)
}

// GetZone reads a managed zone.
func (c *Cloud) GetZone(ctx context.Context, name string) (*dns.ManagedZone, error) {
	return dnsMemo(ctx, c, "dns.managedZones.get", "read DNS zone "+name, func(ctx context.Context) (*dns.ManagedZone, error) {
		return c.dns.ManagedZones.Get(c.Project, name).Context(ctx).Do()
	})
}

// CreateZone creates a public managed zone for dnsName (with its final dot).
func (c *Cloud) CreateZone(ctx context.Context, name, dnsName, description string, progress Progress) (*dns.ManagedZone, error) {
	var z *dns.ManagedZone
	err := c.call(ctx, "dns.managedZones.create", create, progress, func(ctx context.Context) error {
		var err error
		z, err = c.dns.ManagedZones.Create(c.Project, &dns.ManagedZone{Name: name, DnsName: dnsName, Description: description, Visibility: "public"}).Context(ctx).Do()
		return err
	})
	return z, c.explain(err, "create DNS zone "+name, dnsAPI, roleDNSAdmin)
}

// DeleteZone deletes a managed zone; it reports whether there was one.
func (c *Cloud) DeleteZone(ctx context.Context, name string, progress Progress) (bool, error) {
	err := c.call(ctx, "dns.managedZones.delete", remove, progress, func(ctx context.Context) error {
		return c.dns.ManagedZones.Delete(c.Project, name).Context(ctx).Do()
	})
	err = c.explain(err, "delete DNS zone "+name, dnsAPI, roleDNSAdmin)
	if IsNotFound(err) {
		return false, nil
	}
	return true, err
}

// GetRecord reads the record set of a name (with its final dot) and type.
func (c *Cloud) GetRecord(ctx context.Context, zone, name, typ string) (*dns.ResourceRecordSet, error) {
	return dnsMemo(ctx, c, "dns.resourceRecordSets.get", fmt.Sprintf("read DNS record %s %s", name, typ), func(ctx context.Context) (*dns.ResourceRecordSet, error) {
		return c.dns.ResourceRecordSets.Get(c.Project, zone, name, typ).Context(ctx).Do()
	})
}

// ListRecords lists a zone's record sets.
func (c *Cloud) ListRecords(ctx context.Context, zone string) ([]*dns.ResourceRecordSet, error) {
	return dnsMemo(ctx, c, "dns.resourceRecordSets.list", "list the records of DNS zone "+zone, func(ctx context.Context) ([]*dns.ResourceRecordSet, error) {
		var out []*dns.ResourceRecordSet
		err := c.dns.ResourceRecordSets.List(c.Project, zone).Context(ctx).Pages(ctx, func(r *dns.ResourceRecordSetsListResponse) error {
			out = append(out, r.Rrsets...)
			return nil
		})
		return out, err
	})
}

// SetRecord creates a record set, or replaces the one of that name and
// type whose data differs.
func (c *Cloud) SetRecord(ctx context.Context, zone string, rr *dns.ResourceRecordSet, progress Progress) error {
	what := fmt.Sprintf("set DNS record %s %s", rr.Name, rr.Type)
	old, err := c.GetRecord(ctx, zone, rr.Name, rr.Type)
	switch {
	case IsNotFound(err):
		err = c.call(ctx, "dns.resourceRecordSets.create", create, progress, func(ctx context.Context) error {
			_, err := c.dns.ResourceRecordSets.Create(c.Project, zone, rr).Context(ctx).Do()
			return err
		})
	case err != nil:
		return err
	case strings.Join(old.Rrdatas, " ") == strings.Join(rr.Rrdatas, " "):
		return nil
	default:
		err = c.call(ctx, "dns.resourceRecordSets.patch", write, progress, func(ctx context.Context) error {
			_, err := c.dns.ResourceRecordSets.Patch(c.Project, zone, rr.Name, rr.Type, rr).Context(ctx).Do()
			return err
		})
	}
	return c.explain(err, what, dnsAPI, roleDNSAdmin)
}

// DeleteRecord deletes a record set; it reports whether there was one.
func (c *Cloud) DeleteRecord(ctx context.Context, zone, name, typ string, progress Progress) (bool, error) {
	err := c.call(ctx, "dns.resourceRecordSets.delete", remove, progress, func(ctx context.Context) error {
		_, err := c.dns.ResourceRecordSets.Delete(c.Project, zone, name, typ).Context(ctx).Do()
		return err
	})
	err = c.explain(err, fmt.Sprintf("delete DNS record %s %s", name, typ), dnsAPI, roleDNSAdmin)
	if IsNotFound(err) {
		return false, nil
	}
	return true, err
}
