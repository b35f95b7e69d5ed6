package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// openStream opens GET /v1/revocations/stream as the client address xff
// (the test server trusts loopback as a proxy) and returns the answer;
// a 200's body stays open until the test ends or close is called.
func openStream(t *testing.T, srv *apptest.Server, xff string) (resp *http.Response, close func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/revocations/stream", nil)
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := srv.HTTP.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	close = func() { cancel(); resp.Body.Close() }
	t.Cleanup(close)
	return resp, close
}

// wantStreamRefused checks a refused stream's answer: status, JSON error
// code and Retry-After.
func wantStreamRefused(t *testing.T, resp *http.Response, status int, code string) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	var e struct {
		Error string `json:"error"`
	}
	if resp.StatusCode != status || json.Unmarshal(body, &e) != nil || e.Error != code || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("stream answered %d %s (Retry-After %q), want %d %s with Retry-After", resp.StatusCode, body, resp.Header.Get("Retry-After"), status, code)
	}
}

// openStreams reads the open-streams gauge through the admin-only /metrics.
func openStreams(t *testing.T, srv *apptest.Server) float64 {
	t.Helper()
	v, _ := metricValue(t, srv.Admin().Do(t, http.MethodGet, "/metrics", nil).WantStatus(t, http.StatusOK).Body, "gatehouse_revocation_streams_open")
	return v
}

// TestRevocationStreamLimits: open streams are bounded per client address
// (as --trusted-proxies reads it: 429) and in all (503), with a JSON
// error and Retry-After, and counted in a gauge.
func TestRevocationStreamLimits(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--max-streams", "3", "--max-streams-per-client", "2", "--trusted-proxies", "127.0.0.1/32,::1/128"}})
	const a, b, c = "203.0.113.1", "203.0.113.2", "203.0.113.3"

	resp, closeA1 := openStream(t, srv, a)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first stream: %d", resp.StatusCode)
	}
	if resp, _ := openStream(t, srv, a); resp.StatusCode != http.StatusOK {
		t.Fatalf("second stream: %d", resp.StatusCode)
	}
	resp, _ = openStream(t, srv, a)
	wantStreamRefused(t, resp, http.StatusTooManyRequests, "rate_limited")
	// The same address behind another proxy hop is the same client.
	resp, _ = openStream(t, srv, a+", 127.0.0.1")
	wantStreamRefused(t, resp, http.StatusTooManyRequests, "rate_limited")

	if resp, _ := openStream(t, srv, b); resp.StatusCode != http.StatusOK {
		t.Fatalf("another client's stream: %d", resp.StatusCode)
	}
	resp, _ = openStream(t, srv, c)
	wantStreamRefused(t, resp, http.StatusServiceUnavailable, "temporarily_unavailable")
	if n := openStreams(t, srv); n != 3 {
		t.Errorf("gatehouse_revocation_streams_open = %v, want 3", n)
	}

	// A closed stream frees its slot.
	closeA1()
	deadline := time.Now().Add(10 * time.Second)
	for openStreams(t, srv) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the closed stream was not released within 10s")
		}
		time.Sleep(10 * time.Millisecond) // polling for the server to notice the hang-up
	}
	if resp, _ := openStream(t, srv, c); resp.StatusCode != http.StatusOK {
		t.Fatalf("a stream after one closed: %d", resp.StatusCode)
	}
}

// TestRevocationStreamLimitIgnoresUntrustedXFF: without --trusted-proxies
// X-Forwarded-For is the client's own claim, so varying it does not buy
// more streams.
func TestRevocationStreamLimitIgnoresUntrustedXFF(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--max-streams-per-client", "1"}})
	if resp, _ := openStream(t, srv, "203.0.113.1"); resp.StatusCode != http.StatusOK {
		t.Fatalf("first stream: %d", resp.StatusCode)
	}
	resp, _ := openStream(t, srv, "203.0.113.2")
	wantStreamRefused(t, resp, http.StatusTooManyRequests, "rate_limited")
}
