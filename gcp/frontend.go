package gcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
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
