package service

import (
	"cloud.google.com/go/auth"
	"errors"
	"fmt"
	"github.com/beyond-lab/beyond/lab"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultModel is the Gemini model a check uses unless GEMINI_MODEL names
// another: the lab catalogue's choice (lab.DefaultModel). Google retires
// and moves models every few weeks, which is why it is a setting, and why
// the lab asks whether a model is served before it deploys
// (Classifier.Served).
var DefaultModel = lab.DefaultModel

// Limits of one check.
const (
	// MaxBodyBytes is the largest request body /v1/check reads; a bigger one
	// is answered 413 without being read to the end.
	MaxBodyBytes = 16 << 10
	// MaxTextChars is the longest text, in characters, a check accepts. A
	// pre-query check looks at a user's question, not at documents.
	MaxTextChars = 4000
	// DefaultTimeout bounds one check, retries included: far under Cloud Run's
	// 300 s request timeout, so the client hears from us, not from a 504 of
	// the platform.
	DefaultTimeout = 20 * time.Second
	// DefaultRetries is how many times a check retries Gemini after a 429,
	// 500 or 503 before it gives up.
	DefaultRetries = 2
)

// Config says which Gemini to call and how. The zero value is not usable:
// start from ConfigFromEnv or set Model and either APIKey or VertexAI.
type Config struct {
	// Model is the Gemini model ID, DefaultModel if empty.
	Model string
	// APIKey is a Gemini Developer API key (GEMINI_API_KEY or GOOGLE_API_KEY,
	// the latter winning as it does in Google's SDK). Ignored with VertexAI.
	APIKey string
	// VertexAI selects Vertex AI with Application Default Credentials (on
	// Cloud Run: the service's own identity) instead of an API key.
	VertexAI bool
	// Project and Location are the Vertex AI project and location
	// (GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION; location "global" if
	// unset).
	Project, Location string
	// BaseURL replaces Google's endpoint, for a proxy or a fake
	// (GOOGLE_GEMINI_BASE_URL, or GOOGLE_VERTEX_BASE_URL with VertexAI).
	BaseURL string
	// Timeout bounds one check, retries included (CHECK_TIMEOUT, e.g. "20s").
	Timeout time.Duration
	// Retries is how many times a 429, 500 or 503 from Gemini is retried
	// (CHECK_RETRIES). Negative means none.
	Retries int
	// HTTPClient, if set, carries the calls to Gemini (tests, proxies). With
	// VertexAI it must add credentials itself.
	HTTPClient *http.Client
	// Credentials, with VertexAI and no HTTPClient, are who calls; nil is
	// Application Default Credentials.
	Credentials *auth.Credentials
	// QuotaProject, with VertexAI and no HTTPClient, is the project billed
	// for the calls. User credentials (gcloud auth application-default
	// login) carry a quota project of their own, which the auth transport
	// sends on every request: the lab passes its --project here, as its
	// other clients do, so that it never bills another project.
	QuotaProject string
}

// ConfigFromEnv reads a Config from the environment variables Google's SDK
// and this service document (see README.md). It fails on a value it cannot
// parse, never on a missing one: NewClassifier says what is missing.
func ConfigFromEnv() (Config, error) { return ConfigFromLookup(os.Getenv) }

// ConfigFromLookup is ConfigFromEnv reading variables through getenv: for
// running the service in-process with a revision's environment.
func ConfigFromLookup(getenv func(string) string) (Config, error) {
	c := Config{
		Model:    strings.TrimSpace(getenv("GEMINI_MODEL")),
		Project:  getenv("GOOGLE_CLOUD_PROJECT"),
		Location: getenv("GOOGLE_CLOUD_LOCATION"),
		Timeout:  DefaultTimeout,
		Retries:  DefaultRetries,
	}
	if c.Location == "" {
		c.Location = getenv("GOOGLE_CLOUD_REGION")
	}
	// GOOGLE_API_KEY wins over GEMINI_API_KEY, as in Google's SDKs, so a key
	// behaves the same here as in the learner's own scripts.
	c.APIKey = getenv("GOOGLE_API_KEY")
	if c.APIKey == "" {
		c.APIKey = getenv("GEMINI_API_KEY")
	}
	var errs []error
	switch v := strings.ToLower(strings.TrimSpace(getenv("GOOGLE_GENAI_USE_VERTEXAI"))); v {
	case "1", "true":
		c.VertexAI = true
		c.BaseURL = getenv("GOOGLE_VERTEX_BASE_URL")
	case "", "0", "false":
		c.BaseURL = getenv("GOOGLE_GEMINI_BASE_URL")
	default:
		errs = append(errs, fmt.Errorf("GOOGLE_GENAI_USE_VERTEXAI=%q: use true for Vertex AI or false for the Gemini Developer API", v))
	}
	if v := getenv("CHECK_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 290*time.Second {
			errs = append(errs, fmt.Errorf("CHECK_TIMEOUT=%q: want a duration from 1s to 290s (under Cloud Run's 300 s request timeout), e.g. 20s", v))
		} else {
			c.Timeout = d
		}
	}
	if v := getenv("CHECK_RETRIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 5 {
			errs = append(errs, fmt.Errorf("CHECK_RETRIES=%q: want a number from 0 to 5", v))
		} else {
			c.Retries = n
		}
	}
	return c, errors.Join(errs...)
}

// withDefaults fills what was left empty and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Model == "" {
		c.Model = DefaultModel
	}
	if strings.ContainsAny(c.Model, "/:?# ") {
		return c, fmt.Errorf("%w: model ID %q is not a bare model name such as %s: fix GEMINI_MODEL", ErrConfig, c.Model, DefaultModel)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Retries < 0 {
		c.Retries = 0
	}
	if c.VertexAI {
		if c.Project == "" && c.BaseURL == "" {
			return c, fmt.Errorf("%w: Vertex AI needs a project: set GOOGLE_CLOUD_PROJECT (and GOOGLE_CLOUD_LOCATION, default global)", ErrConfig)
		}
		if c.Location == "" && c.Project != "" {
			c.Location = "global"
		}
		// The key is not used on this path; drop it so that it cannot leak
		// through an error of the SDK's that prints its configuration.
		c.APIKey = ""
		return c, nil
	}
	if c.APIKey == "" {
		return c, fmt.Errorf("%w: no Gemini API key: set GEMINI_API_KEY (from https://aistudio.google.com/apikey), or set GOOGLE_GENAI_USE_VERTEXAI=true with GOOGLE_CLOUD_PROJECT to use Vertex AI with the service's identity", ErrConfig)
	}
	return c, nil
}

// Mode names how the classifier reaches Gemini, for logs and the lab.
func (c Config) Mode() string {
	if c.VertexAI {
		return "vertex-ai"
	}
	return "gemini-api-key"
}
