package app_test

import (
	"net/http"
	"net/url"
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
	// Signups are limited per address through the same limiter.
	signup := map[string]string{"email": apptest.RandomEmail(), "password": "correct horse battery"}
	srv.NewClient().Do(t, http.MethodPost, "/v1/signup", signup).WantError(t, http.StatusServiceUnavailable, "temporarily_unavailable")
}
