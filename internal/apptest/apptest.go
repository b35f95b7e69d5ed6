package apptest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/app"
	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
)

// CheapPasswordParams are Argon2id parameters at the package's lower
// limits: a hash costs microseconds, so tests can log in freely. Never use
// them outside tests.
var CheapPasswordParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Options configure Start. The zero value starts a server with the
// defaults of "gatehouse serve".
type Options struct {
	// Args are extra "gatehouse serve" flags, as on the command line, such
	// as "--signup=false". Start itself sets --addr and --data-dir first;
	// Args come after and so win.
	Args []string
	// Env is the environment config.Parse sees; the real environment is
	// never read, so a developer's GATEHOUSE_* variables do not leak in.
	Env map[string]string
	// Clock is the server's clock; nil for a new one at clocktest.Epoch.
	Clock *clocktest.Clock
	// PasswordParams default to CheapPasswordParams.
	PasswordParams password.Params
	// Log receives the server's logs; nil discards them.
	Log *slog.Logger
	// InsecureNoAuditTrail turns the audit trail off (app.Options), for
	// benchmarks of its cost.
	InsecureNoAuditTrail bool
}

// Server is a running Gatehouse server on an httptest.Server.
type Server struct {
	// App is the wired server; its fields reach the domain services.
	App *app.App
	// HTTP is the listener; its URL is the issuer unless Args set one.
	HTTP *httptest.Server
	// URL is the base URL requests go to (HTTP.URL).
	URL string
	// Clock is the server's clock.
	Clock *clocktest.Clock
	// DataDir is the temporary data directory.
	DataDir string
	// AdminToken is the token written to the data directory at start.
	AdminToken string
}

// Start wires a server with app.New on a fresh t.TempDir() and serves it
// on a local httptest.Server until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = clocktest.New(clocktest.Epoch)
	}
	if opts.PasswordParams == (password.Params{}) {
		opts.PasswordParams = CheapPasswordParams
	}
	dir := t.TempDir()
	ts := httptest.NewUnstartedServer(nil)
	args := append([]string{"--addr", ts.Listener.Addr().String(), "--data-dir", dir}, opts.Args...)
	cfg, err := config.Parse(args, func(k string) string { return opts.Env[k] })
	if err != nil {
		ts.Close()
		t.Fatalf("apptest: config.Parse(%q): %v", args, err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{Now: opts.Clock.Now, PasswordParams: opts.PasswordParams, Log: opts.Log, InsecureNoAuditTrail: opts.InsecureNoAuditTrail})
	if err != nil {
		ts.Close()
		t.Fatalf("apptest: app.New: %v", err)
	}
	tok, err := os.ReadFile(a.AdminTokenPath)
	if err != nil {
		ts.Close()
		a.Close()
		t.Fatalf("apptest: read admin token: %v", err)
	}
	ts.Config.Handler = a.API
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		if err := a.Close(); err != nil {
			t.Errorf("apptest: close app: %v", err)
		}
	})
	return &Server{
		App:        a,
		HTTP:       ts,
		URL:        ts.URL,
		Clock:      opts.Clock,
		DataDir:    dir,
		AdminToken: strings.TrimSpace(string(tok)),
	}
}

// Handler returns the server's HTTP handler, for tests (fuzzing) that call
// it in process without a network round trip.
func (s *Server) Handler() http.Handler { return s.App.API }

// CookieName returns the name of the session cookie: __Host-gatehouse for
// an https issuer, gatehouse_session otherwise.
func (s *Server) CookieName() string {
	if s.App.Config.SecureCookies() {
		return "__Host-gatehouse"
	}
	return "gatehouse_session"
}

// Origin returns the issuer's origin, which the server always trusts.
func (s *Server) Origin() string { return s.App.Config.IssuerOrigin() }

// OpenDB opens a second connection pool on the server's SQLite file, for
// tests that inspect what is stored. It is closed when the test ends.
func (s *Server) OpenDB(t testing.TB) *sql.DB {
	t.Helper()
	if s.App.DatabasePath == "" {
		t.Fatal("apptest: the server does not use SQLite")
	}
	st, err := sqlstore.OpenSQLite(context.Background(), s.App.DatabasePath)
	if err != nil {
		t.Fatalf("apptest: open %s: %v", s.App.DatabasePath, err)
	}
	t.Cleanup(func() { st.Close() })
	return st.DB()
}

// RandomEmail returns a fresh address at example.com.
func RandomEmail() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "user-" + hex.EncodeToString(b[:]) + "@example.com"
}

// User is an account created by a test.
type User struct {
	ID       string
	Email    string
	Password string
}

// Signup creates an account through POST /v1/signup and fails the test
// unless the answer is 201 with the user.
func (s *Server) Signup(t testing.TB, email, password string) User {
	t.Helper()
	var body struct {
		User struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		} `json:"user"`
	}
	s.NewClient().Do(t, http.MethodPost, "/v1/signup", map[string]string{"email": email, "password": password}).
		WantStatus(t, http.StatusCreated).Decode(t, &body)
	if body.User.ID == "" {
		t.Fatalf("apptest: signup answered no user id")
	}
	return User{ID: body.User.ID, Email: body.User.Email, Password: password}
}

// NewUser signs up a user with a random email and password.
func (s *Server) NewUser(t testing.TB) User {
	t.Helper()
	var b [12]byte
	_, _ = rand.Read(b[:])
	return s.Signup(t, RandomEmail(), "pw-"+hex.EncodeToString(b[:]))
}

// Login logs in with a fresh client (no cookie) in session mode.
func (s *Server) Login(t testing.TB, email, password string) *Client {
	t.Helper()
	c := s.NewClient()
	c.Login(t, email, password)
	return c
}

// NewSession signs up a random user and logs them in.
func (s *Server) NewSession(t testing.TB) (User, *Client) {
	t.Helper()
	u := s.NewUser(t)
	return u, s.Login(t, u.Email, u.Password)
}

// Admin returns a client that sends the admin token.
func (s *Server) Admin() *Client {
	c := s.NewClient()
	c.Header.Set("Authorization", "Bearer "+s.AdminToken)
	return c
}
