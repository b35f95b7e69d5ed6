package main

import (
	"context"
	"fmt"
	"path/filepath"
)

// micro runs the Go benchmarks behind the per-request costs: the bench
// module's interleaved JWT comparison, and the main module's cookie
// checks per backend and cookie-vs-Ed25519 interleaved benchmark.
func micro(ctx context.Context, rep *Report, root string, quick bool) {
	n, count := "3000x", "3"
	if quick {
		n, count = "300x", "1"
	}
	logf("per-request costs: go test -bench JWTInterleaved (bench module)")
	lines := []string{"Medians of individually timed calls, interleaved (see *Reading the numbers* in [benchmark-notes.md](benchmark-notes.md)); " +
		"one goroutine, so each is also the CPU time per check. `-count " + count + "`, medians over the runs.", "",
		"**JWT check** (`go test -run '^$' -bench JWTInterleaved -benchtime " + n + " -count " + count + "` in bench/), µs per check, ratio to bare:", "",
		tableHead("alg", "bare", "verifier", "golang-jwt v5", "jwx v3")}
	out, err := goBench(ctx, filepath.Join(root, "bench"), ".", "JWTInterleaved", nil, "-benchtime", n, "-count", count)
	jwt := ParseBenchOutput(out)
	if err != nil {
		rep.Notes = append(rep.Notes, "JWT micro-benchmarks failed: "+firstLine(err))
	}
	med := func(unit string) map[string]float64 { return MedianMetric(jwt, unit) }
	bare, ver, gj, jx := med("bare-p50-ns"), med("verifier-p50-ns"), med("golang-jwt-p50-ns"), med("jwx-p50-ns")
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		k := "BenchmarkJWTInterleaved/" + alg
		b := bare[k]
		cell := func(v float64) string {
			if v == 0 {
				return "—"
			}
			return fmt.Sprintf("%.1f (%.2f)", v/1e3, Ratio(v, b))
		}
		lines = append(lines, fmt.Sprintf("| %s | %.1f | %s | %s | %s |", alg, b/1e3, cell(ver[k]), cell(gj[k]), cell(jx[k])))
		r := Ratio(ver[k], b)
		bound := 1.10
		if alg == "RS256" {
			bound = 1.05 // issue 18
		}
		rep.Targets = append(rep.Targets, Target{Name: "verifier " + alg + " vs bare signature check", Bound: fmt.Sprintf("≤ %.2f", bound), Measured: ratioStr(r),
			Verdict: metIf(r <= bound)})
		if ver[k] > 0 && gj[k] > 0 && jx[k] > 0 {
			rep.Targets = append(rep.Targets, Target{Name: "verifier " + alg + " faster than golang-jwt and jwx", Bound: "verifier < both",
				Measured: fmt.Sprintf("%.1f vs %.1f / %.1f µs", ver[k]/1e3, gj[k]/1e3, jx[k]/1e3),
				Verdict:  metIf(ver[k] < gj[k] && ver[k] < jx[k])})
		}
	}

	logf("per-request costs: go test -bench CookieAuth ./internal/app/ (main module)")
	cn := "2000x"
	if quick {
		cn = "200x"
	}
	out, err = goBench(ctx, root, "./internal/app/", "^BenchmarkCookieAuth$", serviceEnv(), "-benchtime", cn, "-count", count)
	if err != nil {
		rep.Notes = append(rep.Notes, "cookie micro-benchmarks failed: "+firstLine(err))
	}
	cl := ParseBenchOutput(out)
	lines = append(lines, "", "**Cookie check through the session service** (`go test -run '^$' -bench '^BenchmarkCookieAuth$' -benchtime "+cn+" -count "+count+" ./internal/app/`), µs; "+
		"`cached` hits the in-process cache, `uncached` reads the session store (after `Evict`); `GET /v1/me` is the whole request in process, which also reads the user:", "",
		tableHead("backend", "check, cached", "check, uncached", "GET /v1/me cached", "GET /v1/me uncached", "uncached / bare Redis GET"))
	warm, cold, mew, mec, xget := MedianMetric(cl, "check-warm-µs"), MedianMetric(cl, "check-cold-µs"), MedianMetric(cl, "me-warm-µs"), MedianMetric(cl, "me-cold-µs"), MedianMetric(cl, "cold-x-get")
	for _, b := range []string{"sqlite", "postgres", "redis"} {
		k := "BenchmarkCookieAuth/" + b
		if _, ok := warm[k]; !ok {
			lines = append(lines, fmt.Sprintf("| %s | not run (service unavailable or benchmark skipped) | | | | |", b))
			continue
		}
		x := "—"
		if v, ok := xget[k]; ok {
			x = fmt.Sprintf("%.2f", v)
			rep.Targets = append(rep.Targets, Target{Name: "Redis cookie check, cache miss, vs bare GET", Bound: "≤ 1.3", Measured: x,
				Verdict: metIf(v <= 1.3)})
		}
		lines = append(lines, fmt.Sprintf("| %s | %.2f | %.1f | %.1f | %.1f | %s |", b, warm[k], cold[k], mew[k], mec[k], x))
	}

	logf("per-request costs: go test -bench CookieAuthInterleaved ./internal/httpapi/")
	out, err = goBench(ctx, root, "./internal/httpapi/", "CookieAuthInterleaved", nil, "-benchtime", cn, "-count", count)
	if err != nil {
		rep.Notes = append(rep.Notes, "cookie-vs-Ed25519 benchmark failed: "+firstLine(err))
	}
	ci := ParseBenchOutput(out)
	k := "BenchmarkCookieAuthInterleaved"
	req, step, ed := MedianMetric(ci, "request-ns")[k], MedianMetric(ci, "step-ns")[k], MedianMetric(ci, "ed25519-ns")[k]
	lines = append(lines, "", fmt.Sprintf("**Cookie request vs one Ed25519 verification** (`BenchmarkCookieAuthInterleaved`, SQLite, cached): request %.0f ns, authentication step %.0f ns, `ed25519.Verify` %.0f ns.", req, step, ed))
	r := Ratio(req, ed)
	rep.Targets = append(rep.Targets, Target{Name: "cookie request through the middleware vs one Ed25519 verification", Bound: "≤ 0.25", Measured: ratioStr(r),
		Verdict: verdictAtMost(r, 0.25)})
	lines = append(lines, bearerNetwork(ctx, rep, root, cn, count)...)
	rep.Micro = lines
}

// storage adds the storage-per-record lines.
func storage(ctx context.Context, rep *Report, svc *Services, sr StormResult, storm int) {
	lines := []string{"", "Storage per session:", "", tableHead("backend", "how", "bytes per session")}
	if n := sr.OK(); n > 0 && sr.DBAfter > 0 {
		lines = append(lines, fmt.Sprintf("| sqlite | growth of the database files (db + WAL) over the storm's %d logins; WAL-inflated upper bound | %.0f |", n, float64(sr.DBAfter-sr.DBBytesBefore)/float64(n)))
	}
	if svc.PostgresURL != "" {
		if size, rows, err := svc.PostgresTableBytes(ctx, "sessions"); err == nil && rows > 0 {
			lines = append(lines, fmt.Sprintf("| postgres | `pg_total_relation_size('sessions')` / %d rows (table + indexes, page-granular) | %.0f |", rows, float64(size)/float64(rows)))
		}
		if size, rows, err := svc.PostgresTableBytes(ctx, "refresh_tokens"); err == nil && rows > 0 {
			lines = append(lines, fmt.Sprintf("| postgres (per grant) | `pg_total_relation_size('refresh_tokens')` / %d rows | %.0f |", rows, float64(size)/float64(rows)))
		}
	}
	if svc.RedisURL != "" {
		if size, n, err := svc.RedisSessionBytes(ctx); err == nil && n > 0 {
			lines = append(lines, fmt.Sprintf("| redis | `MEMORY USAGE` summed over the run's %d keys (sessions and their per-user index) | %.0f per key |", n, float64(size)/float64(n)))
		}
	}
	lines = append(lines, "", "These small samples are rough; *Growth* below measures bytes per session and per grant on each backend over many records.")
	rep.Storage = lines
}
