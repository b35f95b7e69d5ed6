package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// These tests check the rows of shared/spec/http-api.md, "Sessions", for
// cookie sessions, through the real router and wiring.

type sessionView struct {
	ID            string    `json:"id"`
	Kind          string    `json:"kind"`
	CreatedAt     time.Time `json:"created_at"`
	LastSeenAt    time.Time `json:"last_seen_at"`
	ExpiresAt     time.Time `json:"expires_at"`
	IdleExpiresAt time.Time `json:"idle_expires_at"`
	UserAgent     string    `json:"user_agent"`
	IP            string    `json:"ip"`
	Current       bool      `json:"current"`
}

func listSessions(t *testing.T, c *apptest.Client) []sessionView {
	t.Helper()
	var body struct {
		Sessions []sessionView `json:"sessions"`
	}
	r := c.Do(t, http.MethodGet, "/v1/sessions", nil).WantStatus(t, http.StatusOK)
	r.Decode(t, &body)
	if body.Sessions == nil {
		t.Fatalf("GET /v1/sessions: %s, want a sessions array", r.Body)
	}
	return body.Sessions
}

func sessionIDs(list []sessionView) []string {
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	return ids
}

func TestGetSession(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	_, c := srv.NewSession(t)
	loginCSRF := c.CSRF
	var body struct {
		Session sessionView `json:"session"`
		CSRF    string      `json:"csrf_token"`
	}
	c.Do(t, http.MethodGet, "/v1/session", nil).WantStatus(t, http.StatusOK).Decode(t, &body)
	now := srv.Clock.Now()
	want := sessionView{ID: c.SessionID, Kind: "cookie", CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(12 * time.Hour), IdleExpiresAt: now.Add(30 * time.Minute), UserAgent: "Go-http-client/1.1", IP: "127.0.0.1", Current: true}
	if body.Session != want {
		t.Errorf("GET /v1/session = %+v\nwant %+v", body.Session, want)
	}
	if body.CSRF == "" || body.CSRF == loginCSRF {
		t.Errorf("csrf_token %q: want a fresh token, not the login's %q", body.CSRF, loginCSRF)
	}
	// Both the fresh token and the login's keep working.
	for _, tok := range []string{body.CSRF, loginCSRF} {
		c.CSRF = tok
		c.Do(t, http.MethodPut, "/v1/session/data", `{"a": 1}`).WantStatus(t, http.StatusOK)
	}
}

func TestListSessions(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	first := srv.NewClient()
	first.Header.Set("User-Agent", "browser-one")
	first.Login(t, u.Email, u.Password)
	srv.Clock.Advance(time.Second)
	second := srv.NewClient()
	second.Header.Set("User-Agent", strings.Repeat("u", 2000))
	second.Login(t, u.Email, u.Password)
	_, stranger := srv.NewSession(t)

	r := second.Do(t, http.MethodGet, "/v1/sessions", nil).WantStatus(t, http.StatusOK)
	for _, secret := range []string{first.Cookie, second.Cookie, stranger.Cookie} {
		if bytes.Contains(r.Body, []byte(secret)) {
			t.Fatalf("GET /v1/sessions hands out a cookie value: %s", r.Body)
		}
	}
	var raw struct {
		Sessions []map[string]any `json:"sessions"`
	}
	r.Decode(t, &raw)
	for _, s := range raw.Sessions {
		for _, k := range []string{"id", "kind", "created_at", "last_seen_at", "expires_at", "user_agent", "ip", "current"} {
			if _, ok := s[k]; !ok {
				t.Errorf("session %v has no %q", s, k)
			}
		}
	}

	list := listSessions(t, second)
	if got := sessionIDs(list); len(got) != 2 || got[0] != first.SessionID || got[1] != second.SessionID {
		t.Fatalf("sessions %v, want the user's two, oldest first: [%s %s]", got, first.SessionID, second.SessionID)
	}
	if list[0].Current || !list[1].Current {
		t.Errorf("current flags = %v, %v; want only the caller's", list[0].Current, list[1].Current)
	}
	if list[0].UserAgent != "browser-one" || list[0].IP != "127.0.0.1" || list[0].Kind != "cookie" {
		t.Errorf("first session = %+v, want user agent browser-one, ip 127.0.0.1, kind cookie", list[0])
	}
	if n := len(list[1].UserAgent); n == 0 || n > 1024 {
		t.Errorf("a 2000-byte User-Agent is stored as %d bytes; want it capped", n)
	}
	// The other session sees the same list with itself current.
	if l := listSessions(t, first); !l[0].Current || l[1].Current {
		t.Errorf("from the first session, current flags = %v, %v", l[0].Current, l[1].Current)
	}
}

func TestDeleteSession(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	a := srv.Login(t, u.Email, u.Password)
	b := srv.Login(t, u.Email, u.Password)
	_, stranger := srv.NewSession(t)

	// Another user's session id, and ids that do not exist, are 404 with
	// the same body, and change nothing.
	notFound := a.Do(t, http.MethodDelete, "/v1/sessions/"+stranger.SessionID, nil)
	notFound.WantError(t, http.StatusNotFound, "not_found")
	for _, id := range []string{"0123456789abcdef0123456789abcdef", "x", stranger.Cookie} {
		r := a.Do(t, http.MethodDelete, "/v1/sessions/"+id, nil)
		r.WantError(t, http.StatusNotFound, "not_found")
		if !bytes.Equal(r.Body, notFound.Body) {
			t.Errorf("DELETE of unknown id %q answers %s, but another user's id %s", id, r.Body, notFound.Body)
		}
	}
	stranger.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)

	// Revoking the user's other session ends it at once.
	r := a.Do(t, http.MethodDelete, "/v1/sessions/"+b.SessionID, nil).WantStatus(t, http.StatusNoContent)
	if r.Cookie(srv.CookieName()) != nil {
		t.Errorf("revoking another session touched the caller's cookie: %q", r.Header.Values("Set-Cookie"))
	}
	b.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	a.Do(t, http.MethodDelete, "/v1/sessions/"+b.SessionID, nil).WantError(t, http.StatusNotFound, "not_found")
	if got := sessionIDs(listSessions(t, a)); len(got) != 1 || got[0] != a.SessionID {
		t.Errorf("after revoking b, sessions = %v, want [%s]", got, a.SessionID)
	}

	// Revoking the current one ends it and clears the cookie.
	cookie := a.Cookie
	r = a.Do(t, http.MethodDelete, "/v1/sessions/"+a.SessionID, nil).WantStatus(t, http.StatusNoContent)
	if ck := r.Cookie(srv.CookieName()); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("revoking the current session: Set-Cookie %q, want it cleared", r.Header.Values("Set-Cookie"))
	}
	old := srv.NewClient()
	old.Cookie = cookie
	old.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
}

func TestDeleteOtherSessions(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	var clients []*apptest.Client
	for range 4 {
		clients = append(clients, srv.Login(t, u.Email, u.Password))
	}
	_, stranger := srv.NewSession(t)
	keep := clients[2]
	keep.Do(t, http.MethodDelete, "/v1/sessions", nil).WantStatus(t, http.StatusNoContent)

	for i, c := range clients {
		want := http.StatusUnauthorized
		if c == keep {
			want = http.StatusOK
		}
		if r := c.Do(t, http.MethodGet, "/v1/me", nil); r.Status != want {
			t.Errorf("session %d: /v1/me status %d, want %d", i, r.Status, want)
		}
	}
	if got := sessionIDs(listSessions(t, keep)); len(got) != 1 || got[0] != keep.SessionID {
		t.Errorf("sessions = %v, want only the current %s", got, keep.SessionID)
	}
	stranger.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	// With nothing else left, it is still 204.
	keep.Do(t, http.MethodDelete, "/v1/sessions", nil).WantStatus(t, http.StatusNoContent)
}

// authenticatedEndpoints are requests that need a live session; an expired
// or revoked one must get 401 from all of them at once.
var authenticatedEndpoints = []struct{ method, path, body string }{
	{http.MethodGet, "/v1/me", ""},
	{http.MethodGet, "/v1/session", ""},
	{http.MethodGet, "/v1/sessions", ""},
	{http.MethodGet, "/v1/session/data", ""},
	{http.MethodPut, "/v1/session/data", `{"a": 1}`},
	{http.MethodDelete, "/v1/sessions", ""},
	{http.MethodPost, "/v1/logout", ""},
}

func wantDeadEverywhere(t *testing.T, srv *apptest.Server, c *apptest.Client) {
	t.Helper()
	for _, e := range authenticatedEndpoints {
		d := *c // the first 401 clears the cookie; try each with it
		var body any
		if e.body != "" {
			body = e.body
		}
		r := d.Do(t, e.method, e.path, body)
		r.WantError(t, http.StatusUnauthorized, "unauthenticated")
		if ck := r.Cookie(srv.CookieName()); ck != nil && ck.MaxAge >= 0 {
			t.Errorf("%s %s: a dead session's cookie is set again", e.method, e.path)
		}
	}
}

func TestIdleTimeout(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--session-idle-timeout", "10m", "--session-lifetime", "1h"}})
	_, c := srv.NewSession(t)
	_, idle := srv.NewSession(t)

	// Used every 9 minutes, c stays alive past several idle periods.
	for range 5 {
		srv.Clock.Advance(9 * time.Minute)
		c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	}
	// idle, unused for 45 minutes, has been dead since minute 10.
	wantDeadEverywhere(t, srv, idle)

	// One instant short of the timeout is alive; the timeout itself is not.
	_, edge := srv.NewSession(t)
	srv.Clock.Advance(10*time.Minute - time.Millisecond)
	edge.Do(t, http.MethodGet, "/v1/session", nil).WantStatus(t, http.StatusOK) // touches: a new 10 minutes
	srv.Clock.Advance(10 * time.Minute)
	wantDeadEverywhere(t, srv, edge)
}

func TestAbsoluteTimeout(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--session-idle-timeout", "30m", "--session-lifetime", "2h"}})
	_, c := srv.NewSession(t)
	login := srv.Clock.Now()
	var s struct {
		Session sessionView `json:"session"`
	}
	// Kept busy, the session lives until exactly its lifetime, and its
	// idle expiry never passes the absolute one.
	for srv.Clock.Now().Before(login.Add(2*time.Hour - 20*time.Minute)) {
		srv.Clock.Advance(20 * time.Minute)
		c.Do(t, http.MethodGet, "/v1/session", nil).WantStatus(t, http.StatusOK).Decode(t, &s)
		if !s.Session.ExpiresAt.Equal(login.Add(2 * time.Hour)) {
			t.Fatalf("expires_at %v, want %v", s.Session.ExpiresAt, login.Add(2*time.Hour))
		}
		if s.Session.IdleExpiresAt.After(s.Session.ExpiresAt) {
			t.Errorf("idle_expires_at %v is after expires_at %v", s.Session.IdleExpiresAt, s.Session.ExpiresAt)
		}
	}
	srv.Clock.Advance(20*time.Minute - time.Millisecond)
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	srv.Clock.Advance(time.Millisecond)
	wantDeadEverywhere(t, srv, c)
	// It no longer counts as active.
	if err := srv.App.Metrics.RefreshSessions(t.Context(), srv.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if body := srv.Admin().Do(t, http.MethodGet, "/metrics", nil).WantStatus(t, http.StatusOK).Body; !bytes.Contains(body, []byte("\ngatehouse_active_sessions 0\n")) {
		t.Errorf("metrics after expiry: want gatehouse_active_sessions 0")
	}
}

// TestLastSeenWrittenOncePerMinute checks the coarse last-use writes: the
// record's last_seen_at (and with it the idle expiry) moves only when a
// minute has passed since it was last written.
func TestLastSeenWrittenOncePerMinute(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	_, c := srv.NewSession(t)
	login := srv.Clock.Now()

	lastSeen := func() sessionView {
		t.Helper()
		// Read it through the admin API, which does not touch the session.
		var body struct {
			Sessions []sessionView `json:"sessions"`
		}
		srv.Admin().Do(t, http.MethodGet, "/admin/v1/users/"+c.UserID+"/sessions", nil).WantStatus(t, http.StatusOK).Decode(t, &body)
		if len(body.Sessions) != 1 {
			t.Fatalf("admin sessions = %+v, want one", body.Sessions)
		}
		return body.Sessions[0]
	}
	steps := []struct {
		advance  time.Duration
		wantSeen time.Duration // since login
	}{
		{0, 0},
		{30 * time.Second, 0},
		{29 * time.Second, 0},                       // 59s
		{time.Second, 60 * time.Second},             // 60s: written
		{59 * time.Second, 60 * time.Second},        // 119s
		{2 * time.Second, 121 * time.Second},        // 121s: written
		{10 * time.Minute, 721 * time.Second},       // long pause, still alive
		{500 * time.Millisecond, 721 * time.Second}, // sub-second
	}
	for i, st := range steps {
		srv.Clock.Advance(st.advance)
		c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
		got := lastSeen()
		if want := login.Add(st.wantSeen); !got.LastSeenAt.Equal(want) {
			t.Errorf("step %d (clock +%v): last_seen_at %v, want %v", i, srv.Clock.Now().Sub(login), got.LastSeenAt, want)
		}
		if want := login.Add(st.wantSeen + 30*time.Minute); !got.IdleExpiresAt.Equal(want) {
			t.Errorf("step %d: idle_expires_at %v, want %v", i, got.IdleExpiresAt, want)
		}
	}
}

func TestSessionData(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u, c := srv.NewSession(t)
	other := srv.Login(t, u.Email, u.Password) // same user, its own data

	r := c.Do(t, http.MethodGet, "/v1/session/data", nil).WantStatus(t, http.StatusOK)
	if got := strings.TrimSpace(string(r.Body)); got != "{}" {
		t.Errorf("initial data %q, want {}", got)
	}
	etag0 := r.Header.Get("ETag")
	if etag0 == "" || !strings.HasPrefix(etag0, `"`) {
		t.Fatalf("ETag %q: want a strong entity tag", etag0)
	}

	// PUT replaces the object and answers it with a new ETag.
	r = c.Do(t, http.MethodPut, "/v1/session/data", `{"cart": {"items": [1, 2]}, "step": "address"}`, "If-Match", etag0).WantStatus(t, http.StatusOK)
	etag1 := r.Header.Get("ETag")
	wantJSON(t, r.Body, `{"cart": {"items": [1, 2]}, "step": "address"}`)
	if etag1 == "" || etag1 == etag0 {
		t.Fatalf("ETag after PUT %q, want a new one (was %q)", etag1, etag0)
	}
	r = c.Do(t, http.MethodGet, "/v1/session/data", nil).WantStatus(t, http.StatusOK)
	wantJSON(t, r.Body, `{"cart": {"items": [1, 2]}, "step": "address"}`)
	if r.Header.Get("ETag") != etag1 {
		t.Errorf("GET ETag %q, want the PUT's %q", r.Header.Get("ETag"), etag1)
	}

	// Conditional GET.
	for _, inm := range []string{etag1, "W/" + etag1, `"nope", ` + etag1, "*"} {
		r = c.Do(t, http.MethodGet, "/v1/session/data", nil, "If-None-Match", inm)
		r.WantStatus(t, http.StatusNotModified)
		if len(r.Body) != 0 || r.Header.Get("ETag") != etag1 {
			t.Errorf("If-None-Match %s: 304 with body %q and ETag %q, want no body and %q", inm, r.Body, r.Header.Get("ETag"), etag1)
		}
	}
	c.Do(t, http.MethodGet, "/v1/session/data", nil, "If-None-Match", etag0).WantStatus(t, http.StatusOK)

	// A stale or weak If-Match is 412 and changes nothing.
	for _, im := range []string{etag0, "W/" + etag1, `"garbage"`, `unquoted`} {
		c.Do(t, http.MethodPut, "/v1/session/data", `{"x": 1}`, "If-Match", im).WantError(t, http.StatusPreconditionFailed, "precondition_failed")
		c.Do(t, http.MethodPatch, "/v1/session/data", `{"x": 1}`, "If-Match", im, "Content-Type", "application/merge-patch+json").
			WantError(t, http.StatusPreconditionFailed, "precondition_failed")
	}
	r = c.Do(t, http.MethodGet, "/v1/session/data", nil).WantStatus(t, http.StatusOK)
	wantJSON(t, r.Body, `{"cart": {"items": [1, 2]}, "step": "address"}`)
	if r.Header.Get("ETag") != etag1 {
		t.Errorf("refused writes changed the ETag to %q", r.Header.Get("ETag"))
	}

	// PATCH is RFC 7396: members merge, null removes, arrays replace.
	patch := `{"cart": {"items": [3], "coupon": "X1"}, "step": null, "new": {"deep": true}}`
	r = c.Do(t, http.MethodPatch, "/v1/session/data", patch, "If-Match", etag1+", "+`"other"`, "Content-Type", "application/merge-patch+json").
		WantStatus(t, http.StatusOK)
	wantJSON(t, r.Body, `{"cart": {"items": [3], "coupon": "X1"}, "new": {"deep": true}}`)
	etag2 := r.Header.Get("ETag")
	if etag2 == etag1 || etag2 == "" {
		t.Errorf("ETag after PATCH %q, want a new one", etag2)
	}
	// Without If-Match the write is unconditional; "*" matches any.
	r = c.Do(t, http.MethodPatch, "/v1/session/data", `{"cart": null}`, "Content-Type", "application/merge-patch+json").WantStatus(t, http.StatusOK)
	wantJSON(t, r.Body, `{"new": {"deep": true}}`)
	c.Do(t, http.MethodPut, "/v1/session/data", `{"n": 1.50}`, "If-Match", "*").WantStatus(t, http.StatusOK)

	// PATCH needs the merge-patch media type, and an object.
	c.Do(t, http.MethodPatch, "/v1/session/data", `{"a": 1}`).WantError(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
	for _, bad := range []string{`[1]`, `"x"`, `null`, `{"a": `, ``} {
		c.Do(t, http.MethodPatch, "/v1/session/data", bad, "Content-Type", "application/merge-patch+json").WantError(t, http.StatusBadRequest, "invalid_request")
	}
	// PUT needs JSON, and an object.
	for _, tc := range badJSONBodies(`{"a": 1}`) {
		if strings.Contains(tc.name, "is a") || strings.Contains(tc.name, "is an") {
			continue // any member type is fine in session data
		}
		c.Do(t, http.MethodPut, "/v1/session/data", tc.body, "Content-Type", tc.contentType).WantError(t, tc.status, tc.code)
	}
	c.Do(t, http.MethodPut, "/v1/session/data", `null`).WantError(t, http.StatusBadRequest, "invalid_request")
	wantJSON(t, c.Do(t, http.MethodGet, "/v1/session/data", nil).WantStatus(t, http.StatusOK).Body, `{"n": 1.50}`)

	// Each session has its own data.
	wantJSON(t, other.Do(t, http.MethodGet, "/v1/session/data", nil).WantStatus(t, http.StatusOK).Body, `{}`)
}

func TestSessionDataSizeLimit(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	_, c := srv.NewSession(t)
	object := func(n int) string { // a compact object of exactly n bytes
		return `{"k":"` + strings.Repeat("v", n-len(`{"k":""}`)) + `"}`
	}
	c.Do(t, http.MethodPut, "/v1/session/data", object(64<<10)).WantStatus(t, http.StatusOK)
	c.Do(t, http.MethodPut, "/v1/session/data", object(64<<10+1)).WantError(t, http.StatusRequestEntityTooLarge, "payload_too_large")
	c.Do(t, http.MethodPatch, "/v1/session/data", object(64<<10+1), "Content-Type", "application/merge-patch+json").
		WantError(t, http.StatusRequestEntityTooLarge, "payload_too_large")
	// Two patches that are small alone but too big together: the second
	// is refused for the size of the result.
	c.Do(t, http.MethodPut, "/v1/session/data", `{}`).WantStatus(t, http.StatusOK)
	half := strings.Repeat("h", 40<<10)
	c.Do(t, http.MethodPatch, "/v1/session/data", `{"a": "`+half+`"}`, "Content-Type", "application/merge-patch+json").WantStatus(t, http.StatusOK)
	etag := c.Do(t, http.MethodGet, "/v1/session/data", nil).Header.Get("ETag")
	c.Do(t, http.MethodPatch, "/v1/session/data", `{"b": "`+half+`"}`, "Content-Type", "application/merge-patch+json").
		WantError(t, http.StatusRequestEntityTooLarge, "payload_too_large")
	if got := c.Do(t, http.MethodGet, "/v1/session/data", nil).Header.Get("ETag"); got != etag {
		t.Errorf("a refused patch changed the ETag from %s to %s", etag, got)
	}
	// Over 1 MiB is refused before the session data limit is even looked at.
	c.Do(t, http.MethodPut, "/v1/session/data", object(2<<20)).WantError(t, http.StatusRequestEntityTooLarge, "payload_too_large")
}

// wantJSON fails the test unless got and want are the same JSON value.
func wantJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("body %s, want %s", got, want)
	}
}
