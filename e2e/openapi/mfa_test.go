package openapi

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// totpCode is the RFC 6238 code (SHA-1, 6 digits, 30 s) of the unpadded
// base32 secret at t, as an authenticator app computes it. Written out
// here (RFC 4226 section 5.3) rather than importing a TOTP library into
// this module for one function.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(secret))
	if err != nil {
		t.Fatalf("TOTP secret %q: %v", secret, err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}

// driveMFA exercises the second-factor operations for a new user: TOTP
// enrolment, the two-step login, removal.
func driveMFA(t *testing.T, d *driver) {
	const pw = "correct horse battery staple"
	email := "carol-" + randomString(t)[:8] + "@example.com"
	d.do(call{method: http.MethodPost, path: "/v1/signup", json: map[string]string{"email": email, "password": pw}, want: 201})
	login := d.do(call{method: http.MethodPost, path: "/v1/login", json: map[string]string{"email": email, "password": pw}, want: 200})
	cookie := []string{"Cookie", sessionCookie(t, login)}
	csrf := append(slices.Clone(cookie), "X-CSRF-Token", login.str(t, "csrf_token"))

	d.do(call{method: http.MethodPost, path: "/v1/mfa/totp/confirm", header: csrf, json: map[string]string{"code": "123456"}, want: 404})
	d.do(call{method: http.MethodPost, path: "/v1/mfa/totp", header: cookie, want: 403, badRequest: true})
	begun := d.do(call{method: http.MethodPost, path: "/v1/mfa/totp", header: csrf, want: 200})
	secret := begun.str(t, "secret")
	d.do(call{method: http.MethodPost, path: "/v1/mfa/totp/confirm", header: csrf, json: map[string]string{"code": "12345x"}, want: 400})
	confirmed := d.do(call{method: http.MethodPost, path: "/v1/mfa/totp/confirm", header: csrf, json: map[string]string{"code": totpCode(t, secret, time.Now())}, want: 200})
	var recovery []string
	for _, c := range confirmed.decode(t)["recovery_codes"].([]any) {
		recovery = append(recovery, c.(string))
	}
	d.do(call{method: http.MethodPost, path: "/v1/mfa/totp", header: csrf, want: 409})

	required := d.do(call{method: http.MethodPost, path: "/v1/login", json: map[string]string{"email": email, "password": pw, "mode": "token"}, want: 401})
	mfaToken := required.str(t, "mfa_token")
	d.do(call{method: http.MethodPost, path: "/v1/login/mfa", json: map[string]string{"mfa_token": "nonsense", "code": recovery[0]}, want: 401})
	d.do(call{method: http.MethodPost, path: "/v1/login/mfa", json: map[string]string{"code": recovery[0]}, want: 400, badRequest: true})
	d.do(call{method: http.MethodPost, path: "/v1/login/mfa", json: map[string]string{"mfa_token": mfaToken, "code": recovery[0]}, want: 200})

	// Step-up: an account with a factor re-authenticates with a code.
	d.do(call{method: http.MethodPost, path: "/v1/reauth", header: csrf, json: map[string]string{"password": pw}, want: 400})
	d.do(call{method: http.MethodPost, path: "/v1/reauth", header: csrf, json: map[string]string{}, want: 400, badRequest: true})
	d.do(call{method: http.MethodPost, path: "/v1/reauth", header: csrf, json: map[string]string{"code": "000000"}, want: 401})
	d.do(call{method: http.MethodPost, path: "/v1/reauth", header: csrf, json: map[string]string{"code": recovery[3]}, want: 200})
	// The same through the page; its CSRF token is the session's.
	d.do(call{method: http.MethodGet, path: "/reauth?return_to=/v1/me", header: cookie, want: 200})
	d.do(call{method: http.MethodGet, path: "/reauth", want: 303})
	d.do(call{method: http.MethodPost, path: "/reauth", header: cookie, form: url.Values{"csrf_token": {"stale"}, "code": {recovery[4]}}, want: 403})
	d.do(call{method: http.MethodPost, path: "/reauth", header: cookie, form: url.Values{"csrf_token": {login.str(t, "csrf_token")}, "code": {"000000"}}, want: 401})
	d.do(call{method: http.MethodPost, path: "/reauth", header: cookie, form: url.Values{"csrf_token": {login.str(t, "csrf_token")}, "code": {recovery[4]}, "return_to": {"/v1/me"}}, want: 303})

	// The login page's second step.
	page := d.do(call{method: http.MethodGet, path: "/login", want: 200})
	preLogin, loginCSRF := preLoginForm(t, page)
	first := d.do(call{method: http.MethodPost, path: "/login", header: []string{"Cookie", preLogin},
		form: url.Values{"csrf_token": {loginCSRF}, "email": {email}, "password": {pw}}, want: 200})
	m := regexp.MustCompile(`name="mfa_token" value="([^"]+)"`).FindSubmatch(first.respBody)
	if m == nil {
		t.Fatalf("no mfa_token in the second step of the login page:\n%s", first.respBody)
	}
	d.do(call{method: http.MethodPost, path: "/login/mfa", form: url.Values{"csrf_token": {"stale"}, "mfa_token": {string(m[1])}, "code": {recovery[5]}}, want: 403})
	d.do(call{method: http.MethodPost, path: "/login/mfa", header: []string{"Cookie", preLogin},
		form: url.Values{"csrf_token": {loginCSRF}, "mfa_token": {string(m[1])}, "code": {"000000"}}, want: 401})
	d.do(call{method: http.MethodPost, path: "/login/mfa", header: []string{"Cookie", preLogin},
		form: url.Values{"csrf_token": {loginCSRF}, "mfa_token": {string(m[1])}, "code": {recovery[5]}, "return_to": {"/v1/me"}}, want: 303})

	d.do(call{method: http.MethodDelete, path: "/v1/mfa/totp", header: csrf, json: map[string]string{"code": recovery[1]}, want: 204})
	d.do(call{method: http.MethodDelete, path: "/v1/mfa/totp", header: csrf, json: map[string]string{"code": recovery[2]}, want: 404})

	// Enrolment through the page.
	d.do(call{method: http.MethodGet, path: "/mfa/totp", want: 303})
	enrol := d.do(call{method: http.MethodGet, path: "/mfa/totp?return_to=/v1/me", header: cookie, want: 200})
	sm := regexp.MustCompile(`id="secret">([A-Z2-7]+)<`).FindSubmatch(enrol.respBody)
	if sm == nil {
		t.Fatalf("no key on the enrolment page:\n%s", enrol.respBody)
	}
	d.do(call{method: http.MethodPost, path: "/mfa/totp", header: cookie, form: url.Values{"csrf_token": {"stale"}, "code": {"000000"}}, want: 403})
	d.do(call{method: http.MethodPost, path: "/mfa/totp", header: cookie, form: url.Values{"csrf_token": {login.str(t, "csrf_token")}, "code": {"12345x"}}, want: 400})
	d.do(call{method: http.MethodPost, path: "/mfa/totp", header: cookie,
		form: url.Values{"csrf_token": {login.str(t, "csrf_token")}, "code": {totpCode(t, string(sm[1]), time.Now())}, "return_to": {"/v1/me"}}, want: 200})

	// The user deletes the account (a step-up action; the session is
	// fresh).
	d.do(call{method: http.MethodDelete, path: "/v1/me", header: csrf, want: 204})
	d.do(call{method: http.MethodDelete, path: "/v1/me", header: csrf, want: 401})
}

// preLoginForm returns the pre-login CSRF cookie (name=value) a login page
// set and the csrf_token of its form.
func preLoginForm(t *testing.T, page *exchange) (cookie, token string) {
	t.Helper()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page.respBody)
	if m == nil {
		t.Fatalf("no csrf_token in the login page:\n%s", page.respBody)
	}
	for _, c := range (&http.Response{Header: page.respHeader}).Cookies() {
		cookie = c.Name + "=" + c.Value
	}
	return cookie, string(m[1])
}
