package sim

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"

	"github.com/beyond-lab/beyond/lab"

	"github.com/beyond-lab/beyond/service"
)

// The hello image (us-docker.pkg.dev/cloudrun/container/hello) is built in:
// the simulator answers as Google's sample does (GoogleCloudPlatform/
// cloud-run-hello, Apache-2.0): an "It's running!" page that names the
// revision, the service, the region and the project. Like the lab's service
// it also answers ?format=json and ?format=text (or an Accept header of
// application/json or text/plain), and honours the outage switch
// BEYOND_OUTAGE=1 by answering 503, so that failover can be rehearsed
// without building the service.

// helloInfo is what a hello instance knows about itself: what the sample
// reads from K_SERVICE, K_REVISION and the metadata server.
type helloInfo struct {
	Project, Region, Service, Revision string
	Outage                             bool
}

// outageOn reads the outage switch as the lab's service does.
func outageOn(env map[string]string) bool {
	return lab.Outage(env[lab.OutageEnv])
}

var helloPage = template.Must(template.New("hello").Parse(`<!doctype html>
<html lang=en>
<head>
<meta charset=utf-8>
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Congratulations | Cloud Run</title>
</head>
<body>
<div class="container">
<div class="message">
<h1>It's running!</h1>
<div class="congrats">Congratulations, you successfully deployed a container image to Cloud Run</div>
</div>
<div class="details">
<p>
This created the revision <code>{{.Revision}}</code> of the Cloud Run service <code>{{.Service}}</code>
in <code>{{.Region}}</code>
in the GCP project <code>{{.Project}}</code>.
</p>
<p class="callout">
You can deploy any container to Cloud Run that listens for HTTP requests on the port defined by the
<code>PORT</code> environment variable.
</p>
</div>
</div>
</body>
</html>
`))

// helloHandler serves the hello sample for one revision.
func helloHandler(h helloInfo) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "User-agent: *\nDisallow: /\n")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		info := map[string]string{
			"message":  "It's running!",
			"service":  h.Service,
			"revision": h.Revision,
			"region":   h.Region,
			"project":  h.Project,
		}
		switch service.Format(r) {
		case "json":
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(info)
		case "text":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "It's running! service=%s revision=%s region=%s project=%s\n", h.Service, h.Revision, h.Region, h.Project)
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			helloPage.Execute(w, h)
		}
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.Outage {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]any{
				"error": map[string]any{
					"code":    http.StatusServiceUnavailable,
					"message": fmt.Sprintf("simulated outage: %s=1 is set on revision %s in region %s; deploy a revision without it to recover", lab.OutageEnv, h.Revision, h.Region),
				},
				"region":   h.Region,
				"revision": h.Revision,
			})
			return
		}
		mux.ServeHTTP(w, r)
	})
}
