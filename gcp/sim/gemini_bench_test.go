package sim

import (
	"context"
	"testing"

	"github.com/beyond-lab/beyond/service"
)

// BenchmarkCheckTokens reports what one check of the lab's service costs in
// tokens by the simulated Gemini's estimate (about 4 characters a token,
// the system instruction and the response schema's words included), for a
// typical text. Run with go test -run '^$' -bench CheckTokens ./gcp/sim/
// The target is at most 150 tokens a check.
func BenchmarkCheckTokens(b *testing.B) {
	s := startSim(b, Options{})
	c, err := service.NewClassifier(context.Background(), service.Config{APIKey: "sim-key", BaseURL: s.Endpoints().Gemini})
	if err != nil {
		b.Fatal(err)
	}
	var res service.Result
	for b.Loop() {
		if res, err = c.Check(context.Background(), "I love this product!"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.Usage.PromptTokens), "prompt-tokens/check")
	b.ReportMetric(float64(res.Usage.OutputTokens), "output-tokens/check")
	b.ReportMetric(float64(res.Usage.TotalTokens), "tokens/check")
}
