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
}

// Ratio is Gatehouse's throughput over the bare handler's.
func (r E2ERow) Ratio() float64 { return Ratio(r.Gatehouse.RPS, r.BareSide.RPS) }

// flow is one end-to-end scenario: how to build a Gatehouse request and
// the matching bare one.
type flow struct {
	name, backend, bare string
	gh, bareReq         func() *http.Request
	want                int
	pid                 int // the Gatehouse process, for its CPU time
}

// E2EConfig sets the length of the measurements.
type E2EConfig struct {
	Concurrency []int
	Rounds      int           // alternations of Gatehouse and bare per level
	Round       time.Duration // length of one side of one round
	Warmup      time.Duration
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
		var ticks, served int64
		for range cfg.Rounds {
			t0 := cpuTicks(f.pid)
			g := Load(ctx, ghClient, c, cfg.Round, 0, f.want, f.gh)
			if t1 := cpuTicks(f.pid); t0 >= 0 && t1 >= 0 {
				ticks += t1 - t0
				served += int64(g.Requests)
			}
			b := Load(ctx, bareClient, c, cfg.Round, 0, http.StatusOK, f.bareReq)
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
		row.CPUPerReq = math.NaN()
		if served > 0 {
			row.CPUPerReq = float64(ticks) * 1e4 / float64(served) // 1 tick = 10 ms = 1e4 µs
		}
		row.Gatehouse.RPS, row.BareSide.RPS = Median(ghRPS), Median(bareRPS)
		row.Gatehouse.Lat, row.BareSide.Lat = Summarize(ghLat), Summarize(bareLat)
		ghClient.CloseIdleConnections()
		bareClient.CloseIdleConnections()
		logf("  %-22s %-8s c=%-3d gatehouse %8.0f req/s  bare %8.0f req/s  ratio %.2f  errors %d/%d %s",
			f.name, f.backend, c, row.Gatehouse.RPS, row.BareSide.RPS, row.Ratio(), row.Gatehouse.Errors, row.BareSide.Errors, row.Gatehouse.FirstEr)
		rows = append(rows, row)
	}
	return rows
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
