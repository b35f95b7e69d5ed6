package app_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/app"
	"github.com/gatehouse-auth/gatehouse/internal/config"
)

// serveApp runs app.Serve with args until the test ends and returns the
// API's base URL and a channel closed when Serve returns, with *serveErr
// set to its error.
func serveApp(t *testing.T, serveErr *error, args ...string) (string, <-chan struct{}) {
	t.Helper()
	cfg, err := config.Parse(append([]string{"--data-dir", t.TempDir()}, args...), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(t.Context(), cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		*serveErr = a.Serve(ctx, ln)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
	})
	return "http://" + ln.Addr().String(), done
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestMetricsListener: --metrics-addr serves GET /metrics, and nothing
// else, without credentials; the API listener wants the admin token.
func TestMetricsListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	maddr := ln.Addr().String()
	ln.Close()
	var serveErr error
	api, _ := serveApp(t, &serveErr, "--metrics-addr", maddr)

	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get("http://" + maddr + "/metrics")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the metrics listener did not answer within 10s: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // polling for start-up
	}
	if code, body := get(t, "http://"+maddr+"/metrics"); code != http.StatusOK || !strings.Contains(body, "gatehouse_active_sessions ") || !strings.Contains(body, "gatehouse_revocation_streams_open ") {
		t.Errorf("metrics listener: %d\n%s", code, body)
	}
	if code, _ := get(t, "http://"+maddr+"/healthz"); code != http.StatusNotFound {
		t.Errorf("the metrics listener answered /healthz with %d, want 404: it serves metrics only", code)
	}
	if code, _ := get(t, api+"/metrics"); code != http.StatusUnauthorized {
		t.Errorf("the API listener answered /metrics without credentials with %d, want 401", code)
	}
}

// TestMetricsListenerAddressTaken: a metrics address that cannot be
// bound stops the server with an error naming the flag.
func TestMetricsListenerAddressTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var serveErr error
	_, done := serveApp(t, &serveErr, "--metrics-addr", ln.Addr().String())
	select {
	case <-done:
		if serveErr == nil || !strings.Contains(serveErr.Error(), "--metrics-addr") {
			t.Errorf("Serve: %v, want an error naming --metrics-addr", serveErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not fail within 10s")
	}
}

// TestMetricsDefaultAddressTaken: the default metrics address, when
// another process holds it, only turns the metrics listener off; the
// server still serves.
func TestMetricsDefaultAddressTaken(t *testing.T) {
	ln, err := net.Listen("tcp", config.DefaultMetricsAddr)
	if err != nil {
		t.Skipf("cannot hold %s for the test: %v", config.DefaultMetricsAddr, err)
	}
	defer ln.Close()
	var serveErr error
	api, done := serveApp(t, &serveErr, "--metrics-addr", config.DefaultMetricsAddr)
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Get(api + "/healthz")
	if err != nil {
		t.Fatalf("the API did not answer: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d, want 200", res.StatusCode)
	}
	select {
	case <-done:
		t.Fatalf("Serve stopped: %v, want it to run without the metrics listener", serveErr)
	default:
	}
}
