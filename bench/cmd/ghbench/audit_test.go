package main

import (
	"regexp"
	"strings"
	"testing"
)

// auditOutput is two rounds of BenchmarkLoginAuditTrail as the test binary
// prints them (only the argon2id or the cheap rows per process).
const auditOutput = `goos: linux
BenchmarkLoginAuditTrail/ok/argon2id/trail_on-2         	      10	  40000000 ns/op	  30000000 cpu-ns/op	 21000000 B/op	     325 allocs/op
BenchmarkLoginAuditTrail/ok/argon2id/trail_off-2        	      10	  38000000 ns/op	  29000000 cpu-ns/op	 21000000 B/op	     264 allocs/op
BenchmarkLoginAuditTrail/wrong_password/argon2id/trail_on-2 	      10	  41000000 ns/op	  31000000 cpu-ns/op	 21000000 B/op	     191 allocs/op
BenchmarkLoginAuditTrail/wrong_password/argon2id/trail_off-2	      10	  39000000 ns/op	  30000000 cpu-ns/op	 21000000 B/op	     129 allocs/op
PASS
BenchmarkLoginAuditTrail/ok/cheap/trail_on-2            	     200	    980000 ns/op	    979000 cpu-ns/op	    9000 B/op	     325 allocs/op
BenchmarkLoginAuditTrail/ok/cheap/trail_off-2           	     200	    740000 ns/op	    736000 cpu-ns/op	    8000 B/op	     264 allocs/op
BenchmarkLoginAuditTrail/wrong_password/cheap/trail_on-2	     200	    650000 ns/op	    645000 cpu-ns/op	    7000 B/op	     191 allocs/op
BenchmarkLoginAuditTrail/wrong_password/cheap/trail_off-2	     200	    200000 ns/op	    202000 cpu-ns/op	    5000 B/op	     129 allocs/op
BenchmarkLoginAuditTrail/ok/argon2id/trail_on-2         	      10	  90000000 ns/op	  31000000 cpu-ns/op	 21000000 B/op	     325 allocs/op
BenchmarkLoginAuditTrail/ok/argon2id/trail_off-2        	      10	  36000000 ns/op	  30000000 cpu-ns/op	 21000000 B/op	     264 allocs/op
BenchmarkLoginAuditTrail/wrong_password/argon2id/trail_on-2 	      10	  41000000 ns/op	  33000000 cpu-ns/op	 21000000 B/op	     191 allocs/op
BenchmarkLoginAuditTrail/wrong_password/argon2id/trail_off-2	      10	  39000000 ns/op	  30000000 cpu-ns/op	 21000000 B/op	     129 allocs/op
`

func TestAuditTarget(t *testing.T) {
	lines := ParseBenchOutput(auditOutput)
	if len(lines) != 12 {
		t.Fatalf("%d lines, want 12", len(lines))
	}
	// Medians of two rounds: ok 30.5/29.5 ms = 1.03, wrong 32/30 = 1.07.
	tg := AuditTarget(lines, AuditConfig{Rounds: 2, ArgonN: 10, CheapN: 200})
	if tg.Bound != "≤ 1.10" || tg.Verdict != "met" {
		t.Errorf("target = %+v", tg)
	}
	if want := "ok 1.03 (wall 1.76), wrong password 1.07 (wall 1.05)"; !strings.Contains(tg.Measured, want) {
		t.Errorf("measured = %q, want it to contain %q", tg.Measured, want)
	}
	// The worse of the two decides.
	slow := strings.ReplaceAll(auditOutput, "  33000000 cpu-ns/op", "  45000000 cpu-ns/op")
	slow = strings.Replace(slow, "  31000000 cpu-ns/op	 21000000 B/op	     191", "  45000000 cpu-ns/op	 21000000 B/op	     191", 1)
	if tg := AuditTarget(ParseBenchOutput(slow), AuditConfig{Rounds: 2, ArgonN: 10}); tg.Verdict != "not met" {
		t.Errorf("slow wrong password: %+v", tg)
	}
	if tg := AuditTarget(nil, AuditConfig{Rounds: 2, ArgonN: 10}); tg.Verdict != "not measured" || tg.Measured != "—" {
		t.Errorf("no lines: %+v", tg)
	}
	if tg := AuditTarget(lines, AuditConfig{Rounds: 3, CheapN: 100}); tg.Verdict != "not measured" || !strings.Contains(tg.Measured, "-quick") {
		t.Errorf("quick: %+v", tg)
	}
}

func TestAuditSection(t *testing.T) {
	sec := strings.Join(AuditSection(ParseBenchOutput(auditOutput), AuditConfig{Rounds: 2, ArgonN: 10, CheapN: 200}), "\n")
	for _, want := range []string{
		"| ok | argon2id | 29.5 | 30.5 | 1.03 | 37.0 | 65.0 | 1.76 | 264 → 325 |",
		"| wrong password | cheap | 0.202 | 0.645 | 3.19 | 0.200 | 0.650 | 3.25 | 129 → 191 |",
		"-bench '^BenchmarkLoginAuditTrail$/./^argon2id$/^trail_on$' -benchtime 10x",
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("section lacks %q:\n%s", want, sec)
		}
	}
	quick := strings.Join(AuditSection(nil, AuditConfig{Rounds: 3, CheapN: 100}), "\n")
	if !strings.Contains(quick, "| ok | argon2id | not run in -quick |") || strings.Contains(quick, "argon2id$'") {
		t.Errorf("quick section:\n%s", quick)
	}
}

// TestAuditPattern checks that each pattern selects its hash's two
// sub-benchmarks of one side and no others, level by level as go test
// matches them, and that the first side alternates by round.
func TestAuditPattern(t *testing.T) {
	for _, hash := range []string{"argon2id", "cheap"} {
		for _, on := range []bool{true, false} {
			pat := auditPattern(hash, on)
			elems := strings.Split(pat, "/")
			n, want := 0, 4 // two passwords, two rounds of argon2id
			if hash == "cheap" {
				want = 2 // one round
			}
			for _, l := range ParseBenchOutput(auditOutput) {
				names := strings.Split(l.Name, "/")
				match := len(names) >= len(elems)
				for i := 0; match && i < len(elems); i++ {
					match = regexp.MustCompile(elems[i]).MatchString(names[i])
				}
				if wantMatch := names[2] == hash && names[3] == auditSide(on); match != wantMatch {
					t.Errorf("pattern %q on %s: %v", pat, l.Name, match)
				}
				if match {
					n++
				}
			}
			if n != want {
				t.Errorf("pattern %q matched %d lines, want %d", pat, n, want)
			}
		}
	}
	firstOn := 0
	for i := range 6 {
		o := auditOrder(i)
		if len(o) != 2 || o[0] == o[1] {
			t.Fatalf("round %d order %v", i, o)
		}
		if o[0] {
			firstOn++
		}
	}
	if firstOn != 3 {
		t.Errorf("trail on first in %d of 6 rounds", firstOn)
	}
}
