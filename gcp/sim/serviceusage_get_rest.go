package sim

import (
	"context"
	"net/http"
	"strings"

	"cloud.google.com/go/serviceusage/apiv1/serviceusagepb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A minimal Service Usage REST surface: the one call `gcloud run deploy`
// makes first, GET v1/projects/P/services/run.googleapis.com, to see that
// Cloud Run is enabled. It stands until the full Service Usage REST surface
// lands, which replaces it (and registers the same host).
func (s *Sim) registerServiceUsageGetREST() {
	if _, ok := s.hosts["serviceusage.googleapis.com"]; ok {
		return
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if r.Method != http.MethodGet || len(segs) != 5 || segs[0] != "v1" || segs[1] != "projects" || segs[3] != "services" {
			runV1Error(w, status.Errorf(codes.Unimplemented, "The simulator's Service Usage REST answers only GET /v1/projects/P/services/NAME so far."), 0)
			return
		}
		s.runV1Call(w, "serviceusage.GetService", func() (any, error) {
			return (&suServer{s: s}).GetService(context.Background(), &serviceusagepb.GetServiceRequest{Name: "projects/" + segs[2] + "/services/" + segs[4]})
		})
	})
	s.hosts["serviceusage.googleapis.com"] = googleHost{"Service Usage v1", func(string) http.Handler { return h }}
}
