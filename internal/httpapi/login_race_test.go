package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
)

// gateHasher is a password hasher whose next Verify can be held: the test
// learns when a login is checking the password and decides when it ends.
type gateHasher struct {
	mu      sync.Mutex
	entered chan struct{}
	release chan struct{}
}

func (h *gateHasher) Hash(_ context.Context, pw string) (string, error) { return "plain$" + pw, nil }

func (h *gateHasher) Verify(_ context.Context, pw, encoded string) (bool, bool, error) {
	h.mu.Lock()
	entered, release := h.entered, h.release
	h.entered, h.release = nil, nil
	h.mu.Unlock()
	if entered != nil {
		close(entered)
		<-release
	}
	return encoded == "plain$"+pw, false, nil
}

func (h *gateHasher) VerifyDummy(context.Context, string) error { return nil }

// hold makes the next Verify wait; it returns a channel closed when that
// Verify starts, and a function that lets it finish.
func (h *gateHasher) hold() (entered <-chan struct{}, release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	in, out := make(chan struct{}), make(chan struct{})
	h.entered, h.release = in, out
	return in, sync.OnceFunc(func() { close(out) })
}

// TestAdminChangeDuringLogin checks that an account disabled or deleted,
// or whose password an administrator resets, while one of its logins is
// checking the (old) password does not come out of that login with a live
// session: the administrator's revocation runs
// before the new session exists, so the login must notice. The server is
// wired by hand, with a hasher the test can hold, because the race cannot
// be arranged through app.New.
func TestAdminChangeDuringLogin(t *testing.T) {
	cases := []struct {
		name   string
		method string
		body   string
	}{
		{"disabled", http.MethodPatch, `{"disabled": true}`},
		{"deleted", http.MethodDelete, ""},
		{"password reset", http.MethodPatch, `{"password": "a new password"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "race.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if err := st.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			hasher := &gateHasher{}
			users := identity.NewService(st, hasher, identity.Config{SignupOpen: true}, nil, nil)
			sessions := session.NewManager(st, session.Config{}, nil, nil)
			const adminToken = "test-admin-token"
			api := httpapi.New(httpapi.Config{Issuer: "http://gatehouse.test", AdminTokenHash: sha256.Sum256([]byte(adminToken))},
				httpapi.Deps{Accounts: accounts.New(accounts.Deps{Users: users, Sessions: sessions}), Users: users, Sessions: sessions})
			u, err := users.CreateUser(t.Context(), identity.NewUser{Email: "racer@example.com", Password: "racer password"})
			if err != nil {
				t.Fatal(err)
			}
			serve := func(method, path, body string, header ...string) *httptest.ResponseRecorder {
				req := httptest.NewRequest(method, path, strings.NewReader(body))
				if body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				for i := 0; i+1 < len(header); i += 2 {
					req.Header.Set(header[i], header[i+1])
				}
				rec := httptest.NewRecorder()
				api.ServeHTTP(rec, req)
				return rec
			}

			entered, release := hasher.hold()
			defer release()
			done := make(chan *httptest.ResponseRecorder)
			go func() {
				done <- serve(http.MethodPost, "/v1/login", `{"email": "racer@example.com", "password": "racer password"}`)
			}()
			<-entered
			adm := serve(tc.method, "/admin/v1/users/"+u.ID, tc.body, "Authorization", "Bearer "+adminToken)
			if adm.Code >= 300 {
				t.Fatalf("admin %s: %d %s", tc.method, adm.Code, adm.Body)
			}
			release()
			login := <-done

			if login.Code == http.StatusOK {
				t.Errorf("the login that raced the change answered 200: %s", login.Body)
			} else if login.Code != http.StatusUnauthorized || !bytes.Contains(login.Body.Bytes(), []byte(`"invalid_credentials"`)) {
				t.Errorf("the login that raced the change answered %d %s, want 401 invalid_credentials", login.Code, login.Body)
			}
			for _, c := range login.Result().Cookies() {
				if c.Value == "" {
					continue
				}
				me := serve(http.MethodGet, "/v1/me", "", "Cookie", c.Name+"="+c.Value)
				data := serve(http.MethodGet, "/v1/session/data", "", "Cookie", c.Name+"="+c.Value)
				if me.Code != http.StatusUnauthorized || data.Code != http.StatusUnauthorized {
					t.Errorf("the cookie from the raced login works: /v1/me %d, /v1/session/data %d", me.Code, data.Code)
				}
			}
			if live, err := sessions.List(t.Context(), u.ID); err != nil || len(live) != 0 {
				t.Errorf("the user has live sessions after the change: %+v (%v)", live, err)
			}
		})
	}
}
