//go:build pprof

package main

// Built with -tags pprof only (never in a release): GATEHOUSE_PPROF_ADDR,
// a loopback address such as 127.0.0.1:6060, serves net/http/pprof there,
// so that a profile of the real binary under load can be taken with
// `go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=10`.
// See "Profiling the real binary" in docs/benchmark-notes.md.
// GATEHOUSE_PPROF_MEMRATE sets runtime.MemProfileRate (1 records every
// allocation after the packages' initialisation: what start-up keeps).

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // registers on http.DefaultServeMux, which nothing else serves
	"os"
	"runtime"
	"strconv"
)

func init() {
	if n, err := strconv.Atoi(os.Getenv("GATEHOUSE_PPROF_MEMRATE")); err == nil && n > 0 {
		runtime.MemProfileRate = n
	}
	addr := os.Getenv("GATEHOUSE_PPROF_ADDR")
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(os.Stderr, "gatehouse: GATEHOUSE_PPROF_ADDR %q is not a loopback address; pprof not served\n", addr)
		return
	}
	go func() {
		fmt.Fprintln(os.Stderr, "gatehouse: pprof:", http.ListenAndServe(addr, nil))
	}()
}
