package gcp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// FrontendURL is the base URL at which a forwarding rule's IP and port are
// reached from this machine. On Google that is the IP itself. The simulator
// listens on a loopback address and may have to map port 80 to another, so
// there the lab asks the simulator (GET /beyond/v1/frontends on its Compute
// endpoint, the one call the lab makes that Google does not have).
func (c *Cloud) FrontendURL(ctx context.Context, ip string, port int) (string, error) {
	if c.snap != nil && c.Simulated() {
		return c.snapFrontendURL(ctx, ip, port)
	}
	return c.frontendURL(ctx, ip, port)
}

func (c *Cloud) frontendURL(ctx context.Context, ip string, port int) (string, error) {
	if !c.Simulated() {
		if port == 80 {
			return "http://" + ip, nil
		}
		return "http://" + net.JoinHostPort(ip, strconv.Itoa(port)), nil
	}
	q := url.Values{"project": {c.Project}, "ip": {ip}, "port": {strconv.Itoa(port)}}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Endpoints.Compute+"/beyond/v1/frontends?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("ask the simulator where %s:%d listens: %w", ip, port, err)
	}
	defer resp.Body.Close()
	var body struct {
		Address string `json:"address"`
		Error   struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<16)).Decode(&body); err != nil {
		return "", fmt.Errorf("ask the simulator where %s:%d listens: %s: %w", ip, port, resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK || body.Address == "" {
		return "", fmt.Errorf("the simulator has no listener for %s:%d yet (%s %s): run the forwarding rule step", ip, port, resp.Status, body.Error.Message)
	}
	return "http://" + strings.TrimSuffix(body.Address, ":80"), nil
}

// WebClient is an HTTP client that reaches the lab's own domain as a
// browser would: it follows no redirects (the lab checks them), and on the
// simulator it resolves names with the simulator's DNS server, reaches a
// forwarding rule's IP where the simulator listens for it, and trusts the
// simulator's CA, so that TLS verifies the chain and the host name exactly
// as on Google, against that CA instead of the public ones.
func (c *Cloud) WebClient(ctx context.Context) (*http.Client, error) {
	return c.WebClientFrom(ctx, netip.Addr{})
}

// WebClientFrom is WebClient sending from the local address source (when
// valid): on the simulator, a second client from another loopback address
// is another client IP to a rate limit keyed on it.
func (c *Cloud) WebClientFrom(ctx context.Context, source netip.Addr) (*http.Client, error) {
	noFollow := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if !c.Simulated() {
		return &http.Client{Timeout: 15 * time.Second, CheckRedirect: noFollow}, nil
	}
	if c.Endpoints.DNS == "" {
		return nil, fmt.Errorf("this simulator has no DNS server: restart it (`beyond sim`) with this version of beyond")
	}
	pool, err := c.simCA(ctx)
	if err != nil {
		return nil, err
	}
	var d, web net.Dialer
	if source.IsValid() {
		web.LocalAddr = &net.TCPAddr{IP: source.AsSlice()}
	}
	res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, c.Endpoints.DNS)
	}}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, portStr, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			ip := host
			if net.ParseIP(host) == nil {
				ips, err := res.LookupHost(ctx, host)
				if err != nil {
					return nil, fmt.Errorf("resolve %s with the simulator's DNS (%s): %w", host, c.Endpoints.DNS, err)
				}
				ip = ips[0]
			}
			port, _ := strconv.Atoi(portStr)
			u, err := c.frontendURL(ctx, ip, port)
			if err != nil {
				return nil, err
			}
			return web.DialContext(ctx, network, hostPortOf(u, port))
		},
	}
	return &http.Client{Timeout: 15 * time.Second, Transport: tr, CheckRedirect: noFollow}, nil
}

// hostPortOf is the host:port of a frontend URL, port being the default
// when the URL has none.
func hostPortOf(u string, port int) string {
	h := strings.TrimPrefix(u, "http://")
	if _, _, err := net.SplitHostPort(h); err == nil {
		return h
	}
	return net.JoinHostPort(h, strconv.Itoa(port))
}

// Resolve looks a name up as the internet sees it: on the simulator, in its
// DNS server; on Google, with this machine's resolver.
func (c *Cloud) Resolve(ctx context.Context, name string) ([]string, error) {
	if !c.Simulated() {
		return net.DefaultResolver.LookupHost(ctx, name)
	}
	var d net.Dialer
	res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, c.Endpoints.DNS)
	}}
	return res.LookupHost(ctx, name)
}

// simCA fetches the simulator CA's certificate.
func (c *Cloud) simCA(ctx context.Context) (*x509.CertPool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Endpoints.Compute+"/beyond/v1/ca", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch the simulator's CA: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch the simulator's CA: %s %v", resp.Status, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("the simulator's CA is not a PEM certificate")
	}
	return pool, nil
}
