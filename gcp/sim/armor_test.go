package sim

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/beyond-lab/beyond/probe"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"
)

func newArmorClient(t *testing.T, s *Sim) *compute.SecurityPoliciesClient {
	t.Helper()
	c, err := compute.NewSecurityPoliciesRESTClient(context.Background(), option.WithEndpoint(s.Endpoints().Compute), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// throttleRule is a rate-based rule on paths under /v1/.
func throttleRule(priority, count, interval int32, preview bool) *computepb.SecurityPolicyRule {
	return &computepb.SecurityPolicyRule{
		Priority: proto.Int32(priority),
		Action:   proto.String("throttle"),
		Preview:  proto.Bool(preview),
		Match:    &computepb.SecurityPolicyRuleMatcher{Expr: &computepb.Expr{Expression: proto.String("request.path.matches('/v1/.*')")}},
		RateLimitOptions: &computepb.SecurityPolicyRuleRateLimitOptions{
			RateLimitThreshold: &computepb.SecurityPolicyRuleRateLimitOptionsThreshold{Count: proto.Int32(count), IntervalSec: proto.Int32(interval)},
			ConformAction:      proto.String("allow"),
			ExceedAction:       proto.String("deny(429)"),
			EnforceOnKey:       proto.String("IP"),
		},
	}
}

// TestSecurityPolicyAPI drives securityPolicies and setSecurityPolicy with
// Google's Go client: the default rule Google adds, its validation and
// texts, the rule methods, and the in-use refusal on delete.
func TestSecurityPolicyAPI(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED"})
	ac := newArmorClient(t, l.s)
	ctx := context.Background()

	op, err := ac.Insert(ctx, &computepb.InsertSecurityPolicyRequest{Project: testProject, SecurityPolicyResource: &computepb.SecurityPolicy{Name: proto.String("armor")}})
	wait(t, op, err)
	sp, err := ac.Get(ctx, &computepb.GetSecurityPolicyRequest{Project: testProject, SecurityPolicy: "armor"})
	if err != nil {
		t.Fatal(err)
	}
	if sp.GetType() != "CLOUD_ARMOR" || len(sp.GetRules()) != 1 || sp.GetRules()[0].GetPriority() != 2147483647 || sp.GetRules()[0].GetAction() != "allow" ||
		sp.GetRules()[0].GetMatch().GetConfig().GetSrcIpRanges()[0] != "*" || sp.GetKind() != "compute#securityPolicy" || sp.GetFingerprint() == "" {
		t.Errorf("new policy: %v; want type CLOUD_ARMOR and Google's default rule", sp)
	}

	// An interval Google does not offer, and a rule without its options.
	_, err = ac.AddRule(ctx, &computepb.AddRuleSecurityPolicyRequest{Project: testProject, SecurityPolicy: "armor", SecurityPolicyRuleResource: throttleRule(1000, 10, 45, false)})
	if e := wantErr(t, err, http.StatusBadRequest, "invalid"); !strings.Contains(e.Message, "intervalSec': '45'") {
		t.Errorf("interval 45: %q", e.Message)
	}
	bare := throttleRule(1000, 10, 60, false)
	bare.RateLimitOptions = nil
	_, err = ac.AddRule(ctx, &computepb.AddRuleSecurityPolicyRequest{Project: testProject, SecurityPolicy: "armor", SecurityPolicyRuleResource: bare})
	wantErr(t, err, http.StatusBadRequest, "required")

	op, err = ac.AddRule(ctx, &computepb.AddRuleSecurityPolicyRequest{Project: testProject, SecurityPolicy: "armor", SecurityPolicyRuleResource: throttleRule(1000, 10, 60, true)})
	wait(t, op, err)
	_, err = ac.AddRule(ctx, &computepb.AddRuleSecurityPolicyRequest{Project: testProject, SecurityPolicy: "armor", SecurityPolicyRuleResource: throttleRule(1000, 5, 60, true)})
	if e := wantErr(t, err, http.StatusBadRequest, "invalid"); !strings.Contains(e.Message, "Cannot have rules with the same priorities") {
		t.Errorf("same priority: %q", e.Message)
	}
	rule, err := ac.GetRule(ctx, &computepb.GetRuleSecurityPolicyRequest{Project: testProject, SecurityPolicy: "armor", Priority: proto.Int32(1000)})
	if err != nil || !rule.GetPreview() || rule.GetRateLimitOptions().GetRateLimitThreshold().GetCount() != 10 {
		t.Fatalf("getRule: %v %v", rule, err)
	}
	op, err = ac.PatchRule(ctx, &computepb.PatchRuleSecurityPolicyRequest{Project: testProject, SecurityPolicy: "armor", Priority: proto.Int32(1000),
		SecurityPolicyRuleResource: &computepb.SecurityPolicyRule{Priority: proto.Int32(1000), Preview: proto.Bool(false)}})
	wait(t, op, err)
	rule, _ = ac.GetRule(ctx, &computepb.GetRuleSecurityPolicyRequest{Project: testProject, SecurityPolicy: "armor", Priority: proto.Int32(1000)})
	if rule.GetPreview() || rule.GetAction() != "throttle" || rule.GetRateLimitOptions().GetExceedAction() != "deny(429)" {
		t.Errorf("after patchRule preview=false: %v; want the rest kept", rule)
	}
	// updateMask clears a field the body leaves out.
	op, err = ac.PatchRule(ctx, &computepb.PatchRuleSecurityPolicyRequest{Project: testProject, SecurityPolicy: "armor", Priority: proto.Int32(1000),
		SecurityPolicyRuleResource: &computepb.SecurityPolicyRule{Priority: proto.Int32(1000), Description: proto.String("burst guard")}})
	wait(t, op, err)
	op, err = ac.PatchRule(ctx, &computepb.PatchRuleSecurityPolicyRequest{Project: testProject, SecurityPolicy: "armor", Priority: proto.Int32(1000), UpdateMask: proto.String("description"),
		SecurityPolicyRuleResource: &computepb.SecurityPolicyRule{Priority: proto.Int32(1000)}})
	wait(t, op, err)
	if rule, _ = ac.GetRule(ctx, &computepb.GetRuleSecurityPolicyRequest{Project: testProject, SecurityPolicy: "armor", Priority: proto.Int32(1000)}); rule.Description != nil || rule.GetAction() != "throttle" {
		t.Errorf("after patchRule with updateMask=description: %v; want the description cleared, the rest kept", rule)
	}
	_, err = ac.RemoveRule(ctx, &computepb.RemoveRuleSecurityPolicyRequest{Project: testProject, SecurityPolicy: "armor", Priority: proto.Int32(2147483647)})
	wantErr(t, err, http.StatusBadRequest, "invalid")
	_, err = ac.GetRule(ctx, &computepb.GetRuleSecurityPolicyRequest{Project: testProject, SecurityPolicy: "armor", Priority: proto.Int32(7)})
	wantErr(t, err, http.StatusBadRequest, "invalid")

	// Attached: the backend service says so, an update keeps it (it is
	// output only), and the policy cannot be deleted.
	op, err = l.c.bs.SetSecurityPolicy(ctx, &computepb.SetSecurityPolicyBackendServiceRequest{Project: testProject, BackendService: "web-backend",
		SecurityPolicyReferenceResource: &computepb.SecurityPolicyReference{SecurityPolicy: proto.String("global/securityPolicies/armor")}})
	wait(t, op, err)
	bs, err := l.c.bs.Get(ctx, &computepb.GetBackendServiceRequest{Project: testProject, BackendService: "web-backend"})
	if err != nil || bs.GetSecurityPolicy() != computeBase+"projects/"+testProject+"/global/securityPolicies/armor" {
		t.Fatalf("backend service securityPolicy = %q, %v", bs.GetSecurityPolicy(), err)
	}
	bs.SecurityPolicy = nil
	op, err = l.c.bs.Update(ctx, &computepb.UpdateBackendServiceRequest{Project: testProject, BackendService: "web-backend", BackendServiceResource: bs})
	wait(t, op, err)
	if bs, _ = l.c.bs.Get(ctx, &computepb.GetBackendServiceRequest{Project: testProject, BackendService: "web-backend"}); bs.GetSecurityPolicy() == "" {
		t.Error("an update without securityPolicy detached the policy; it is output only")
	}
	_, err = ac.Delete(ctx, &computepb.DeleteSecurityPolicyRequest{Project: testProject, SecurityPolicy: "armor"})
	if e := wantErr(t, err, http.StatusBadRequest, "resourceInUseByAnotherResource"); !strings.Contains(e.Message, "security_policy resource") {
		t.Errorf("delete in use: %q", e.Message)
	}
	op, err = l.c.bs.SetSecurityPolicy(ctx, &computepb.SetSecurityPolicyBackendServiceRequest{Project: testProject, BackendService: "web-backend",
		SecurityPolicyReferenceResource: &computepb.SecurityPolicyReference{SecurityPolicy: proto.String("")}})
	wait(t, op, err)
	op, err = ac.Delete(ctx, &computepb.DeleteSecurityPolicyRequest{Project: testProject, SecurityPolicy: "armor"})
	wait(t, op, err)
}

// fromAddr sends a GET from a loopback source address of its own.
func fromAddr(t *testing.T, src, url string) (int, string) {
	t.Helper()
	resp, err := probe.SourceClient(netip.MustParseAddr(src), 5*time.Second).Get(url)
	if err != nil {
		t.Fatalf("GET %s from %s: %v", url, src, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestLBArmorThrottlePerClient: the load balancer enforces the attached
// policy's throttle per client IP over a sliding interval on the
// simulator's clock; a rule in preview refuses nothing; paths the rule does
// not match are never counted.
func TestLBArmorThrottlePerClient(t *testing.T) {
	if l, err := net.Listen("tcp", "127.0.0.2:0"); err != nil {
		t.Skip("this system cannot send from loopback addresses other than 127.0.0.1")
	} else {
		l.Close()
	}
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED"})
	ac := newArmorClient(t, l.s)
	ctx := context.Background()
	op, err := ac.Insert(ctx, &computepb.InsertSecurityPolicyRequest{Project: testProject, SecurityPolicyResource: &computepb.SecurityPolicy{
		Name: proto.String("armor"), Rules: []*computepb.SecurityPolicyRule{throttleRule(1000, 3, 10, false)}}})
	wait(t, op, err)
	op, err = l.c.bs.SetSecurityPolicy(ctx, &computepb.SetSecurityPolicyBackendServiceRequest{Project: testProject, BackendService: "web-backend",
		SecurityPolicyReferenceResource: &computepb.SecurityPolicyReference{SecurityPolicy: proto.String("global/securityPolicies/armor")}})
	wait(t, op, err)
	paid := "http://" + l.addr + "/v1/check"
	dpWaitFor(t, "the policy to apply", func() bool {
		st, _ := fromAddr(t, "127.0.9.9", paid)
		return st == http.StatusTooManyRequests
	})

	var got []int
	for range 5 {
		st, body := fromAddr(t, "127.0.1.1", paid)
		got = append(got, st)
		if st == http.StatusTooManyRequests && !strings.Contains(body, "429 Too Many Requests") {
			t.Errorf("429 body %q; want Google's front end page", body)
		}
	}
	if want := []int{200, 200, 200, 429, 429}; !equalInts(got, want) {
		t.Errorf("client A's burst: %v; want %v", got, want)
	}
	if st, _ := fromAddr(t, "127.0.1.2", paid); st != http.StatusOK {
		t.Errorf("client B: %d; want 200 (counted apart)", st)
	}
	if st, _ := fromAddr(t, "127.0.1.1", "http://"+l.addr+"/?format=text"); st != http.StatusOK {
		t.Errorf("client A on a path the rule does not match: %d; want 200", st)
	}
	l.clk.Advance(11 * time.Second)
	if st, _ := fromAddr(t, "127.0.1.1", paid); st != http.StatusOK {
		t.Errorf("client A after the interval: %d; want 200", st)
	}

	// In preview: logged, not enforced.
	op, err = ac.PatchRule(ctx, &computepb.PatchRuleSecurityPolicyRequest{Project: testProject, SecurityPolicy: "armor", Priority: proto.Int32(1000),
		SecurityPolicyRuleResource: &computepb.SecurityPolicyRule{Priority: proto.Int32(1000), Preview: proto.Bool(true)}})
	wait(t, op, err)
	dpWaitFor(t, "the preview to apply", func() bool {
		for range 4 {
			if st, _ := fromAddr(t, "127.0.9.8", paid); st == http.StatusTooManyRequests {
				return false
			}
		}
		return true
	})
	for i := range 10 {
		if st, _ := fromAddr(t, "127.0.1.3", paid); st != http.StatusOK {
			t.Fatalf("in preview, request %d: %d; want 200", i+1, st)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestFrontRefusesDisabledDefaultURL: a service whose default URL is
// disabled shows no URL and its front answers Google's 404 page, while its
// ingress is all.
func TestFrontRefusesDisabledDefaultURL(t *testing.T) {
	l := startLab(t, chainOpts{scheme: "EXTERNAL_MANAGED"})
	ctx := dpCtx(t)
	front, ok := l.s.ServiceURL(testProject, labRegionA, labService)
	if !ok {
		t.Fatal("no front")
	}
	if st, _ := fromAddr(t, "127.0.0.1", front+"/"); st != http.StatusOK {
		t.Fatalf("before: %d", st)
	}
	svc := l.services[labRegionA]
	svc.DefaultUriDisabled = true
	op, err := l.rc.UpdateService(ctx, &runpb.UpdateServiceRequest{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	got, err := op.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetUri() != "" || len(got.GetUrls()) != 0 {
		t.Errorf("uri %q urls %v; want none with the default URL disabled", got.GetUri(), got.GetUrls())
	}
	dpWaitFor(t, "the front to refuse", func() bool {
		st, body := fromAddr(t, "127.0.0.1", front+"/")
		return st == http.StatusNotFound && strings.Contains(body, "Error: Not Found")
	})
	if st, _ := fromAddr(t, "127.0.0.1", "http://"+l.addr+"/"); st != http.StatusOK {
		t.Errorf("the global IP: %d; want 200", st)
	}
}

// TestArmorForgetsIdleClients: counters of clients idle past their rule's
// interval are dropped, so many one-off clients do not pile up.
func TestArmorForgetsIdleClients(t *testing.T) {
	fa := &FrontendArmor{Fingerprint: "f", Rules: []FrontendArmorRule{{Priority: 1, Action: "throttle", All: true, Count: 5, Interval: 10 * time.Second, ExceedAction: "deny(429)", Key: "IP"}}}
	var st armorState
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range armorSweepEvery - 1 {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = netip.AddrFrom4([4]byte{10, 0, byte(i / 256), byte(i)}).String() + ":1234"
		if v := st.evaluate(fa, r, t0); v.status != 0 {
			t.Fatalf("client %d refused", i)
		}
	}
	if len(st.seen) != armorSweepEvery-1 {
		t.Fatalf("%d counters; want one per client", len(st.seen))
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.9.9.9:1234"
	st.evaluate(fa, r, t0.Add(11*time.Second))
	if len(st.seen) != 1 {
		t.Errorf("%d counters after the sweep; want only the active client's", len(st.seen))
	}
}

// BenchmarkArmorEvaluate is the load balancer's cost per request of a
// throttle rule over many clients.
func BenchmarkArmorEvaluate(b *testing.B) {
	fa := &FrontendArmor{Fingerprint: "f", Rules: []FrontendArmorRule{
		{Priority: 1000, Action: "throttle", Path: regexp.MustCompile("/v1/check"), Count: 20, Interval: time.Minute, ExceedAction: "deny(429)", Key: "IP"},
		{Priority: 2147483647, Action: "allow", All: true},
	}}
	var st armorState
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	reqs := make([]*http.Request, 256)
	for i := range reqs {
		reqs[i] = httptest.NewRequest(http.MethodGet, "/v1/check", nil)
		reqs[i].RemoteAddr = netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}).String() + ":1234"
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		st.evaluate(fa, reqs[i%len(reqs)], t0.Add(time.Duration(i)*time.Millisecond))
	}
}
