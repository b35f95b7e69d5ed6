package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// LoadResult is what one closed-loop load run measured.
type LoadResult struct {
	Requests   int
	Errors     int
	Elapsed    time.Duration
	Latencies  []time.Duration // of successful requests
	FirstError string
}

// Throughput returns successful requests per second.
func (r LoadResult) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests-r.Errors) / r.Elapsed.Seconds()
}

// Load runs a closed-loop load: c workers, each sending one request at a
// time built by newReq, for d (or until max requests when max > 0; d ≤ 0
// sets no time limit, for a run bounded by max alone). newReq is called
// at most max times then. A response whose status is not want counts as
// an error. Each worker keeps its own keep-alive connection.
func Load(ctx context.Context, client *http.Client, c int, d time.Duration, max int, want int, newReq func() *http.Request) LoadResult {
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	var (
		mu  sync.Mutex
		res LoadResult
		wg  sync.WaitGroup
	)
	var left chan struct{}
	if max > 0 {
		left = make(chan struct{}, max)
		for range max {
			left <- struct{}{}
		}
		close(left)
	}
	start := time.Now()
	for range c {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1024)
			var errs int
			var first string
			for ctx.Err() == nil {
				if left != nil {
					if _, ok := <-left; !ok {
						break
					}
				}
				req := newReq().WithContext(ctx)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() != nil {
						break // the run ended during this request: not counted
					}
					errs++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				el := time.Since(t0)
				if resp.StatusCode != want {
					errs++
					if first == "" {
						first = fmt.Sprintf("%s %s: status %d", req.Method, req.URL.Path, resp.StatusCode)
					}
					continue
				}
				lat = append(lat, el)
			}
			mu.Lock()
			res.Latencies = append(res.Latencies, lat...)
			res.Requests += len(lat) + errs
			res.Errors += errs
			if res.FirstError == "" {
				res.FirstError = first
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res
}

// newClient returns a client that keeps up to c idle connections to one
// host, so that a closed loop of c workers reuses its connections.
func newClient(c int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: c * 2, MaxIdleConnsPerHost: c * 2, MaxConnsPerHost: 0,
			IdleConnTimeout: 30 * time.Second,
		},
	}
}
