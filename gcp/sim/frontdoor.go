package sim

import (
	"net/http"
	"sort"
	"strings"

	"github.com/beyond-lab/beyond/lab"
)

// The front door: the simulator's HTTP listener is also the HTTP proxy that
// gcloud is pointed at. gcloud derives regional hosts from its endpoints
// (us-central1-run.googleapis.com), which no override can turn into a local
// address; through a proxy it sends plain absolute-form requests instead
// ("GET http://us-central1-run.googleapis.com/apis/..."), so one listener
// can serve every REST API by routing on the request's host. Clients that
// dial the listener directly (the Go clients, with a 127.0.0.1 endpoint)
// keep reaching the API by path.

// googleHost describes one googleapis.com host the front door answers.
type googleHost struct {
	// api is what a user would call it, for the listing on a 404.
	api string
	// handler serves the host's requests; region is set for regional hosts
	// (REGION-run.googleapis.com) and empty for global ones.
	handler func(region string) http.Handler
}

// hostRegion splits a regional host such as us-central1-run.googleapis.com
// into its region and the global host it derives from.
func hostRegion(host string) (region, global string) {
	name, ok := strings.CutSuffix(host, ".googleapis.com")
	if !ok {
		return "", host
	}
	i := strings.LastIndex(name, "-")
	if i < 0 {
		return "", host
	}
	if r := name[:i]; lab.IsRegion(r) {
		return r, name[i+1:] + ".googleapis.com"
	}
	return "", host
}

// frontDoor wraps the listener's own mux: a request for a googleapis.com
// host goes to that host's API, anything else to mux.
func (s *Sim) frontDoor(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect {
			writeGoogleError(w, http.StatusMethodNotAllowed, "The simulator does not tunnel HTTPS. Point gcloud at it with http:// endpoint overrides: run `eval \"$(beyond sim env)\"`.", "METHOD_NOT_ALLOWED")
			return
		}
		host := strings.ToLower(r.Host)
		if h, _, err := splitHostPort(host); err == nil {
			host = h
		}
		if !strings.HasSuffix(host, ".googleapis.com") {
			mux.ServeHTTP(w, r)
			return
		}
		region, global := hostRegion(host)
		gh, ok := s.hosts[global]
		if !ok {
			writeGoogleError(w, http.StatusNotFound, "The simulator does not serve "+host+". It serves "+strings.Join(s.hostNames(), ", ")+".", "NOT_FOUND")
			return
		}
		gh.handler(region).ServeHTTP(w, r)
	})
}

// hostNames lists the hosts the front door serves, sorted.
func (s *Sim) hostNames() []string {
	names := make([]string, 0, len(s.hosts))
	for h := range s.hosts {
		names = append(names, h)
	}
	sort.Strings(names)
	return names
}

// splitHostPort is net.SplitHostPort that also accepts a host without port.
func splitHostPort(hostport string) (host, port string, err error) {
	i := strings.LastIndex(hostport, ":")
	if i < 0 || strings.HasSuffix(hostport, "]") {
		return strings.Trim(hostport, "[]"), "", nil
	}
	return strings.Trim(hostport[:i], "[]"), hostport[i+1:], nil
}

// writeGoogleError answers with Google's JSON error body, for surfaces that
// have no error shape of their own.
func writeGoogleError(w http.ResponseWriter, code int, message, status string) {
	computeWriteJSON(w, code, map[string]any{"code": code, "message": message, "status": status})
}
