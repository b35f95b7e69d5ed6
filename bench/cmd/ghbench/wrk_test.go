package main

import (
	"math"
	"net/http"
	"strings"
	"testing"
)

func TestWrkScript(t *testing.T) {
	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/oauth2/token", strings.NewReader(`grant_type=x&a="b"\`+"\n"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("id", "sec")
	got, err := wrkScript(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `wrk.method = "POST"
wrk.body = "grant_type=x&a=\034b\034\092\010"
wrk.headers["Authorization"] = "Basic aWQ6c2Vj"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
`
	if got != want {
		t.Errorf("script:\n%s\nwant:\n%s", got, want)
	}
}

func TestParseWrk(t *testing.T) {
	cases := []struct {
		name   string
		out    string
		rps    float64
		failed int
		err    bool
	}{
		{"clean", "Running 3s test @ http://127.0.0.1:8080/\n  2 threads and 50 connections\n  12345 requests in 3.00s, 2.1MB read\nRequests/sec:   4115.23\nTransfer/sec:    700.00KB\n", 4115.23, 0, false},
		{"failures", "  Socket errors: connect 0, read 2, write 0, timeout 3\n  Non-2xx or 3xx responses: 7\nRequests/sec:   10.50\n", 10.5, 12, false},
		{"no summary", "unable to connect to 127.0.0.1:1 Connection refused\n", 0, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rps, failed, err := parseWrk(c.out)
			if (err != nil) != c.err || math.Abs(rps-c.rps) > 1e-9 || failed != c.failed {
				t.Errorf("parseWrk = %v, %d, %v; want %v, %d, error %v", rps, failed, err, c.rps, c.failed, c.err)
			}
		})
	}
}

func TestRSSTargets(t *testing.T) {
	idle := IdleRSSTargets([]BackendRSS{{"sqlite", 20 << 20}, {"redis", 30 << 20}, {"postgres", -1}})
	if idle[0].Verdict != "met" || idle[1].Verdict != "not met" || idle[2].Verdict != "not measured" {
		t.Errorf("idle verdicts %+v", idle)
	}
	// A backend that did not reach 1M still has its row, saying why.
	g := GrowthRSSTargets([]GrowthResult{{Backend: "sqlite", Points: []GrowthPoint{{Sessions: 10_000, RSS: 1}, {Sessions: 1_000_000, RSS: 50 << 20}}},
		{Backend: "redis", Points: []GrowthPoint{{Sessions: 10_000, RSS: 1}}, Notes: []string{"grants: x", "1M sessions not measured: over the cap"}}})
	if len(g) != 2 || g[0].Verdict != "met" || !strings.Contains(g[0].Name, "1M") {
		t.Errorf("growth targets %+v", g)
	}
	if g[1].Verdict != "not measured" || !strings.Contains(g[1].Name, "(redis)") || !strings.Contains(g[1].Measured, "over the cap") {
		t.Errorf("redis growth target %+v", g[1])
	}
}

func TestRedisBytesTargets(t *testing.T) {
	got := RedisBytesTargets([]GrowthResult{{Backend: "sqlite", Points: []GrowthPoint{{Sessions: 10, BytesPerSession: 450}}},
		{Backend: "redis", Points: []GrowthPoint{{Sessions: 100_000, BytesPerSession: 900}, {Sessions: 1_000_000, BytesPerSession: 669}},
			Grants: 100_000, GrantRecordBytes: 720, BytesPerGrant: 1002}}, "")
	if len(got) != 2 || got[0].Verdict != "met" || !strings.Contains(got[0].Measured, "669 B") ||
		got[1].Verdict != "not met" || !strings.Contains(got[1].Measured, "720 B") {
		t.Errorf("targets %+v", got)
	}
	none := RedisBytesTargets(nil, "Redis did not answer")
	if len(none) != 2 || none[0].Verdict != "not measured" || none[1].Measured != "Redis did not answer" {
		t.Errorf("without Redis: %+v", none)
	}
}

func TestWrkTargetWithFailures(t *testing.T) {
	r := WrkRow{Flow: "POST /v1/login session", Backend: "sqlite", Bare: "one Argon2id", Conns: 8, RPS: 30, BareRPS: 30, Non2xx: 2, Target: 0.95}
	got := WrkTarget(r, nil)
	if got.Verdict != "not met (failed answers)" || !strings.Contains(got.Measured, "1.00") || !strings.Contains(got.Measured, "failed answers 2") {
		t.Errorf("target %+v", got)
	}
	r.Non2xx = 0
	if got := WrkTarget(r, nil); got.Verdict != "met" {
		t.Errorf("clean target %+v", got)
	}
}
