package sim

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/run/apiv2/runpb"
)

// TestHostCarriesEverything runs the lab's chain on a simulator on
// 127.0.0.2, as `beyond sim --addr 127.0.0.2` does: every endpoint, every
// service's URL and every forwarding rule's global IP is on 127.0.0.2, and
// the load balancer answers there.
func TestHostCarriesEverything(t *testing.T) {
	const host = "127.0.0.2"
	if lis, err := net.Listen("tcp", host+":0"); err != nil {
		t.Skipf("this host cannot bind %s (macOS has only 127.0.0.1): %v", host, err)
	} else {
		lis.Close()
	}
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED", sim: Options{Host: host}})
	s := l.s
	e := s.Endpoints()
	for name, addr := range map[string]string{"Run": e.Run, "Compute": e.Compute, "Registry": e.Registry, "Gemini": e.Gemini, "Metadata": e.Metadata} {
		if !strings.Contains(addr, host+":") {
			t.Errorf("endpoint %s = %q, want it on %s", name, addr, host)
		}
	}
	for region, svc := range l.services {
		url, ok := s.ServiceURL(testProject, region, labService)
		if !ok || !strings.HasPrefix(url, "http://"+host+":") {
			t.Errorf("ServiceURL(%s) = %q, %v; want http://%s:PORT", region, url, ok, host)
		}
		read, err := l.rc.GetService(dpCtx(t), &runpb.GetServiceRequest{Name: svc.GetName()})
		if err != nil || read.GetUri() != url {
			t.Errorf("GetService(%s).uri = %q, %v; want %q", region, read.GetUri(), err, url)
		}
		if a := dpGet(t, url+"/?format=json", ""); a.status != http.StatusOK || a.region != region {
			t.Errorf("%s through its URL: %d from %q; want 200 from %s", region, a.status, a.region, region)
		}
	}
	if l.ip != host {
		t.Errorf("forwarding rule IPAddress = %q, want %s (the simulator's host)", l.ip, host)
	}
	if h, _, err := net.SplitHostPort(l.addr); err != nil || h != host {
		t.Errorf("load balancer listens on %q, want %s:PORT", l.addr, host)
	}
	if a := dpGet(t, "http://"+l.addr+"/?format=json", ""); a.status != http.StatusOK || a.region != labRegionA {
		t.Errorf("global IP answered %d from %q; want 200 from %s", a.status, a.region, labRegionA)
	}

	// A second rule of the project on the same port would share host:80:
	// refused as in use, naming the way out.
	op, err := insertRule(dpCtx(t), l.c, "web-rule-2", "EXTERNAL_MANAGED", proxyURL)
	if err == nil {
		err = op.Wait(dpCtx(t))
	}
	if err == nil || !strings.Contains(err.Error(), "in-use") {
		t.Errorf("second rule on %s:80: %v; want in-use", host, err)
	}
}
