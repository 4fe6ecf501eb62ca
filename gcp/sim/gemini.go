package sim

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jonreiter/govader"
)

// A fake Gemini endpoint, on its own listener, speaking generateContent as
// the Gemini Developer API does (POST /v1beta/models/MODEL:generateContent,
// key in x-goog-api-key or ?key=), and as Vertex AI does
// (POST /v1beta1/projects/P/locations/L/publishers/google/models/MODEL:generateContent,
// with a bearer token). Any non-empty key or token is accepted.
//
// Its answers come from a real, local model: VADER, a sentiment lexicon
// (github.com/jonreiter/govader), compound score ≥ 0.05 positive, ≤ -0.05
// negative, neutral between; plus a handful of patterns that flag prompt
// injection. It follows the request's responseSchema and JSON MIME type, counts
// tokens as an estimate (about 4 characters a token), charges thinking tokens
// against maxOutputTokens as Gemini does, and marks every answer's
// modelVersion as simulated. It never sends a continuation token.
//
// Faults: Faults.take("gemini.generateContent") answers with Google's error
// JSON, e.g. 429 RESOURCE_EXHAUSTED.

// geminiSimulatedMark follows the model ID in modelVersion; service.Classifier
// looks for "simulated by beyond" to report simulated: true.
const geminiSimulatedMark = " (simulated by beyond: VADER lexicon)"

// geminiMaxBody is the largest request the fake reads.
const geminiMaxBody = 1 << 20

// vader is the lexicon model, loaded once: it is read-only after that.
var vader = sync.OnceValue(govader.NewSentimentIntensityAnalyzer)

// startGemini starts the fake Gemini endpoint and records its base URL in
// s.endpoints.Gemini.
func (s *Sim) startGemini() error {
	lis, err := net.Listen("tcp", net.JoinHostPort(s.opts.Host, "0"))
	if err != nil {
		return fmt.Errorf("simulator: listen for the Gemini endpoint on %s: %w", s.opts.Host, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1beta/models/{call}", s.geminiDeveloperAPI)
	mux.HandleFunc("POST /v1/models/{call}", s.geminiDeveloperAPI)
	mux.HandleFunc("POST /{version}/projects/{project}/locations/{location}/publishers/google/models/{call}", s.geminiVertexAI)
	mux.HandleFunc("GET /v1beta/models/{model}", s.geminiDeveloperAPIGet)
	mux.HandleFunc("GET /v1/models/{model}", s.geminiDeveloperAPIGet)
	mux.HandleFunc("GET /{version}/publishers/google/models/{model}", s.geminiVertexAIGet)
	mux.HandleFunc("GET /{version}/publishers/google/models", s.geminiVertexAIList)
	mux.HandleFunc("GET /v1beta/models", s.geminiDeveloperAPIList)
	mux.HandleFunc("GET /v1/models", s.geminiDeveloperAPIList)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		geminiError(w, http.StatusNotFound, fmt.Sprintf("%s %s is not served by the simulated Gemini endpoint: use POST /v1beta/models/MODEL:generateContent", r.Method, r.URL.Path))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(lis)
	s.onClose(srv.Close)
	s.mu.Lock()
	s.endpoints.Gemini = "http://" + lis.Addr().String()
	s.mu.Unlock()
	return nil
}

// geminiAt is where a call arrived: the Gemini API, or Vertex AI in a
// project and location.
type geminiAt struct {
	version           string // API version in the path: v1beta, v1beta1...
	vertex            bool
	project, location string
	key               string // the API key, if the call carried one
}

// geminiKey is the call's API key, from the header or ?key=.
func geminiKey(r *http.Request) string {
	if key := r.Header.Get("x-goog-api-key"); key != "" {
		return key
	}
	return r.URL.Query().Get("key")
}

// geminiDeveloperAuth refuses a Gemini API call without a key.
func geminiDeveloperAuth(w http.ResponseWriter, r *http.Request) bool {
	if geminiKey(r) == "" {
		geminiError(w, http.StatusForbidden, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
		return false
	}
	return true
}

// geminiVertexAuth refuses a Vertex AI call without credentials.
func geminiVertexAuth(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	if r.Header.Get("x-goog-api-key") == "" && (!strings.HasPrefix(auth, "Bearer ") || strings.TrimSpace(auth[len("Bearer "):]) == "") {
		geminiError(w, http.StatusUnauthorized, "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.")
		return false
	}
	return true
}

func (s *Sim) geminiDeveloperAPI(w http.ResponseWriter, r *http.Request) {
	if !geminiDeveloperAuth(w, r) {
		return
	}
	version, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	s.geminiCall(w, r, r.PathValue("call"), geminiAt{version: version, key: geminiKey(r)})
}

func (s *Sim) geminiVertexAI(w http.ResponseWriter, r *http.Request) {
	if !geminiVertexAuth(w, r) {
		return
	}
	key := geminiKey(r)
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && key == "" {
		// An instance's token from its metadata server names who calls.
		if _, _, _, ok := parseInstanceKey(token); ok {
			key = token
		}
	}
	s.geminiCall(w, r, r.PathValue("call"), geminiAt{version: r.PathValue("version"), vertex: true,
		project: r.PathValue("project"), location: r.PathValue("location"), key: key})
}

// geminiCall serves POST .../models/MODEL:METHOD.
func (s *Sim) geminiCall(w http.ResponseWriter, r *http.Request, call string, at geminiAt) {
	model, method, _ := strings.Cut(call, ":")
	switch method {
	case "generateContent":
		s.geminiGenerate(w, r, model, at)
	case "countTokens":
		s.geminiCountTokens(w, r, model, at)
	default:
		geminiError(w, http.StatusNotFound, fmt.Sprintf("Method %q is not served by the simulated Gemini endpoint: only generateContent and countTokens are.", call))
	}
}

// geminiRequest is the part of a GenerateContentRequest the fake reads.
// Unknown fields are ignored, as Google's JSON parsing tolerates fields of
// newer clients.
type geminiRequest struct {
	Contents          []geminiContent `json:"contents"`
	SystemInstruction *geminiContent  `json:"systemInstruction"`
	GenerationConfig  struct {
		ResponseMIMEType string                `json:"responseMimeType"`
		ResponseSchema   *geminiSchema         `json:"responseSchema"`
		MaxOutputTokens  int                   `json:"maxOutputTokens"`
		ThinkingConfig   *geminiThinkingConfig `json:"thinkingConfig"`
	} `json:"generationConfig"`
}

type geminiContent struct {
	Role  string `json:"role"`
	Parts []struct {
		Text string `json:"text"`
	} `json:"parts"`
}

func (c *geminiContent) text() string {
	if c == nil {
		return ""
	}
	var b strings.Builder
	for _, p := range c.Parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

type geminiSchema struct {
	Type             string                   `json:"type"`
	Description      string                   `json:"description"`
	Enum             []string                 `json:"enum"`
	Properties       map[string]*geminiSchema `json:"properties"`
	PropertyOrdering []string                 `json:"propertyOrdering"`
}

func (s *Sim) geminiGenerate(w http.ResponseWriter, r *http.Request, model string, at geminiAt) {
	gm, ok := s.geminiServed(w, model, "generateContent", at)
	if !ok {
		return
	}
	var req geminiRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, geminiMaxBody)).Decode(&req); err != nil {
		geminiError(w, http.StatusBadRequest, "Invalid JSON payload received. "+err.Error())
		return
	}
	var user string
	for i := len(req.Contents) - 1; i >= 0; i-- {
		if c := req.Contents[i]; c.Role == "" || c.Role == "user" {
			user = c.text()
			break
		}
	}
	if len(req.Contents) == 0 || strings.TrimSpace(user) == "" {
		geminiError(w, http.StatusBadRequest, "* GenerateContentRequest.contents: contents is not specified")
		return
	}
	gc := req.GenerationConfig
	thinking, msg := gm.thinking(gc.ThinkingConfig)
	if msg != "" {
		geminiError(w, http.StatusBadRequest, msg)
		return
	}
	if !s.geminiMayPredict(w, model, at) {
		return
	}
	if f, ok := s.fault("gemini.generateContent"); ok {
		s.log.Debug("gemini", "model", model, "fault", f.Status)
		geminiError(w, f.Status, f.Message)
		return
	}

	// The model: the lexicon's score of the user's text, and the patterns.
	score := vader().PolarityScores(user).Compound
	label := "neutral"
	switch {
	case score >= 0.05:
		label = "positive"
	case score <= -0.05:
		label = "negative"
	}
	allowed, reason := true, fmt.Sprintf("lexicon score %.2f; no injection attempt found", score)
	if geminiInjection(user) {
		allowed, reason = false, "tries to override the classifier's instructions"
	}
	v := geminiVerdict{label: label, allowed: allowed, reason: reason, score: score}
	var text string
	if strings.EqualFold(gc.ResponseMIMEType, "application/json") {
		var b bytes.Buffer
		if gc.ResponseSchema != nil {
			geminiFill(&b, gc.ResponseSchema, "", v)
		} else {
			geminiFill(&b, &geminiSchema{Type: "OBJECT", PropertyOrdering: []string{"sentiment", "allowed", "reason"},
				Properties: map[string]*geminiSchema{"sentiment": {Type: "STRING"}, "allowed": {Type: "BOOLEAN"}, "reason": {Type: "STRING"}}}, "", v)
		}
		text = b.String()
	} else {
		text = label
	}

	// Tokens, estimated at about 4 characters each; thinking spends the
	// output budget first.
	prompt := req.promptTokens()
	thoughts := thinking.thoughts(prompt)
	finish := "STOP"
	out := geminiTokens(text)
	if limit := gc.MaxOutputTokens; limit > 0 && thoughts+out > limit {
		finish = "MAX_TOKENS"
		thoughts = min(thoughts, limit)
		out = limit - thoughts
		text = geminiCut(text, out*4)
	}
	usage := map[string]any{
		"promptTokenCount":     prompt,
		"candidatesTokenCount": out,
		"totalTokenCount":      prompt + out + thoughts,
		"promptTokensDetails":  []any{map[string]any{"modality": "TEXT", "tokenCount": prompt}},
	}
	if thoughts > 0 {
		usage["thoughtsTokenCount"] = thoughts
	}
	parts := []any{}
	if text != "" {
		parts = append(parts, map[string]any{"text": text})
	}
	resp := map[string]any{
		"candidates": []any{map[string]any{
			"content":      map[string]any{"role": "model", "parts": parts},
			"finishReason": finish,
			"index":        0,
		}},
		"usageMetadata": usage,
		"modelVersion":  gm.answerer.ID + geminiSimulatedMark,
		"responseId":    geminiResponseID(),
	}
	s.log.Debug("gemini", "model", model, "sentiment", label, "allowed", allowed, "prompt_tokens", prompt, "finish", finish)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(resp)
}

type geminiVerdict struct {
	label   string
	allowed bool
	reason  string
	score   float64
}

// geminiFill writes a JSON value of schema sc for the verdict, choosing
// each property's value by its name and type.
func geminiFill(b *bytes.Buffer, sc *geminiSchema, name string, v geminiVerdict) {
	n := strings.ToLower(name)
	switch strings.ToUpper(sc.Type) {
	case "OBJECT":
		keys := slices.Clone(sc.PropertyOrdering)
		var rest []string
		for k := range sc.Properties {
			if !slices.Contains(keys, k) {
				rest = append(rest, k)
			}
		}
		sort.Strings(rest)
		b.WriteByte('{')
		first := true
		for _, k := range append(keys, rest...) {
			p := sc.Properties[k]
			if p == nil {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			geminiFill(b, p, k, v)
		}
		b.WriteByte('}')
	case "ARRAY":
		b.WriteString("[]")
	case "BOOLEAN":
		val := v.allowed
		if strings.Contains(n, "inject") || strings.Contains(n, "block") || strings.Contains(n, "flag") || strings.Contains(n, "unsafe") {
			val = !v.allowed
		}
		fmt.Fprint(b, val)
	case "NUMBER", "INTEGER":
		fmt.Fprintf(b, "%.4f", v.score)
	default: // STRING
		val := ""
		switch {
		case len(sc.Enum) > 0:
			// A label the schema allows: ours if it is there, else the
			// enum's neutral one, else its first.
			for _, want := range []string{v.label, "neutral"} {
				if i := slices.IndexFunc(sc.Enum, func(e string) bool { return strings.EqualFold(e, want) }); i >= 0 {
					val = sc.Enum[i]
					break
				}
			}
			if val == "" {
				val = sc.Enum[0]
			}
		case strings.Contains(n, "reason") || strings.Contains(n, "explanation"):
			val = v.reason
		case strings.Contains(n, "sentiment") || strings.Contains(n, "label"):
			val = v.label
		}
		sb, _ := json.Marshal(val)
		b.Write(sb)
	}
}

// geminiInjectionPatterns flag the classic prompt-injection phrasings
// (compiled on first use, as computeProjectParam).
var geminiInjectionPatterns = sync.OnceValue(func() []*regexp.Regexp {
	return []*regexp.Regexp{
		regexp.MustCompile(`(?i)\b(ignore|disregard|forget|override|bypass)\b.{0,40}\b(instructions?|prompts?|rules|directions|guidelines)\b`),
		regexp.MustCompile(`(?i)\b(reveal|print|show|repeat|leak|output)\b.{0,30}\b(system prompt|your (instructions|prompt|rules))\b`),
		regexp.MustCompile(`(?i)\b(you are now|from now on you|pretend (to be|you are)|act as (an? )?(unrestricted|unfiltered|different))\b`),
		regexp.MustCompile(`(?i)\b(jailbreak|DAN mode|developer mode)\b`),
	}
})

func geminiInjection(text string) bool {
	for _, p := range geminiInjectionPatterns() {
		if p.MatchString(text) {
			return true
		}
	}
	return false
}

// geminiTokens estimates tokens at about 4 characters each.
func geminiTokens(s string) int {
	if s == "" {
		return 0
	}
	return int(math.Ceil(float64(utf8.RuneCountInString(s)) / 4))
}

// geminiCut keeps the first n characters of s.
func geminiCut(s string, n int) string {
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// geminiResponseID is a random ID shaped like Google's responseId.
func geminiResponseID() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// geminiStatus is the status string Google pairs with an HTTP code.
func geminiStatus(code int) string {
	switch code {
	case 400:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 409:
		return "ABORTED"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case 501:
		return "UNIMPLEMENTED"
	case 503:
		return "UNAVAILABLE"
	case 504:
		return "DEADLINE_EXCEEDED"
	}
	return "INTERNAL"
}

// geminiError answers with Google's error JSON.
func geminiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": geminiStatus(code)}})
}
