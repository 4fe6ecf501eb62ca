// Command count counts, through Google's official clients, what the lab
// created in a project on a running simulator (the BEYOND_*_ENDPOINT
// variables that `beyond sim` prints), and prints it: one line per kind,
// then "total N". It exits 1 when anything is left, so that bench/replays
// can check that `beyond cleanup` leaves nothing.
package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/beyond-lab/beyond/gcp/sim/simtest"
	"github.com/beyond-lab/beyond/lab"
)

func main() {
	project := "beyond-lab"
	if len(os.Args) > 1 {
		project = os.Args[1]
	}
	ep, ok, err := lab.EndpointsFromEnv(os.Getenv)
	if err != nil || !ok {
		fmt.Fprintln(os.Stderr, "count: export the lines `beyond sim` prints first:", err)
		os.Exit(2)
	}
	got, err := simtest.Count(context.Background(), ep, project)
	if err != nil {
		fmt.Fprintln(os.Stderr, "count:", err)
		os.Exit(2)
	}
	total := 0
	for _, kind := range slices.Sorted(maps.Keys(got)) {
		fmt.Printf("%s %d %v\n", kind, len(got[kind]), got[kind])
		total += len(got[kind])
	}
	fmt.Println("total", total)
	if total > 0 {
		os.Exit(1)
	}
}
