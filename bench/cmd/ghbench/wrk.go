package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The wrk rows measure the issue-18 target paths with an external load
// generator: wrk (Debian's package), run as its own process, against the
// same Gatehouse and bare servers as the closed-loop rows. See "Two load
// generators" in docs/benchmark-notes.md for why the two disagree.

// WrkConfig sets the wrk runs: threads and connections as wrk's -t and
// -c, the length of one side of one round, and the rounds per flow
// (Gatehouse and bare alternate, as in the closed-loop rows).
type WrkConfig struct {
	Threads, Conns int
	Round          time.Duration
	Rounds         int
}

// describe says what the configuration runs.
func (c WrkConfig) describe() string {
	return fmt.Sprintf("`wrk -t%d -c%d -d%v`, %d rounds per side", c.Threads, c.Conns, c.Round, c.Rounds)
}

// WrkRow is one flow measured by wrk: Gatehouse and its bare handler.
type WrkRow struct {
	Flow, Backend, Bare string
	Conns               int
	RPS, BareRPS        float64 // medians over the rounds
	// HardRPS is the same bare handler served with Gatehouse's headers
	// and server timeouts (hardenedServer), NaN when not measured.
	HardRPS            float64
	Non2xx, BareNon2xx int     // answers that were not 2xx or 3xx
	Target             float64 // the ratio target, 0 if none
	Err                string
}

// Ratio is Gatehouse's throughput over the bare handler's.
func (r WrkRow) Ratio() float64 { return Ratio(r.RPS, r.BareRPS) }

// HardRatio is Gatehouse's throughput over the hardened bare handler's.
func (r WrkRow) HardRatio() float64 { return Ratio(r.RPS, r.HardRPS) }

// wrkPath returns wrk's path, or an error that says how to install it.
func wrkPath() (string, error) {
	p, err := exec.LookPath("wrk")
	if err != nil {
		return "", errors.New("wrk is not installed (Debian/Ubuntu: apt-get install wrk); the wrk rows are left out")
	}
	return p, nil
}

// wrkScript returns the Lua script that makes wrk send r: its method,
// headers and body (wrk takes the URL on its command line).
func wrkScript(r *http.Request) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "wrk.method = %s\n", luaString(r.Method))
	if r.Body != nil {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "wrk.body = %s\n", luaString(string(body)))
	}
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&b, "wrk.headers[%s] = %s\n", luaString(k), luaString(strings.Join(r.Header[k], ", ")))
	}
	return b.String(), nil
}

// luaString quotes s as a Lua string literal (decimal escapes for every
// byte that is not plain printable ASCII, quote or backslash).
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			fmt.Fprintf(&b, "\\%03d", c)
			continue
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}

var (
	wrkRPS    = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkNon2xx = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s+(\d+)`)
	wrkErrors = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk's summary: requests per second, and the answers
// that failed (not 2xx/3xx, or socket errors).
func parseWrk(out string) (rps float64, failed int, err error) {
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return 0, 0, fmt.Errorf("no Requests/sec in wrk's output: %q", out)
	}
	rps, err = strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, 0, err
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.Atoi(m[1])
		failed += n
	}
	if m := wrkErrors.FindStringSubmatch(out); m != nil {
		for _, v := range m[1:] {
			n, _ := strconv.Atoi(v)
			failed += n
		}
	}
	return rps, failed, nil
}

// runWrk runs wrk once against the request r builds.
func runWrk(ctx context.Context, bin, dir string, cfg WrkConfig, conns int, r *http.Request) (float64, int, error) {
	script, err := wrkScript(r)
	if err != nil {
		return 0, 0, err
	}
	f, err := os.CreateTemp(dir, "wrk-*.lua")
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(script); err != nil {
		f.Close()
		return 0, 0, err
	}
	if err := f.Close(); err != nil {
		return 0, 0, err
	}
	secs := max(1, int(cfg.Round.Round(time.Second)/time.Second))
	// wrk's default timeout (2 s) would count a slow answer on a busy
	// machine, or a login queued for a hashing slot, as a socket error.
	timeout := max(10, 2*secs)
	cmd := exec.CommandContext(ctx, bin, "-t", strconv.Itoa(min(cfg.Threads, conns)), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(secs)+"s", "--timeout", strconv.Itoa(timeout)+"s", "-s", f.Name(), r.URL.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("wrk: %w: %s", err, out)
	}
	return parseWrk(string(out))
}

// runWrkFlow measures one flow with wrk, Gatehouse and bare alternating.
// hardenedHost, if not empty, is the host of the hardened bare server:
// a third side measured in each round, the bare request sent there.
func runWrkFlow(ctx context.Context, bin, dir string, cfg WrkConfig, f flow, conns int, target float64, hardenedHost string) WrkRow {
	row := WrkRow{Flow: f.name, Backend: f.backend, Bare: f.bare, Conns: conns, Target: target}
	if strings.HasPrefix(f.name, "POST /v1/login") {
		// A login is one Argon2id (tens of ms): a few hundred per round
		// need longer rounds than the other paths.
		cfg.Round = max(cfg.Round, minWrkLoginRound)
	}
	var gh, bare, hard []float64
	for range cfg.Rounds {
		rps, failed, err := runWrk(ctx, bin, dir, cfg, conns, f.gh())
		if err != nil {
			row.Err = err.Error()
			break
		}
		gh, row.Non2xx = append(gh, rps), row.Non2xx+failed
		rps, failed, err = runWrk(ctx, bin, dir, cfg, conns, f.bareReq())
		if err != nil {
			row.Err = err.Error()
			break
		}
		bare, row.BareNon2xx = append(bare, rps), row.BareNon2xx+failed
		if hardenedHost != "" {
			r := f.bareReq()
			r.URL.Host, r.Host = hardenedHost, hardenedHost
			rps, failed, err = runWrk(ctx, bin, dir, cfg, conns, r)
			if err != nil {
				row.Err = err.Error()
				break
			}
			hard, row.BareNon2xx = append(hard, rps), row.BareNon2xx+failed
		}
	}
	row.RPS, row.BareRPS, row.HardRPS = math.NaN(), math.NaN(), math.NaN()
	if len(hard) > 0 {
		row.HardRPS = Median(hard)
	}
	if len(gh) > 0 {
		row.RPS = Median(gh)
	}
	if len(bare) > 0 {
		row.BareRPS = Median(bare)
	}
	logf("  wrk %-22s %-8s c=%-3d gatehouse %8.0f req/s  bare %8.0f req/s  ratio %.2f  hardened bare %8.0f req/s  ratio %.2f  failed %d/%d %s",
		f.name, f.backend, conns, row.RPS, row.BareRPS, row.Ratio(), row.HardRPS, row.HardRatio(), row.Non2xx, row.BareNon2xx, row.Err)
	return row
}

// minWrkLoginRound is the shortest wrk round of a login flow.
const minWrkLoginRound = 8 * time.Second

// WrkTarget is the target row of one wrk measurement. A run with failed
// answers keeps its ratio in the row, with the failures, and is not met
// (the failed answers may be cheaper ones).
func WrkTarget(r WrkRow, closedLoop []E2ERow) Target {
	got := r.Ratio()
	if r.Err != "" {
		got = math.NaN()
	}
	measured := ratioStr(got) + " (wrk)"
	if r.Non2xx > 0 || r.BareNon2xx > 0 {
		measured = fmt.Sprintf("%s (wrk; failed answers %d Gatehouse, %d bare)", ratioStr(got), r.Non2xx, r.BareNon2xx)
	}
	if e, ok := row(closedLoop, r.Flow, r.Backend, closestC(closedLoop, r.Flow, r.Backend, r.Conns)); ok {
		measured += fmt.Sprintf(", %s (ghbench at c=%d)", ratioStr(e.Ratio()), e.C)
	}
	verdict := Verdict(got, r.Target)
	if r.Non2xx > 0 && verdict == "met" {
		verdict = "not met (failed answers)"
	}
	return Target{
		Name:     fmt.Sprintf("%s vs %s (%s), wrk", r.Flow, r.Bare, r.Backend),
		Bound:    fmt.Sprintf("≥ %.2f at c=%d", r.Target, r.Conns),
		Measured: measured,
		Verdict:  verdict,
	}
}

// closestC returns the closed-loop concurrency of flow nearest to c.
func closestC(rows []E2ERow, flow, backend string, c int) int {
	best, bestD := 0, math.MaxInt
	for _, e := range rows {
		if e.Flow != flow || e.Backend != backend {
			continue
		}
		d := e.C - c
		if d < 0 {
			d = -d
		}
		if d < bestD {
			best, bestD = e.C, d
		}
	}
	return best
}

// wrkFlows picks the issue-18 target flows out of flows, each with its
// connections and target: logins at 8 connections (the hashing slots
// bound them), the rest at cfg.Conns.
func wrkFlows(flows []flow, cfg WrkConfig) (picked []flow, conns []int, targets []float64) {
	for _, f := range flows {
		t, ok := flowTargets[f.name]
		if !ok || f.name == "POST /v1/login token" {
			continue
		}
		c := cfg.Conns
		if strings.HasPrefix(f.name, "POST /v1/login") {
			c = 8
		}
		picked, conns, targets = append(picked, f), append(conns, c), append(targets, t)
	}
	return picked, conns, targets
}

// writeWrk writes the wrk section.
func (r *Report) writeWrk(p func(string, ...any)) {
	p("\n## End to end with wrk\n\n")
	p("The issue-18 target paths again, on SQLite, driven by wrk (an external load generator in C, its own process; %s): Gatehouse and the same bare handlers alternate. "+
		"`ghbench ratio` is the closed-loop row above at the nearest concurrency. The two generators load the servers differently; see *Two load generators* in [benchmark-notes.md](benchmark-notes.md).\n\n", r.WrkOf.describe())
	p("The *hardened bare* column is the same bare handler served the way Gatehouse serves its API: with the headers every Gatehouse answer carries (nosniff, no-referrer, DENY, CSP, no-store, Vary) and Gatehouse's `http.Server` timeouts, whose deadlines are set on every request. " +
		"`ratio (hardened)` = Gatehouse ÷ that: what Gatehouse's own work (authentication, routing, metrics, encoding) costs once those are paid; `bare ratio` ÷ `ratio (hardened)` is their price. The targets are read on the plain bare handler, as the issue states them.\n\n")
	p("%s\n", tableHead("flow", "backend", "connections", "req/s (wrk)", "bare", "bare req/s (wrk)", "ratio (wrk)", "hardened bare req/s", "ratio (hardened)", "ghbench ratio", "target", "failed"))
	for _, w := range r.Wrk {
		gl := "—"
		if e, ok := row(r.E2E, w.Flow, w.Backend, closestC(r.E2E, w.Flow, w.Backend, w.Conns)); ok {
			gl = fmt.Sprintf("%s (c=%d)", ratioStr(e.Ratio()), e.C)
		}
		failed := fmt.Sprintf("%d / %d", w.Non2xx, w.BareNon2xx)
		if w.Err != "" {
			failed = w.Err
		}
		p("| %s | %s | %d | %.0f | %s | %.0f | %s | %.0f | %s | %s | ≥ %.2f | %s |\n", w.Flow, w.Backend, w.Conns, w.RPS, w.Bare, w.BareRPS, ratioStr(w.Ratio()), w.HardRPS, ratioStr(w.HardRatio()), gl, w.Target, failed)
	}
}

// wrkDir is where the wrk scripts go.
func wrkDir(work string) string { return filepath.Join(work, "wrk") }

// BackendRSS is a server's resident memory on one backend.
type BackendRSS struct {
	Backend string
	RSS     int64 // bytes; negative if unknown
}

// Memory targets: an idle server (started, nothing served) stays under
// maxIdleRSS; with a million live sessions stored, its RSS stays under
// maxRSSAt1M, since the server keeps only a bounded session cache.
const (
	maxIdleRSS = 25 << 20
	maxRSSAt1M = 64 << 20
)

// IdleRSSTargets are the idle-RSS target rows, one per backend.
func IdleRSSTargets(idle []BackendRSS) []Target {
	var out []Target
	for _, r := range idle {
		out = append(out, rssTarget("idle RSS ("+r.Backend+")", r.RSS, maxIdleRSS))
	}
	return out
}

// GrowthRSSTargets are the RSS-at-1M target rows: the growth step of each
// backend at a million live sessions or more, and a "not measured" row,
// with the growth section's reason, for a backend that did not get there.
func GrowthRSSTargets(growth []GrowthResult) []Target {
	var out []Target
	for _, g := range growth {
		t := rssTarget("RSS at 1M live sessions ("+g.Backend+")", -1, maxRSSAt1M)
		t.Measured = "—"
		for _, n := range g.Notes {
			if strings.Contains(n, "not measured") {
				t.Measured = n
				break
			}
		}
		for _, p := range g.Points {
			if p.Sessions >= 1_000_000 {
				t = rssTarget(fmt.Sprintf("RSS at %s live sessions (%s)", count(p.Sessions), g.Backend), p.RSS, maxRSSAt1M)
				break
			}
		}
		out = append(out, t)
	}
	return out
}

func rssTarget(name string, rss, bound int64) Target {
	t := Target{Name: name, Bound: "≤ " + mib(bound), Measured: mib(rss), Verdict: "not measured"}
	if rss > 0 {
		t.Verdict = metIf(rss <= bound)
	}
	return t
}
