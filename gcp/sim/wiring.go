package sim

import (
	"net/http"

	"google.golang.org/grpc"
)

// registerGRPC puts every gRPC API on the one gRPC server.
func (s *Sim) registerGRPC(g *grpc.Server) {
	s.registerRun(g)              // run.go: Cloud Run Admin v2, IAM, longrunning
	s.registerServiceUsage(g)     // serviceusage.go
	s.registerArtifactRegistry(g) // artifactregistry.go
	s.registerIAMAdmin(g)         // iamadmin.go: service accounts
	s.registerProjects(g)         // projects.go: the project's IAM policy
	s.registerCertManager(g)      // certmanager.go: Certificate Manager
}

// registerHTTP puts every REST API on the one HTTP server.
func (s *Sim) registerHTTP(mux *http.ServeMux) {
	s.registerCompute(mux)                                       // compute.go
	s.registerServiceUsageREST()                                 // serviceusage_rest.go, by Host only
	s.registerArtifactRegistryREST()                             // artifactregistry_rest.go, by Host only
	s.registerRunREST(mux)                                       // run_v1.go, run_v2rest.go
	s.registerIAMREST()                                          // iamadmin_rest.go, by Host only
	s.registerDNS(mux)                                           // dns.go: Cloud DNS
	s.registerCertManagerREST()                                  // certmanager_rest.go, by Host only
	mux.HandleFunc("GET /beyond/v1/frontends", s.serveFrontends) // lb.go
	mux.HandleFunc("GET /beyond/v1/health", s.serveHealth)       // health.go
	mux.HandleFunc("GET /beyond/v1/ca", s.serveCA)               // ca.go
}

// startExtras starts the listeners that are not APIs: the OCI registry, the
// metadata server, the fake Gemini endpoint, the data plane.
func (s *Sim) startExtras() error {
	for _, start := range []func() error{
		s.startRegistry,  // oci.go
		s.startMetadata,  // metadata.go
		s.startGemini,    // gemini.go
		s.startDataPlane, // dataplane.go: instances, service fronts, load balancers
		s.startDNS,       // dnsserver.go: the public zones on a DNS port
	} {
		if err := start(); err != nil {
			return err
		}
	}
	return nil
}
