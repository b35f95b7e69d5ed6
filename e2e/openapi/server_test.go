package openapi

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// repoRoot is the server module's directory, relative to this package.
const repoRoot = "../.."

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// gatehouseBinary builds cmd/gatehouse once per test process, into a
// temporary directory that TestMain removes.
func gatehouseBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "gatehouse-openapi-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, "gatehouse"), "./cmd/gatehouse")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/gatehouse: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "gatehouse")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// syncBuffer collects the server's output while it still writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a running "gatehouse serve".
type server struct {
	URL        string
	AdminToken string
}

// startServer runs the real binary with a fresh SQLite data directory on
// a loopback port, without the metrics listener, and waits for /healthz.
func startServer(t *testing.T) *server {
	t.Helper()
	bin := gatehouseBinary(t)
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	// The issuer is localhost, a domain name, so that passkeys work
	// (WebAuthn refuses an IP address as RP ID).
	_, port, _ := net.SplitHostPort(addr)
	issuer := "http://localhost:" + port
	log := &syncBuffer{}
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data-dir", dir, "--issuer", issuer,
		"--log-format", "text", "--log-level", "warn", "--metrics-addr", "off")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("gatehouse log:\n%s", log)
		}
	})
	s := &server{URL: issuer}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("gatehouse serve exited: %v\n%s", err, log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatehouse serve did not answer /healthz in 30 s:\n%s", log)
		}
	}
	tok, err := os.ReadFile(filepath.Join(dir, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	s.AdminToken = strings.TrimSpace(string(tok))
	return s
}
