package probe

import (
	"slices"
	"sort"
	"time"
)

// UnknownRegion is the Share key of successful answers that named no region.
const UnknownRegion = "unknown"

// A Report summarises a probe run around a break: the moment an outage was
// caused (a region made to fail, a backend detached).
type Report struct {
	Requests int // samples analysed
	Failed   int // samples that failed (see Sample.Failed)
	// Share is the fraction of all requests that each region answered
	// successfully. Failed requests belong to no region, so the shares plus
	// Failed/Requests add up to 1.
	Share map[string]float64
	// P50 and P95 are latency percentiles (nearest rank) over the requests
	// that got a response, failed or not.
	P50, P95 time.Duration
	// Before is the region that answered the most successful requests sent
	// before the break (ties go to the name first in order); "" if none.
	Before string
	// After is the region that answered the last successful request.
	After string
	// Settled reports whether the run ended settled: its last request
	// succeeded, so it ends with a run of successful answers from After.
	Settled bool
	// RerouteSeconds measures how long traffic took to settle after the
	// break. It runs from the disturbance — the first request sent at or
	// after the break that failed or was answered by a region other than
	// Before — to the settling point — the first request of the final,
	// unbroken run of successful answers from After (requests ordered by
	// when they were sent). It is 0 if nothing was disturbed or the first
	// disturbed answer already came from After (a retry hid the outage), and
	// -1 if the run did not end settled. The delay between the break and the
	// first disturbance (rolling out the failing revision) is not counted:
	// this measures the load balancer, not the operator.
	RerouteSeconds float64
	// FirstFailure and LastFailure are when the first and last failed
	// requests were sent; zero if none failed.
	FirstFailure, LastFailure time.Time
}

// Analyze summarises samples around breakAt. A zero breakAt means the break
// came before the first sample: Before is "" and RerouteSeconds measures
// how long the whole run took to settle. The samples may be in any order.
func Analyze(samples []Sample, breakAt time.Time) Report {
	r := Report{Requests: len(samples), Share: map[string]float64{}, RerouteSeconds: -1}
	if len(samples) == 0 {
		return r
	}
	ss := slices.Clone(samples)
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].At.Before(ss[j].At) })

	before := map[string]int{}
	answered := map[string]int{}
	var lat []time.Duration
	for _, s := range ss {
		if s.Status != 0 {
			lat = append(lat, s.Latency)
		}
		if s.Failed() {
			r.Failed++
			if r.FirstFailure.IsZero() {
				r.FirstFailure = s.At
			}
			r.LastFailure = s.At
			continue
		}
		reg := region(s)
		answered[reg]++
		r.After = reg
		if s.At.Before(breakAt) {
			before[reg]++
		}
	}
	for reg, n := range answered {
		r.Share[reg] = float64(n) / float64(len(ss))
	}
	r.Before = dominant(before)
	r.P50, r.P95 = percentile(lat, 50), percentile(lat, 95)

	last := ss[len(ss)-1]
	r.Settled = !last.Failed()
	if !r.Settled {
		return r
	}
	settle := len(ss) - 1
	for settle > 0 && !ss[settle-1].Failed() && region(ss[settle-1]) == r.After {
		settle--
	}
	disturbed := -1
	for i, s := range ss {
		if !s.At.Before(breakAt) && (s.Failed() || region(s) != r.Before) {
			disturbed = i
			break
		}
	}
	r.RerouteSeconds = 0
	if disturbed >= 0 && settle > disturbed {
		r.RerouteSeconds = ss[settle].At.Sub(ss[disturbed].At).Seconds()
	}
	return r
}

func region(s Sample) string {
	if s.Region == "" {
		return UnknownRegion
	}
	return s.Region
}

// dominant returns the key with the largest count, the first in order on a
// tie, or "" for an empty map.
func dominant(counts map[string]int) string {
	best, n := "", 0
	for k, c := range counts {
		if c > n || (c == n && k < best) {
			best, n = k, c
		}
	}
	return best
}

// percentile returns the p-th percentile of d by the nearest-rank method,
// or 0 for no values.
func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	d = slices.Clone(d)
	slices.Sort(d)
	rank := (p*len(d) + 99) / 100 // ceil(p/100 × n)
	return d[max(rank, 1)-1]
}
