package main

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0 ≤ p ≤ 100) of sorted, by the
// nearest-rank method: the smallest value such that at least p% of the
// values are less than or equal to it. It returns 0 for an empty slice.
// sorted must be in ascending order.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if p <= 0 {
		return sorted[0]
	}
	if p >= 100 {
		return sorted[n-1]
	}
	// The epsilon keeps 99.9% of 1000 at rank 999 despite rounding.
	rank := int(math.Ceil(p/100*float64(n) - 1e-9))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// Summary is the distribution of a set of durations.
type Summary struct {
	N                        int
	Min, P50, P90, P99, P999 time.Duration
	Max                      time.Duration
}

// Summarize sorts d in place and returns its summary.
func Summarize(d []time.Duration) Summary {
	slices.Sort(d)
	if len(d) == 0 {
		return Summary{}
	}
	return Summary{
		N: len(d), Min: d[0], Max: d[len(d)-1],
		P50: Percentile(d, 50), P90: Percentile(d, 90),
		P99: Percentile(d, 99), P999: Percentile(d, 99.9),
	}
}

// Median returns the median of xs (the mean of the two middle values for
// an even count), or NaN for none. xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// Ratio returns a/b, or NaN when b is not positive.
func Ratio(a, b float64) float64 {
	if b <= 0 || math.IsNaN(a) || math.IsNaN(b) {
		return math.NaN()
	}
	return a / b
}

// Verdict says whether a measured ratio meets a lower bound ("met",
// "not met", or "not measured" for NaN).
func Verdict(measured, atLeast float64) string {
	if math.IsNaN(measured) {
		return "not measured"
	}
	return metIf(measured >= atLeast)
}

// verdictAtMost says whether a measured value meets an upper bound, like
// Verdict.
func verdictAtMost(v, bound float64) string {
	if math.IsNaN(v) {
		return "not measured"
	}
	return metIf(v <= bound)
}

// metIf is the verdict of a measured target: "met" when ok, else "not met".
func metIf(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}
