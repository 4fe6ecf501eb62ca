package steps

import (
	"context"
	"fmt"

	"github.com/beyond-lab/beyond/gcp"
)

// What this half of Part 5 leaves in the cloud, each list in the order it
// must be deleted.

// deletes is a Resource's del for a Cloud method that deletes by name.
func deletes(del func(*gcp.Cloud, context.Context, string, gcp.Progress) (bool, error), name string) func(context.Context, *Session) (bool, error) {
	return func(ctx context.Context, s *Session) (bool, error) { return del(s.Cloud, ctx, name, s.Progress) }
}

// reads is a Resource's get for a Cloud method that reads by name.
func reads[T any](get func(*gcp.Cloud, context.Context, string) (T, error), name string) func(context.Context, *Session) error {
	return func(ctx context.Context, s *Session) error {
		_, err := get(s.Cloud, ctx, name)
		return err
	}
}

func createsAddress(v Vars) []Resource {
	return []Resource{{
		Kind: "static address", Name: v.Address, Where: "global", Cost: "charged by the hour", last: true,
		gcloud: "gcloud compute addresses delete " + v.Address + " --global --quiet",
		del:    deletes((*gcp.Cloud).DeleteAddress, v.Address),
		get:    reads((*gcp.Cloud).GetAddress, v.Address),
	}}
}

func createsZone(v Vars) []Resource {
	host := "api." + v.Domain + "."
	if v.Domain == "" {
		host = "api." + v.Project + simDomainTLD + "."
	}
	return []Resource{createsRecord(v, host, "A"), {
		Kind: "DNS zone", Name: v.DNSZone, Where: "global", Cost: "charged by the month",
		gcloud: "gcloud dns managed-zones delete " + v.DNSZone + " --quiet",
		del:    deletes((*gcp.Cloud).DeleteZone, v.DNSZone),
		get:    reads((*gcp.Cloud).GetZone, v.DNSZone),
	}}
}

// createsRecord is a record set of the lab's zone.
func createsRecord(v Vars, name, typ string) Resource {
	return Resource{
		Kind: "DNS record " + typ, Name: name, Where: v.DNSZone,
		gcloud: fmt.Sprintf("gcloud dns record-sets delete %s --zone=%s --type=%s --quiet", name, v.DNSZone, typ),
		del: func(ctx context.Context, s *Session) (bool, error) {
			return s.Cloud.DeleteRecord(ctx, v.DNSZone, name, typ, s.Progress)
		},
		get: func(ctx context.Context, s *Session) error {
			_, err := s.Cloud.GetRecord(ctx, v.DNSZone, name, typ)
			return err
		},
	}
}

func createsCertificate(v Vars) []Resource {
	host := "api." + v.Domain
	if v.Domain == "" {
		host = "api." + v.Project + simDomainTLD
	}
	auth := dnsAuthName(v)
	return []Resource{{
		Kind: "certificate", Name: v.CertName, Where: "global", Cost: "charged by the month beyond the free ones",
		gcloud: "gcloud certificate-manager certificates delete " + v.CertName + " --quiet",
		del:    deletes((*gcp.Cloud).DeleteCertificate, v.CertName),
		get:    reads((*gcp.Cloud).GetCertificate, v.CertName),
	}, {
		Kind: "DNS authorization", Name: auth, Where: "global",
		gcloud: "gcloud certificate-manager dns-authorizations delete " + auth + " --quiet",
		del:    deletes((*gcp.Cloud).DeleteDNSAuthorization, auth),
		get:    reads((*gcp.Cloud).GetDNSAuthorization, auth),
	}, createsRecord(v, "_acme-challenge."+host+".", "CNAME")}
}

func createsCertificateMap(v Vars) []Resource {
	entry := certEntryName(v)
	return []Resource{{
		Kind: "certificate map entry", Name: entry, Where: v.CertMap,
		gcloud: "gcloud certificate-manager maps entries delete " + entry + " --map=" + v.CertMap + " --quiet",
		del: func(ctx context.Context, s *Session) (bool, error) {
			return s.Cloud.DeleteCertificateMapEntry(ctx, v.CertMap, entry, s.Progress)
		},
		get: func(ctx context.Context, s *Session) error {
			_, err := s.Cloud.GetCertificateMapEntry(ctx, v.CertMap, entry)
			return err
		},
	}, {
		Kind: "certificate map", Name: v.CertMap, Where: "global",
		gcloud: "gcloud certificate-manager maps delete " + v.CertMap + " --quiet",
		del:    deletes((*gcp.Cloud).DeleteCertificateMap, v.CertMap),
		get:    reads((*gcp.Cloud).GetCertificateMap, v.CertMap),
	}}
}

func createsHTTPSFrontend(v Vars) []Resource {
	return []Resource{{
		Kind: "forwarding rule", Name: v.HTTPSRule, Where: "global", Cost: "charged by the hour",
		gcloud: "gcloud compute forwarding-rules delete " + v.HTTPSRule + " --global --quiet",
		del:    deletes((*gcp.Cloud).DeleteForwardingRule, v.HTTPSRule),
		get:    reads((*gcp.Cloud).GetForwardingRule, v.HTTPSRule),
	}, {
		Kind: "target HTTPS proxy", Name: v.HTTPSProxy, Where: "global",
		gcloud: "gcloud compute target-https-proxies delete " + v.HTTPSProxy + " --quiet",
		del:    deletes((*gcp.Cloud).DeleteTargetHTTPSProxy, v.HTTPSProxy),
		get:    reads((*gcp.Cloud).GetTargetHTTPSProxy, v.HTTPSProxy),
	}}
}

// createsRedirect: the redirect map, which the HTTP proxy uses; deleting
// it first points the proxy back at the lab's URL map.
func createsRedirect(v Vars) []Resource {
	return []Resource{{
		Kind: "URL map", Name: v.RedirectMap, Where: "global",
		gcloud: fmt.Sprintf("gcloud compute target-http-proxies update %s --url-map=%s\ngcloud compute url-maps delete %s --quiet", v.Proxy, v.URLMap, v.RedirectMap),
		del: func(ctx context.Context, s *Session) (bool, error) {
			p, err := s.Cloud.GetTargetHTTPProxy(ctx, v.Proxy)
			if err == nil && gcp.SameResource(p.GetUrlMap(), s.Cloud.GlobalURL("urlMaps", v.RedirectMap)) {
				if err := s.Cloud.SetURLMap(ctx, v.Proxy, v.URLMap, s.Progress); err != nil {
					return false, err
				}
			} else if err != nil && !gcp.IsNotFound(err) {
				return false, err
			}
			s.Outputs.HTTPSURL = "" // plain HTTP serves again
			return s.Cloud.DeleteURLMap(ctx, v.RedirectMap, s.Progress)
		},
		get: func(ctx context.Context, s *Session) error {
			_, err := s.Cloud.GetURLMap(ctx, v.RedirectMap)
			return err
		},
	}}
}

// noteHTTPS notes, read-only, whether plain HTTP redirects to HTTPS (the
// HTTP proxy uses the redirect map), as the redirect step would have: the
// probes of the global IP then go to https://api.DOMAIN.
func (s *Session) noteHTTPS(ctx context.Context) {
	s.httpsNoted = true
	if s.domain() == "" {
		return
	}
	p, err := s.Cloud.GetTargetHTTPProxy(ctx, s.Vars.Proxy)
	switch {
	case err == nil && redirectsToHTTPS(s, p):
		s.useHTTPS()
	case err == nil:
		s.Outputs.HTTPSURL = "" // saved from a lab that redirected; this one does not (yet, or any more)
	}
}

// useHTTPS notes that plain HTTP redirects to HTTPS, as read from the cloud
// by this session: the probes of the global IP go to https://api.DOMAIN.
func (s *Session) useHTTPS() {
	s.Outputs.HTTPSURL = "https://" + s.apiHost()
	s.httpsNoted = true
}
