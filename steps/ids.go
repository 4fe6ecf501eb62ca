package steps

// The IDs of the lab's steps, in lab order. Front ends, flags (--from, --to,
// --step), saved progress and the prose in content/ID.md all name steps by
// these.
const (
	ConfirmAI      = "confirm-ai"
	Project        = "project"
	EnableAPIs     = "enable-apis"
	ServiceAccount = "service-account"
	GrantVertexAI  = "grant-vertex-ai"
	Repository     = "repository"
	BuildImage     = "build-image"
	DeployA        = "deploy-a"
	DeployB        = "deploy-b"
	NEGA           = "neg-a"
	NEGB           = "neg-b"
	BackendService = "backend-service"
	BackendA       = "backend-a"
	BackendB       = "backend-b"
	URLMap         = "url-map"
	Proxy          = "proxy"
	ForwardingRule = "forwarding-rule"
	GlobalIP       = "global-ip"
	Curl           = "curl"
	BreakWorkshop  = "break-workshop"
	BreakRegion    = "break-region"
	Failover       = "failover"
	Restore        = "restore"
	Ingress        = "ingress"
	ArmorPreview   = "armor-preview"
	ArmorEnforce   = "armor-enforce"
	MaxInstances   = "max-instances"
	StaticIP       = "static-ip"
	DNSZone        = "dns-zone"
	Certificate    = "certificate"
	CertificateMap = "certificate-map"
	HTTPSFrontend  = "https-frontend"
	HTTPSRedirect  = "https-redirect"
	HTTPSCheck     = "https-check"
	Cleanup        = "cleanup"
)

// The IDs of the workshop's parts, in order.
const (
	PartCode       = "code"
	PartDeploy     = "deploy"
	PartGlobal     = "global"
	PartVerify     = "verify"
	PartProduction = "production"
	PartCleanup    = "cleanup"
)
