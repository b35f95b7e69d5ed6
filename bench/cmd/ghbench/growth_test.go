package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestApportion(t *testing.T) {
	for _, c := range []struct {
		m       int
		weights []int
		want    []int
	}{
		{2000, []int{10_000}, []int{2000}},
		{2000, []int{10_000, 90_000}, []int{200, 1800}},
		{2000, []int{10_000, 90_000, 900_000}, []int{20, 180, 1800}},
		{10, []int{1, 1, 1}, []int{4, 3, 3}},
		{5, []int{0, 3, 0}, []int{0, 5, 0}},
		{5, []int{0, 0}, []int{0, 0}},
		{0, []int{1, 2}, []int{0, 0}},
		{7, []int{1000, 9000}, []int{1, 6}},
	} {
		got := Apportion(c.m, c.weights)
		if !slices.Equal(got, c.want) {
			t.Errorf("Apportion(%d, %v) = %v, want %v", c.m, c.weights, got, c.want)
		}
	}
}

func TestGrowthDrawsAndNeeds(t *testing.T) {
	sizes := []int{10_000, 100_000, 1_000_000}
	draws := GrowthDraws(sizes, 2200)
	want := [][]int{{2200}, {220, 1980}, {22, 198, 1980}}
	for j := range want {
		if !slices.Equal(draws[j], want[j]) {
			t.Fatalf("GrowthDraws = %v, want %v", draws, want)
		}
	}
	if got := SampleNeeds(sizes, draws, 32); !slices.Equal(got, []int{2200 + 220 + 22 + 32, 1980 + 198, 1980}) {
		t.Errorf("SampleNeeds = %v", got)
	}
	// A step never has to give more cookies than it added.
	small := []int{100, 150}
	if got := SampleNeeds(small, GrowthDraws(small, 300), 10); !slices.Equal(got, []int{100, 50}) {
		t.Errorf("SampleNeeds capped = %v", got)
	}
}

func TestPerRecord(t *testing.T) {
	if got := PerRecord(1000, 46000, 100); got != 450 {
		t.Errorf("PerRecord = %v", got)
	}
	if got := PerRecord(1000, 2000, 0); !math.IsNaN(got) {
		t.Errorf("PerRecord with none added = %v", got)
	}
}

func growthFixture() GrowthResult {
	pt := func(n int, p50 time.Duration) GrowthPoint {
		return GrowthPoint{Sessions: n, Seeded: n, SeedTook: time.Second, Miss: Summary{N: 10, P50: p50, P90: 2 * p50, P99: 3 * p50},
			Warm: Summary{N: 100, P50: 100 * time.Microsecond}, MissRPS: 1000, WarmRPS: 9000, RSS: 30 << 20,
			Usage: seedUsage{Live: n, SessionBytes: int64(n) * 450, FileBytes: int64(n) * 460}, BytesPerSession: 450, DBFilePerSession: 460}
	}
	return GrowthResult{Backend: "sqlite", Storage: "dbstat", Grants: 1000, BytesPerGrant: 600, GrantSplit: "400 + 200",
		Points: []GrowthPoint{pt(10_000, 500*time.Microsecond), pt(100_000, 600*time.Microsecond), pt(1_000_000, 700*time.Microsecond)},
		Notes:  []string{"a note"}}
}

func TestFlatTarget(t *testing.T) {
	g := growthFixture()
	got := FlatTarget(g, 1.5)
	if got.Name != "cookie check flat from 10k to 1M sessions (sqlite)" || got.Verdict != "met" || got.Measured != "1.40 (p50 500 → 700 µs)" {
		t.Errorf("FlatTarget = %+v", got)
	}
	g.Points[2].Miss.P50 = 800 * time.Microsecond
	if got := FlatTarget(g, 1.5); got.Verdict != "not met" {
		t.Errorf("1.6×: %+v", got)
	}
	// The largest size that was measured counts.
	g.Points[2].Miss.N = 0
	if got := FlatTarget(g, 1.5); got.Verdict != "met" || !strings.Contains(got.Name, "from 10k to 100k") {
		t.Errorf("without 1M: %+v", got)
	}
	g.Points = g.Points[:1]
	if got := FlatTarget(g, 1.5); got.Verdict != "not measured" {
		t.Errorf("one size: %+v", got)
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{1000: "1k", 10_000: "10k", 1_000_000: "1M", 1500: "1500", 2_500_000: "2500k", 7: "7"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestGrowthReportAndPlot(t *testing.T) {
	rep := fixedReport()
	rep.Growth = []GrowthResult{growthFixture()}
	rep.GrowthOf = GrowthConfig{Users: 1000, Miss: 2000, MissWarmup: 200, Warm: 32, WarmFor: time.Second, C: 4, FreshFor: 30 * time.Minute}
	var b bytes.Buffer
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"## Growth",
		"spread over 1000 users",
		"| sqlite | 1M | 1.00 s (1000000/s) | 700 | 1400 | 2100 | 1000 | 100 | — | 9000 | 0 | 30.0 MiB | 429.2 MiB (file 438.7 MiB) | 450 |",
		"| sqlite | dbstat; the database file (after `wal_checkpoint(TRUNCATE)`) grew 460 per session | 450 | 600 | 1000 grants: 400 + 200 |",
		"- sqlite: a note",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	dir := t.TempDir()
	files, err := growthPlot(dir, rep)
	if err != nil || !slices.Equal(files, []string{"growth-cookie-check.png"}) {
		t.Fatalf("growthPlot = %v, %v", files, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, files[0])); err != nil || fi.Size() < 1000 {
		t.Errorf("plot: %v, %v", fi, err)
	}
	if files, err := growthPlot(dir, &Report{}); err != nil || len(files) != 0 {
		t.Errorf("growthPlot without growth = %v, %v", files, err)
	}
}
