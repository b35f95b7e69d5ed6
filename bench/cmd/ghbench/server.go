package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/syncbuf"
)

// Backend is where a Gatehouse server keeps its data.
type Backend struct {
	Name     string // "sqlite", "postgres" or "redis"
	DB       string // --db; empty for SQLite in the data dir
	Sessions string // --sessions; "db" or a redis:// URL
}

// Server is one running "gatehouse serve" process.
type Server struct {
	URL        string
	DataDir    string
	AdminToken string
	cmd        *exec.Cmd
	exited     chan struct{}
	stderr     syncbuf.Buffer
}

// kek is the key-encryption key shared by every server of a run, so
// instances on one database can read each other's signing keys.
var kek = func() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}()

// buildGatehouse builds the server binary from the main module (the
// parent of the bench module) into dir and returns its path. It is built
// as a release is (`make build`, docs/deploy.md): static, without cgo.
func buildGatehouse(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "gatehouse")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gatehouse")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), releaseBuildEnv)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gatehouse: %w", err)
	}
	return bin, nil
}

// releaseBuildEnv is the environment setting of a release build: a
// static binary, which maps no C library (docs/decisions.md, "Release
// builds are static").
const releaseBuildEnv = "CGO_ENABLED=0"

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// cleanEnv is the process environment without GATEHOUSE_* variables, so
// that a developer's settings do not leak into the measured servers.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "GATEHOUSE_") {
			env = append(env, e)
		}
	}
	// No metrics listener: many servers run at once, and its default
	// port would clash. Tests that want it pass --metrics-addr.
	env = append(env, "GATEHOUSE_METRICS_ADDR=off")
	return append(env, extra...)
}

// StartServer starts "gatehouse serve" on a free loopback port with the
// backend's flags and extra flags, and waits for /healthz.
func StartServer(bin, workDir string, b Backend, extra ...string) (*Server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(workDir, "gatehouse-"+b.Name+"-")
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--addr", addr, "--data-dir", dir, "--log-level", "error",
		"--login-limit-ip", "0/1m", "--login-limit-account", "0/1m"}
	if b.DB != "" {
		args = append(args, "--db", b.DB)
	}
	if b.Sessions != "" {
		args = append(args, "--sessions", b.Sessions)
	}
	args = append(args, extra...)
	s := &Server{URL: "http://" + addr, DataDir: dir, exited: make(chan struct{})}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = cleanEnv("GATEHOUSE_KEY_ENCRYPTION_KEY=" + kek)
	s.cmd.Stdout = io.Discard
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("gatehouse serve (%s) exited: %s", b.Name, s.Stderr())
		default:
		}
		if res, err := http.Get(s.URL + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("gatehouse serve (%s) did not answer /healthz in 60s: %s", b.Name, s.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	tok, err := os.ReadFile(filepath.Join(dir, "admin-token"))
	if err != nil {
		s.Stop()
		return nil, err
	}
	s.AdminToken = strings.TrimSpace(string(tok))
	return s, nil
}

// Stderr returns what the server wrote to its standard error so far.
func (s *Server) Stderr() string {
	return s.stderr.String()
}

// Stop kills the server and waits for it to exit.
func (s *Server) Stop() {
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// PID returns the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// ProcStatus reads a "kB" field (VmRSS, VmHWM) of /proc/<pid>/status
// and returns it in bytes, or -1 when unavailable (not Linux).
func ProcStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	return parseStatusField(string(b), field)
}

func parseStatusField(status, field string) int64 {
	for line := range strings.Lines(status) {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return -1
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return -1
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		return n
	}
	return -1
}

// do sends one request and returns the status, body and response.
func do(client *http.Client, method, url, body string, hdr map[string]string) (int, []byte, *http.Response, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, nil, nil, err
	}
	if body != "" {
		if strings.HasPrefix(body, "{") {
			req.Header.Set("Content-Type", "application/json")
		} else {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, res, err
}

// Session is a logged-in cookie session.
type Session struct {
	Cookie, CSRF, ID string
	Body             []byte // the login answer
}

// cookieName is the session cookie's name on an http issuer.
const cookieName = "gatehouse_session"

// Signup creates a user.
func (s *Server) Signup(email, password string) error {
	st, b, _, err := do(http.DefaultClient, http.MethodPost, s.URL+"/v1/signup", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), nil)
	if err != nil {
		return err
	}
	if st != http.StatusCreated {
		return fmt.Errorf("signup: %d %s", st, b)
	}
	return nil
}

// LoginSession logs in in session mode.
func (s *Server) LoginSession(client *http.Client, email, password string) (Session, error) {
	st, b, res, err := do(client, http.MethodPost, s.URL+"/v1/login", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), nil)
	if err != nil {
		return Session{}, err
	}
	if st != http.StatusOK {
		return Session{}, &StatusError{Status: st, Body: string(b)}
	}
	var a struct {
		Session struct {
			ID string `json:"id"`
		} `json:"session"`
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return Session{}, err
	}
	out := Session{CSRF: a.CSRF, ID: a.Session.ID, Body: b}
	for _, c := range res.Cookies() {
		if c.Name == cookieName {
			out.Cookie = c.Value
		}
	}
	if out.Cookie == "" {
		return Session{}, errors.New("login set no session cookie")
	}
	return out, nil
}

// LoginToken logs in in token mode and returns the access token and the
// whole answer.
func (s *Server) LoginToken(client *http.Client, email, password string) (string, []byte, error) {
	st, b, _, err := do(client, http.MethodPost, s.URL+"/v1/login", fmt.Sprintf(`{"email":%q,"password":%q,"mode":"token"}`, email, password), nil)
	if err != nil {
		return "", nil, err
	}
	if st != http.StatusOK {
		return "", nil, fmt.Errorf("token login: %d %s", st, b)
	}
	var a struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(b, &a); err != nil || a.AccessToken == "" {
		return "", nil, fmt.Errorf("token login answered %s", b)
	}
	return a.AccessToken, b, nil
}

// CreateClient registers a client-credentials client and returns its id
// and secret.
func (s *Server) CreateClient() (id, secret string, err error) {
	st, b, _, err := do(http.DefaultClient, http.MethodPost, s.URL+"/admin/v1/clients",
		`{"grant_types":["client_credentials"],"scope":"reports:read reports:write"}`,
		map[string]string{"Authorization": "Bearer " + s.AdminToken})
	if err != nil {
		return "", "", err
	}
	if st != http.StatusCreated {
		return "", "", fmt.Errorf("create client: %d %s", st, b)
	}
	var c struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return "", "", err
	}
	return c.ID, c.Secret, nil
}

// StatusError is a login answered with a status other than 200.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string { return fmt.Sprintf("login: %d %s", e.Status, e.Body) }
