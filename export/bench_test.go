package export_test

import (
	"context"
	"testing"
	"time"

	"github.com/beyond-lab/beyond/export"
	"github.com/beyond-lab/beyond/steps"
)

// BenchmarkExport reads the lab from the simulator and renders the
// Terraform and the script: what `beyond export` does after connecting.
func BenchmarkExport(b *testing.B) {
	lab := build(b)
	ctx := context.Background()
	for b.Loop() {
		l, err := export.Read(ctx, lab.cloud, lab.vars)
		if err != nil {
			b.Fatal(err)
		}
		export.Terraform(l)
		export.Script(l)
	}
}

// BenchmarkChart draws the chart of five minutes at 20 requests a second,
// the longest a restore waits on Google.
func BenchmarkChart(b *testing.B) {
	rec := steps.Record{Project: "p"}
	t0 := time.Now()
	for i := range 6000 {
		region := "us-central1"
		if i > 2000 && i < 4000 {
			region = "europe-west1"
		}
		rec.Samples = append(rec.Samples, steps.RecordedSample{At: t0.Add(time.Duration(i) * 50 * time.Millisecond), Status: 200, Region: region})
	}
	rec.Marks = []steps.Mark{{Step: steps.BreakRegion, Kind: steps.MarkBreak, At: t0.Add(100 * time.Second)}}
	vars := steps.DefaultVars()
	b.ReportAllocs()
	for b.Loop() {
		export.Chart(rec, vars)
	}
}
