package accounts_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/revocation"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-auth/gatehouse/internal/token"
)

const pw = "correct horse battery staple"

// fixture is an accounts Service on a fresh SQLite database, with the
// services it composes.
type fixture struct {
	svc      *accounts.Service
	users    *identity.Service
	sessions *session.Manager
	revs     *revocation.Log
	user     store.User
}

// tokens is a token issuer that creates a grant, as the token service
// does, then runs during (an administrator's change racing the login).
type tokens struct {
	sessions *session.Manager
	during   func(ctx context.Context, u store.User)
}

func (t *tokens) LoginTokens(ctx context.Context, u store.User, ci session.ClientInfo) (token.Response, error) {
	g, err := t.sessions.CreateGrant(ctx, session.GrantSpec{UserID: u.ID, Client: ci})
	if err != nil {
		return token.Response{}, err
	}
	if t.during != nil {
		t.during(ctx, u)
	}
	return token.Response{AccessToken: "access-" + g.ID}, nil
}

func newFixture(t *testing.T, during func(ctx context.Context, u store.User)) *fixture {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "accounts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	hasher, err := password.NewHasher(password.Config{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{}
	f.users = identity.NewService(st, hasher, identity.Config{SignupOpen: true}, nil, nil)
	f.revs = revocation.NewLog(st, revocation.Config{MaxTokenLifetime: 15 * time.Minute}, nil, nil)
	f.sessions = session.NewManager(st, session.Config{
		Record: func(ctx context.Context, gone []store.Session, evs []audit.Event) error {
			return f.revs.RevokeSessions(ctx, gone, evs...)
		},
		OnRevokeUser: func(ctx context.Context, userID string) error { return f.revs.RevokeUser(ctx, userID) },
	}, nil, nil)
	f.svc = accounts.New(accounts.Deps{Users: f.users, Sessions: f.sessions, Revocations: f.revs,
		Tokens: &tokens{sessions: f.sessions, during: during}})
	f.user, err = f.svc.CreateUser(ctx, accounts.NewUser{Email: "ada@example.com", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) live(t *testing.T) []store.Session {
	t.Helper()
	ss, err := f.sessions.List(t.Context(), f.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func TestLoginRefusals(t *testing.T) {
	cases := []struct {
		name string
		req  accounts.LoginRequest
		want error
	}{
		{"bad mode", accounts.LoginRequest{Email: "ada@example.com", Password: pw, Mode: "cookie"}, accounts.ErrInvalidMode},
		{"no email", accounts.LoginRequest{Password: pw}, accounts.ErrMissingCredentials},
		{"no password", accounts.LoginRequest{Email: "ada@example.com"}, accounts.ErrMissingCredentials},
		{"wrong password", accounts.LoginRequest{Email: "ada@example.com", Password: "wrong password!"}, accounts.ErrInvalidCredentials},
		{"unknown email", accounts.LoginRequest{Email: "bob@example.com", Password: pw}, accounts.ErrInvalidCredentials},
		{"wrong password, token mode", accounts.LoginRequest{Email: "ada@example.com", Password: "wrong password!", Mode: accounts.ModeToken}, accounts.ErrInvalidCredentials},
	}
	f := newFixture(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Login(t.Context(), tc.req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Login: %v, want %v", err, tc.want)
			}
			if n := len(f.live(t)); n != 0 {
				t.Fatalf("a refused login left %d records", n)
			}
		})
	}
}

func TestLoginTokenModeOff(t *testing.T) {
	f := newFixture(t, nil)
	svc := accounts.New(accounts.Deps{Users: f.users, Sessions: f.sessions})
	_, err := svc.Login(t.Context(), accounts.LoginRequest{Email: "ada@example.com", Password: pw, Mode: accounts.ModeToken})
	var bad *accounts.InvalidRequestError
	if !errors.Is(err, accounts.ErrTokenModeOff) || !errors.As(err, &bad) {
		t.Fatalf("Login: %v, want ErrTokenModeOff", err)
	}
}

// TestLoginReplacesSession: a session login ends the session that came
// with it (session fixation) and starts a new one.
func TestLoginReplacesSession(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	first, err := f.svc.Login(ctx, accounts.LoginRequest{Email: "ada@example.com", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	if first.Mode != accounts.ModeSession || first.Session.Secret == "" || first.User.ID != f.user.ID {
		t.Fatalf("login result %+v", first)
	}
	old := first.Session.Session
	second, err := f.svc.Login(ctx, accounts.LoginRequest{Email: "ada@example.com", Password: pw, CookieSecret: first.Session.Secret})
	if err != nil {
		t.Fatal(err)
	}
	if second.Session.Session.ID == old.ID {
		t.Fatal("the session was reused across logins")
	}
	if _, err := f.sessions.AuthenticateCookie(ctx, first.Session.Secret); err == nil {
		t.Fatal("the replaced session is still live")
	}
	if ss := f.live(t); len(ss) != 1 || ss[0].ID != second.Session.Session.ID {
		t.Fatalf("live records %v, want only the new session", ss)
	}
}

// TestLoginRecheck: an administrator's change that lands while a login
// creates its grant revokes that grant and refuses the login.
func TestLoginRecheck(t *testing.T) {
	cases := []struct {
		name   string
		change func(t *testing.T, f *fixture, ctx context.Context)
	}{
		{"none", nil},
		{"disabled", func(t *testing.T, f *fixture, ctx context.Context) {
			yes := true
			if _, err := f.users.UpdateUser(ctx, f.user.ID, accounts.UserUpdate{Disabled: &yes}); err != nil {
				t.Error(err)
			}
		}},
		{"password reset", func(t *testing.T, f *fixture, ctx context.Context) {
			np := "a brand new password"
			if _, err := f.users.UpdateUser(ctx, f.user.ID, accounts.UserUpdate{Password: &np}); err != nil {
				t.Error(err)
			}
		}},
		{"deleted", func(t *testing.T, f *fixture, ctx context.Context) {
			if err := f.users.DeleteUser(ctx, f.user.ID); err != nil {
				t.Error(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var f *fixture
			f = newFixture(t, func(ctx context.Context, u store.User) {
				if tc.change != nil {
					tc.change(t, f, ctx)
				}
			})
			res, err := f.svc.Login(t.Context(), accounts.LoginRequest{Email: "ada@example.com", Password: pw, Mode: accounts.ModeToken})
			if tc.change == nil {
				if err != nil || res.Tokens.AccessToken == "" || len(f.live(t)) != 1 {
					t.Fatalf("Login: %v, %+v, %d records", err, res, len(f.live(t)))
				}
				return
			}
			if !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("Login: %v, want ErrInvalidCredentials", err)
			}
			if n := len(f.live(t)); n != 0 {
				t.Fatalf("%d records survived the change", n)
			}
		})
	}
}

func TestUpdateUserRevokes(t *testing.T) {
	yes, no, np := true, false, "another good password"
	cases := []struct {
		name    string
		up      accounts.UserUpdate
		revokes bool
	}{
		{"claims only", accounts.UserUpdate{Claims: map[string]any{"name": "Ada"}}, false},
		{"enabled", accounts.UserUpdate{Disabled: &no}, false},
		{"disabled", accounts.UserUpdate{Disabled: &yes}, true},
		{"password reset", accounts.UserUpdate{Password: &np}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			if _, err := f.svc.Login(t.Context(), accounts.LoginRequest{Email: "ada@example.com", Password: pw}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.UpdateUser(t.Context(), f.user.ID, tc.up); err != nil {
				t.Fatal(err)
			}
			if got := len(f.live(t)) == 0; got != tc.revokes {
				t.Fatalf("sessions revoked: %v, want %v", got, tc.revokes)
			}
		})
	}
}

func TestDeleteUser(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	if _, err := f.svc.Login(ctx, accounts.LoginRequest{Email: "ada@example.com", Password: pw}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteUser(ctx, f.user.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.users.GetUser(ctx, f.user.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetUser after delete: %v", err)
	}
	if n := len(f.live(t)); n != 0 {
		t.Fatalf("%d records survived the deletion", n)
	}
	if !f.revs.Revoked("", "", f.user.ID, time.Now().Add(-time.Second)) {
		t.Fatal("the deleted user's tokens are not revoked")
	}
	if err := f.svc.DeleteUser(ctx, f.user.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second DeleteUser: %v, want store.ErrNotFound", err)
	}
	if err := f.svc.RevokeSessions(ctx, f.user.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RevokeSessions of a deleted user: %v, want store.ErrNotFound", err)
	}
}

func TestRevokeClientGrants(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	grant := func(client string) store.Session {
		g, err := f.sessions.CreateGrant(ctx, session.GrantSpec{UserID: f.user.ID, ClientID: client})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	grant("app-a")
	grant("app-b")
	c := grant("app-c")
	if err := f.svc.RevokeUserClient(ctx, f.user.ID, "app-a"); err != nil {
		t.Fatal(err)
	}
	if ss := f.live(t); len(ss) != 2 {
		t.Fatalf("after withdrawing consent to app-a: %d grants, want 2", len(ss))
	}
	if err := f.svc.RevokeClient(ctx, "app-b"); err != nil {
		t.Fatal(err)
	}
	if ss := f.live(t); len(ss) != 1 || ss[0].ID != c.ID {
		t.Fatalf("after deleting app-b: %v, want only %s", ss, c.ID)
	}
	if !f.revs.Revoked("", "", "app-b", time.Now().Add(-time.Second)) {
		t.Fatal("app-b's client credentials tokens are not revoked")
	}
}

func TestSignup(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.svc.Signup(t.Context(), "", pw, "192.0.2.1"); !errors.Is(err, accounts.ErrMissingCredentials) {
		t.Fatalf("Signup without email: %v", err)
	}
	u, err := f.svc.Signup(t.Context(), "grace@example.com", pw, "192.0.2.1")
	if err != nil || u.Email != "grace@example.com" {
		t.Fatalf("Signup: %+v, %v", u, err)
	}
	if _, err := f.svc.Signup(t.Context(), "grace@example.com", pw, "192.0.2.1"); err == nil {
		t.Fatal("a second signup with the same address succeeded")
	}
}

// failingTokens is a token issuer whose grants cannot be stored.
type failingTokens struct{ err error }

func (f failingTokens) LoginTokens(context.Context, store.User, session.ClientInfo) (token.Response, error) {
	return token.Response{}, f.err
}

// TestLoginIncomplete: a server failure after the password was accepted
// answers ErrUnavailable, as a wrong password does when the limiter is
// down, and never tells that the password was right; the refusals of the
// rules pass as they are.
func TestLoginIncomplete(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"store failure", errors.New("disk full"), accounts.ErrUnavailable},
		{"hasher busy", password.ErrBusy, password.ErrBusy},
		{"invalid credentials", accounts.ErrInvalidCredentials, accounts.ErrInvalidCredentials},
	}
	f := newFixture(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := accounts.New(accounts.Deps{Users: f.users, Sessions: f.sessions, Tokens: failingTokens{tc.err}})
			_, err := svc.Login(t.Context(), accounts.LoginRequest{Email: "ada@example.com", Password: pw, Mode: accounts.ModeToken})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Login: %v, want %v", err, tc.want)
			}
			if tc.want != accounts.ErrInvalidCredentials && errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("Login: %v also reads as invalid credentials", err)
			}
		})
	}
}
