package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixedReport is a report with every section filled from fixed input.
func fixedReport() *Report {
	lat := Summarize([]time.Duration{100 * time.Microsecond, 200 * time.Microsecond, 300 * time.Microsecond})
	rows := []E2ERow{
		{Flow: "GET /v1/me cookie", Backend: "sqlite", Bare: "write same JSON", C: 32, CPUPerReq: 50, BareCPUPerReq: 40,
			Gatehouse: Side{RPS: 600, Lat: lat}, BareSide: Side{RPS: 1000, Lat: lat}},
		{Flow: "GET /v1/me bearer", Backend: "sqlite", Bare: "verify token + JSON", C: 32, CPUPerReq: math.NaN(),
			Gatehouse: Side{RPS: 700, Lat: lat}, BareSide: Side{RPS: 1000, Lat: lat}},
		{Flow: "GET JWKS", Backend: "sqlite", C: 32, Gatehouse: Side{RPS: 0}, BareSide: Side{RPS: 0}},
	}
	return &Report{
		Command: "cd bench && go run ./cmd/ghbench", Started: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), Took: 90 * time.Second,
		Machine: []string{"CPUs: 2"}, Notes: []string{"Growth is not measured yet"},
		E2E: rows,
		Targets: []Target{
			RatioTarget("cookie", rows, "GET /v1/me cookie", "sqlite", 32, 0.5),
			RatioTarget("bearer", rows, "GET /v1/me bearer", "sqlite", 32, 0.8),
			RatioTarget("jwks", rows, "GET JWKS", "sqlite", 32, 0.5),
		},
		Revoke: []RevocationResult{{Path: "own endpoints (sqlite)", Delays: []time.Duration{time.Millisecond, 3 * time.Millisecond}, Sum: Summarize([]time.Duration{time.Millisecond, 3 * time.Millisecond})}},
		Storms: []StormResult{{Logins: 10, Elapsed: time.Second, Lat: lat, RSSBefore: 40 << 20, HWMAfter: 80 << 20}},
		Sizes:  []WireSize{{Alg: "EdDSA", AccessToken: 400, RefreshToken: 43, Cookie: 43, SetCookie: 120}},
	}
}

func TestReportWrite(t *testing.T) {
	rep := fixedReport()
	rep.Verdicts = verdicts(rep)
	var b bytes.Buffer
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"# Benchmark report",
		"## Not measured in this run",
		"| cookie | ≥ 0.50 at c=32 | 0.60 (cpu ratio 0.80) | met |",
		"| bearer | ≥ 0.80 at c=32 | 0.70 | not met |",
		"| jwks | ≥ 0.50 at c=32 | — | not measured |",
		"| GET /v1/me cookie | sqlite | 32 | 600 | 200 | 300 | 300 | 300 | 50 | 0 | write same JSON | 1000 | 200 | 300 | 40 | 0.60 | 0.80 |",
		"| GET /v1/me bearer | sqlite | 32 | 700 | 200 | 300 | 300 | 300 | — | 0 | verify token + JSON | 1000 | 200 | 300 | — | 0.70 | — |",
		"| own endpoints (sqlite) | 2 | 1.0 | 3.0 | 3.0 | 3.0 | 0 |",
		"| 10 | 10 | 0 | 0 | 1s | 10.0 |",
		"| EdDSA | 400 | 43 | 43 | 120 |",
		"## Which should I use?",
		"**Single-page app",
		"by cookie served 600 req/s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q\n%s", want, out)
		}
	}
}

func TestWritePlots(t *testing.T) {
	dir := t.TempDir()
	files, err := WritePlots(dir, fixedReport())
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("plots %v, want 3", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s is not a PNG (%v)", f, err)
		}
	}
}
