package main

import "testing"

func TestParseBenchOutput(t *testing.T) {
	out := `goos: linux
BenchmarkJWTInterleaved/EdDSA-2         	    2000	    190000 ns/op	     39500 bare-p50-ns	     41700 verifier-p50-ns	         1.057 verifier/bare
BenchmarkJWTInterleaved/EdDSA-2         	    2000	    190000 ns/op	     40500 bare-p50-ns	     42700 verifier-p50-ns	         1.059 verifier/bare
BenchmarkJWTInterleaved/EdDSA-2         	    2000	    190000 ns/op	     40000 bare-p50-ns	     99999 verifier-p50-ns	         2.5 verifier/bare
BenchmarkCookieAuth/redis-2 	 1000	 5000 ns/op	 1.7 check-warm-µs	 120 check-cold-µs	 1.24 cold-x-get
--- SKIP: BenchmarkCookieAuth/postgres
PASS
`
	lines := ParseBenchOutput(out)
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4: %+v", len(lines), lines)
	}
	if lines[3].Name != "BenchmarkCookieAuth/redis" || lines[3].Metrics["check-cold-µs"] != 120 {
		t.Errorf("cookie line = %+v", lines[3])
	}
	m := MedianMetric(lines, "verifier-p50-ns")
	if m["BenchmarkJWTInterleaved/EdDSA"] != 42700 {
		t.Errorf("median = %v", m)
	}
}

func TestParseStatusField(t *testing.T) {
	st := "Name:\tgatehouse\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n"
	if got := parseStatusField(st, "VmHWM"); got != 51200*1024 {
		t.Errorf("VmHWM = %d", got)
	}
	if got := parseStatusField(st, "VmSwap"); got != -1 {
		t.Errorf("missing field = %d", got)
	}
}
