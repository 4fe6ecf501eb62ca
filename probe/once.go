package probe

import (
	"context"
	"net/http"
	"time"
)

// Once sends one request as Run does and returns its sample and the start
// of the response body, for showing a learner what came back.
func Once(ctx context.Context, cfg Config) (Sample, string) {
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	method := cfg.Method
	if method == "" {
		method = http.MethodGet
	}
	var body []byte
	s := doBody(ctx, client, method, cfg, &body)
	return s, string(body)
}
