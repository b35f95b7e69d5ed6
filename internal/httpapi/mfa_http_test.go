package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

// These tests check the contract's "Second factors and passkeys" rows for
// TOTP through the real router, with codes computed here by pquerna/otp
// as an authenticator app would, on SQLite, PostgreSQL and Redis sessions.

// mfaBackends are where the TOTP tests keep their state: the databases,
// and Redis for sessions (where a session's authentication is kept).
var mfaBackends = []struct {
	name string
	args func(t *testing.T) []string
}{
	{"SQLite", func(*testing.T) []string { return nil }},
	{"PostgreSQL", func(t *testing.T) []string { return []string{"--db", pgtest.NewDatabase(t)} }},
	{"Redis sessions", func(t *testing.T) []string { return []string{"--sessions", redisSessions(t)} }},
}

// authenticator is the test's authenticator app: it holds the secret.
type authenticator struct {
	secret string
	srv    *apptest.Server
}

// code is the code the app shows at the server's time plus offset.
func (a authenticator) code(t *testing.T, offset time.Duration) string {
	t.Helper()
	c, err := pqtotp.GenerateCodeCustom(a.secret, a.srv.Clock.Now().Add(offset), pqtotp.ValidateOpts{
		Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrolTOTP enrols and confirms TOTP for the signed-in client c and
// returns the authenticator and the recovery codes.
func enrolTOTP(t *testing.T, srv *apptest.Server, c *apptest.Client) (authenticator, []string) {
	t.Helper()
	var begun struct {
		Secret     string `json:"secret"`
		OTPAuthURI string `json:"otpauth_uri"`
	}
	c.Do(t, http.MethodPost, "/v1/mfa/totp", nil).WantStatus(t, http.StatusOK).Decode(t, &begun)
	key, err := otp.NewKeyFromURL(begun.OTPAuthURI)
	if err != nil {
		t.Fatalf("otpauth_uri %q: %v", begun.OTPAuthURI, err)
	}
	if key.Secret() != begun.Secret || key.Algorithm() != otp.AlgorithmSHA1 || key.Digits() != otp.DigitsSix || key.Period() != 30 {
		t.Fatalf("otpauth_uri %q does not match the contract (SHA-1, 6 digits, 30 s) or the secret %q", begun.OTPAuthURI, begun.Secret)
	}
	a := authenticator{secret: begun.Secret, srv: srv}
	var confirmed struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	c.Do(t, http.MethodPost, "/v1/mfa/totp/confirm", map[string]string{"code": a.code(t, 0)}).
		WantStatus(t, http.StatusOK).Decode(t, &confirmed)
	if len(confirmed.RecoveryCodes) != 10 {
		t.Fatalf("confirm answered %d recovery codes, want 10", len(confirmed.RecoveryCodes))
	}
	return a, confirmed.RecoveryCodes
}

// mfaRequired logs in with the password and returns the mfa_token of the
// 401 mfa_required answer.
func mfaRequired(t *testing.T, srv *apptest.Server, email, pw, mode string) string {
	t.Helper()
	r := srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": email, "password": pw, "mode": mode})
	r.WantStatus(t, http.StatusUnauthorized)
	body := r.JSON(t)
	if body["error"] != "mfa_required" || body["error_description"] == "" || body["factors"] == nil || len(body) != 4 {
		t.Fatalf("login of an account with a second factor: %s, want error mfa_required, error_description, mfa_token and factors", r.Body)
	}
	if ck := r.Cookie(srv.CookieName()); ck != nil && ck.Value != "" {
		t.Errorf("mfa_required set a session cookie")
	}
	tok, _ := body["mfa_token"].(string)
	if tok == "" {
		t.Fatalf("mfa_required without an mfa_token: %s", r.Body)
	}
	return tok
}

// loginMFA posts the second step from a fresh client.
func loginMFA(t *testing.T, srv *apptest.Server, tok, code string) (*apptest.Client, *apptest.Response) {
	t.Helper()
	c := srv.NewClient()
	return c, c.Do(t, http.MethodPost, "/v1/login/mfa", map[string]string{"mfa_token": tok, "code": code})
}

func TestTOTPLogin(t *testing.T) {
	for _, be := range mfaBackends {
		t.Run(be.name, func(t *testing.T) {
			srv := apptest.Start(t, apptest.Options{Args: be.args(t)})
			u, c := srv.NewSession(t)

			// Before confirmation nothing changes at login.
			c.Do(t, http.MethodPost, "/v1/mfa/totp/confirm", map[string]string{"code": "123456"}).
				WantError(t, http.StatusNotFound, "not_found")
			a, recovery := enrolTOTP(t, srv, c)
			c.Do(t, http.MethodPost, "/v1/mfa/totp", nil).WantError(t, http.StatusConflict, "conflict")

			// The confirming code cannot log in (same time step).
			tok := mfaRequired(t, srv, u.Email, u.Password, "session")
			_, r := loginMFA(t, srv, tok, a.code(t, 0))
			r.WantError(t, http.StatusUnauthorized, "invalid_credentials")

			// Window edges, one step either side, on the same token (a
			// wrong code does not burn it).
			srv.Clock.Advance(90 * time.Second)
			for _, off := range []time.Duration{-60 * time.Second, 60 * time.Second} {
				_, r := loginMFA(t, srv, tok, a.code(t, off))
				r.WantError(t, http.StatusUnauthorized, "invalid_credentials")
			}
			mc, r := loginMFA(t, srv, tok, a.code(t, -30*time.Second))
			r.WantStatus(t, http.StatusOK)
			if ck := r.Cookie(srv.CookieName()); ck == nil || ck.Value == "" {
				t.Fatal("login/mfa in session mode set no cookie")
			}
			var me struct {
				User struct {
					ID string `json:"id"`
				} `json:"user"`
			}
			mc.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK).Decode(t, &me)
			if me.User.ID != u.ID {
				t.Errorf("/v1/me after login/mfa: user %q, want %q", me.User.ID, u.ID)
			}

			// The token is used up, and the code too (replay).
			_, r = loginMFA(t, srv, tok, a.code(t, 30*time.Second))
			r.WantError(t, http.StatusUnauthorized, "invalid_credentials")
			tok = mfaRequired(t, srv, u.Email, u.Password, "session")
			_, r = loginMFA(t, srv, tok, a.code(t, -30*time.Second))
			r.WantError(t, http.StatusUnauthorized, "invalid_credentials")
			// A later step still works, and an earlier one no longer does.
			_, r = loginMFA(t, srv, tok, a.code(t, 30*time.Second))
			r.WantStatus(t, http.StatusOK)
			tok = mfaRequired(t, srv, u.Email, u.Password, "session")
			_, r = loginMFA(t, srv, tok, a.code(t, 0))
			r.WantError(t, http.StatusUnauthorized, "invalid_credentials")

			// Recovery codes: each once, in any case and spacing.
			_, r = loginMFA(t, srv, tok, " "+recovery[0]+" ")
			r.WantStatus(t, http.StatusOK)
			tok = mfaRequired(t, srv, u.Email, u.Password, "session")
			_, r = loginMFA(t, srv, tok, recovery[0])
			r.WantError(t, http.StatusUnauthorized, "invalid_credentials")

			// Token mode answers as /v1/login would.
			tok = mfaRequired(t, srv, u.Email, u.Password, "token")
			_, r = loginMFA(t, srv, tok, recovery[1])
			r.WantStatus(t, http.StatusOK)
			body := r.JSON(t)
			if body["access_token"] == nil || body["refresh_token"] == nil || body["token_type"] != "Bearer" {
				t.Errorf("login/mfa in token mode: %s", r.Body)
			}

			// An mfa_token lives five minutes.
			tok = mfaRequired(t, srv, u.Email, u.Password, "session")
			srv.Clock.Advance(5 * time.Minute)
			_, r = loginMFA(t, srv, tok, a.code(t, 0))
			r.WantError(t, http.StatusUnauthorized, "invalid_credentials")

			// Bad requests change nothing.
			for _, body := range []map[string]string{{"code": a.code(t, 0)}, {"mfa_token": tok}, {}} {
				srv.NewClient().Do(t, http.MethodPost, "/v1/login/mfa", body).WantError(t, http.StatusBadRequest, "invalid_request")
			}

			// Removal is a step-up action: the session's login (6.5
			// minutes ago) becomes too old at 10 minutes.
			srv.Clock.Advance(4 * time.Minute)
			c.Do(t, http.MethodDelete, "/v1/mfa/totp", map[string]string{"code": a.code(t, 0)}).
				WantError(t, http.StatusForbidden, "reauthentication_required")
			tok = mfaRequired(t, srv, u.Email, u.Password, "session")
			fresh, r := loginMFA(t, srv, tok, recovery[2])
			r.WantStatus(t, http.StatusOK)
			fresh.CSRF, _ = r.JSON(t)["csrf_token"].(string)

			// Then it needs a CSRF token and a valid code, and login is
			// one step again.
			fresh.Do(t, http.MethodDelete, "/v1/mfa/totp", map[string]string{"code": a.code(t, 0)}, "X-CSRF-Token", "").
				WantError(t, http.StatusForbidden, "csrf_failed")
			fresh.Do(t, http.MethodDelete, "/v1/mfa/totp", map[string]string{"code": "000000x"}).
				WantError(t, http.StatusBadRequest, "invalid_request")
			fresh.Do(t, http.MethodDelete, "/v1/mfa/totp", map[string]string{"code": a.code(t, 0)}).
				WantStatus(t, http.StatusNoContent)
			srv.Login(t, u.Email, u.Password)
			fresh.Do(t, http.MethodDelete, "/v1/mfa/totp", map[string]string{"code": a.code(t, 0)}).
				WantError(t, http.StatusNotFound, "not_found")
		})
	}
}

// TestTOTPLoginLimit checks that wrong codes count toward the account's
// login limit, that a correct password does not reset that count, and
// that a limited account gets 429 even with the right code.
func TestTOTPLoginLimit(t *testing.T) {
	for _, be := range mfaBackends {
		t.Run(be.name, func(t *testing.T) {
			srv := apptest.Start(t, apptest.Options{Args: append(be.args(t), "--login-limit-account", "3/15m")})
			u, c := srv.NewSession(t)
			a, _ := enrolTOTP(t, srv, c)
			srv.Clock.Advance(30 * time.Second)
			for range 3 {
				// A new password login between guesses must not help.
				tok := mfaRequired(t, srv, u.Email, u.Password, "session")
				_, r := loginMFA(t, srv, tok, "000000")
				r.WantError(t, http.StatusUnauthorized, "invalid_credentials")
			}
			tok := mfaRequired(t, srv, u.Email, u.Password, "session")
			_, r := loginMFA(t, srv, tok, a.code(t, 0))
			r.WantError(t, http.StatusTooManyRequests, "rate_limited")
			if r.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			// The limit did not burn the token: after the window, it works.
			srv.Clock.Advance(15 * time.Minute)
			tok = mfaRequired(t, srv, u.Email, u.Password, "session")
			_, r = loginMFA(t, srv, tok, a.code(t, 0))
			r.WantStatus(t, http.StatusOK)
		})
	}
}
