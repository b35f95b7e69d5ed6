package openapi

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// driveAccount exercises the account center's page and forms for a new
// user: the page, each form refused (stale token, wrong password, another
// id) and accepted.
func driveAccount(t *testing.T, d *driver) {
	const pw = "correct horse battery staple"
	email := "dave-" + randomString(t)[:8] + "@example.com"
	d.do(call{method: http.MethodPost, path: "/v1/signup", json: map[string]string{"email": email, "password": pw}, want: 201})
	login := func() string {
		return sessionCookie(t, d.do(call{method: http.MethodPost, path: "/v1/login", json: map[string]string{"email": email, "password": pw}, want: 200}))
	}
	other := login()
	otherID := d.do(call{method: http.MethodGet, path: "/v1/session", header: []string{"Cookie", other}, want: 200}).decode(t)["session"].(map[string]any)["id"].(string)
	self := login()
	selfID := d.do(call{method: http.MethodGet, path: "/v1/session", header: []string{"Cookie", self}, want: 200}).decode(t)["session"].(map[string]any)["id"].(string)

	d.do(call{method: http.MethodGet, path: "/account", want: 303})
	page := d.do(call{method: http.MethodGet, path: "/account?done=others_revoked", header: []string{"Cookie", self}, want: 200})
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page.respBody)
	if m == nil {
		t.Fatalf("no csrf_token in the account page:\n%s", page.respBody)
	}
	cookies := self
	for _, c := range (&http.Response{Header: page.respHeader}).Cookies() {
		cookies += "; " + c.Name + "=" + c.Value
	}
	h := []string{"Cookie", cookies}
	form := func(v url.Values) url.Values {
		v.Set("csrf_token", string(m[1]))
		return v
	}
	stale := url.Values{"csrf_token": {"stale"}}

	d.do(call{method: http.MethodPost, path: "/account/verification", header: h, form: stale, want: 403})
	d.do(call{method: http.MethodPost, path: "/account/verification", header: h, form: form(url.Values{}), want: 303})
	d.do(call{method: http.MethodPost, path: "/account/email", header: h, form: url.Values{"csrf_token": {"stale"}, "email": {"moved-" + email}}, want: 403})
	d.do(call{method: http.MethodPost, path: "/account/password", header: h,
		form: form(url.Values{"current_password": {"wrong password!"}, "password": {"a new password"}, "password_again": {"a new password"}}), want: 401})
	d.do(call{method: http.MethodPost, path: "/account/sessions/" + otherID + "/revoke", header: h, form: form(url.Values{}), want: 303})
	d.do(call{method: http.MethodPost, path: "/account/sessions/" + otherID + "/revoke", header: h, form: form(url.Values{}), want: 404})
	d.do(call{method: http.MethodPost, path: "/account/sessions/revoke-others", header: h, form: stale, want: 403})
	d.do(call{method: http.MethodPost, path: "/account/sessions/revoke-others", header: h, form: form(url.Values{}), want: 303})
	d.do(call{method: http.MethodPost, path: "/account/consents/no-such-client/revoke", header: h, form: form(url.Values{}), want: 404})
	d.do(call{method: http.MethodPost, path: "/account/password", header: h,
		form: form(url.Values{"current_password": {pw}, "password": {"a new password"}, "password_again": {"a new password"}}), want: 303})
	d.do(call{method: http.MethodPost, path: "/account/email", header: h, form: form(url.Values{"email": {"moved-" + email}}), want: 303})
	d.do(call{method: http.MethodPost, path: "/account/totp/remove", header: h, form: form(url.Values{"code": {"123456"}}), want: 404})
	d.do(call{method: http.MethodPost, path: "/account/delete", header: h, form: form(url.Values{"confirm": {"no"}}), want: 400})
	d.do(call{method: http.MethodPost, path: "/account/sessions/" + selfID + "/revoke", header: h, form: form(url.Values{}), want: 200})
	d.do(call{method: http.MethodPost, path: "/account/sessions/revoke-others", header: h, form: form(url.Values{}), want: 303})

	// A second account, deleted from its page.
	d.do(call{method: http.MethodPost, path: "/v1/signup", json: map[string]string{"email": "gone-" + email, "password": pw}, want: 201})
	gone := sessionCookie(t, d.do(call{method: http.MethodPost, path: "/v1/login", json: map[string]string{"email": "gone-" + email, "password": pw}, want: 200}))
	d.do(call{method: http.MethodPost, path: "/account/delete", header: []string{"Cookie", gone + strings.TrimPrefix(cookies, self)}, form: form(url.Values{"confirm": {"yes"}}), want: 200})
}
