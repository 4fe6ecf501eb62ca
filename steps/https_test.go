package steps_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/gcp"
	"github.com/beyond-lab/beyond/gcp/sim"
	"github.com/beyond-lab/beyond/steps"
	dns "google.golang.org/api/dns/v1"
)

// The HTTPS half of Part 5 on the simulator, with its default domain (a
// reserved .example name): every step passes through the official clients,
// and the last one verifies a real TLS chain and host name from both
// regions, then the redirect.

// runTo replays the lab up to the global IP (Part 3 and 4's first step).
func runTo(t *testing.T, l *simLab, r *steps.Runner, to string) {
	t.Helper()
	if sum, err := r.Run(context.Background(), steps.Range{To: to}); err != nil || !sum.OK() {
		t.Fatalf("replay to %s: %+v %v: %v", to, sum, err, failures(l.take()))
	}
	l.take()
}

var httpsPart = steps.Range{From: steps.StaticIP, To: steps.HTTPSCheck}

func TestHTTPSPartEndsVerifiedOverHTTPS(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	r := l.runner(t)
	runTo(t, l, r, steps.GlobalIP)
	ip := r.Outputs().GlobalIP

	sum, err := r.Run(ctx, httpsPart)
	events := l.take()
	if err != nil || !sum.OK() || sum.Passed != 7 {
		t.Fatalf("HTTPS part: %+v %v: %v", sum, err, failures(events))
	}
	did := dids(events)
	if got := did[steps.StaticIP]; !strings.Contains(got, "Promoted "+ip) {
		t.Errorf("static-ip did %q; want the rule's own IP %s promoted", got, ip)
	}
	check := did[steps.HTTPSCheck]
	for _, want := range []string{"api.beyond-steps-test.example resolves to " + ip, "verified its certificate chain and host name", "from us-central1 and europe-west1", "301"} {
		if !strings.Contains(check, want) {
			t.Errorf("https-check did %q; want %q", check, want)
		}
	}
	// The part's resources exist as Google reports them.
	a, err := l.cloud.GetAddress(ctx, l.vars.Address)
	if err != nil || a.GetStatus() != "IN_USE" || len(a.GetUsers()) != 2 {
		t.Errorf("address: %v %v users %v; want IN_USE by the rules on 80 and 443", err, a.GetStatus(), a.GetUsers())
	}

	// Again, fresh: everything is adopted, and the check still holds.
	r2 := l.runner(t)
	sum, err = r2.Run(ctx, httpsPart)
	events = l.take()
	if err != nil || !sum.OK() {
		t.Fatalf("second run: %+v %v: %v", sum, err, failures(events))
	}
	for id, d := range dids(events) {
		if id == steps.HTTPSCheck || id == steps.DNSZone || id == steps.Certificate {
			continue // a check; adopts and says so in its own words
		}
		if !strings.Contains(d, "Adopted") {
			t.Errorf("second run, %s did %q; want it adopted", id, d)
		}
	}
	if d := dids(events)[steps.DNSZone]; !strings.Contains(d, "Adopted DNS zone") {
		t.Errorf("second run, dns-zone did %q", d)
	}

	// Cleanup deletes the part in dependency order and leaves nothing.
	if st, err := r2.RunStep(ctx, steps.Cleanup); err != nil || st != steps.StatusPassed {
		t.Fatalf("cleanup: %v %v: %v", st, err, failures(l.take()))
	}
	for what, err := range map[string]error{
		"address":     func() error { _, err := l.cloud.GetAddress(ctx, l.vars.Address); return err }(),
		"zone":        func() error { _, err := l.cloud.GetZone(ctx, l.vars.DNSZone); return err }(),
		"certificate": func() error { _, err := l.cloud.GetCertificate(ctx, l.vars.CertName); return err }(),
		"https proxy": func() error { _, err := l.cloud.GetTargetHTTPSProxy(ctx, l.vars.HTTPSProxy); return err }(),
	} {
		if !gcp.IsNotFound(err) {
			t.Errorf("after cleanup, %s: %v; want not found", what, err)
		}
	}
}

// TestCertificateWaitsForIssuance: the CA takes ten simulated minutes once
// the domain is authorized. The step waits, saying so, and passes once it
// is issued; the simulator's clock is moved instead of waiting.
func TestCertificateWaitsForIssuance(t *testing.T) {
	l := newLabWith(t, sim.Options{Profile: sim.Profile{Name: "test", CertIssuance: 10 * time.Minute}})
	r := l.runner(t)
	runTo(t, l, r, steps.GlobalIP)
	issuing := 0
	l.onEmit = func(e steps.Event) {
		if e.Kind == steps.EventProgress && e.Step == steps.Certificate && strings.Contains(e.Text, "certificate authority is issuing") {
			issuing++
			if issuing == 1 {
				l.clock.Advance(11 * time.Minute)
			}
		}
	}
	sum, err := r.Run(context.Background(), steps.Range{From: steps.StaticIP, To: steps.Certificate})
	events := l.take()
	if err != nil || !sum.OK() {
		t.Fatalf("run: %+v %v: %v", sum, err, failures(events))
	}
	if issuing == 0 {
		t.Error("no progress line said the CA was issuing")
	}
	if d := dids(events)[steps.Certificate]; !strings.Contains(d, "is ACTIVE") {
		t.Errorf("certificate did %q", d)
	}
}

// TestStuckCertificateStatesAreExplained switches on each state a learner
// meets and asserts what the certificate step's check says.
func TestStuckCertificateStatesAreExplained(t *testing.T) {
	t.Parallel() // its cases take turns
	for _, c := range []struct {
		name  string
		cond  sim.Conditions
		setup func(t *testing.T, l *simLab)
		want  []string
	}{
		{
			name: "authorization waits for its CNAME",
			setup: func(t *testing.T, l *simLab) {
				deleteRecord(t, l, "_acme-challenge.api.beyond-steps-test.example.", "CNAME")
			},
			want: []string{"PROVISIONING: authorizing api.beyond-steps-test.example", "waiting for the CNAME record _acme-challenge.api.beyond-steps-test.example."},
		},
		{
			name: "a CAA record forbids Google's CAs",
			setup: func(t *testing.T, l *simLab) {
				if err := l.cloud.SetRecord(context.Background(), l.vars.DNSZone, &dns.ResourceRecordSet{Name: "beyond-steps-test.example.", Type: "CAA", Ttl: 300, Rrdatas: []string{`0 issue "digicert.com"`}}, nil); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"FAILED", "CAA record", `0 issue "pki.goog"`},
		},
		{
			name: "authorized, but the CA takes long",
			cond: sim.Conditions{CertStuck: true},
			want: []string{"PROVISIONING: every domain is authorized", "can take an hour"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			parallel(t)
			l := newLabUnder(t, c.cond)
			ctx := context.Background()
			r := l.runner(t)
			// Part 5 needs Part 3's global IP, not the failover part.
			runTo(t, l, r, steps.GlobalIP)
			if sum, err := r.Run(ctx, steps.Range{From: steps.StaticIP, To: steps.DNSZone}); err != nil || !sum.OK() {
				t.Fatalf("static-ip and dns-zone: %+v %v: %v", sum, err, failures(l.take()))
			}
			// The step's resources, made directly, as a learner typing
			// would: the check then says where the certificate stands.
			auth := l.vars.CertName + "-auth"
			host := "api.beyond-steps-test.example"
			if err := l.cloud.CreateDNSAuthorization(ctx, auth, host, nil); err != nil {
				t.Fatal(err)
			}
			a, err := l.cloud.GetDNSAuthorization(ctx, auth)
			if err != nil {
				t.Fatal(err)
			}
			rec := a.GetDnsResourceRecord()
			if err := l.cloud.SetRecord(ctx, l.vars.DNSZone, &dns.ResourceRecordSet{Name: rec.GetName(), Type: "CNAME", Ttl: 300, Rrdatas: []string{rec.GetData()}}, nil); err != nil {
				t.Fatal(err)
			}
			if c.setup != nil {
				c.setup(t, l)
			}
			if err := l.cloud.CreateManagedCertificate(ctx, l.vars.CertName, []string{host}, []string{auth}, nil); err != nil {
				t.Fatal(err)
			}
			sum, _ := r.Run(ctx, steps.Range{From: steps.Certificate, To: steps.Certificate, CheckOnly: true})
			events := l.take()
			if sum.OK() {
				t.Fatal("the check passed; want it to fail and explain")
			}
			got := strings.Join(failures(events), "\n")
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("check said %q; want %q", got, w)
				}
			}
		})
	}
}

func deleteRecord(t *testing.T, l *simLab, name, typ string) {
	t.Helper()
	if _, err := l.cloud.DeleteRecord(context.Background(), l.vars.DNSZone, name, typ, nil); err != nil {
		t.Fatal(err)
	}
}

// TestARecordElsewhereIsExplained: the A record points at another IP; the
// HTTPS check says where the name goes and how to point it back.
func TestARecordElsewhereIsExplained(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	r := l.runner(t)
	runTo(t, l, r, steps.GlobalIP)
	if sum, err := r.Run(ctx, httpsPart); err != nil || !sum.OK() {
		t.Fatalf("HTTPS part: %v %v", err, failures(l.take()))
	}
	l.take()
	host := "api.beyond-steps-test.example."
	if err := l.cloud.SetRecord(ctx, l.vars.DNSZone, &dns.ResourceRecordSet{Name: host, Type: "A", Ttl: 300, Rrdatas: []string{"192.0.2.7"}}, nil); err != nil {
		t.Fatal(err)
	}
	sum, _ := r.Run(ctx, steps.Range{From: steps.HTTPSCheck, To: steps.HTTPSCheck, CheckOnly: true})
	got := strings.Join(failures(l.take()), "\n")
	if sum.OK() {
		t.Fatal("the check passed with the A record elsewhere")
	}
	for _, w := range []string{"resolves to 192.0.2.7, not the load balancer's", "gcloud dns record-sets update " + host} {
		if !strings.Contains(got, w) {
			t.Errorf("check said %q; want %q", got, w)
		}
	}
}

// TestFailoverOverHTTPS: once plain HTTP redirects, the failover steps of
// Part 4 probe https://api.DOMAIN instead, with the simulator's CA, and the
// failover still moves traffic to region B and back; a fresh runner finds
// the redirect itself.
func TestFailoverOverHTTPS(t *testing.T) {
	parallel(t)
	l := newLab(t)
	ctx := context.Background()
	r := l.runner(t)
	runTo(t, l, r, steps.GlobalIP)
	if sum, err := r.Run(ctx, httpsPart); err != nil || !sum.OK() {
		t.Fatalf("HTTPS part: %v %v", err, failures(l.take()))
	}
	l.take()
	sum, err := r.Run(ctx, steps.Range{From: steps.Curl, To: steps.Restore})
	events := l.take()
	if err != nil || !sum.OK() {
		t.Fatalf("failover over HTTPS: %+v %v: %v", sum, err, failures(events))
	}
	if u := r.Outputs().GlobalURL; u != "https://api.beyond-steps-test.example" {
		t.Errorf("the probes went to %q; want the HTTPS URL", u)
	}
	f := failoverOf(t, events)
	if f.Before != "us-central1" || f.After != "europe-west1" {
		t.Errorf("failover %+v; want us-central1 to europe-west1", f)
	}

	// A runner without that progress (fresh state; a lab rebuilt by the
	// exported script or by hand) finds the redirect by asking the global
	// IP, and probes https://api.DOMAIN too.
	l.store = steps.Store{Dir: t.TempDir()}
	fresh := l.runner(t)
	// Probing plain HTTP, the step would poll for its full 5 minutes.
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	sum, err = fresh.Run(ctx, steps.Range{From: steps.Curl, To: steps.Curl})
	if events := l.take(); err != nil || !sum.OK() {
		t.Fatalf("curl from a fresh runner: %+v %v: %v", sum, err, failures(events))
	}
	if u := fresh.Outputs().GlobalURL; u != "https://api.beyond-steps-test.example" {
		t.Errorf("the fresh runner probed %q; want the HTTPS URL", u)
	}
}

// TestHTTPSCommandsRunWithGcloud runs every command the HTTPS half of
// Part 5 displays, exactly as displayed, in a terminal pointed at the
// simulator as `eval "$(beyond sim env)"` does (gcloud, dig and curl), then
// each step's check. Earlier parts are done by the lab.
func TestHTTPSCommandsRunWithGcloud(t *testing.T) {
	withGcloud(t)
	l := newLab(t)
	tm := newTerminal(t, l.sim, l.vars.Project)
	for _, tool := range []string{"dig", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install dnsutils curl): the HTTPS check's command uses it", tool)
		}
	}
	r := l.runner(t)
	runTo(t, l, r, steps.GlobalIP)
	ctx := context.Background()
	sel, err := r.Select(httpsPart)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sel {
		cmd := r.Command(s.ID)
		out := tm.must(cmd)
		if s.ID == steps.HTTPSCheck {
			for _, want := range []string{"127.20.", "us-central1", "301 Moved Permanently", "Location: https://api.beyond-steps-test.example/"} {
				if !strings.Contains(out, want) {
					t.Errorf("%s printed %q; want %q", s.ID, out, want)
				}
			}
		}
		if st, err := r.CheckStep(ctx, s.ID); err != nil || st != steps.StatusPassed {
			t.Errorf("%s: the check after the displayed command = %s, %v\n%s\n%v", s.ID, st, err, cmd, failures(l.take()))
		}
	}
}

// TestHTTPSAPIsPropagationIsWaitedOut: Cloud DNS and Certificate Manager,
// just enabled, answer SERVICE_DISABLED for 90 s more; the zone step waits
// for both to answer before it calls them (found by a replay under
// --sim-profile realistic, which failed there). The clock is moved instead.
func TestHTTPSAPIsPropagationIsWaitedOut(t *testing.T) {
	parallel(t)
	l := newLabUnder(t, sim.Conditions{APIPropagation: 90 * time.Second})
	waited := map[string]bool{}
	l.onEmit = func(e steps.Event) {
		if e.Kind == steps.EventProgress && strings.Contains(e.Text, "waiting for") && strings.Contains(e.Text, "SERVICE_DISABLED") && !waited[e.Step] {
			waited[e.Step] = true
			l.clock.Advance(91 * time.Second)
		}
	}
	r := l.runner(t)
	// Part 5 needs Part 3's global IP, not the failover part.
	sum, err := r.Run(context.Background(), steps.Range{To: steps.GlobalIP})
	if err == nil && sum.OK() {
		sum, err = r.Run(context.Background(), steps.Range{From: steps.StaticIP, To: steps.DNSZone})
	}
	events := l.take()
	if err != nil || !sum.OK() {
		t.Fatalf("run: %+v %v: %v", sum, err, failures(events))
	}
	if !waited[steps.DNSZone] {
		t.Error("the zone step did not wait for Cloud DNS and Certificate Manager to answer")
	}
}
