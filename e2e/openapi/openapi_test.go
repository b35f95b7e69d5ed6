package openapi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
)

// exchange is one request and its answer, read whole.
type exchange struct {
	method, path string
	reqHeader    http.Header
	reqBody      []byte
	status       int
	respHeader   http.Header
	respBody     []byte
	// badRequest marks a request that breaks the document on purpose (to
	// get an error answer); only its answer is validated.
	badRequest bool
}

// decode returns the answer's JSON object.
func (e *exchange) decode(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.respBody, &m); err != nil {
		t.Fatalf("%s %s: %v: %s", e.method, e.path, err, e.respBody)
	}
	return m
}

// str returns a string field of the answer's JSON object.
func (e *exchange) str(t *testing.T, name string) string {
	t.Helper()
	s, _ := e.decode(t)[name].(string)
	if s == "" {
		t.Fatalf("%s %s: no %q in %s", e.method, e.path, name, e.respBody)
	}
	return s
}

// call is a request to send.
type call struct {
	method, path string
	// json is marshalled as an application/json body; raw is sent as is
	// with contentType; form is sent form-encoded.
	json        any
	raw         []byte
	contentType string
	form        url.Values
	header      []string // name, value pairs
	want        int
	badRequest  bool
}

// driver sends calls to a server and records every exchange.
type driver struct {
	t         *testing.T
	srv       *server
	client    *http.Client
	exchanges []*exchange
	// doc is the OpenAPI document the server serves.
	doc []byte
}

func newDriver(t *testing.T, srv *server) *driver {
	return &driver{t: t, srv: srv, client: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (d *driver) do(c call) *exchange {
	d.t.Helper()
	var body []byte
	h := http.Header{}
	switch {
	case c.json != nil:
		b, err := json.Marshal(c.json)
		if err != nil {
			d.t.Fatal(err)
		}
		body = b
		h.Set("Content-Type", "application/json")
	case c.form != nil:
		body = []byte(c.form.Encode())
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	case c.raw != nil:
		body = c.raw
	}
	if c.contentType != "" {
		h.Set("Content-Type", c.contentType)
	}
	for i := 0; i+1 < len(c.header); i += 2 {
		h.Add(c.header[i], c.header[i+1])
	}
	req, err := http.NewRequest(c.method, d.srv.URL+c.path, bytes.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header = h.Clone()
	resp, err := d.client.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	e := &exchange{method: c.method, path: c.path, reqHeader: h, reqBody: body, status: resp.StatusCode,
		respHeader: resp.Header, respBody: rb, badRequest: c.badRequest}
	d.exchanges = append(d.exchanges, e)
	if resp.StatusCode != c.want {
		d.t.Fatalf("%s %s: status %d, want %d: %.500s", c.method, c.path, resp.StatusCode, c.want, rb)
	}
	return e
}

// stream opens an event stream and records its headers and first event.
func (d *driver) stream(path string) *exchange {
	d.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.srv.URL+path, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var event bytes.Buffer
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			d.t.Fatalf("GET %s: %v after %q", path, err, event.String())
		}
		event.WriteString(line)
		if line == "\n" && strings.Contains(event.String(), "data: ") {
			break
		}
	}
	e := &exchange{method: http.MethodGet, path: path, reqHeader: http.Header{}, status: resp.StatusCode,
		respHeader: resp.Header, respBody: event.Bytes()}
	d.exchanges = append(d.exchanges, e)
	if resp.StatusCode != http.StatusOK {
		d.t.Fatalf("GET %s: status %d", path, resp.StatusCode)
	}
	return e
}

// sessionCookie returns the "Cookie" header value of a login answer.
func sessionCookie(t *testing.T, e *exchange) string {
	t.Helper()
	for _, c := range (&http.Response{Header: e.respHeader}).Cookies() {
		if c.Name == "gatehouse_session" {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("%s %s set no session cookie", e.method, e.path)
	return ""
}

func randomString(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// drive exercises every operation of the API, with successes and the
// error answers users meet.
func drive(t *testing.T, d *driver) {
	admin := []string{"Authorization", "Bearer " + d.srv.AdminToken}
	const pw = "correct horse battery staple"
	email := "alice-" + randomString(t)[:8] + "@example.com"

	// Operations, discovery, keys, this document, page assets.
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json", "/.well-known/openid-configuration",
		"/.well-known/oauth-authorization-server", "/.well-known/jwks.json", "/favicon.ico", "/static/gatehouse.css"} {
		d.do(call{method: http.MethodGet, path: p, want: 200})
	}
	d.do(call{method: http.MethodGet, path: "/metrics", header: admin, want: 200})
	d.do(call{method: http.MethodGet, path: "/metrics", want: 401, badRequest: true})

	// Identity.
	d.do(call{method: http.MethodPost, path: "/v1/signup", json: map[string]string{"email": email, "password": pw}, want: 201})
	d.do(call{method: http.MethodPost, path: "/v1/signup", json: map[string]string{"email": email, "password": pw}, want: 409})
	d.do(call{method: http.MethodPost, path: "/v1/signup", raw: []byte(`{"email": `), contentType: "application/json", want: 400, badRequest: true})
	d.do(call{method: http.MethodPost, path: "/v1/signup", raw: []byte(`email=a`), contentType: "text/plain", want: 415, badRequest: true})
	d.do(call{method: http.MethodPost, path: "/v1/signup", raw: bytes.Repeat([]byte("x"), 1<<20+1), contentType: "application/json", want: 413, badRequest: true})
	d.do(call{method: http.MethodPost, path: "/v1/login", json: map[string]string{"email": email, "password": "wrong password!"}, want: 401})
	d.do(call{method: http.MethodPost, path: "/v1/login", json: map[string]string{"email": email, "password": pw, "mode": "cookie"}, want: 400, badRequest: true})

	login := d.do(call{method: http.MethodPost, path: "/v1/login", json: map[string]string{"email": email, "password": pw, "mode": "session"}, want: 200})
	cookie := []string{"Cookie", sessionCookie(t, login)}
	csrf := append(slices.Clone(cookie), "X-CSRF-Token", login.str(t, "csrf_token"))
	me := d.do(call{method: http.MethodGet, path: "/v1/me", header: cookie, want: 200})
	userID, _ := me.decode(t)["user"].(map[string]any)["id"].(string)
	d.do(call{method: http.MethodGet, path: "/v1/me", want: 401, badRequest: true})
	d.do(call{method: http.MethodGet, path: "/v1/me", header: []string{"Authorization", "Bearer not-a-jwt"}, want: 401})

	tok := d.do(call{method: http.MethodPost, path: "/v1/login", json: map[string]string{"email": email, "password": pw, "mode": "token"}, want: 200})
	bearer := []string{"Authorization", "Bearer " + tok.str(t, "access_token")}
	d.do(call{method: http.MethodGet, path: "/v1/me", header: bearer, want: 200})
	d.do(call{method: http.MethodPost, path: "/oauth2/token", form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.str(t, "refresh_token")}}, want: 200})
	d.do(call{method: http.MethodPost, path: "/oauth2/token", form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"ghr_nonsense"}}, want: 400})

	// Sessions and their data.
	d.do(call{method: http.MethodGet, path: "/v1/session", header: cookie, want: 200})
	d.do(call{method: http.MethodGet, path: "/v1/session", header: bearer, want: 200})
	sessions := d.do(call{method: http.MethodGet, path: "/v1/sessions", header: cookie, want: 200})
	data := d.do(call{method: http.MethodGet, path: "/v1/session/data", header: cookie, want: 200})
	d.do(call{method: http.MethodGet, path: "/v1/session/data", header: append(slices.Clone(cookie), "If-None-Match", data.respHeader.Get("ETag")), want: 304})
	d.do(call{method: http.MethodPut, path: "/v1/session/data", header: csrf, json: map[string]any{"theme": "dark", "cart": []int{42}}, want: 200})
	d.do(call{method: http.MethodPut, path: "/v1/session/data", header: cookie, json: map[string]any{"theme": "light"}, want: 403, badRequest: true})
	d.do(call{method: http.MethodPut, path: "/v1/session/data", header: append(slices.Clone(csrf), "If-Match", `"999"`), json: map[string]any{"theme": "light"}, want: 412})
	d.do(call{method: http.MethodPatch, path: "/v1/session/data", header: csrf, raw: []byte(`{"theme":null,"lang":"fr"}`), contentType: "application/merge-patch+json", want: 200})
	d.do(call{method: http.MethodPatch, path: "/v1/session/data", header: csrf, json: map[string]any{"lang": "de"}, want: 415, badRequest: true})
	d.do(call{method: http.MethodPut, path: "/v1/session/data", header: csrf, json: map[string]string{"big": strings.Repeat("x", 70<<10)}, want: 413})
	d.do(call{method: http.MethodPost, path: "/v1/session/token", header: csrf, json: map[string]string{"audience": "https://api.example.com"}, want: 200})
	d.do(call{method: http.MethodPost, path: "/v1/session/token", header: csrf, want: 200})
	d.do(call{method: http.MethodPost, path: "/v1/session/token", header: bearer, want: 400, badRequest: true})
	d.do(call{method: http.MethodGet, path: "/v1/consents", header: cookie, want: 200})
	d.do(call{method: http.MethodDelete, path: "/v1/consents/no-such-client", header: csrf, want: 404})
	var tokenSession string
	for _, s := range sessions.decode(t)["sessions"].([]any) {
		if m := s.(map[string]any); m["kind"] == "token" {
			tokenSession = m["id"].(string)
		}
	}
	d.do(call{method: http.MethodDelete, path: "/v1/sessions/" + tokenSession, header: csrf, want: 204})
	d.do(call{method: http.MethodDelete, path: "/v1/sessions/" + tokenSession, header: csrf, want: 404})
	d.do(call{method: http.MethodDelete, path: "/v1/sessions", header: csrf, want: 204})

	driveMFA(t, d)
	driveAccount(t, d)
	drivePasskeys(t, d)

	// The revocation feed.
	d.do(call{method: http.MethodGet, path: "/v1/revocations", want: 200})
	d.do(call{method: http.MethodGet, path: "/v1/revocations?since=1", want: 200})
	d.do(call{method: http.MethodGet, path: "/v1/revocations?since=yesterday", want: 400, badRequest: true})
	event := d.stream("/v1/revocations/stream?since=0")
	checkStreamEvent(t, d.doc, event.respBody)

	// Administration: users.
	bob := d.do(call{method: http.MethodPost, path: "/admin/v1/users", header: admin,
		json: map[string]any{"email": "bob-" + randomString(t)[:8] + "@example.com", "password": pw, "claims": map[string]any{"role": "editor"}}, want: 201})
	bobPath := "/admin/v1/users/" + bob.str(t, "id")
	d.do(call{method: http.MethodPost, path: "/admin/v1/users", header: admin, json: map[string]any{"email": email, "password": pw}, want: 409})
	d.do(call{method: http.MethodPost, path: "/admin/v1/users", header: admin, json: map[string]any{"email": "x@example.com", "password": pw, "claims": map[string]any{"sub": "me"}}, want: 400})
	d.do(call{method: http.MethodPost, path: "/admin/v1/users", json: map[string]any{"email": "x@example.com", "password": pw}, want: 401, badRequest: true})
	d.do(call{method: http.MethodGet, path: bobPath, header: admin, want: 200})
	d.do(call{method: http.MethodGet, path: "/admin/v1/users?email=" + url.QueryEscape(email), header: admin, want: 200})
	page1 := d.do(call{method: http.MethodGet, path: "/admin/v1/users?limit=1", header: admin, want: 200})
	d.do(call{method: http.MethodGet, path: "/admin/v1/users?limit=1&cursor=" + url.QueryEscape(page1.str(t, "next_cursor")), header: admin, want: 200})
	d.do(call{method: http.MethodGet, path: "/admin/v1/users?limit=0", header: admin, want: 400, badRequest: true})
	d.do(call{method: http.MethodGet, path: "/admin/v1/users?email=a@example.com&limit=2", header: admin, want: 400})
	tok2 := d.do(call{method: http.MethodPost, path: "/v1/login", json: map[string]string{"email": email, "password": pw, "mode": "token"}, want: 200})
	d.do(call{method: http.MethodGet, path: "/admin/v1/users/" + userID, header: []string{"Authorization", "Bearer " + tok2.str(t, "access_token")}, want: 403})
	d.do(call{method: http.MethodPatch, path: bobPath, header: admin, json: map[string]any{"claims": map[string]any{"role": "admin"}}, want: 200})
	d.do(call{method: http.MethodGet, path: bobPath + "/sessions", header: admin, want: 200})
	d.do(call{method: http.MethodDelete, path: bobPath + "/sessions", header: admin, want: 204})
	d.do(call{method: http.MethodPatch, path: bobPath, header: admin, json: map[string]any{"disabled": true}, want: 200})
	d.do(call{method: http.MethodDelete, path: bobPath, header: admin, want: 204})
	d.do(call{method: http.MethodGet, path: bobPath, header: admin, want: 404})
	d.do(call{method: http.MethodGet, path: "/admin/v1/users/" + userID + "/sessions", header: admin, want: 200})

	// Administration: keys.
	d.do(call{method: http.MethodPost, path: "/admin/v1/keys/rotate?alg=ES256", header: admin, want: 200})
	d.do(call{method: http.MethodPost, path: "/admin/v1/keys/rotate?alg=HS256", header: admin, want: 400, badRequest: true})

	// Administration: clients, and the OAuth endpoints they use.
	svc := d.do(call{method: http.MethodPost, path: "/admin/v1/clients", header: admin, json: map[string]any{
		"client_name": "metrics", "grant_types": []string{"client_credentials"}, "scope": "gatehouse:introspect",
		"token_endpoint_auth_method": "client_secret_basic"}, want: 201})
	svcID, svcSecret := svc.str(t, "client_id"), svc.str(t, "client_secret")
	basic := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(svcID)+":"+url.QueryEscape(svcSecret)))}
	d.do(call{method: http.MethodPost, path: "/admin/v1/clients", header: admin, json: map[string]any{"grant_types": []string{"password"}}, want: 400, badRequest: true})
	d.do(call{method: http.MethodGet, path: "/admin/v1/clients", header: admin, want: 200})
	d.do(call{method: http.MethodGet, path: "/admin/v1/clients/" + svcID, header: admin, want: 200})
	d.do(call{method: http.MethodGet, path: "/admin/v1/clients/no-such-client", header: admin, want: 404})
	cc := d.do(call{method: http.MethodPost, path: "/oauth2/token", header: basic, form: url.Values{"grant_type": {"client_credentials"}}, want: 200})
	d.do(call{method: http.MethodPost, path: "/oauth2/token", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {svcID}, "client_secret": {"wrong"}}, want: 401})
	d.do(call{method: http.MethodPost, path: "/oauth2/token", header: basic, raw: []byte(`{"grant_type":"client_credentials"}`), contentType: "application/json", want: 415, badRequest: true})
	d.do(call{method: http.MethodPost, path: "/oauth2/introspect", header: basic, form: url.Values{"token": {cc.str(t, "access_token")}}, want: 200})
	d.do(call{method: http.MethodPost, path: "/oauth2/introspect", header: admin, form: url.Values{"token": {"not-a-token"}}, want: 200})
	d.do(call{method: http.MethodPost, path: "/oauth2/introspect", header: basic, form: url.Values{"token": {strings.TrimPrefix(cookie[1], "gatehouse_session=")}, "token_type_hint": {"gatehouse_session"}}, want: 200})
	d.do(call{method: http.MethodPost, path: "/oauth2/introspect", form: url.Values{"token": {"x"}}, want: 401, badRequest: true})
	d.do(call{method: http.MethodPost, path: "/oauth2/revoke", header: basic, form: url.Values{"token": {cc.str(t, "access_token")}}, want: 200})
	d.do(call{method: http.MethodPost, path: "/oauth2/revoke", header: basic, form: url.Values{}, want: 400, badRequest: true})

	// Authorization code with PKCE through the browser endpoints.
	redirect := "http://127.0.0.1:9/callback"
	app := d.do(call{method: http.MethodPost, path: "/admin/v1/clients", header: admin, json: map[string]any{
		"client_name": "spa", "grant_types": []string{"authorization_code", "refresh_token"}, "redirect_uris": []string{redirect},
		"post_logout_redirect_uris": []string{redirect}, "scope": "openid email profile offline_access",
		"token_endpoint_auth_method": "none", "first_party": true}, want: 201})
	appID := app.str(t, "client_id")
	verifier := randomString(t)
	sum := sha256.Sum256([]byte(verifier))
	authz := url.Values{"response_type": {"code"}, "client_id": {appID}, "redirect_uri": {redirect}, "scope": {"openid email profile"},
		"state": {"st"}, "nonce": {"n"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	d.do(call{method: http.MethodGet, path: "/oauth2/authorize?" + authz.Encode(), want: 303})
	d.do(call{method: http.MethodGet, path: "/oauth2/authorize?client_id=nobody", want: 400, badRequest: true})
	back := d.do(call{method: http.MethodPost, path: "/oauth2/authorize", header: cookie, form: authz, want: 303})
	loc, err := url.Parse(back.respHeader.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize redirected to %q, want a code", back.respHeader.Get("Location"))
	}
	code := d.do(call{method: http.MethodPost, path: "/oauth2/token", form: url.Values{"grant_type": {"authorization_code"},
		"code": {loc.Query().Get("code")}, "redirect_uri": {redirect}, "code_verifier": {verifier}, "client_id": {appID}}, want: 200})
	oidcBearer := []string{"Authorization", "Bearer " + code.str(t, "access_token")}
	d.do(call{method: http.MethodGet, path: "/userinfo", header: oidcBearer, want: 200})
	d.do(call{method: http.MethodPost, path: "/userinfo", form: url.Values{"access_token": {code.str(t, "access_token")}}, want: 200})
	d.do(call{method: http.MethodGet, path: "/userinfo", header: bearer, want: 401})
	d.do(call{method: http.MethodGet, path: "/userinfo", want: 401, badRequest: true})

	// Consent with a third-party client: the page, then a stale form.
	third := d.do(call{method: http.MethodPost, path: "/admin/v1/clients", header: admin, json: map[string]any{
		"client_name": "partner", "grant_types": []string{"authorization_code"}, "redirect_uris": []string{redirect},
		"scope": "openid email", "token_endpoint_auth_method": "client_secret_basic",
		"backchannel_logout_uri": "http://127.0.0.1:9/backchannel-logout", "backchannel_logout_session_required": true}, want: 201})
	authz.Set("client_id", third.str(t, "client_id"))
	authz.Set("scope", "openid email")
	d.do(call{method: http.MethodGet, path: "/oauth2/authorize?" + authz.Encode(), header: cookie, want: 200})
	d.do(call{method: http.MethodPost, path: "/oauth2/authorize/consent", header: cookie,
		form: url.Values{"csrf_token": {"stale"}, "request": {authz.Encode()}, "decision": {"allow"}}, want: 403})
	d.do(call{method: http.MethodDelete, path: "/admin/v1/clients/" + third.str(t, "client_id"), header: admin, want: 204})

	// Administration: webhooks (the receiver is never reached: port 9).
	hook := d.do(call{method: http.MethodPost, path: "/admin/v1/webhooks", header: admin, json: map[string]any{
		"url": "http://127.0.0.1:9/hooks", "event_types": []string{"user.created"}, "description": "openapi"}, want: 201})
	hookPath := "/admin/v1/webhooks/" + hook.str(t, "id")
	d.do(call{method: http.MethodPost, path: "/admin/v1/webhooks", header: admin, json: map[string]any{"url": "ftp://example.com/"}, want: 400})
	d.do(call{method: http.MethodGet, path: "/admin/v1/webhooks", header: admin, want: 200})
	d.do(call{method: http.MethodGet, path: hookPath, header: admin, want: 200})
	d.do(call{method: http.MethodGet, path: "/admin/v1/webhooks/wh_none", header: admin, want: 404})
	d.do(call{method: http.MethodPatch, path: hookPath, header: admin, json: map[string]any{"enabled": false}, want: 200})
	d.do(call{method: http.MethodPost, path: hookPath + "/rotate-secret", header: admin, want: 200})
	d.do(call{method: http.MethodGet, path: hookPath + "/deliveries?limit=10", header: admin, want: 200})
	d.do(call{method: http.MethodGet, path: hookPath + "/deliveries?limit=0", header: admin, want: 400, badRequest: true})
	d.do(call{method: http.MethodPost, path: hookPath + "/deliveries/none/retry", header: admin, want: 404})
	d.do(call{method: http.MethodDelete, path: hookPath, header: admin, want: 204})

	// The login page.
	page := d.do(call{method: http.MethodGet, path: "/login?return_to=/oauth2/authorize", want: 200})
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page.respBody)
	if m == nil {
		t.Fatalf("no csrf_token in the login page:\n%s", page.respBody)
	}
	var preLogin string
	for _, c := range (&http.Response{Header: page.respHeader}).Cookies() {
		preLogin = c.Name + "=" + c.Value
	}
	d.do(call{method: http.MethodPost, path: "/login", form: url.Values{"csrf_token": {"stale"}, "email": {email}, "password": {pw}}, want: 403})
	d.do(call{method: http.MethodPost, path: "/login", header: []string{"Cookie", preLogin},
		form: url.Values{"csrf_token": {string(m[1])}, "email": {email}, "password": {"wrong password!"}}, want: 401})
	d.do(call{method: http.MethodPost, path: "/login", header: []string{"Cookie", preLogin},
		form: url.Values{"csrf_token": {string(m[1])}, "email": {email}, "password": {pw}, "return_to": {"/v1/me"}}, want: 303})

	// The account lifecycle, with an account of its own (a password
	// change revokes the user's other sessions).
	lEmail, lPW := "life-"+randomString(t)+"@example.com", "lifecycle password"
	d.do(call{method: http.MethodPost, path: "/v1/signup", json: map[string]string{"email": lEmail, "password": lPW}, want: 201})
	lLogin := d.do(call{method: http.MethodPost, path: "/v1/login", json: map[string]string{"email": lEmail, "password": lPW, "mode": "session"}, want: 200})
	lCSRF := []string{"Cookie", sessionCookie(t, lLogin), "X-CSRF-Token", lLogin.str(t, "csrf_token")}
	bogus := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	d.do(call{method: http.MethodPost, path: "/v1/verification/email", header: lCSRF, want: 202})
	d.do(call{method: http.MethodPost, path: "/v1/verification/email/confirm", json: map[string]string{"token": bogus}, want: 400})
	d.do(call{method: http.MethodPost, path: "/v1/recovery", json: map[string]string{"email": lEmail}, want: 202})
	d.do(call{method: http.MethodPost, path: "/v1/recovery", json: map[string]string{"email": "nobody-" + lEmail}, want: 202})
	d.do(call{method: http.MethodPost, path: "/v1/recovery/confirm", json: map[string]string{"token": bogus, "password": "a new password"}, want: 400})
	d.do(call{method: http.MethodPatch, path: "/v1/me", header: lCSRF, json: map[string]string{"password": "a new password", "current_password": "wrong password!"}, want: 401})
	d.do(call{method: http.MethodPatch, path: "/v1/me", header: lCSRF, json: map[string]string{"password": "a new password", "current_password": lPW}, want: 200})
	d.do(call{method: http.MethodPatch, path: "/v1/me", header: lCSRF, json: map[string]string{"email": "moved-" + lEmail}, want: 200})
	d.do(call{method: http.MethodPatch, path: "/v1/me", header: lCSRF, json: map[string]string{"email": email}, want: 409})

	// The audit trail: the admin's listing with filters and a second page,
	// the user's own events, bad filters.
	events := d.do(call{method: http.MethodGet, path: "/admin/v1/events?limit=2&type=login.succeeded,login.failed&user_id=" + userID, header: admin, want: 200})
	if next, _ := events.decode(t)["next_cursor"].(string); next != "" {
		d.do(call{method: http.MethodGet, path: "/admin/v1/events?limit=2&type=login.succeeded,login.failed&user_id=" + userID + "&cursor=" + url.QueryEscape(next), header: admin, want: 200})
	} else {
		t.Errorf("GET /admin/v1/events?limit=2: no next_cursor for a user with three logins")
	}
	d.do(call{method: http.MethodGet, path: "/admin/v1/events?since=yesterday", header: admin, want: 400, badRequest: true})
	d.do(call{method: http.MethodGet, path: "/admin/v1/events", want: 401, badRequest: true})
	d.do(call{method: http.MethodGet, path: "/v1/me/events?type=user.password_changed&since=2000-01-01T00:00:00Z", header: lCSRF, want: 200})
	d.do(call{method: http.MethodGet, path: "/v1/me/events?user_id=" + userID, header: lCSRF, want: 400, badRequest: true})

	// The pages of the mailed links: a link's secret leaves the URL with a
	// redirect, the address form answers, stale forms are refused.
	d.do(call{method: http.MethodGet, path: "/verify?token=" + bogus, want: 303})
	d.do(call{method: http.MethodGet, path: "/recover?token=" + bogus, want: 303})
	d.do(call{method: http.MethodGet, path: "/recover", want: 200})
	d.do(call{method: http.MethodPost, path: "/verify", form: url.Values{"csrf_token": {"stale"}}, want: 403})
	d.do(call{method: http.MethodPost, path: "/recover", form: url.Values{"csrf_token": {"stale"}, "email": {lEmail}}, want: 403})

	// Logout: the end-session endpoint, then the API's.
	d.do(call{method: http.MethodGet, path: "/oauth2/logout", header: cookie, want: 200})
	d.do(call{method: http.MethodPost, path: "/oauth2/logout", form: url.Values{"client_id": {appID}, "post_logout_redirect_uri": {redirect}, "state": {"s"}}, want: 303})
	d.do(call{method: http.MethodPost, path: "/oauth2/logout/confirm", header: cookie, form: url.Values{"csrf_token": {"stale"}, "request": {""}}, want: 403})
	d.do(call{method: http.MethodPost, path: "/v1/logout", header: oidcBearer, want: 204})
	d.do(call{method: http.MethodPost, path: "/v1/logout", header: cookie, want: 403, badRequest: true})
	d.do(call{method: http.MethodPost, path: "/v1/logout", header: csrf, want: 204})
	d.do(call{method: http.MethodGet, path: "/v1/me", header: cookie, want: 401})
	d.do(call{method: http.MethodDelete, path: "/admin/v1/clients/" + appID, header: admin, want: 204})
}

// checkStreamEvent checks one server-sent event of the revocation stream
// against the document's description: event "revocation", a numeric id,
// and data with exactly the members of RevocationEvent (Revocation plus
// prev), the required ones present. The validator sees a text/event-stream
// body as a string, so this is checked here.
func checkStreamEvent(t *testing.T, doc, event []byte) {
	t.Helper()
	fields := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(event)), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, ":") {
			fields[k] = v
		}
	}
	if fields["event"] != "revocation" || !regexp.MustCompile(`^[0-9]+$`).MatchString(fields["id"]) {
		t.Errorf("stream event %q: want event: revocation and a numeric id", event)
	}
	var data map[string]any
	if err := json.Unmarshal([]byte(fields["data"]), &data); err != nil {
		t.Fatalf("stream event data %q: %v", fields["data"], err)
	}
	declared := map[string]bool{}
	var required []string
	for _, name := range []string{"Revocation", "RevocationEvent"} {
		props, req := schemaMembers(t, doc, name)
		for _, p := range props {
			declared[p] = true
		}
		required = append(required, req...)
	}
	for k := range data {
		if !declared[k] {
			t.Errorf("stream event data has %q, which RevocationEvent does not declare: %s", k, fields["data"])
		}
	}
	for _, k := range required {
		if _, ok := data[k]; !ok {
			t.Errorf("stream event data lacks required %q: %s", k, fields["data"])
		}
	}
}

// schemaMembers returns the property names and required names of a
// component schema, its allOf parts' own properties included.
func schemaMembers(t *testing.T, doc []byte, name string) (props, required []string) {
	t.Helper()
	type schema struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
		AllOf      []schema                   `json:"allOf"`
	}
	var d struct {
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	s, ok := d.Components.Schemas[name]
	if !ok {
		t.Fatalf("openapi.json has no schema %s", name)
	}
	for _, part := range append([]schema{s}, s.AllOf...) {
		for p := range part.Properties {
			props = append(props, p)
		}
		required = append(required, part.Required...)
	}
	return props, required
}

// newValidator builds a validator for doc, failing the test if doc is not
// a valid OpenAPI 3.1 document.
func newValidator(t *testing.T, doc []byte) validator.Validator {
	t.Helper()
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if v := d.GetVersion(); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("openapi.json is OpenAPI %s, want 3.1", v)
	}
	v, errs := validator.NewValidator(d, config.WithFormatAssertions(), config.WithURLEncodedBodyValidation())
	if len(errs) > 0 {
		t.Fatalf("openapi.json: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("openapi.json is not a valid OpenAPI 3.1 document: %s", describe(e))
		}
		t.FailNow()
	}
	return v
}

// describe renders a validation error with its schema details.
func describe(e *verrors.ValidationError) string {
	return e.Error()
}

// renameUserEmail returns a copy of doc whose User schema calls its
// "email" property "mail".
func renameUserEmail(t *testing.T, doc []byte) []byte {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	user := d["components"].(map[string]any)["schemas"].(map[string]any)["User"].(map[string]any)
	props := user["properties"].(map[string]any)
	props["mail"] = props["email"]
	delete(props, "email")
	req := user["required"].([]any)
	for i, r := range req {
		if r == "email" {
			req[i] = "mail"
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// validate checks every exchange against the document and returns one
// message per violation.
func validate(t *testing.T, v validator.Validator, base string, exchanges []*exchange) []string {
	t.Helper()
	var problems []string
	for _, e := range exchanges {
		req, err := http.NewRequest(e.method, base+e.path, bytes.NewReader(e.reqBody))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = e.reqHeader.Clone()
		resp := &http.Response{StatusCode: e.status, Header: e.respHeader, Body: io.NopCloser(bytes.NewReader(e.respBody)), Request: req}
		var ok bool
		var errs []*verrors.ValidationError
		if e.badRequest {
			ok, errs = v.ValidateHttpResponse(req, resp)
		} else {
			ok, errs = v.ValidateHttpRequestResponse(req, resp)
		}
		if !ok {
			for _, ve := range errs {
				problems = append(problems, fmt.Sprintf("%s %s -> %d: %s", e.method, e.path, e.status, describe(ve)))
			}
		}
	}
	return problems
}

// operationsOf lists the operations of doc as "METHOD /template".
func operationsOf(t *testing.T, doc []byte) []string {
	t.Helper()
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for p, item := range d.Paths {
		for m := range item {
			switch m {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				ops = append(ops, strings.ToUpper(m)+" "+p)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

// matches reports whether a request path fits a path template.
func matches(template, path string) bool {
	path, _, _ = strings.Cut(path, "?")
	ts, ps := strings.Split(template, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if strings.HasPrefix(ts[i], "{") && strings.HasSuffix(ts[i], "}") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if ts[i] != ps[i] {
			return false
		}
	}
	return true
}

// TestResponsesMatchTheDocument drives every operation of a real server
// and validates each request and answer against the document it serves.
// It then renames one field in a copy of the document and checks that the
// same answers fail, so that the validation is known to bite.
func TestResponsesMatchTheDocument(t *testing.T) {
	srv := startServer(t)
	d := newDriver(t, srv)
	docEx := d.do(call{method: http.MethodGet, path: "/openapi.json", want: 200})
	doc := docEx.respBody
	d.doc = doc
	v := newValidator(t, doc)

	drive(t, d)

	for _, p := range validate(t, v, srv.URL, d.exchanges) {
		t.Error(p)
	}

	// Every documented operation was exercised at least once.
	for _, op := range operationsOf(t, doc) {
		method, template, _ := strings.Cut(op, " ")
		if !slices.ContainsFunc(d.exchanges, func(e *exchange) bool { return e.method == method && matches(template, e.path) }) {
			t.Errorf("no exchange exercises %s", op)
		}
	}

	// The check bites: a document whose User calls "email" "mail" must
	// fail the same answers.
	drifted := renameUserEmail(t, doc)
	if bytes.Equal(drifted, doc) {
		t.Fatal("could not rename User.email in a copy of the document: update this test")
	}
	if problems := validate(t, newValidator(t, drifted), srv.URL, d.exchanges); len(problems) == 0 {
		t.Error("a document with User.email renamed still validates every answer: the validation does not bite")
	} else {
		t.Logf("with User.email renamed, %d violations, e.g. %s", len(problems), problems[0])
	}
}
