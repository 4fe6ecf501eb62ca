package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/lab"
)

func TestRun(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		if got := r.Header.Get(lab.ClientLocationHeader); got != "europe-west1" {
			t.Errorf("%s = %q; want europe-west1", lab.ClientLocationHeader, got)
		}
		if r.Method != http.MethodPost {
			t.Errorf("method = %s; want POST", r.Method)
		}
		if b, _ := io.ReadAll(r.Body); string(b) != `{"text":"hi"}` {
			t.Errorf("body = %q", b)
		}
		if n%2 == 0 {
			w.Header().Set(lab.ServedRegionHeader, "europe-west1")
			w.Header().Set(lab.ServedRevisionHeader, "svc-00002-abc")
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var got []Sample
	err := Run(ctx, Config{
		URL:    srv.URL,
		Rate:   200,
		Method: http.MethodPost,
		Body:   `{"text":"hi"}`,
		Header: http.Header{lab.ClientLocationHeader: {"europe-west1"}},
	}, func(s Sample) { got = append(got, s) })
	if err != nil {
		t.Fatal(err)
	}
	// 200/s for 100 ms is 21 requests counting the one at once; allow for
	// a slow machine (race detector, shared cores) below, none above.
	if n := len(got); n < 5 || n > 22 {
		t.Fatalf("%d samples; want about 21 (5 to 22)", n)
	}
	if int64(len(got)) != hits.Load() {
		t.Errorf("%d samples for %d requests served", len(got), hits.Load())
	}
	var ok, failed int
	for _, s := range got {
		switch {
		case s.Status == 200 && s.Region == "europe-west1" && s.Revision == "svc-00002-abc" && s.Err == "":
			ok++
		case s.Status == 503 && s.Failed():
			failed++
		default:
			t.Errorf("unexpected sample %+v", s)
		}
		if s.At.IsZero() || s.Latency <= 0 {
			t.Errorf("sample without time or latency: %+v", s)
		}
	}
	if ok == 0 || failed == 0 {
		t.Errorf("%d ok, %d failed; want both", ok, failed)
	}
}

func TestRunTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now

	ctx, cancel := context.WithCancel(context.Background())
	var got Sample
	err := Run(ctx, Config{URL: url, Rate: 1}, func(s Sample) {
		got = s
		cancel()
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Err == "" || got.Status != 0 || !got.Failed() {
		t.Errorf("sample = %+v; want a transport error", got)
	}
}

func TestRunBadConfig(t *testing.T) {
	for _, c := range []Config{
		{URL: "http://127.0.0.1:1/", Rate: 0},
		{URL: "127.0.0.1:80", Rate: 1},
		{URL: "ftp://x/", Rate: 1},
		{URL: "http://127.0.0.1/", Rate: 1, Method: "BAD METHOD"},
	} {
		if err := Run(context.Background(), c, func(Sample) { t.Error("called") }); err == nil {
			t.Errorf("Run(%+v) = nil; want an error", c)
		}
	}
}

func TestRunBoundsConcurrency(t *testing.T) {
	release := make(chan struct{})
	var inFlight, most atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Millisecond)
	defer cancel()
	var samples int
	Run(ctx, Config{URL: srv.URL, Rate: 500, MaxInFlight: 3}, func(Sample) { samples++ })
	if m := most.Load(); m > 3 {
		t.Errorf("%d requests in flight at once; want at most 3", m)
	}
	if samples != 0 {
		t.Errorf("%d samples from requests cut by the end of the run; want none", samples)
	}
}

func TestServedBy(t *testing.T) {
	hello := `<p>
		This created the revision <code>hello-00001-xyz</code> of the Cloud Run service <code>hello</code>
		 in <code>europe-west1</code>
		 in the GCP project <code>p</code>.</p>`
	for _, c := range []struct {
		name        string
		header      http.Header
		body        string
		region, rev string
	}{
		{"headers", http.Header{lab.ServedRegionHeader: {"us-central1"}, lab.ServedRevisionHeader: {"r1"}}, `{"region":"x"}`, "us-central1", "r1"},
		{"json", nil, `{"message":"It's running!","region":"asia-east1","revision":"r2"}`, "asia-east1", "r2"},
		{"header region, json revision", http.Header{lab.ServedRegionHeader: {"us-east1"}}, `{"revision":"r3"}`, "us-east1", "r3"},
		{"hello page", nil, hello, "europe-west1", "hello-00001-xyz"},
		{"service page", nil, `This is revision <code>r4</code> of service <code>s</code>,
serving from region <code>us-west1</code> of project <code>p</code>.`, "us-west1", "r4"},
		{"text", nil, "It's running! service=s revision=r5 region=europe-north1\n", "europe-north1", "r5"},
		// The hello sample's own ?format=text and ?format=json answers,
		// with its capitalised names.
		{"hello text", nil, "Service: hello\nRevision: hello-00001-abc\nProject: my-proj\nRegion: us-central1\n", "us-central1", "hello-00001-abc"},
		{"hello json", nil, `{"Service":"hello","Revision":"hello-00002-def","Project":"my-proj","Region":"europe-west1"}`, "europe-west1", "hello-00002-def"},
		{"nothing", nil, "Error: Server Error", "", ""},
	} {
		region, rev := servedBy(c.header, []byte(c.body))
		if region != c.region || rev != c.rev {
			t.Errorf("%s: servedBy = %q, %q; want %q, %q", c.name, region, rev, c.region, c.rev)
		}
	}
}

func ExampleAnalyze() {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var samples []Sample
	for i := range 10 {
		s := Sample{At: t0.Add(time.Duration(i) * 100 * time.Millisecond), Status: 200, Region: "us-central1"}
		if i >= 5 {
			s.Region = "europe-west1"
		}
		if i == 5 || i == 6 {
			s.Status, s.Region = 503, ""
		}
		samples = append(samples, s)
	}
	r := Analyze(samples, t0.Add(500*time.Millisecond))
	fmt.Printf("%s → %s in %.1f s, %d of %d failed\n", r.Before, r.After, r.RerouteSeconds, r.Failed, r.Requests)
	// Output:
	// us-central1 → europe-west1 in 0.2 s, 2 of 10 failed
}

// TestRunSendsFromEachSource: with Sources, requests leave from each
// address in turn, so a server keying on the client IP sees several
// clients.
func TestRunSendsFromEachSource(t *testing.T) {
	if l, err := net.Listen("tcp", "127.0.0.2:0"); err != nil {
		t.Skip("this system cannot send from loopback addresses other than 127.0.0.1")
	} else {
		l.Close()
	}
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		seen[host]++
		mu.Unlock()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := Run(ctx, Config{URL: srv.URL, Rate: 200, Sources: []netip.Addr{netip.MustParseAddr("127.0.0.5"), netip.MustParseAddr("127.0.0.6")}}, func(s Sample) {
		if n++; n == 6 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen["127.0.0.5"] < 2 || seen["127.0.0.6"] < 2 {
		t.Errorf("requests by source: %v; want both sources, in turn", seen)
	}
}
