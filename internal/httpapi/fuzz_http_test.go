package httpapi_test

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// contractCodes maps every error code of shared/spec/http-api.md (and the
// router's method_not_allowed) to its status.
var contractCodes = map[string]int{
	"invalid_request":        400,
	"invalid_credentials":    401,
	"unauthenticated":        401,
	"forbidden":              403,
	"csrf_failed":            403,
	"not_found":              404,
	"method_not_allowed":     405,
	"conflict":               409,
	"precondition_failed":    412,
	"payload_too_large":      413,
	"unsupported_media_type": 415,
	"rate_limited":           429,
}

// checkAnswer fails unless rec is a success or a contract error: never a
// 500, always JSON, with a code that belongs to the status.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder, what string) {
	t.Helper()
	if mt, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type")); mt != "application/json" && rec.Code != http.StatusNoContent {
		t.Fatalf("%s: status %d with Content-Type %q: %s", what, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	if rec.Code < 400 {
		return
	}
	var e map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("%s: status %d, body is not JSON: %q", what, rec.Code, rec.Body)
	}
	code, _ := e["error"].(string)
	desc, _ := e["error_description"].(string)
	if want, ok := contractCodes[code]; !ok || want != rec.Code || desc == "" || len(e) != 2 {
		t.Fatalf("%s: status %d, body %s: want a contract error code for the status", what, rec.Code, rec.Body)
	}
	if code == "rate_limited" && rec.Header().Get("Retry-After") == "" {
		t.Fatalf("%s: 429 without Retry-After", what)
	}
}

// credentialSeeds are request bodies for the login and signup fuzzers.
var credentialSeeds = []string{
	`{"email": "fuzz@example.com", "password": "fuzz password"}`,
	`{"email": "fuzz@example.com", "password": "fuzz password", "mode": "session"}`,
	`{"email": "fuzz@example.com", "password": "fuzz password", "mode": "token"}`,
	`{"email": "nobody@example.com", "password": "fuzz password"}`,
	`{"email": "not an address", "password": "x"}`,
	`{"email": 1, "password": true}`,
	`{"email": "fuzz@example.com", "password": "fuzz password", "mode": "cookie"}`,
	`{"email": null, "password": null, "mode": null}`,
	`{"email": "fuzz@example.com", "password": "fuzz password"} {}`,
	`{"email": "\ud800@example.com", "password": "\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000"}`,
	"{\"email\": \"\xff@example.com\", \"password\": \"\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\"}",
	`{"email": "a@example.com", "password": "12345678", "email": "b@example.com"}`,
	`{"EMAIL": "fuzz@example.com", "Password": "fuzz password"}`,
	`[]`, `null`, `"x"`, `{`, ``, `{"email": {"a": [1, 2, {"b": 1e999}]}}`,
	strings.Repeat("[", 20000),
}

// fuzzCredentials feeds arbitrary bodies to path through the real wiring
// and checks every answer.
func fuzzCredentials(f *testing.F, path string) {
	// No rate limits, so the fuzzer reaches the deeper paths instead of
	// collecting 429s.
	srv := apptest.Start(f, apptest.Options{Args: []string{"--login-limit-account", "0/1m", "--login-limit-ip", "0/1m"}})
	srv.Signup(f, "fuzz@example.com", "fuzz password")
	for _, s := range credentialSeeds {
		f.Add([]byte(s), "application/json")
	}
	f.Add([]byte(credentialSeeds[0]), "application/json; charset=utf-8")
	f.Add([]byte(credentialSeeds[0]), "text/plain")
	f.Add([]byte(credentialSeeds[0]), "")
	f.Add([]byte(credentialSeeds[0]), "application/json; charset=\"")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		checkAnswer(t, rec, path)
		switch {
		case path == "/v1/login" && rec.Code == http.StatusOK && bytes.Contains(rec.Body.Bytes(), []byte(`"access_token"`)):
			// Token mode: covered by the token tests; no cookie here.
			if rec.Header().Get("Set-Cookie") != "" {
				t.Fatalf("token-mode login set a cookie")
			}
		case path == "/v1/login" && rec.Code == http.StatusOK:
			var ok struct {
				Session struct {
					ID string `json:"id"`
				} `json:"session"`
				CSRF string `json:"csrf_token"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &ok); err != nil || ok.Session.ID == "" || ok.CSRF == "" {
				t.Fatalf("login 200 without a session: %s", rec.Body)
			}
			if len(rec.Result().Cookies()) != 1 {
				t.Fatalf("login 200 without exactly one cookie")
			}
		case path == "/v1/signup" && rec.Code == http.StatusCreated:
			var ok struct {
				User struct {
					ID, Email string
				} `json:"user"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &ok); err != nil || ok.User.ID == "" || ok.User.Email == "" {
				t.Fatalf("signup 201 without a user: %s", rec.Body)
			}
		case rec.Code < 400:
			t.Fatalf("%s: unexpected status %d: %s", path, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && rec.Header().Get("Set-Cookie") != "" {
			t.Fatalf("%s: error %d sets a cookie", path, rec.Code)
		}
	})
}

// FuzzLoginBody fuzzes the body and media type of POST /v1/login through
// the real handler: never a 500, always a JSON contract error or a login.
func FuzzLoginBody(f *testing.F) { fuzzCredentials(f, "/v1/login") }

// FuzzSignupBody does the same for POST /v1/signup.
func FuzzSignupBody(f *testing.F) { fuzzCredentials(f, "/v1/signup") }

// FuzzSessionDataBody fuzzes PUT and PATCH of the session data: never a
// 500, and what a write answers is what a read then returns.
func FuzzSessionDataBody(f *testing.F) {
	srv := apptest.Start(f, apptest.Options{})
	_, c := srv.NewSession(f)
	for _, s := range []string{`{}`, `{"a": 1}`, `{"a": null}`, `{"a": {"b": [1, "x", null]}}`, `{"n": 1.50e3}`, `{"n": 1e999}`,
		`{"s": "\ud800"}`, "{\"s\": \"\xff\"}", `{"a": 1, "a": 2}`, `[]`, `null`, `{`, ``, `{"a": 1} x`, `{"\u0000": "\u0000"}`, strings.Repeat(`{"a":`, 5000)} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	for _, tc := range append(storetest.ValidSessionData(), storetest.InvalidSessionData()...) {
		f.Add([]byte(tc.JSON), false)
		f.Add([]byte(tc.JSON), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, patch bool) {
		method, ct := http.MethodPut, "application/json"
		if patch {
			method, ct = http.MethodPatch, "application/merge-patch+json"
		}
		req := httptest.NewRequest(method, "/v1/session/data", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-CSRF-Token", c.CSRF)
		req.AddCookie(&http.Cookie{Name: srv.CookieName(), Value: c.Cookie})
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		checkAnswer(t, rec, method)
		if rec.Code >= 400 {
			return
		}
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", method, rec.Code)
		}
		if b := bytes.TrimSpace(rec.Body.Bytes()); !json.Valid(b) || b[0] != '{' {
			t.Fatalf("%s answered %q, not a JSON object", method, rec.Body)
		}
		if err := store.ValidateSessionData(rec.Body.Bytes()); err != nil {
			t.Fatalf("%s stored data every backend cannot store: %v", method, err)
		}
		if rec.Body.Len() > 64<<10+1 {
			t.Fatalf("%s stored %d bytes, over 64 KiB", method, rec.Body.Len())
		}
		get := httptest.NewRequest(http.MethodGet, "/v1/session/data", nil)
		get.AddCookie(&http.Cookie{Name: srv.CookieName(), Value: c.Cookie})
		grec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(grec, get)
		if grec.Code != http.StatusOK || grec.Header().Get("ETag") != rec.Header().Get("ETag") ||
			!bytes.Equal(bytes.TrimSpace(grec.Body.Bytes()), bytes.TrimSpace(rec.Body.Bytes())) {
			t.Fatalf("after %s answered %s (ETag %s), GET answers %d %s (ETag %s)", method, rec.Body, rec.Header().Get("ETag"), grec.Code, grec.Body, grec.Header().Get("ETag"))
		}
	})
}

// FuzzCookieHeader sends arbitrary Cookie headers to GET /v1/me: only the
// live session's cookie authenticates, and everything else is a JSON 401.
func FuzzCookieHeader(f *testing.F) {
	srv := apptest.Start(f, apptest.Options{})
	_, c := srv.NewSession(f)
	live := srv.CookieName() + "=" + c.Cookie
	for _, s := range []string{live, "", srv.CookieName() + "=", srv.CookieName() + "=x", live + "; " + srv.CookieName() + "=x",
		srv.CookieName() + "=x; " + live, "a=b; c=d", `gatehouse_session="` + c.Cookie + `"`, srv.CookieName() + "=" + c.SessionID,
		srv.CookieName() + "=" + c.Cookie[:42] + "=", "\x00\xff;;;==="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cookie string) {
		req := httptest.NewRequest(http.MethodGet, "/v1/me", nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		checkAnswer(t, rec, "GET /v1/me")
		if rec.Code == http.StatusOK {
			// Only a header that carries the live secret, as Go's cookie
			// parser reads it, may authenticate.
			ck, err := req.Cookie(srv.CookieName())
			if err != nil || ck.Value != c.Cookie {
				t.Fatalf("Cookie %q authenticated", cookie)
			}
			return
		}
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("Cookie %q: status %d", cookie, rec.Code)
		}
	})
}
