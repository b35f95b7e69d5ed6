package app_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// TestRedisOutageLoginFailsClosed: with --sessions redis://… and Redis
// gone, logins are refused before the password is checked: no guess is
// counted as a plain 401 (more than the account limit of 10 are tried:
// failing open made guessing unlimited), and the
// right password gets exactly the wrong one's answer.
func TestRedisOutageLoginFailsClosed(t *testing.T) {
	sessionsURL, _ := redisSessionsURL(t)
	u, err := url.Parse(sessionsURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.addr()
	q := u.Query()
	q.Set("dial_timeout", "300ms")
	q.Set("read_timeout", "300ms")
	q.Set("max_retries", "-1")
	u.RawQuery = q.Encode()
	srv := apptest.Start(t, apptest.Options{Args: []string{"--sessions", u.String()}})
	user := srv.NewUser(t)
	wrong := map[string]string{"email": user.Email, "password": "wrong password!", "mode": "session"}
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", wrong).WantError(t, http.StatusUnauthorized, "invalid_credentials")

	proxy.Cut()
	for mode, tries := range map[string]int{"session": 12, "token": 2} {
		for i := range tries {
			wrong["mode"] = mode
			resp := srv.NewClient().Do(t, http.MethodPost, "/v1/login", wrong)
			resp.WantError(t, http.StatusServiceUnavailable, "temporarily_unavailable")
			if i == 0 && resp.Header.Get("Retry-After") == "" {
				t.Errorf("%s: a 503 without Retry-After", mode)
			}
		}
		right := map[string]string{"email": user.Email, "password": user.Password, "mode": mode}
		srv.NewClient().Do(t, http.MethodPost, "/v1/login", right).WantError(t, http.StatusServiceUnavailable, "temporarily_unavailable")
		unknown := map[string]string{"email": apptest.RandomEmail(), "password": user.Password, "mode": mode}
		srv.NewClient().Do(t, http.MethodPost, "/v1/login", unknown).WantError(t, http.StatusServiceUnavailable, "temporarily_unavailable")
	}
	// The sign-in page answers as the API does: 503 with Retry-After and
	// the form again, not a 500.
	pageLoginDuringOutage(t, srv.URL, user.Email, user.Password)
	// Signups are limited per address through the same limiter.
	signup := map[string]string{"email": apptest.RandomEmail(), "password": "correct horse battery"}
	srv.NewClient().Do(t, http.MethodPost, "/v1/signup", signup).WantError(t, http.StatusServiceUnavailable, "temporarily_unavailable")
}

// csrfInputRE finds the login form's CSRF token.
var csrfInputRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// pageLoginDuringOutage signs in through the /login form, as a browser
// does (the page's cookie and CSRF token, a same-origin POST), and wants
// 503 with Retry-After and the form again.
func pageLoginDuringOutage(t *testing.T, base, email, password string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfInputRE.FindSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("GET /login during the outage: %d, no CSRF token:\n%s", res.StatusCode, body)
	}
	form := url.Values{"csrf_token": {string(m[1])}, "email": {email}, "password": {password}}
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(body), "unavailable for a moment") || !strings.Contains(string(body), `name="password"`) {
		t.Fatalf("POST /login during the outage: %d, Retry-After %q:\n%s", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
}
