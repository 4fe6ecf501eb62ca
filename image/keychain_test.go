package image

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// TestCredentialsResolvedPerCall: each push resolves the credentials anew,
// with its own context (google.Keychain keeps the first answer for the
// process's life). The token endpoint is a local fake that hands out the
// refresh token's name as the access token.
func TestCredentialsResolvedPerCall(t *testing.T) {
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "token-of-" + r.Form.Get("refresh_token"), "token_type": "Bearer", "expires_in": 3600})
	}))
	defer tokens.Close()
	adc := func(refresh string) string {
		file := filepath.Join(t.TempDir(), "adc.json")
		body := fmt.Sprintf(`{"type":"authorized_user","client_id":"id","client_secret":"not-a-secret","refresh_token":%q,"token_uri":%q}`, refresh, tokens.URL)
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	repo, err := name.NewRepository("us-central1-docker.pkg.dev/p/r/img")
	if err != nil {
		t.Fatal(err)
	}
	authorization := func() string {
		a, err := callKeychain{context.Background()}.Resolve(repo)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Password
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", adc("first"))
	if got := authorization(); got != "token-of-first" {
		t.Fatalf("first push authorised with %q", got)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", adc("second")) // the learner logged in again
	if got := authorization(); got != "token-of-second" {
		t.Errorf("second push authorised with %q; want the new credentials' token", got)
	}
	other, _ := name.NewRepository("index.docker.io/library/busybox")
	if a, err := (callKeychain{context.Background()}).Resolve(other); err != nil || a != authn.Anonymous {
		t.Errorf("a non-Google registry got %v, %v; want anonymous", a, err)
	}
}
