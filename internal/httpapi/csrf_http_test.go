package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// These tests check shared/spec/http-api.md, "CSRF": an unsafe request
// authenticated by the cookie needs the session's X-CSRF-Token and, if it
// has an Origin, a trusted one; otherwise 403 csrf_failed and nothing
// changes.

// csrfWorld is one user with three sessions, session data, and a second
// user's session to take tokens from.
type csrfWorld struct {
	srv              *apptest.Server
	c, spare, victim *apptest.Client
	stranger         *apptest.Client
}

func newCSRFWorld(t *testing.T, srv *apptest.Server) csrfWorld {
	t.Helper()
	u := srv.NewUser(t)
	w := csrfWorld{srv: srv, c: srv.Login(t, u.Email, u.Password), spare: srv.Login(t, u.Email, u.Password), victim: srv.Login(t, u.Email, u.Password)}
	_, w.stranger = srv.NewSession(t)
	w.c.Do(t, http.MethodPut, "/v1/session/data", `{"v": 1}`).WantStatus(t, http.StatusOK)
	return w
}

// unchanged fails the test unless every session is alive and c's data is
// as newCSRFWorld left it.
func (w csrfWorld) unchanged(t *testing.T) {
	t.Helper()
	for _, c := range []*apptest.Client{w.c, w.spare, w.victim, w.stranger} {
		c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	}
	wantJSON(t, w.c.Do(t, http.MethodGet, "/v1/session/data", nil).WantStatus(t, http.StatusOK).Body, `{"v": 1}`)
}

type unsafeRequest struct {
	method, path, body, contentType string
}

func (w csrfWorld) unsafeRequests() []unsafeRequest {
	return []unsafeRequest{
		{http.MethodPost, "/v1/logout", "", ""},
		{http.MethodDelete, "/v1/sessions", "", ""},
		{http.MethodDelete, "/v1/sessions/" + w.victim.SessionID, "", ""},
		{http.MethodPut, "/v1/session/data", `{"v": 2}`, "application/json"},
		{http.MethodPatch, "/v1/session/data", `{"v": 2}`, "application/merge-patch+json"},
	}
}

func (w csrfWorld) send(t *testing.T, req unsafeRequest, header ...string) *apptest.Response {
	t.Helper()
	d := *w.c // never let a test's answer change the shared client
	var body any
	if req.body != "" {
		body = req.body
		header = append(header, "Content-Type", req.contentType)
	}
	return d.Do(t, req.method, req.path, body, header...)
}

func TestCSRFRefusals(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--trusted-origins", "https://app.example.com"}})
	w := newCSRFWorld(t, srv)
	truncated := w.c.CSRF[:len(w.c.CSRF)-1]
	flipped := []byte(w.c.CSRF)
	flipped[5] ^= 'A' ^ 'B'
	if flipped[5] == w.c.CSRF[5] {
		flipped[5] = 'Q'
	}
	refusals := []struct {
		name   string
		header []string
	}{
		{"missing token", []string{"X-CSRF-Token", ""}},
		{"empty token", []string{"X-CSRF-Token", " "}},
		{"wrong token", []string{"X-CSRF-Token", strings.Repeat("A", len(w.c.CSRF))}},
		{"tampered token", []string{"X-CSRF-Token", string(flipped)}},
		{"truncated token", []string{"X-CSRF-Token", truncated}},
		{"another user's session's token", []string{"X-CSRF-Token", w.stranger.CSRF}},
		{"the same user's other session's token", []string{"X-CSRF-Token", w.spare.CSRF}},
		{"the cookie value as token", []string{"X-CSRF-Token", w.c.Cookie}},
		{"foreign origin", []string{"Origin", "https://evil.example"}},
		{"null origin", []string{"Origin", "null"}},
		{"issuer host on another scheme", []string{"Origin", strings.Replace(srv.Origin(), "http://", "https://", 1)}},
		{"issuer host on another port", []string{"Origin", srv.Origin() + "1"}},
		{"trusted origin's subdomain", []string{"Origin", "https://evil.app.example.com"}},
		{"trusted origin over http", []string{"Origin", "http://app.example.com"}},
		{"foreign origin and missing token", []string{"Origin", "https://evil.example", "X-CSRF-Token", ""}},
	}
	for _, req := range w.unsafeRequests() {
		for _, rf := range refusals {
			t.Run(req.method+" "+req.path+"/"+rf.name, func(t *testing.T) {
				w.send(t, req, rf.header...).WantError(t, http.StatusForbidden, "csrf_failed")
			})
		}
	}
	w.unchanged(t)
}

func TestCSRFAccepted(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--trusted-origins", "https://app.example.com, https://admin.example.com:8443"}})
	origins := []string{"", srv.Origin(), "https://app.example.com", "https://admin.example.com:8443"}
	for _, origin := range origins {
		t.Run("origin "+origin, func(t *testing.T) {
			w := newCSRFWorld(t, srv)
			h := []string{"Origin", origin}
			// Each of the unsafe requests works with the token, last the
			// ones that end the session.
			w.send(t, unsafeRequest{http.MethodPut, "/v1/session/data", `{"v": 2}`, "application/json"}, h...).WantStatus(t, http.StatusOK)
			w.send(t, unsafeRequest{http.MethodPatch, "/v1/session/data", `{"w": 3}`, "application/merge-patch+json"}, h...).WantStatus(t, http.StatusOK)
			wantJSON(t, w.c.Do(t, http.MethodGet, "/v1/session/data", nil).Body, `{"v": 2, "w": 3}`)
			w.send(t, unsafeRequest{http.MethodDelete, "/v1/sessions/" + w.victim.SessionID, "", ""}, h...).WantStatus(t, http.StatusNoContent)
			w.send(t, unsafeRequest{http.MethodDelete, "/v1/sessions", "", ""}, h...).WantStatus(t, http.StatusNoContent)
			w.spare.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
			w.send(t, unsafeRequest{http.MethodPost, "/v1/logout", "", ""}, h...).WantStatus(t, http.StatusNoContent)
			w.c.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
		})
	}
}

// TestCSRFSafeMethods checks that reads need no token.
func TestCSRFSafeMethods(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	_, c := srv.NewSession(t)
	c.CSRF = ""
	for _, path := range []string{"/v1/me", "/v1/session", "/v1/sessions", "/v1/session/data"} {
		c.Do(t, http.MethodGet, path, nil).WantStatus(t, http.StatusOK)
		r := c.Do(t, http.MethodHead, path, nil)
		r.WantStatus(t, http.StatusOK)
	}
}

// TestLoginCSRF checks that login and signup, which a cookie does not
// authenticate, still refuse a foreign Origin: a hostile page must not log
// a browser into the attacker's account.
func TestLoginCSRF(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--trusted-origins", "https://app.example.com"}})
	u := srv.NewUser(t)
	for _, origin := range []string{"https://evil.example", "null"} {
		r := srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password}, "Origin", origin)
		r.WantError(t, http.StatusForbidden, "csrf_failed")
		if r.Cookie(srv.CookieName()) != nil {
			t.Errorf("origin %s: refused login set a cookie", origin)
		}
		srv.NewClient().Do(t, http.MethodPost, "/v1/signup", map[string]string{"email": "x" + u.Email, "password": u.Password}, "Origin", origin).
			WantError(t, http.StatusForbidden, "csrf_failed")
	}
	// The refused signup created nothing.
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": "x" + u.Email, "password": u.Password}).
		WantError(t, http.StatusUnauthorized, "invalid_credentials")
	for _, origin := range []string{srv.Origin(), "https://app.example.com"} {
		srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password}, "Origin", origin).
			WantStatus(t, http.StatusOK)
	}
}

// TestOriginsCompareSerialised checks that an issuer or trusted origin
// configured with capitals or a default port still matches the Origin
// header browsers send (lower case, no default port).
func TestOriginsCompareSerialised(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--issuer", "https://Auth.Example.com:443", "--trusted-origins", "https://App.Example.com,http://Other.example.com:80"}})
	u := srv.NewUser(t)
	for _, origin := range []string{"https://auth.example.com", "https://app.example.com", "http://other.example.com"} {
		c := srv.NewClient()
		c.Header.Set("Origin", origin)
		c.Login(t, u.Email, u.Password)
		c.Do(t, http.MethodPut, "/v1/session/data", `{"from": "`+origin+`"}`).WantStatus(t, http.StatusOK)
		c.Do(t, http.MethodPost, "/v1/logout", nil).WantStatus(t, http.StatusNoContent)
	}
	for _, origin := range []string{"https://auth.example.com:8443", "http://auth.example.com"} {
		srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password}, "Origin", origin).
			WantError(t, http.StatusForbidden, "csrf_failed")
	}
}
