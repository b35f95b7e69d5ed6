package browser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/syncbuf"
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
		buildDir, buildErr = os.MkdirTemp("", "gatehouse-e2e-bin-")
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

// gatehouse is a running `gatehouse serve`.
type gatehouse struct {
	URL        string // the issuer, http://127.0.0.1:port (or localhost)
	AdminToken string
	DataDir    string
	log        *syncbuf.Buffer
	// seen are the dev mailbox's files mailLink has returned a link of.
	seen map[string]bool
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startGatehouse runs the real binary with a fresh SQLite data directory
// on a loopback port and waits until it answers /healthz. extra are more
// serve flags.
func startGatehouse(t *testing.T, extra ...string) *gatehouse {
	t.Helper()
	return startGatehouseAt(t, "127.0.0.1", extra...)
}

// startGatehouseAt is startGatehouse with the issuer http://host:port
// (host "localhost" for passkeys: WebAuthn refuses an IP address as RP
// ID); the server listens on 127.0.0.1 either way.
func startGatehouseAt(t *testing.T, host string, extra ...string) *gatehouse {
	t.Helper()
	bin := gatehouseBinary(t)
	g := &gatehouse{DataDir: t.TempDir(), log: &syncbuf.Buffer{}, seen: map[string]bool{}}
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	g.URL = fmt.Sprintf("http://%s:%d", host, port)
	// No metrics listener: its default port would clash between servers.
	args := append([]string{"serve", "--addr", addr, "--data-dir", g.DataDir, "--issuer", g.URL, "--log-format", "text", "--log-level", "warn", "--metrics-addr", "off"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = g.log, g.log
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
			t.Logf("gatehouse log:\n%s", g.log)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(g.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("gatehouse serve exited: %v\n%s", err, g.log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatehouse serve did not answer /healthz in 30 s:\n%s", g.log)
		}
	}
	tok, err := os.ReadFile(filepath.Join(g.DataDir, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	g.AdminToken = strings.TrimSpace(string(tok))
	return g
}

// call sends a JSON request and decodes a JSON answer into out (if not
// nil), failing the test unless the status is want.
func (g *gatehouse) call(t *testing.T, method, path, bearer string, body, out any, want int) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, g.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// signup creates a user.
func (g *gatehouse) signup(t *testing.T, email, password string) {
	t.Helper()
	g.call(t, http.MethodPost, "/v1/signup", "", map[string]string{"email": email, "password": password}, nil, http.StatusCreated)
}

// client is a registered OAuth client.
type client struct {
	ID     string `json:"client_id"`
	Secret string `json:"client_secret"`
}

// registerClient registers a client through the admin API.
func (g *gatehouse) registerClient(t *testing.T, meta map[string]any) client {
	t.Helper()
	var c client
	g.call(t, http.MethodPost, "/admin/v1/clients", g.AdminToken, meta, &c, http.StatusCreated)
	return c
}
