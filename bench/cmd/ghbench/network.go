package main

import (
	"context"
	"fmt"
	"math"
)

// bearerNetwork runs BenchmarkBearerAuthNetwork of the main module (a
// server on PostgreSQL and Redis, each behind a byte-counting proxy),
// adds the target "a bearer check needs no network call" with the bytes
// it measured, and returns the report lines that describe it.
func bearerNetwork(ctx context.Context, rep *Report, root, n, count string) []string {
	logf("per-request costs: go test -bench BearerAuthNetwork ./internal/app/")
	out, err := goBench(ctx, root, "./internal/app/", "^BenchmarkBearerAuthNetwork$", serviceEnv(), "-benchtime", n, "-count", count)
	t := Target{Name: "bearer check needs no network call (PostgreSQL + Redis layout)", Bound: "0 bytes sent to either per check", Verdict: "not measured"}
	if err != nil {
		rep.Notes = append(rep.Notes, "bearer network benchmark failed: "+firstLine(err))
	}
	lines := BearerNetworkLines(ParseBenchOutput(out), &t, "`go test -run '^$' -bench '^BenchmarkBearerAuthNetwork$' -benchtime "+n+" -count "+count+" ./internal/app/`")
	rep.Targets = append(rep.Targets, t)
	return lines
}

// BearerNetworkLines reads the benchmark's lines into the target t and
// the report's lines; cmd names the command that produced them.
func BearerNetworkLines(lines []BenchLine, t *Target, cmd string) []string {
	const k = "BenchmarkBearerAuthNetwork"
	pgB, ok1 := MedianMetric(lines, "pg-bytes/op")[k]
	rdB, ok2 := MedianMetric(lines, "redis-bytes/op")[k]
	if !ok1 || !ok2 {
		t.Measured = "not run (PostgreSQL or Redis unavailable, or the benchmark failed)"
		return []string{"", "**Bearer check and the network**: not run (PostgreSQL or Redis unavailable)."}
	}
	// The worst run decides: a single byte in any run is a network call.
	worst := math.Max(maxMetric(lines, k, "pg-bytes/op"), maxMetric(lines, k, "redis-bytes/op"))
	t.Measured = fmt.Sprintf("%.1f B to PostgreSQL, %.1f B to Redis per check (median of runs; worst run %.1f B)", pgB, rdB, worst)
	t.Verdict = metIf(worst == 0)
	check, me := MedianMetric(lines, "check-µs")[k], MedianMetric(lines, "me-µs")[k]
	return []string{"", fmt.Sprintf("**Bearer check and the network** (%s): a server on PostgreSQL and Redis, each reached through a proxy that counts the bytes sent to it; "+
		"per iteration one `AuthenticateBearer` (%.1f µs) and one whole `GET /v1/me` by bearer in process (%.1f µs). Bytes sent per iteration: PostgreSQL %.0f, Redis %.0f.", cmd, check, me, pgB, rdB)}
}

// maxMetric returns the largest value of a metric over a benchmark's lines.
func maxMetric(lines []BenchLine, name, unit string) float64 {
	m := 0.0
	for _, l := range lines {
		if v, ok := l.Metrics[unit]; ok && l.Name == name {
			m = math.Max(m, v)
		}
	}
	return m
}
