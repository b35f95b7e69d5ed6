package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
)

// Side is one contender of an end-to-end row at one concurrency.
type Side struct {
	RPS     float64 // median over the rounds of successful requests per second
	Lat     Summary // latencies pooled over the rounds
	Errors  int
	FirstEr string
}

// E2ERow is one end-to-end measurement: Gatehouse against its bare
// handler at one concurrency.
type E2ERow struct {
	Flow, Backend, Bare string
	C                   int
	Gatehouse, BareSide Side
	CPUPerReq           float64 // Gatehouse process CPU µs per request, NaN if unknown
	BareCPUPerReq       float64 // the bare process's, NaN if unknown
}

// CPURatio is the bare handler's CPU time per request over Gatehouse's:
// the throughput ratio the two would reach if each had the CPUs to
// itself, which the machine's other load does not move.
func (r E2ERow) CPURatio() float64 {
	if !(r.BareCPUPerReq > 0) {
		return math.NaN()
	}
	return Ratio(r.BareCPUPerReq, r.CPUPerReq)
}

// Ratio is Gatehouse's throughput over the bare handler's.
func (r E2ERow) Ratio() float64 { return Ratio(r.Gatehouse.RPS, r.BareSide.RPS) }

// flow is one end-to-end scenario: how to build a Gatehouse request and
// the matching bare one.
type flow struct {
	name, backend, bare string
	gh, bareReq         func() *http.Request
	want                int
	pid, barePID        int // the processes, for their CPU time
}

// E2EConfig sets the length of the measurements.
type E2EConfig struct {
	Concurrency []int
	Rounds      int // alternations of Gatehouse and bare per level
	// TargetC is the concurrency the targets are read at; it gets
	// TargetRounds rounds instead of Rounds (if more), for a steadier
	// median where it counts.
	TargetC, TargetRounds int
	Round                 time.Duration // length of one side of one round
	Warmup                time.Duration
}

// describe says how many rounds of what length the configuration runs.
func (c E2EConfig) describe() string {
	d := fmt.Sprintf("%d rounds of %v per side", c.Rounds, c.Round)
	if c.TargetRounds > c.Rounds {
		d += fmt.Sprintf(", %d at c=%d", c.TargetRounds, c.TargetC)
	}
	return d
}

// runFlow measures a flow at every concurrency, alternating Gatehouse and
// the bare handler in short rounds so both see the same machine load.
func runFlow(ctx context.Context, cfg E2EConfig, f flow, logf func(string, ...any)) []E2ERow {
	var rows []E2ERow
	for _, c := range cfg.Concurrency {
		ghClient, bareClient := newClient(c), newClient(c)
		Load(ctx, ghClient, c, cfg.Warmup, 0, f.want, f.gh)
		Load(ctx, bareClient, c, cfg.Warmup, 0, http.StatusOK, f.bareReq)
		var ghRPS, bareRPS []float64
		var ghLat, bareLat []time.Duration
		row := E2ERow{Flow: f.name, Backend: f.backend, Bare: f.bare, C: c}
		var ticks, served, bareTicks, bareServed int64
		rounds := cfg.Rounds
		if c == cfg.TargetC && cfg.TargetRounds > rounds {
			rounds = cfg.TargetRounds
		}
		for range rounds {
			t0 := cpuTicks(f.pid)
			g := Load(ctx, ghClient, c, cfg.Round, 0, f.want, f.gh)
			if t1 := cpuTicks(f.pid); t0 >= 0 && t1 >= 0 {
				ticks += t1 - t0
				served += int64(g.Requests)
			}
			t0 = cpuTicks(f.barePID)
			b := Load(ctx, bareClient, c, cfg.Round, 0, http.StatusOK, f.bareReq)
			if t1 := cpuTicks(f.barePID); f.barePID > 0 && t0 >= 0 && t1 >= 0 {
				bareTicks += t1 - t0
				bareServed += int64(b.Requests)
			}
			ghRPS, bareRPS = append(ghRPS, g.Throughput()), append(bareRPS, b.Throughput())
			ghLat, bareLat = append(ghLat, g.Latencies...), append(bareLat, b.Latencies...)
			row.Gatehouse.Errors += g.Errors
			row.BareSide.Errors += b.Errors
			if row.Gatehouse.FirstEr == "" {
				row.Gatehouse.FirstEr = g.FirstError
			}
			if row.BareSide.FirstEr == "" {
				row.BareSide.FirstEr = b.FirstError
			}
		}
		row.CPUPerReq, row.BareCPUPerReq = cpuPerRequest(ticks, served), cpuPerRequest(bareTicks, bareServed)
		row.Gatehouse.RPS, row.BareSide.RPS = Median(ghRPS), Median(bareRPS)
		row.Gatehouse.Lat, row.BareSide.Lat = Summarize(ghLat), Summarize(bareLat)
		ghClient.CloseIdleConnections()
		bareClient.CloseIdleConnections()
		logf("  %-22s %-8s c=%-3d gatehouse %8.0f req/s  bare %8.0f req/s  ratio %.2f  cpu ratio %.2f  errors %d/%d %s",
			f.name, f.backend, c, row.Gatehouse.RPS, row.BareSide.RPS, row.Ratio(), row.CPURatio(), row.Gatehouse.Errors, row.BareSide.Errors, row.Gatehouse.FirstEr)
		rows = append(rows, row)
	}
	return rows
}

// cpuPerRequest converts clock ticks over requests into µs per request,
// or NaN when nothing was measured.
func cpuPerRequest(ticks, requests int64) float64 {
	if requests <= 0 || ticks < 0 {
		return math.NaN()
	}
	return float64(ticks) * 1e4 / float64(requests) // 1 tick = 10 ms = 1e4 µs
}

func getReq(url string, hdr ...string) func() *http.Request {
	return func() *http.Request {
		r, _ := http.NewRequest(http.MethodGet, url, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		return r
	}
}

func postReq(url, body, contentType string, hdr ...string) func() *http.Request {
	return func() *http.Request {
		r, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		return r
	}
}

func basicAuth(r func() *http.Request, id, secret string) func() *http.Request {
	return func() *http.Request {
		req := r()
		req.SetBasicAuth(id, secret)
		return req
	}
}

func cookieHeader(v string) string { return fmt.Sprintf("%s=%s", cookieName, v) }
