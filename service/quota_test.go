package service

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"cloud.google.com/go/auth"
)

type staticToken struct{}

func (staticToken) Token(context.Context) (*auth.Token, error) {
	return &auth.Token{Value: "test-token", Type: "Bearer"}, nil
}

// TestQuotaProjectWinsOverTheCredentials: user credentials carry their own
// quota project, which Google's auth transport sends on every request. With
// QuotaProject set, the Vertex AI calls bill that project instead.
func TestQuotaProjectWinsOverTheCredentials(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("X-Goog-User-Project")+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"name":"publishers/google/models/gemini-3.5-flash","totalTokens":1}`))
	}))
	defer srv.Close()
	theirs := auth.NewCredentials(&auth.CredentialsOptions{
		TokenProvider:          staticToken{},
		QuotaProjectIDProvider: auth.CredentialsPropertyFunc(func(context.Context) (string, error) { return "someone-elses-project", nil }),
	})
	c, err := NewClassifier(context.Background(), Config{VertexAI: true, Project: "lab-project", Location: "us-central1",
		BaseURL: srv.URL, Credentials: theirs, QuotaProject: "lab-project"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Served(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 {
		t.Fatal("no request reached the fake Vertex AI")
	}
	for _, s := range seen {
		if s != "lab-project Bearer test-token" {
			t.Errorf("a request carried %q; want quota project lab-project and the credentials' token", s)
		}
	}
}
