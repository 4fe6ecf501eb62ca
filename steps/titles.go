package steps

// shortTitles are titles for a narrow list of steps, where the step's own
// title (its prose's heading) would be cut. A step without one keeps its
// title.
var shortTitles = map[string]string{
	ServiceAccount: "Service identity",
	GrantVertexAI:  "Grant Vertex AI",
	Repository:     "Image repository",
	BuildImage:     "Build the image",
	NEGA:           "NEG for region A",
	NEGB:           "NEG for region B",
	BackendService: "Backend service",
	URLMap:         "URL map, retries",
	Proxy:          "Target HTTP proxy",
	ForwardingRule: "Forwarding rule",
	BreakWorkshop:  "Workshop's break",
	BreakRegion:    "Break region A",
	Ingress:        "LB-only ingress",
	ArmorPreview:   "Rate limit, preview",
	ArmorEnforce:   "Enforce rate limit",
	MaxInstances:   "Cost ceiling",
	StaticIP:       "Static IP",
	DNSZone:        "DNS zone and record",
	Certificate:    "Managed certificate",
	CertificateMap: "Certificate map",
	HTTPSFrontend:  "HTTPS front end",
	HTTPSRedirect:  "HTTP to HTTPS",
	HTTPSCheck:     "Check HTTPS",
}

// ShortTitle is step id's title for a narrow list: at most 20 characters
// when the lab has one, else "".
func ShortTitle(id string) string { return shortTitles[id] }
