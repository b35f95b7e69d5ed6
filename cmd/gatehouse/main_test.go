package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/syncbuf"
)

// These tests build the real binary and run it as an operator would:
// "gatehouse serve" on a data directory, killed and restarted.

var (
	binDir  string
	binPath string
	binErr  error
	binOnce sync.Once
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// gatehouseBinary builds ./cmd/gatehouse once per test run.
func gatehouseBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the gatehouse binary (about 10-30s); skipped with -short")
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "gatehouse-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "gatehouse")
		goTool, err := exec.LookPath("go")
		if err != nil {
			binErr = err
			return
		}
		cmd := exec.Command(goTool, "build", "-o", binPath, ".")
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// freeAddr returns a local address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// server is a running gatehouse process.
type server struct {
	cmd            *exec.Cmd
	addr           string
	url            string
	stdout, stderr *syncbuf.Buffer
	exited         chan struct{}
	waitErr        error
}

// cleanEnv is the environment without GATEHOUSE_* variables, so the
// developer's settings do not leak in.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			env = append(env, kv)
		}
	}
	// No metrics listener: many servers run at once, and its default
	// port would clash. Tests that want it pass --metrics-addr.
	env = append(env, "GATEHOUSE_METRICS_ADDR=off")
	return append(env, extra...)
}

// startServer runs "gatehouse serve args..." in dir with env and waits
// until addr answers /healthz.
func startServer(t *testing.T, dir, addr string, env []string, args ...string) *server {
	t.Helper()
	s := launchServer(t, dir, addr, env, args...)
	if err := s.waitReady(); err != nil {
		t.Fatal(err)
	}
	return s
}

// launchServer runs "gatehouse serve args..." in dir with env, and kills
// it when the test ends. It does not wait for the server to answer (see
// waitReady), so that several can start at once.
func launchServer(t *testing.T, dir, addr string, env []string, args ...string) *server {
	t.Helper()
	s := &server{addr: addr, url: "http://" + addr, stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(gatehouseBinary(t), append([]string{"serve"}, args...)...)
	s.cmd.Dir = dir
	s.cmd.Env = env
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("server %s stdout:\n%s\nstderr:\n%s", addr, s.stdout, s.stderr)
		}
	})
	return s
}

// waitReady waits until the server answers /healthz, for at most 30s. It
// does not touch the test, so it may run on any goroutine.
func (s *server) waitReady() error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("gatehouse serve exited early (%v); stderr:\n%s", s.waitErr, s.stderr)
		default:
		}
		if res, err := http.Get(s.url + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gatehouse serve did not answer /healthz on %s within 30s; stderr:\n%s", s.addr, s.stderr)
		}
		time.Sleep(20 * time.Millisecond) // polling for start-up, not timing a timeout
	}
}

func serveOn(t *testing.T, dataDir string) *server {
	t.Helper()
	addr := freeAddr(t)
	return startServer(t, t.TempDir(), addr, cleanEnv(), "--addr", addr, "--data-dir", dataDir, "--log-level", "debug")
}

// exitCode waits for the process and returns its exit code.
// kill ends the server with SIGKILL, as a crash or an OOM kill does, and
// waits for it to be gone.
func (s *server) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := s.exitCode(t, 10*time.Second); code == 0 {
		t.Fatalf("SIGKILL: exit code 0?")
	}
}

func (s *server) exitCode(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-s.exited:
	case <-time.After(within):
		t.Fatalf("gatehouse did not exit within %v", within)
	}
	var ee *exec.ExitError
	if errors.As(s.waitErr, &ee) {
		return ee.ExitCode()
	}
	if s.waitErr != nil {
		t.Fatalf("wait: %v", s.waitErr)
	}
	return 0
}

// call sends a JSON request and returns the status, body and cookies.
func call(t *testing.T, s *server, method, path, body, cookie, csrf string) (int, []byte, []*http.Cookie) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: cookie})
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b, res.Cookies()
}

func want(t *testing.T, what string, status, wantStatus int, body []byte) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("%s: status %d, want %d; body %s", what, status, wantStatus, body)
	}
}

type loginAnswer struct {
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	Session struct {
		ID string `json:"id"`
	} `json:"session"`
	CSRF string `json:"csrf_token"`
}

func login(t *testing.T, s *server, email, password string) (loginAnswer, string) {
	t.Helper()
	st, b, cookies := call(t, s, http.MethodPost, "/v1/login", fmt.Sprintf(`{"email": %q, "password": %q}`, email, password), "", "")
	want(t, "login", st, http.StatusOK, b)
	var la loginAnswer
	if err := json.Unmarshal(b, &la); err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		if c.Name == "gatehouse_session" {
			return la, c.Value
		}
	}
	t.Fatalf("login set no gatehouse_session cookie")
	return la, ""
}

// TestCrashSafety kills the server with SIGKILL right after it answered
// three writes, and checks that a restart on the same data directory
// finds all three: acknowledged means durable.
func TestCrashSafety(t *testing.T) {
	dataDir := t.TempDir()
	s := serveOn(t, dataDir)
	const email, password = "crash@example.com", "crash test password"
	st, b, _ := call(t, s, http.MethodPost, "/v1/signup", fmt.Sprintf(`{"email": %q, "password": %q}`, email, password), "", "")
	want(t, "signup", st, http.StatusCreated, b)
	la, cookie := login(t, s, email, password)
	st, b, _ = call(t, s, http.MethodPut, "/v1/session/data", `{"cart": ["durable"]}`, cookie, la.CSRF)
	want(t, "PUT session data", st, http.StatusOK, b)
	tokenBefore, err := os.ReadFile(filepath.Join(dataDir, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}

	s.kill(t)

	s2 := serveOn(t, dataDir)
	st, b, _ = call(t, s2, http.MethodGet, "/v1/me", "", cookie, "")
	want(t, "old cookie after restart", st, http.StatusOK, b)
	var me struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		Auth struct {
			SessionID string `json:"session_id"`
		} `json:"auth"`
	}
	if err := json.Unmarshal(b, &me); err != nil || me.User.ID != la.User.ID || me.Auth.SessionID != la.Session.ID {
		t.Fatalf("/v1/me after restart = %s, want user %s session %s", b, la.User.ID, la.Session.ID)
	}
	st, b, _ = call(t, s2, http.MethodGet, "/v1/session/data", "", cookie, "")
	want(t, "session data after restart", st, http.StatusOK, b)
	if got := strings.TrimSpace(string(b)); got != `{"cart":["durable"]}` {
		t.Fatalf("session data after restart = %s", got)
	}
	la2, _ := login(t, s2, email, password)
	if la2.User.ID != la.User.ID {
		t.Errorf("login after restart: user %s, want %s", la2.User.ID, la.User.ID)
	}
	// The old CSRF token still goes with the old cookie.
	st, b, _ = call(t, s2, http.MethodPut, "/v1/session/data", `{"cart": []}`, cookie, la.CSRF)
	want(t, "PUT with the old CSRF token after restart", st, http.StatusOK, b)
	tokenAfter, err := os.ReadFile(filepath.Join(dataDir, "admin-token"))
	if err != nil || !bytes.Equal(tokenBefore, tokenAfter) {
		t.Errorf("admin token changed across the crash")
	}
}

// TestSIGTERMDrainsInFlightRequest starts a request, sends SIGTERM while
// its handler is reading the body, and checks that the request completes
// and the process exits 0.
func TestSIGTERMDrainsInFlightRequest(t *testing.T) {
	dataDir := t.TempDir()
	s := serveOn(t, dataDir)
	const email, password = "term@example.com", "term test password"
	st, b, _ := call(t, s, http.MethodPost, "/v1/signup", fmt.Sprintf(`{"email": %q, "password": %q}`, email, password), "", "")
	want(t, "signup", st, http.StatusCreated, b)
	la, cookie := login(t, s, email, password)

	// Send the headers of a PUT with "Expect: 100-continue". The server
	// answers 100 Continue when the handler starts reading the body, so
	// once it arrives, the request is in flight.
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"in": "flight"}`
	fmt.Fprintf(conn, "PUT /v1/session/data HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"+
		"Expect: 100-continue\r\nCookie: gatehouse_session=%s\r\nX-CSRF-Token: %s\r\n\r\n", s.addr, len(body), cookie, la.CSRF)
	br := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("want 100 Continue, got %q (%v)", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the empty line ending the interim answer
		t.Fatal(err)
	}

	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Wait until the server stops accepting connections: shutdown has
	// begun while our request is still open.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections 10s after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-s.exited:
		t.Fatalf("the server exited with a request in flight (%v)", s.waitErr)
	default:
	}

	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || strings.TrimSpace(string(got)) != `{"in":"flight"}` {
		t.Fatalf("in-flight PUT answered %d %s", res.StatusCode, got)
	}
	if code := s.exitCode(t, 20*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; stderr:\n%s", code, s.stderr)
	}

	// The write the server acknowledged while shutting down is there.
	s2 := serveOn(t, dataDir)
	st, b, _ = call(t, s2, http.MethodGet, "/v1/session/data", "", cookie, "")
	want(t, "data after the drained write", st, http.StatusOK, b)
	if strings.TrimSpace(string(b)) != `{"in":"flight"}` {
		t.Errorf("data after restart = %s", b)
	}
}

// TestServeDefaultDataDir checks the start-up contract: without
// --data-dir the state lives in ./gatehouse-data, the admin token is
// written there with mode 0600 and its path printed, and the issuer is
// http:// + the listen address. The address comes from GATEHOUSE_ADDR,
// which also checks that the environment is read.
func TestServeDefaultDataDir(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	s := startServer(t, dir, addr, cleanEnv("GATEHOUSE_ADDR="+addr))
	checkDataDir(t, s, filepath.Join(dir, "gatehouse-data"), "http://"+addr)
}

// TestServeNoFlags runs "gatehouse serve" with no flags and no
// environment, which listens on 127.0.0.1:8080. It is skipped when that
// port is taken.
func TestServeNoFlags(t *testing.T) {
	gatehouseBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:8080")
	if err != nil {
		t.Skipf("127.0.0.1:8080 is taken (%v); the default address cannot be tested here", err)
	}
	ln.Close()
	dir := t.TempDir()
	s := startServer(t, dir, "127.0.0.1:8080", cleanEnv())
	checkDataDir(t, s, filepath.Join(dir, "gatehouse-data"), "http://127.0.0.1:8080")
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := s.exitCode(t, 20*time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
}

func checkDataDir(t *testing.T, s *server, dataDir, issuer string) {
	t.Helper()
	tokenPath := filepath.Join(dataDir, "admin-token")
	fi, err := os.Stat(tokenPath)
	if err != nil {
		t.Fatalf("admin token: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("admin token mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(dataDir, "gatehouse.db")); err != nil {
		t.Errorf("no SQLite database in the data dir: %v", err)
	}
	out := s.stdout.String()
	if !strings.Contains(out, "gatehouse-data/admin-token") {
		t.Errorf("stdout does not print the admin token's path:\n%s", out)
	}
	if !strings.Contains(out, issuer) {
		t.Errorf("stdout does not name the issuer %s:\n%s", issuer, out)
	}
	// The token works.
	tok, err := os.ReadFile(tokenPath)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, s.url+"/admin/v1/users", strings.NewReader(`{"email": "admin-made@example.com", "password": "password123"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Errorf("admin create user with the token file: status %d", res.StatusCode)
	}
}
