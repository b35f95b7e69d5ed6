// Command ghseed adds live cookie sessions and token grants straight to a
// Gatehouse server's stores, for the growth benchmarks of ghbench (see
// package benchseed). It is a benchmarking tool, not part of the server:
//
//	ghseed -db data/gatehouse.db -cookies 1000000 -sample 2000 -sample-out cookies.txt -measure
//
// It prints what it did as one JSON object.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/gatehouse-auth/gatehouse/internal/benchseed"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := benchseed.Run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ghseed:", err)
		os.Exit(1)
	}
}
