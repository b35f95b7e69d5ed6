package main

import (
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 1000; i++ {
		d = append(d, time.Duration(i))
	}
	for _, tc := range []struct {
		name string
		p    float64
		want time.Duration
	}{
		{"min", 0, 1}, {"p50", 50, 500}, {"p90", 90, 900}, {"p99", 99, 990},
		{"p99.9", 99.9, 999}, {"max", 100, 1000}, {"p0.01", 0.01, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(d, tc.p); got != tc.want {
				t.Errorf("Percentile(1..1000, %v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("empty: %v", got)
	}
	if got := Percentile([]time.Duration{7}, 99.9); got != 7 {
		t.Errorf("one value: %v", got)
	}
}

func TestSummarizeSorts(t *testing.T) {
	s := Summarize([]time.Duration{5, 1, 4, 2, 3})
	if s.N != 5 || s.Min != 1 || s.Max != 5 || s.P50 != 3 || s.P99 != 5 {
		t.Errorf("Summarize = %+v", s)
	}
	if (Summarize(nil) != Summary{}) {
		t.Error("empty summary not zero")
	}
}

func TestMedianRatioVerdict(t *testing.T) {
	if m := Median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("odd median %v", m)
	}
	if m := Median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("even median %v", m)
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("empty median not NaN")
	}
	if r := Ratio(3, 4); r != 0.75 {
		t.Errorf("Ratio = %v", r)
	}
	if !math.IsNaN(Ratio(1, 0)) {
		t.Error("Ratio by zero not NaN")
	}
	for _, tc := range []struct {
		got, bound float64
		want       string
	}{{0.8, 0.8, "met"}, {0.79, 0.8, "not met"}, {math.NaN(), 0.5, "not measured"}} {
		if v := Verdict(tc.got, tc.bound); v != tc.want {
			t.Errorf("Verdict(%v, %v) = %q, want %q", tc.got, tc.bound, v, tc.want)
		}
	}
}

func TestLoadCountsStatusesAndLatencies(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	defer srv.Close()
	c := newClient(4)
	res := Load(t.Context(), c, 4, 5*time.Second, 40, http.StatusOK, func() *http.Request {
		r, _ := http.NewRequest(http.MethodGet, srv.URL+"/ok", nil)
		return r
	})
	if res.Requests != 40 || res.Errors != 0 || len(res.Latencies) != 40 || res.Throughput() <= 0 {
		t.Errorf("ok run: %d requests, %d errors, %d latencies", res.Requests, res.Errors, len(res.Latencies))
	}
	res = Load(t.Context(), c, 2, 5*time.Second, 10, http.StatusOK, func() *http.Request {
		n++
		r, _ := http.NewRequest(http.MethodGet, srv.URL+"/bad", nil)
		return r
	})
	if res.Errors != 10 || len(res.Latencies) != 0 || res.FirstError == "" {
		t.Errorf("bad run: %+v", res)
	}
}

func TestStormTarget(t *testing.T) {
	const mb = 1 << 20
	small := StormResult{Logins: 100, HWMAfter: 150 * mb}
	cases := []struct {
		name    string
		big     StormResult
		small   StormResult
		verdict string
	}{
		{"flat", StormResult{Logins: 500, Shed: 300, HWMAfter: 160 * mb}, small, "met"},
		{"at the bound", StormResult{Logins: 500, HWMAfter: 150*mb + 150*mb/4 + 16*mb}, small, "met"},
		{"grows", StormResult{Logins: 500, HWMAfter: 400 * mb}, small, "not met"},
		{"an error that is not 429", StormResult{Logins: 500, Errors: 1, HWMAfter: 150 * mb}, small, "not met"},
		{"no reading", StormResult{Logins: 500}, small, "not measured"},
	}
	for _, tc := range cases {
		got := StormTarget(tc.small, tc.big)
		if got.Verdict != tc.verdict {
			t.Errorf("%s: verdict %q (%s; %s), want %q", tc.name, got.Verdict, got.Bound, got.Measured, tc.verdict)
		}
	}
	if r := (StormResult{Logins: 500, Shed: 300, Errors: 2}); r.OK() != 198 {
		t.Errorf("OK() = %d, want 198", r.OK())
	}
}
