package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gatehouse-auth/gatehouse/verifier"
)

// gatehouseBin is the server binary built from the parent module.
var gatehouseBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "realtime-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gatehouseBin = filepath.Join(dir, "gatehouse")
	build := exec.Command("go", "build", "-o", gatehouseBin, "./cmd/gatehouse")
	build.Dir = filepath.Join("..", "..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "go build ./cmd/gatehouse:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gatehouse is one running "gatehouse serve" process.
type gatehouse struct {
	URL, AdminToken string
}

// startGatehouse starts the real server on a free loopback port with a
// fresh data directory, and stops it when the test ends.
func startGatehouse(t *testing.T, extra ...string) *gatehouse {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	args := append([]string{"serve", "--addr", addr, "--data-dir", dir, "--log-level", "error",
		"--login-limit-ip", "0/1m", "--login-limit-account", "0/1m",
		"--metrics-addr", "off"}, extra...) // its default port would clash between servers
	cmd := exec.Command(gatehouseBin, args...)
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "GATEHOUSE_") {
			env = append(env, e)
		}
	}
	cmd.Env = env
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	g := &gatehouse{URL: "http://" + addr}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("gatehouse serve exited: %s", stderr.String())
		default:
		}
		if res, err := http.Get(g.URL + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatehouse serve did not answer /healthz in 60s: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	tok, err := os.ReadFile(filepath.Join(dir, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	g.AdminToken = strings.TrimSpace(string(tok))
	return g
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// call sends a JSON request and decodes a JSON answer into out (if not
// nil); it fails the test unless the status is want.
func (g *gatehouse) call(t *testing.T, method, path, bearer string, body any, want int, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, g.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// signup creates a user and returns its id.
func (g *gatehouse) signup(t *testing.T, email, password string) string {
	var a struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	g.call(t, http.MethodPost, "/v1/signup", "", map[string]string{"email": email, "password": password}, http.StatusCreated, &a)
	return a.User.ID
}

// login logs in in token mode and returns the access token.
func (g *gatehouse) login(t *testing.T, email, password string) string {
	var a struct {
		AccessToken string `json:"access_token"`
	}
	g.call(t, http.MethodPost, "/v1/login", "", map[string]string{"email": email, "password": password, "mode": "token"}, http.StatusOK, &a)
	if a.AccessToken == "" {
		t.Fatal("login answered no access token")
	}
	return a.AccessToken
}

// sessionID returns the id of the token's grant, as /v1/me reports it.
func (g *gatehouse) sessionID(t *testing.T, token string) string {
	var a struct {
		Auth struct {
			SessionID string `json:"session_id"`
		} `json:"auth"`
	}
	g.call(t, http.MethodGet, "/v1/me", token, nil, http.StatusOK, &a)
	return a.Auth.SessionID
}

// startChat serves the example's handler with a verifier on g that
// accepts bearer tokens and session cookies.
func startChat(t *testing.T, g *gatehouse, leeway time.Duration) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	v, err := verifier.New(ctx, verifier.Config{Issuer: g.URL, Audience: g.URL, Leeway: leeway,
		SessionCookie: verifier.SessionCookieConfig{IntrospectionCredential: g.AdminToken}})
	if err != nil {
		t.Fatal(err)
	}
	room := newChat(v, slog.New(slog.DiscardHandler), nil)
	srv := httptest.NewServer(room.handler())
	t.Cleanup(func() {
		v.Close()
		room.wait(context.Background())
		srv.Close()
	})
	return srv
}

// socket is an open chat connection; closed receives the error that
// ended its reads.
type socket struct {
	conn   *websocket.Conn
	msgs   chan string
	closed chan error
}

// dial opens a chat socket with a bearer token.
func dial(t *testing.T, srv *httptest.Server, token string) *socket {
	t.Helper()
	return dialWith(t, srv, http.Header{"Authorization": {"Bearer " + token}})
}

func dialWith(t *testing.T, srv *httptest.Server, h http.Header) *socket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	conn, res, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial: %v (status %d)", err, status)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	s := &socket{conn: conn, msgs: make(chan string, 16), closed: make(chan error, 1)}
	go func() {
		for {
			_, msg, err := conn.Read(context.Background())
			if err != nil {
				s.closed <- err
				return
			}
			select {
			case s.msgs <- string(msg):
			default: // nobody is listening
			}
		}
	}()
	return s
}

// roundTrip sends a message and waits for the room to echo it (skipping
// other members' messages), proving the socket works.
func (s *socket) roundTrip(t *testing.T, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.conn.Write(ctx, websocket.MessageText, []byte(text)); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case m := <-s.msgs:
			if strings.HasSuffix(m, ": "+text) {
				return
			}
		case err := <-s.closed:
			t.Fatalf("closed before the echo: %v", err)
		case <-ctx.Done():
			t.Fatal("no echo")
		}
	}
}

// waitClose waits until deadline for the server to close the socket and
// checks its code and reason; it returns when the close arrived.
func (s *socket) waitClose(t *testing.T, deadline time.Time, code websocket.StatusCode, reason string) time.Time {
	t.Helper()
	select {
	case err := <-s.closed:
		at := time.Now()
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("socket ended without a close frame: %v", err)
		}
		if ce.Code != code || ce.Reason != reason {
			t.Fatalf("closed with %d %q, want %d %q", ce.Code, ce.Reason, code, reason)
		}
		return at
	case <-time.After(time.Until(deadline)):
		t.Fatalf("socket still open at %s", deadline.Format(time.RFC3339Nano))
		return time.Time{}
	}
}

// TestSocketClosedOnRevocation opens sockets through a real Gatehouse
// server and revokes their credential there: by deleting the session
// from another device, by logging out, and by disabling the user. Each
// socket must close with CloseRevoked within 1 s.
func TestSocketClosedOnRevocation(t *testing.T) {
	g := startGatehouse(t)
	srv := startChat(t, g, 0)
	const password = "correct horse battery staple"
	tests := []struct {
		name string
		// revoke revokes the credential and returns when it sent the
		// revoking request.
		revoke func(t *testing.T, email, token, userID string) (sent time.Time)
	}{
		{"session deleted from another device", func(t *testing.T, email, token, userID string) time.Time {
			other := g.login(t, email, password)
			sid := g.sessionID(t, token)
			sent := time.Now()
			g.call(t, http.MethodDelete, "/v1/sessions/"+sid, other, nil, http.StatusNoContent, nil)
			return sent
		}},
		{"logout", func(t *testing.T, email, token, userID string) time.Time {
			sent := time.Now()
			g.call(t, http.MethodPost, "/v1/logout", token, nil, http.StatusNoContent, nil)
			return sent
		}},
		{"user disabled", func(t *testing.T, email, token, userID string) time.Time {
			sent := time.Now()
			g.call(t, http.MethodPatch, "/admin/v1/users/"+userID, g.AdminToken, map[string]any{"disabled": true}, http.StatusOK, nil)
			return sent
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			email := fmt.Sprintf("ada%d@example.com", i)
			userID := g.signup(t, email, password)
			token := g.login(t, email, password)
			s := dial(t, srv, token)
			s.roundTrip(t, "hello from "+tt.name)
			// Another user's socket stays open.
			bob := fmt.Sprintf("bob%d@example.com", i)
			g.signup(t, bob, password)
			bystander := dial(t, srv, g.login(t, bob, password))
			// The first message of the bystander's room may be ada's.
			bystander.roundTrip(t, "bob is here")
			sent := tt.revoke(t, email, token, userID)
			closedAt := s.waitClose(t, sent.Add(time.Second), CloseRevoked, "credential revoked")
			t.Logf("socket closed %s after the revocation was sent", closedAt.Sub(sent))
			select {
			case err := <-bystander.closed:
				t.Fatalf("the bystander's socket closed too: %v", err)
			default:
			}
			bystander.roundTrip(t, "still here")
		})
	}
}

// TestCookieSocketClosedOnLogout opens a socket with a browser's session
// cookie (checked through introspection) and logs the browser out.
func TestCookieSocketClosedOnLogout(t *testing.T) {
	g := startGatehouse(t)
	srv := startChat(t, g, 0)
	const email, password = "ada@example.com", "correct horse battery staple"
	g.signup(t, email, password)
	body := strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q,"mode":"session"}`, email, password))
	res, err := http.Post(g.URL+"/v1/login", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		CSRF string `json:"csrf_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&a)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("session login: %d, %v", res.StatusCode, err)
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "gatehouse_session" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("login set no session cookie")
	}
	s := dialWith(t, srv, http.Header{"Cookie": {cookie.String()}})
	s.roundTrip(t, "hello from a browser")
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/logout", nil)
	req.AddCookie(cookie)
	req.Header.Set("X-CSRF-Token", a.CSRF)
	sent := time.Now()
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	closedAt := s.waitClose(t, sent.Add(time.Second), CloseRevoked, "credential revoked")
	t.Logf("socket closed %s after the logout was sent", closedAt.Sub(sent))
}

// TestSocketClosedOnExpiry closes a socket when its access token expires
// (--access-token-ttl 2s, no leeway), with CloseExpired.
func TestSocketClosedOnExpiry(t *testing.T) {
	g := startGatehouse(t, "--access-token-ttl", "2s")
	srv := startChat(t, g, -1)
	g.signup(t, "ada@example.com", "correct horse battery staple")
	token := g.login(t, "ada@example.com", "correct horse battery staple")
	exp := tokenExpiry(t, token)
	s := dial(t, srv, token)
	s.roundTrip(t, "hello")
	closedAt := s.waitClose(t, exp.Add(time.Second), CloseExpired, "token expired")
	if closedAt.Before(exp) {
		t.Errorf("closed at %s, before exp %s", closedAt.Format(time.RFC3339Nano), exp.Format(time.RFC3339))
	}
	t.Logf("socket closed %s after exp", closedAt.Sub(exp))
}

// tokenExpiry reads "exp" from a JWT (no check: only for timing).
func tokenExpiry(t *testing.T, token string) time.Time {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Exp == 0 {
		t.Fatalf("claims %s: %v", b, err)
	}
	return time.Unix(c.Exp, 0)
}
