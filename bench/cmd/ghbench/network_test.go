package main

import (
	"strings"
	"testing"
)

func TestBearerNetworkLines(t *testing.T) {
	cases := []struct {
		name, out, verdict, measured string
	}{
		{"none sent", "BenchmarkBearerAuthNetwork-2 \t 300\t 184560 ns/op\t 75.49 check-µs\t 95.41 me-µs\t 0 pg-bytes/op\t 0 redis-bytes/op\n" +
			"BenchmarkBearerAuthNetwork-2 \t 300\t 184560 ns/op\t 70 check-µs\t 90 me-µs\t 0 pg-bytes/op\t 0 redis-bytes/op\n",
			"met", "0.0 B to PostgreSQL, 0.0 B to Redis per check"},
		{"one run sent bytes", "BenchmarkBearerAuthNetwork-2 \t 300\t 1 ns/op\t 75 check-µs\t 95 me-µs\t 0 pg-bytes/op\t 0 redis-bytes/op\n" +
			"BenchmarkBearerAuthNetwork-2 \t 300\t 1 ns/op\t 75 check-µs\t 95 me-µs\t 0.5 pg-bytes/op\t 0 redis-bytes/op\n" +
			"BenchmarkBearerAuthNetwork-2 \t 300\t 1 ns/op\t 75 check-µs\t 95 me-µs\t 0 pg-bytes/op\t 0 redis-bytes/op\n",
			"not met", "worst run 0.5 B"},
		{"skipped", "--- SKIP: BenchmarkBearerAuthNetwork\nPASS\n", "not measured", "not run"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tg := Target{Verdict: "not measured"}
			lines := BearerNetworkLines(ParseBenchOutput(tc.out), &tg, "cmd")
			if tg.Verdict != tc.verdict || !strings.Contains(tg.Measured, tc.measured) || len(lines) == 0 {
				t.Errorf("verdict %q measured %q lines %q; want %q containing %q", tg.Verdict, tg.Measured, lines, tc.verdict, tc.measured)
			}
		})
	}
}
