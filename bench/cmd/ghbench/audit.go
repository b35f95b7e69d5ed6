package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// AuditConfig says how the audit-trail login rows are run: Rounds
// rounds, each running the httpapi test binary once per hash and side
// (trail on, trail off: a fresh process each, so each side pays the same
// process warm-up; the side that goes first alternates by round), ArgonN
// and CheapN logins per sub-benchmark. ArgonN 0 leaves the Argon2id rows
// out (-quick).
type AuditConfig struct {
	Rounds, ArgonN, CheapN int
}

// auditBound is issue 17's target: the login path with the audit trail
// costs at most 10% more than without it.
const auditBound = 1.10

// auditBench is the benchmark behind the audit-trail rows.
const auditBench = "BenchmarkLoginAuditTrail"

// auditTrail runs BenchmarkLoginAuditTrail (internal/httpapi) in
// cfg.Rounds interleaved rounds and adds its section and target row.
func auditTrail(ctx context.Context, rep *Report, root, work string, cfg AuditConfig) {
	logf("audit trail: %s, %d rounds (argon2id %dx, cheap %dx per side)", auditBench, cfg.Rounds, cfg.ArgonN, cfg.CheapN)
	bin := filepath.Join(work, "httpapi.test")
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, "./internal/httpapi/")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("audit-trail login rows: building the httpapi test binary failed: %v: %s", err, firstLine(fmt.Errorf("%s", out))))
		rep.Targets = append(rep.Targets, AuditTarget(nil, cfg))
		return
	}
	var lines []BenchLine
	for i := 0; i < cfg.Rounds && ctx.Err() == nil; i++ {
		for _, hash := range []struct {
			name string
			n    int
		}{{"argon2id", cfg.ArgonN}, {"cheap", cfg.CheapN}} {
			if hash.n == 0 {
				continue
			}
			for _, on := range auditOrder(i) {
				cmd := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.bench", auditPattern(hash.name, on),
					"-test.benchtime", fmt.Sprintf("%dx", hash.n), "-test.count", "1")
				cmd.Dir = filepath.Join(root, "internal", "httpapi")
				cmd.Env = os.Environ()
				out, err := cmd.CombinedOutput()
				if err != nil {
					rep.Notes = append(rep.Notes, fmt.Sprintf("audit-trail login rows: round %d (%s) failed: %v: %s", i+1, hash.name, err, firstLine(fmt.Errorf("%s", tail(string(out), 300)))))
					continue
				}
				lines = append(lines, ParseBenchOutput(string(out))...)
			}
		}
	}
	rep.Targets = append(rep.Targets, AuditTarget(lines, cfg))
	rep.Audit = AuditSection(lines, cfg)
}

// auditPattern is the -bench pattern of one hash's two sub-benchmarks
// (right and wrong password) with the trail on or off.
func auditPattern(hash string, on bool) string {
	return "^" + auditBench + "$/./^" + hash + "$/^" + auditSide(on) + "$"
}

// auditOrder is the order of the two sides in round i: trail on first in
// even rounds, off first in odd ones, so that neither side always runs
// first on a machine whose load drifts.
func auditOrder(i int) []bool {
	if i%2 == 0 {
		return []bool{true, false}
	}
	return []bool{false, true}
}

func auditSide(on bool) string {
	if on {
		return "trail_on"
	}
	return "trail_off"
}

// auditKey names one sub-benchmark as ParseBenchOutput reports it.
func auditKey(pw, hash string, on bool) string {
	return auditBench + "/" + pw + "/" + hash + "/" + auditSide(on)
}

// auditCase is one password × hash pair: the medians over the rounds of
// wall time and of process CPU time per login, trail on and off.
type auditCase struct {
	pw, hash            string
	wallOn, wallOff     float64
	cpuOn, cpuOff       float64
	allocsOn, allocsOff float64
	cpuRatio, wallRatio float64
	measured            bool
}

func auditCases(lines []BenchLine) []auditCase {
	wall, cpu, allocs := MedianMetric(lines, "ns/op"), MedianMetric(lines, "cpu-ns/op"), MedianMetric(lines, "allocs/op")
	var cs []auditCase
	for _, hash := range []string{"argon2id", "cheap"} {
		for _, pw := range []string{"ok", "wrong_password"} {
			on, off := auditKey(pw, hash, true), auditKey(pw, hash, false)
			c := auditCase{pw: pw, hash: hash, wallOn: wall[on], wallOff: wall[off], cpuOn: cpu[on], cpuOff: cpu[off], allocsOn: allocs[on], allocsOff: allocs[off]}
			_, okOn := cpu[on]
			_, okOff := cpu[off]
			c.measured = okOn && okOff
			c.cpuRatio, c.wallRatio = math.NaN(), math.NaN()
			if c.measured {
				c.cpuRatio, c.wallRatio = Ratio(c.cpuOn, c.cpuOff), Ratio(c.wallOn, c.wallOff)
			}
			cs = append(cs, c)
		}
	}
	return cs
}

// AuditTarget is issue 17's row: the Argon2id login with the trail on
// against off, by the median CPU time per login (the steadier figure on
// a shared machine; wall time in brackets). The verdict takes the worse
// of a right and a wrong password.
func AuditTarget(lines []BenchLine, cfg AuditConfig) Target {
	t := Target{Name: "login with the audit trail vs without (SQLite, Argon2id)", Bound: fmt.Sprintf("≤ %.2f", auditBound), Measured: "—", Verdict: "not measured"}
	if cfg.ArgonN == 0 {
		t.Measured = "not run in -quick (cheap hash only, see *Audit trail*)"
		return t
	}
	worst := math.NaN()
	var parts []string
	for _, c := range auditCases(lines) {
		if c.hash != "argon2id" || !c.measured {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s (wall %s)", strings.ReplaceAll(c.pw, "_", " "), ratioStr(c.cpuRatio), ratioStr(c.wallRatio)))
		if math.IsNaN(worst) || c.cpuRatio > worst {
			worst = c.cpuRatio
		}
	}
	if len(parts) == 0 {
		return t
	}
	t.Measured = "CPU/login on ÷ off: " + strings.Join(parts, ", ")
	t.Verdict = verdictAtMost(worst, auditBound)
	return t
}

// AuditSection returns the markdown lines of the audit-trail section.
func AuditSection(lines []BenchLine, cfg AuditConfig) []string {
	run := func(hash string, n int) string {
		return fmt.Sprintf("go test -run '^$' -bench '%s' -benchtime %dx -count 1 ./internal/httpapi/", auditPattern(hash, true), n)
	}
	cmd := "`" + run("cheap", cfg.CheapN) + "`"
	if cfg.ArgonN > 0 {
		cmd = "`" + run("argon2id", cfg.ArgonN) + "` and " + cmd
	}
	out := []string{
		fmt.Sprintf("`%s` (internal/httpapi): `POST /v1/login` through the fully wired server on SQLite, trail on and off (`InsecureNoAuditTrail`, test-only), logs to a JSON handler on `io.Discard` in both, login limits off. "+
			"%d rounds; in each, per hash, one fresh process of the test binary runs the trail-on pair and another the trail-off pair (each side pays the same process warm-up), on first in odd rounds and off first in even ones; medians over the rounds. "+
			"`cpu` is the process's CPU time per login (steadier than wall time on a shared machine), `wall` the benchmark's ns/op; ms. `ok` writes a session and `login.succeeded`, `wrong password` only `login.failed`. "+
			"`argon2id` is the default hash (the real login), `cheap` apptest's minimal one (the trail's own cost shows). See *Audit trail* in [benchmark-notes.md](benchmark-notes.md).", auditBench, cfg.Rounds),
		"",
		fmt.Sprintf("Each round runs, in the main module, %s, and each again with `trail_off` for `trail_on` (ghbench builds the test binary once with `go test -c` and runs it).", cmd),
		"",
		tableHead("case", "hash", "cpu off", "cpu on", "on ÷ off (cpu)", "wall off", "wall on", "on ÷ off (wall)", "allocs off → on"),
	}
	for _, c := range auditCases(lines) {
		pw := strings.ReplaceAll(c.pw, "_", " ")
		if !c.measured {
			why := "not measured"
			if c.hash == "argon2id" && cfg.ArgonN == 0 {
				why = "not run in -quick"
			}
			out = append(out, fmt.Sprintf("| %s | %s | %s | | | | | | |", pw, c.hash, why))
			continue
		}
		out = append(out, fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %.0f → %.0f |", pw, c.hash, msf(c.cpuOff), msf(c.cpuOn), ratioStr(c.cpuRatio),
			msf(c.wallOff), msf(c.wallOn), ratioStr(c.wallRatio), c.allocsOff, c.allocsOn))
	}
	return out
}

// msf writes ns as ms with enough digits for the cheap hash's sub-ms logins.
func msf(ns float64) string {
	if ns >= 10e6 {
		return fmt.Sprintf("%.1f", ns/1e6)
	}
	return fmt.Sprintf("%.3f", ns/1e6)
}
