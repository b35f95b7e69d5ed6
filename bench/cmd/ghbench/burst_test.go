package main

import (
	"strings"
	"testing"
	"time"
)

func TestThousands(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {2000, "2,000"}, {10_000, "10,000"}, {1_234_567, "1,234,567"}, {-1500, "-1,500"}} {
		if got := thousands(c.n); got != c.want {
			t.Errorf("thousands(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestBurstTarget(t *testing.T) {
	sum := func(p99 time.Duration) Summary { return Summary{N: 10, P99: p99, Max: p99} }
	for _, c := range []struct {
		name string
		r    BurstResult
		want string
	}{
		{"within", BurstResult{Backend: "sqlite", Grants: 10_000, FromStart: sum(900 * time.Millisecond)}, "met"},
		{"at the bound", BurstResult{Backend: "sqlite", Grants: 10_000, FromStart: sum(time.Second)}, "met"},
		{"over", BurstResult{Backend: "sqlite", Grants: 10_000, FromStart: sum(1100 * time.Millisecond)}, metIf(false)},
		{"one never refused", BurstResult{Backend: "sqlite", Grants: 10_000, FromStart: sum(time.Millisecond), Never: 1}, metIf(false)},
		{"not run", BurstResult{Backend: "redis", Note: "not run: no Redis"}, "not measured"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := BurstTarget(c.r)
			if got.Verdict != c.want {
				t.Errorf("verdict %q, want %q (%+v)", got.Verdict, c.want, got)
			}
		})
	}
}

func TestReportBurstSection(t *testing.T) {
	r := &Report{Quick: true, BurstOf: BurstConfig{Grants: 2000}, Burst: []BurstResult{
		{Backend: "sqlite", Grants: 2000, Call: 3 * time.Second, FromStart: Summary{N: 2000, P50: 150 * time.Millisecond, P99: 190 * time.Millisecond, Max: 200 * time.Millisecond},
			FromAnswer: Summary{N: 2000, P50: -2850 * time.Millisecond, P99: -2810 * time.Millisecond, Max: -2800 * time.Millisecond}},
		{Backend: "redis", Note: "not run: no Redis"},
	}}
	var b strings.Builder
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"## Revocation delay", "### Burst of 2,000 revocations", "**-quick: 2,000 grants, not 10,000.**",
		"| sqlite | 2000 | 3000.0 | 150.0 | 190.0 | 200.0 | -2850.0 | -2810.0 | -2800.0 | 0 |  |",
		"| redis | — | — | — | — | — | — | — | — | — | not run: no Redis |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
