package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beyond-lab/beyond/lab"
)

// Metadata servers: what a Cloud Run instance reads from
// http://metadata.google.internal/computeMetadata/v1/ to learn where it runs.
// Each (project, region) has its own server on its own loopback port; a
// process finds it through GCE_METADATA_HOST=host:port, which Google's
// metadata client honours.
//
// The default one, in Endpoints.Metadata, is for project
// DefaultMetadataProject in region DefaultMetadataRegion.

// The project and region of the default metadata server.
const (
	DefaultMetadataProject = "beyond-sim"
	DefaultMetadataRegion  = "us-central1"
)

// mdRegionPattern is the shape of a Google Cloud region name.
var mdRegionPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]+(-[a-z]+)+[0-9]+$`) })

// metadataHost returns the host:port of the metadata server for project and
// region, for an instance running as the project's default service account.
func (s *Sim) metadataHost(project, region string) (string, error) {
	return s.metadataHostAs(project, region, "")
}

// metadataHostAs returns the host:port of the metadata server for an
// instance in project and region running as the service account email (the
// Compute Engine default one if ""), starting it on first use. It takes
// s.mu: do not call it with s.mu held.
func (s *Sim) metadataHostAs(project, region, email string) (string, error) {
	if !lab.ProjectID.Valid(project) {
		return "", fmt.Errorf("metadata server: invalid project ID %q", project)
	}
	if !mdRegionPattern().MatchString(region) {
		return "", fmt.Errorf("metadata server: invalid region %q: want a region such as us-central1", region)
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return "", errors.New("metadata server: the simulator is closed")
	}
	key := project + "/" + region
	if email != "" {
		key += "/" + email
	}
	s.md.mu.Lock()
	defer s.md.mu.Unlock()
	if host, ok := s.md.servers[key]; ok {
		return host, nil
	}
	lis, err := net.Listen("tcp", net.JoinHostPort(s.opts.Host, "0"))
	if err != nil {
		return "", fmt.Errorf("simulator: listen for the metadata server of %s on %s: %w", key, s.opts.Host, err)
	}
	srv := &http.Server{Handler: s.metadataHandler(project, region, email), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(lis)
	if !s.onClose(srv.Close) { // Close ran meanwhile
		srv.Close()
		return "", errors.New("metadata server: the simulator is closed")
	}
	host := lis.Addr().String()
	if s.md.servers == nil {
		s.md.servers = map[string]string{}
	}
	s.md.servers[key] = host
	return host, nil
}

// metadataServers are the metadata servers started so far. Its mutex may be
// held when s.mu is taken, never the reverse.
type metadataServers struct {
	mu      sync.Mutex
	servers map[string]string // "PROJECT/REGION" → host:port
}

// startMetadata starts the default metadata server.
func (s *Sim) startMetadata() error {
	host, err := s.metadataHost(DefaultMetadataProject, DefaultMetadataRegion)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.endpoints.Metadata = host
	s.mu.Unlock()
	return nil
}

// metadataHandler answers as Cloud Run's metadata server does for an
// instance of project in region running as the service account email (the
// default one if "").
func (s *Sim) metadataHandler(project, region, email string) http.Handler {
	sum := sha256.Sum256([]byte("beyond-instance/" + project + "/" + region))
	instanceID := "00" + hex.EncodeToString(sum[:])[:62] // the length of Cloud Run's instance IDs
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Metadata-Flavor", "Google")
		w.Header().Set("Server", "Metadata Server for Serverless")
		if r.URL.Path == "/" || r.URL.Path == "" {
			// Google's clients probe the root, without the header, to see
			// whether they run on Google Cloud.
			io.WriteString(w, "computeMetadata/\n")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.Header.Get("Metadata-Flavor") != "Google" || r.Header.Get("X-Forwarded-For") != "" {
			http.Error(w, "Missing required header \"Metadata-Flavor\": \"Google\"", http.StatusForbidden)
			return
		}
		s.mu.Lock()
		p, err := s.readProjectLocked(project)
		var number string
		if err == nil {
			number = strconv.FormatInt(p.number, 10)
		}
		s.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		account := email
		if account == "" {
			account = number + "-compute@developer.gserviceaccount.com"
		}
		values := map[string]string{
			"instance/region": "projects/" + number + "/regions/" + region,
			"instance/zone":   "projects/" + number + "/zones/" + region + "-1",
			"instance/id":     instanceID,
			"instance/service-accounts/default/email":  account,
			"instance/service-accounts/default/scopes": "https://www.googleapis.com/auth/cloud-platform",
			// An access token names the instance's identity, so that the
			// simulated Vertex AI can apply the service account's roles
			// (see instanceKey); it is not a secret.
			"instance/service-accounts/default/token": fmt.Sprintf(`{"access_token":%q,"expires_in":3599,"token_type":"Bearer"}`,
				strings.Join([]string{InstanceGeminiKey, project, region, account}, ":")),
			"project/project-id":         project,
			"project/numeric-project-id": number,
		}
		key, _ := strings.CutPrefix(r.URL.Path, "/computeMetadata/v1/")
		v, ok := values[strings.TrimSuffix(key, "/")]
		if !ok || key == r.URL.Path {
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, "<!DOCTYPE html>\n<title>Error 404 (Not Found)</title>\n<p><b>404.</b> The requested URL <code>%s</code> was not found on this server.\n", mdHTMLEscape(r.URL.Path))
			return
		}
		w.Header().Set("Content-Type", "application/text")
		if strings.HasSuffix(key, "/token") {
			w.Header().Set("Content-Type", "application/json")
		}
		io.WriteString(w, v)
	})
}

var mdHTMLEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;")

func mdHTMLEscape(s string) string { return mdHTMLEscaper.Replace(s) }
