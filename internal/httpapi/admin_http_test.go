package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// These tests check the user rows of shared/spec/http-api.md,
// "Administration", with the admin token.

type adminUser struct {
	ID        string         `json:"id"`
	Email     string         `json:"email"`
	Claims    map[string]any `json:"claims"`
	Disabled  bool           `json:"disabled"`
	CreatedAt time.Time      `json:"created_at"`
}

func TestAdminAuthentication(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u, userClient := srv.NewSession(t)
	requests := []struct{ method, path, body string }{
		{http.MethodPost, "/admin/v1/users", `{"email": "new@example.com", "password": "password123"}`},
		{http.MethodGet, "/admin/v1/users/" + u.ID, ""},
		{http.MethodPatch, "/admin/v1/users/" + u.ID, `{"disabled": true}`},
		{http.MethodDelete, "/admin/v1/users/" + u.ID, ""},
		{http.MethodGet, "/admin/v1/users/" + u.ID + "/sessions", ""},
		{http.MethodDelete, "/admin/v1/users/" + u.ID + "/sessions", ""},
	}
	credentials := []struct {
		name   string
		client func() *apptest.Client
	}{
		{"none", srv.NewClient},
		{"a user's session cookie", func() *apptest.Client { d := *userClient; return &d }},
		{"wrong token", func() *apptest.Client {
			c := srv.NewClient()
			c.Header.Set("Authorization", "Bearer "+srv.AdminToken+"x")
			return c
		}},
		{"empty bearer", func() *apptest.Client {
			c := srv.NewClient()
			c.Header.Set("Authorization", "Bearer ")
			return c
		}},
		{"admin token as Basic", func() *apptest.Client {
			c := srv.NewClient()
			c.Header.Set("Authorization", "Basic "+srv.AdminToken)
			return c
		}},
		{"admin token as a cookie", func() *apptest.Client {
			c := srv.NewClient()
			c.Cookie = srv.AdminToken
			return c
		}},
	}
	for _, cr := range credentials {
		for _, req := range requests {
			t.Run(cr.name+"/"+req.method+" "+req.path, func(t *testing.T) {
				var body any
				if req.body != "" {
					body = req.body
				}
				cr.client().Do(t, req.method, req.path, body).WantError(t, http.StatusUnauthorized, "unauthenticated")
			})
		}
	}
	// Nothing happened to the user.
	userClient.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": "new@example.com", "password": "password123"}).
		WantError(t, http.StatusUnauthorized, "invalid_credentials")
}

func TestAdminCreateUser(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	admin := srv.Admin()
	r := admin.Do(t, http.MethodPost, "/admin/v1/users", `{"email": "Bob@Example.com", "password": "password123", "claims": {"tenant": "acme", "roles": ["a", "b"], "level": 3}}`).
		WantStatus(t, http.StatusCreated)
	var got adminUser
	r.Decode(t, &got)
	if got.ID == "" || got.Email != "Bob@example.com" || got.Disabled || !got.CreatedAt.Equal(srv.Clock.Now()) {
		t.Errorf("created %+v, want an id, Bob@example.com, enabled, created now", got)
	}
	wantJSON(t, mustJSON(t, got.Claims), `{"tenant": "acme", "roles": ["a", "b"], "level": 3}`)
	if bytes.Contains(r.Body, []byte("password")) || bytes.Contains(r.Body, []byte("argon2")) {
		t.Errorf("admin answer shows the password or its hash: %s", r.Body)
	}
	var fetched adminUser
	admin.Do(t, http.MethodGet, "/admin/v1/users/"+got.ID, nil).WantStatus(t, http.StatusOK).Decode(t, &fetched)
	if fetched.ID != got.ID || fetched.Email != got.Email || !fetched.CreatedAt.Equal(got.CreatedAt) {
		t.Errorf("GET = %+v, want %+v", fetched, got)
	}
	wantJSON(t, mustJSON(t, fetched.Claims), `{"tenant": "acme", "roles": ["a", "b"], "level": 3}`)
	srv.Login(t, "Bob@example.com", "password123")

	// Without claims, claims are {}.
	var plain adminUser
	admin.Do(t, http.MethodPost, "/admin/v1/users", `{"email": "plain@example.com", "password": "password123"}`).WantStatus(t, http.StatusCreated).Decode(t, &plain)
	if plain.Claims == nil || len(plain.Claims) != 0 {
		t.Errorf("claims of a user created without any = %v, want {}", plain.Claims)
	}

	admin.Do(t, http.MethodPost, "/admin/v1/users", `{"email": "bob@EXAMPLE.com", "password": "another1"}`, "X-Spelling", "domain case").
		WantStatus(t, http.StatusCreated) // a different local part is another mailbox (RFC 5321)
	admin.Do(t, http.MethodPost, "/admin/v1/users", `{"email": "Bob@EXAMPLE.COM", "password": "another1"}`).WantError(t, http.StatusConflict, "conflict")
	srv.NewClient().Do(t, http.MethodPost, "/v1/signup", map[string]string{"email": "Bob@example.com", "password": "password123"}).
		WantError(t, http.StatusConflict, "conflict")
}

func TestAdminCreateUserBadRequests(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	cases := append(badJSONBodies(`{"email": "a@example.com", "password": "password123"}`),
		badBody{"claims is an array", `{"email": "a@example.com", "password": "password123", "claims": ["x"]}`, "application/json", 400, "invalid_request"},
		badBody{"claims is a string", `{"email": "a@example.com", "password": "password123", "claims": "x"}`, "application/json", 400, "invalid_request"},
		badBody{"empty claim name", `{"email": "a@example.com", "password": "password123", "claims": {"": 1}}`, "application/json", 400, "invalid_request"},
		badBody{"missing password", `{"email": "a@example.com"}`, "application/json", 400, "invalid_request"},
		badBody{"short password", `{"email": "a@example.com", "password": "short"}`, "application/json", 400, "invalid_request"},
		badBody{"bad email", `{"email": "a@", "password": "password123"}`, "application/json", 400, "invalid_request"},
	)
	for _, name := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "scope", "client_id"} {
		cases = append(cases, badBody{"registered claim " + name, `{"email": "a@example.com", "password": "password123", "claims": {"ok": 1, "` + name + `": "x"}}`, "application/json", 400, "invalid_request"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv.Admin().Do(t, http.MethodPost, "/admin/v1/users", tc.body, "Content-Type", tc.contentType).WantError(t, tc.status, tc.code)
		})
	}
	// None of them created the user.
	srv.Admin().Do(t, http.MethodPost, "/admin/v1/users", `{"email": "a@example.com", "password": "password123"}`).WantStatus(t, http.StatusCreated)
}

func TestAdminGetUnknownUser(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	for _, req := range []struct{ method, path, body string }{
		{http.MethodGet, "/admin/v1/users/nope", ""},
		{http.MethodPatch, "/admin/v1/users/nope", `{"disabled": true}`},
		{http.MethodDelete, "/admin/v1/users/nope", ""},
		{http.MethodGet, "/admin/v1/users/nope/sessions", ""},
		{http.MethodDelete, "/admin/v1/users/nope/sessions", ""},
	} {
		var body any
		if req.body != "" {
			body = req.body
		}
		srv.Admin().Do(t, req.method, req.path, body).WantError(t, http.StatusNotFound, "not_found")
	}
}

func TestAdminPatchClaims(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u, c := srv.NewSession(t)
	admin := srv.Admin()
	var got adminUser
	admin.Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, `{"claims": {"tier": "gold"}}`).WantStatus(t, http.StatusOK).Decode(t, &got)
	wantJSON(t, mustJSON(t, got.Claims), `{"tier": "gold"}`)
	// A claims change keeps the sessions.
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	// Registered names are refused, and nothing changes.
	for _, name := range []string{"sub", "scope", "client_id"} {
		admin.Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, `{"claims": {"`+name+`": "x"}}`).WantError(t, http.StatusBadRequest, "invalid_request")
	}
	for _, bad := range []string{`{"claims": 1}`, `{"disabled": "yes"}`, `{"password": 12345678}`, `{"password": "short"}`, `[]`} {
		admin.Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, bad).WantError(t, http.StatusBadRequest, "invalid_request")
	}
	admin.Do(t, http.MethodGet, "/admin/v1/users/"+u.ID, nil).WantStatus(t, http.StatusOK).Decode(t, &got)
	wantJSON(t, mustJSON(t, got.Claims), `{"tier": "gold"}`)
	if got.Disabled {
		t.Errorf("refused patches disabled the user")
	}
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	srv.Login(t, u.Email, u.Password)
}

// TestAdminDisableUser checks that a disabled user loses every session at
// once and cannot log in, with the same answer as a wrong password.
func TestAdminDisableUser(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	sessions := []*apptest.Client{srv.Login(t, u.Email, u.Password), srv.Login(t, u.Email, u.Password)}
	_, bystander := srv.NewSession(t)
	wrongPassword := srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": "wrong password"})

	var got adminUser
	srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, `{"disabled": true}`).WantStatus(t, http.StatusOK).Decode(t, &got)
	if !got.Disabled {
		t.Fatalf("PATCH disabled answered %+v", got)
	}
	for _, c := range sessions {
		wantDeadEverywhere(t, srv, c)
	}
	r := srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password})
	r.WantError(t, http.StatusUnauthorized, "invalid_credentials")
	if !bytes.Equal(r.Body, wrongPassword.Body) {
		t.Errorf("disabled login answers %s, a wrong password %s", r.Body, wrongPassword.Body)
	}
	var list struct {
		Sessions []sessionView `json:"sessions"`
	}
	srv.Admin().Do(t, http.MethodGet, "/admin/v1/users/"+u.ID+"/sessions", nil).WantStatus(t, http.StatusOK).Decode(t, &list)
	if len(list.Sessions) != 0 {
		t.Errorf("disabled user still has sessions %+v", list.Sessions)
	}
	bystander.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)

	// Enabled again, the user can log in; old sessions stay dead.
	srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, `{"disabled": false}`).WantStatus(t, http.StatusOK)
	srv.Login(t, u.Email, u.Password)
	sessions[0].Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
}

func TestAdminResetPassword(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u, c := srv.NewSession(t)
	srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, `{"password": "brand new password"}`).WantStatus(t, http.StatusOK)
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password}).
		WantError(t, http.StatusUnauthorized, "invalid_credentials")
	srv.Login(t, u.Email, "brand new password")
	// A reset password may have been stolen: the old sessions end.
	c.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
}

func TestAdminDeleteUser(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	sessions := []*apptest.Client{srv.Login(t, u.Email, u.Password), srv.Login(t, u.Email, u.Password)}
	_, bystander := srv.NewSession(t)

	r := srv.Admin().Do(t, http.MethodDelete, "/admin/v1/users/"+u.ID, nil).WantStatus(t, http.StatusNoContent)
	if len(r.Body) != 0 {
		t.Errorf("204 with body %q", r.Body)
	}
	for _, c := range sessions {
		wantDeadEverywhere(t, srv, c)
	}
	srv.Admin().Do(t, http.MethodGet, "/admin/v1/users/"+u.ID, nil).WantError(t, http.StatusNotFound, "not_found")
	srv.Admin().Do(t, http.MethodDelete, "/admin/v1/users/"+u.ID, nil).WantError(t, http.StatusNotFound, "not_found")
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password}).
		WantError(t, http.StatusUnauthorized, "invalid_credentials")
	bystander.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	// The address is free again.
	srv.Signup(t, u.Email, "another password")
}

func TestAdminUserSessions(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	a := srv.Login(t, u.Email, u.Password)
	srv.Clock.Advance(time.Second)
	b := srv.Login(t, u.Email, u.Password)
	_, bystander := srv.NewSession(t)

	r := srv.Admin().Do(t, http.MethodGet, "/admin/v1/users/"+u.ID+"/sessions", nil).WantStatus(t, http.StatusOK)
	for _, secret := range []string{a.Cookie, b.Cookie} {
		if bytes.Contains(r.Body, []byte(secret)) {
			t.Fatalf("admin session list hands out a cookie value")
		}
	}
	var list struct {
		Sessions []sessionView `json:"sessions"`
	}
	r.Decode(t, &list)
	if got := sessionIDs(list.Sessions); len(got) != 2 || got[0] != a.SessionID || got[1] != b.SessionID {
		t.Fatalf("admin sessions %v, want [%s %s]", got, a.SessionID, b.SessionID)
	}
	for _, s := range list.Sessions {
		if s.Current || s.Kind != "cookie" || s.IP != "127.0.0.1" {
			t.Errorf("admin view of %+v: want kind cookie, ip 127.0.0.1, never current", s)
		}
	}

	srv.Admin().Do(t, http.MethodDelete, "/admin/v1/users/"+u.ID+"/sessions", nil).WantStatus(t, http.StatusNoContent)
	wantDeadEverywhere(t, srv, a)
	wantDeadEverywhere(t, srv, b)
	bystander.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	// The user is not disabled: a new login works.
	srv.Login(t, u.Email, u.Password)
}

type adminUserPage struct {
	Users      []adminUser `json:"users"`
	NextCursor *string     `json:"next_cursor"`
}

// TestAdminFindUserByEmail checks GET /admin/v1/users?email=: the
// address is normalised as logins do, and a miss is an empty list.
func TestAdminFindUserByEmail(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	admin := srv.Admin()
	var bob adminUser
	admin.Do(t, http.MethodPost, "/admin/v1/users", `{"email": "Bob@Example.com", "password": "password123"}`).WantStatus(t, http.StatusCreated).Decode(t, &bob)
	admin.Do(t, http.MethodPost, "/admin/v1/users", `{"email": "bob@example.com", "password": "password123"}`).WantStatus(t, http.StatusCreated)
	cases := []struct {
		query  string
		wantID string
	}{
		{"Bob@Example.com", bob.ID},
		{"Bob@EXAMPLE.COM", bob.ID},
		{"%20Bob@example.com%20", bob.ID},
		{"BOB@example.com", ""},
		{"carol@example.com", ""},
		{"not-an-address", ""},
		{"", ""},
	}
	for _, tc := range cases {
		var page adminUserPage
		admin.Do(t, http.MethodGet, "/admin/v1/users?email="+tc.query, nil).WantStatus(t, http.StatusOK).Decode(t, &page)
		switch {
		case tc.wantID == "" && len(page.Users) != 0:
			t.Errorf("email=%s: %+v, want none", tc.query, page.Users)
		case tc.wantID != "" && (len(page.Users) != 1 || page.Users[0].ID != tc.wantID || page.Users[0].Email != "Bob@example.com"):
			t.Errorf("email=%s: %+v, want only %s", tc.query, page.Users, tc.wantID)
		}
		if page.Users == nil || page.NextCursor != nil {
			t.Errorf("email=%s: users %v, next_cursor %v; want a list and no cursor", tc.query, page.Users, page.NextCursor)
		}
	}
	admin.Do(t, http.MethodGet, "/admin/v1/users?email=a@example.com&limit=1", nil).WantError(t, http.StatusBadRequest, "invalid_request")
	srv.NewClient().Do(t, http.MethodGet, "/admin/v1/users?email=Bob@example.com", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
}

// TestAdminListUsersPages pages through every user with limit and
// cursor: each appears once, and the last page has no next_cursor.
func TestAdminListUsersPages(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	admin := srv.Admin()
	var empty adminUserPage
	admin.Do(t, http.MethodGet, "/admin/v1/users", nil).WantStatus(t, http.StatusOK).Decode(t, &empty)
	if empty.Users == nil || len(empty.Users) != 0 || empty.NextCursor != nil {
		t.Fatalf("empty listing = %+v, want users [] and no cursor", empty)
	}
	created := map[string]bool{}
	for i := range 5 {
		var u adminUser
		admin.Do(t, http.MethodPost, "/admin/v1/users", fmt.Sprintf(`{"email": "u%d@example.com", "password": "password123", "claims": {"n": %d}}`, i, i)).
			WantStatus(t, http.StatusCreated).Decode(t, &u)
		created[u.ID] = true
	}
	seen := map[string]bool{}
	path, pages := "/admin/v1/users?limit=2", 0
	for {
		var page adminUserPage
		admin.Do(t, http.MethodGet, path, nil).WantStatus(t, http.StatusOK).Decode(t, &page)
		pages++
		for _, u := range page.Users {
			if seen[u.ID] || !created[u.ID] || u.Claims == nil {
				t.Errorf("page %d: user %+v repeated or unknown", pages, u)
			}
			seen[u.ID] = true
		}
		if page.NextCursor == nil {
			break
		}
		if len(page.Users) != 2 || pages > 3 {
			t.Fatalf("page %d has %d users and a next_cursor", pages, len(page.Users))
		}
		path = "/admin/v1/users?limit=2&cursor=" + *page.NextCursor
	}
	if pages != 3 || len(seen) != 5 {
		t.Errorf("%d pages, %d users; want 3 pages of 5 users", pages, len(seen))
	}
	var all adminUserPage
	admin.Do(t, http.MethodGet, "/admin/v1/users", nil).WantStatus(t, http.StatusOK).Decode(t, &all)
	if len(all.Users) != 5 || all.NextCursor != nil {
		t.Errorf("default page: %d users, cursor %v; want 5 and none", len(all.Users), all.NextCursor)
	}
	for _, q := range []string{"limit=0", "limit=-1", "limit=501", "limit=x", "limit=", "cursor=***"} {
		admin.Do(t, http.MethodGet, "/admin/v1/users?"+q, nil).WantError(t, http.StatusBadRequest, "invalid_request")
	}
	srv.NewClient().Do(t, http.MethodGet, "/admin/v1/users", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
}
