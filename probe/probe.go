// Package probe sends a steady stream of HTTP requests to a URL and records
// who answered each one, so that a failover can be watched live and measured
// afterwards: which region served, how many requests failed, and how long
// traffic took to settle on its new region.
package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/beyond-lab/beyond/lab"
)

// A Sample is the outcome of one request.
type Sample struct {
	At       time.Time     // when the request was sent
	Status   int           // HTTP status; 0 if no response came
	Region   string        // who served it, if the response said
	Revision string        // which revision served it, if the response said
	Latency  time.Duration // from sending to the end of the body (or the error)
	Err      string        // transport error; empty if a response came
}

// Failed reports whether the sample counts as a failed request: no response,
// or a status that is not 2xx or 3xx.
func (s Sample) Failed() bool {
	return s.Err != "" || s.Status < 200 || s.Status >= 400
}

// Config says what to probe and how fast.
type Config struct {
	URL  string
	Rate float64 // requests per second; must be positive
	// Client sends the requests. Nil means a client with a 5 s timeout.
	Client *http.Client
	// Header is added to every request, e.g. lab.ClientLocationHeader.
	Header http.Header
	Method string // GET if empty
	Body   string // sent with every request, if not empty
	// Sources, if set, are local addresses the requests leave from, in
	// turn: each is a distinct client to a server that keys on the client
	// IP (Cloud Armor's per-IP rate limits). Loopback addresses
	// (127.0.0.x) reach a target on loopback. Client's timeout applies.
	Sources []netip.Addr
	// MaxInFlight bounds the requests outstanding at once; 64 if zero. A
	// tick that finds that many outstanding sends nothing, so a target that
	// hangs slows the probe down instead of piling up requests.
	MaxInFlight int
}

// maxBody is how much of each response body is read to find the region.
const maxBody = 64 << 10

// Run sends requests at cfg.Rate, starting at once, until ctx ends, and
// calls fn with the sample of each. Requests may overlap; fn is called by
// one goroutine at a time, in the order the requests finish, and never after
// Run returns. Run returns an error only for a bad Config; the end of ctx
// is a normal end and returns nil.
func Run(ctx context.Context, cfg Config, fn func(Sample)) error {
	if cfg.Rate <= 0 {
		return fmt.Errorf("probe: rate must be positive, got %v requests per second", cfg.Rate)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("probe: URL %q must be absolute http:// or https://, e.g. http://34.1.2.3/", cfg.URL)
	}
	method := cfg.Method
	if method == "" {
		method = http.MethodGet
	}
	if _, err := http.NewRequest(method, cfg.URL, nil); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	clients := []*http.Client{client}
	if len(cfg.Sources) > 0 {
		clients = clients[:0]
		for _, src := range cfg.Sources {
			clients = append(clients, SourceClient(src, client.Timeout))
		}
	}
	var turn int
	limit := cfg.MaxInFlight
	if limit <= 0 {
		limit = 64
	}
	every := time.Duration(float64(time.Second) / cfg.Rate)
	if every <= 0 {
		every = time.Nanosecond
	}

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex // serialises fn
		slots = make(chan struct{}, limit)
	)
	send := func() {
		select {
		case slots <- struct{}{}:
		default:
			return // MaxInFlight outstanding: skip this tick
		}
		wg.Add(1)
		c := clients[turn%len(clients)]
		turn++
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			s := do(ctx, c, method, cfg)
			if ctx.Err() != nil && s.Err != "" {
				return // cancelled by the end of the run, not a failure
			}
			mu.Lock()
			defer mu.Unlock()
			fn(s)
		}()
	}

	t := time.NewTicker(every)
	defer t.Stop()
	if ctx.Err() == nil {
		send()
	}
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
			send()
		}
	}
}

// SourceClient is a client whose connections leave from the local address
// source, so that a server keying on the client IP, as Cloud Armor's rate
// limits do, sees a client of its own. On Linux every 127.0.0.0/8 address is
// the loopback interface's; elsewhere only 127.0.0.1 may be, and a dial from
// another fails with the system's error.
func SourceClient(source netip.Addr, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: source.AsSlice()}}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{Proxy: nil, DialContext: d.DialContext, MaxIdleConnsPerHost: 4}}
}

// do sends one request and describes its outcome.
func do(ctx context.Context, client *http.Client, method string, cfg Config) Sample {
	return doBody(ctx, client, method, cfg, nil)
}

// doBody is do that also keeps the start of the body in *keep, if keep is
// not nil.
func doBody(ctx context.Context, client *http.Client, method string, cfg Config, keep *[]byte) Sample {
	s := Sample{At: time.Now()}
	var body io.Reader
	if cfg.Body != "" {
		body = strings.NewReader(cfg.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, cfg.URL, body)
	if err != nil {
		s.Err = err.Error()
		return s
	}
	for k, vs := range cfg.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		s.Latency = time.Since(s.At)
		s.Err = err.Error()
		return s
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody)) // let the connection be reused
	s.Latency = time.Since(s.At)
	s.Status = resp.StatusCode
	if err != nil {
		s.Err = "reading the response: " + err.Error()
	}
	s.Region, s.Revision = servedBy(resp.Header, data)
	if keep != nil {
		*keep = data
	}
	return s
}

var (
	// The hello sample's page: "This created the revision <code>R</code> of
	// the Cloud Run service <code>S</code> in <code>REGION</code> in the
	// GCP project <code>P</code>."
	helloRevision = regexp.MustCompile(`revision\s*<code[^>]*>([^<]+)</code>`)
	helloRegion   = regexp.MustCompile(`service\s*<code[^>]*>[^<]*</code>\s*in\s*<code[^>]*>([^<]+)</code>`)
	// The lab service's page: "serving from region <code>R</code>".
	pageRegion = regexp.MustCompile(`region\s*<code[^>]*>([^<]+)</code>`)
	// Text answers: "region=R revision=V", or the hello sample's
	// ?format=text lines "Region: R" and "Revision: V": any case.
	textRegion   = regexp.MustCompile(`(?mi)(?:^|\s)region\s*[=:]\s*([a-z0-9-]+)`)
	textRevision = regexp.MustCompile(`(?mi)(?:^|\s)revision\s*[=:]\s*([a-z0-9._-]+)`)
)

// servedBy finds the region and revision that answered: the headers first,
// then a JSON body's "region" and "revision" (any case: Go's decoder
// matches "Region" too), then the hello page's text.
func servedBy(h http.Header, body []byte) (region, revision string) {
	region, revision = h.Get(lab.ServedRegionHeader), h.Get(lab.ServedRevisionHeader)
	if region != "" && revision != "" {
		return region, revision
	}
	var v struct {
		Region   string `json:"region"`
		Revision string `json:"revision"`
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &v) == nil {
		return first(region, v.Region), first(revision, v.Revision)
	}
	if region == "" {
		region = match(body, helloRegion, pageRegion, textRegion)
	}
	if revision == "" {
		revision = match(body, helloRevision, textRevision)
	}
	return region, revision
}

func match(body []byte, res ...*regexp.Regexp) string {
	for _, re := range res {
		if m := re.FindSubmatch(body); m != nil {
			return strings.TrimSpace(string(m[1]))
		}
	}
	return ""
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
