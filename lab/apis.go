package lab

// The Google APIs the lab calls, by the names Service Usage knows them by.
const (
	APIRun              = "run.googleapis.com"
	APICompute          = "compute.googleapis.com"
	APIArtifactRegistry = "artifactregistry.googleapis.com"
	APIServiceUsage     = "serviceusage.googleapis.com"
	APIAIPlatform       = "aiplatform.googleapis.com"
	APIGenerativeAI     = "generativelanguage.googleapis.com"
	APIIAM              = "iam.googleapis.com"
	APIResourceManager  = "cloudresourcemanager.googleapis.com"
	APIDNS              = "dns.googleapis.com"
	APICertManager      = "certificatemanager.googleapis.com"
)

// apiTitles are the APIs' names as Google shows them.
var apiTitles = map[string]string{
	APIRun:              "Cloud Run Admin API",
	APICompute:          "Compute Engine API",
	APIArtifactRegistry: "Artifact Registry API",
	APIServiceUsage:     "Service Usage API",
	APIAIPlatform:       "Vertex AI API",
	APIGenerativeAI:     "Generative Language API",
	APIIAM:              "Identity and Access Management (IAM) API",
	APIResourceManager:  "Cloud Resource Manager API",
	APIDNS:              "Cloud DNS API",
	APICertManager:      "Certificate Manager API",
}

// APITitle is what Google calls the API named api ("Cloud Run Admin API"),
// or api itself for one the lab does not know.
func APITitle(api string) string {
	if t, ok := apiTitles[api]; ok {
		return t
	}
	return api
}
