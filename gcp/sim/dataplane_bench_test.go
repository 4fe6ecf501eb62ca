package sim

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/probe"
)

// BenchmarkLBOverhead compares a request to an instance directly, through
// its service's front (the service URL) and through the global load
// balancer.
func BenchmarkLBOverhead(b *testing.B) {
	l := startLab(b, chainOpts{scheme: "EXTERNAL_MANAGED", outlier: true, retry: true})
	inst := l.s.dataPlaneOf().instanceFor(testProject, labRegionA, labService)
	front, _ := l.s.ServiceURL(testProject, labRegionA, labService)
	client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 8}}
	for _, c := range []struct{ name, url string }{
		{"direct", "http://" + inst.addr + "/?format=json"},
		{"front", front + "/?format=json"},
		{"lb", "http://" + l.addr + "/?format=json"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := client.Get(c.url)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}

// BenchmarkLBReroute measures, at 20 requests a second from us-central1,
// how long traffic takes to settle in europe-west1 once us-central1 starts
// answering 503, and how many requests fail meanwhile: with outlier
// detection alone, and with a retry policy too. Real time: every iteration
// takes a second or two.
func BenchmarkLBReroute(b *testing.B) {
	for _, c := range []struct {
		name  string
		retry bool
	}{{"outlier-only", false}, {"outlier+retry", true}} {
		b.Run(c.name, func(b *testing.B) {
			var reroute float64
			var failed, n int
			for b.Loop() {
				l := startLab(b, chainOpts{scheme: "EXTERNAL_MANAGED", outlier: true, retry: c.retry})
				samples, stop, next := probeLBAt(b, l, labRegionA, 20)
				next(5)
				breakAt := time.Now()
				l.setOutage(b, labRegionA, true)
				dpWaitFor(b, "traffic settled in europe-west1", func() bool {
					next(1)
					s := samples()
					if len(s) < 10 {
						return false
					}
					for _, x := range s[len(s)-10:] {
						if x.Failed() || x.Region != labRegionB || x.At.Before(breakAt) {
							return false
						}
					}
					return true
				})
				stop()
				r := probe.Analyze(samples(), breakAt)
				reroute += r.RerouteSeconds
				failed += r.Failed
				n++
				l.s.Close()
			}
			b.ReportMetric(reroute/float64(n), "reroute-s")
			b.ReportMetric(float64(failed)/float64(n), "failed/op")
		})
	}
}
