package browser

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// logoutReceiver is a relying party's back-channel logout endpoint
// (OpenID Connect Back-Channel Logout 1.0 section 2.5): it takes POSTed
// logout tokens and hands them to the test.
type logoutReceiver struct {
	srv    *httptest.Server
	tokens chan string
	mu     sync.Mutex
	bad    []string
}

func newLogoutReceiver(t *testing.T) *logoutReceiver {
	lr := &logoutReceiver{tokens: make(chan string, 64)}
	lr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/backchannel-logout" ||
			r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			lr.mu.Lock()
			lr.bad = append(lr.bad, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
			lr.mu.Unlock()
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		lr.tokens <- r.PostFormValue("logout_token")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(lr.srv.Close)
	return lr
}

// next waits for the next logout token.
func (lr *logoutReceiver) next(t *testing.T, what string) string {
	t.Helper()
	select {
	case tok := <-lr.tokens:
		return tok
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no logout token within 30 s", what)
		return ""
	}
}

// rpUser is a user signed in to the relying party: a browser session at
// Gatehouse, and the tokens the RP got in it.
type rpUser struct {
	id, email, password string
	browser             *http.Client
	csrf                string
	sid                 string // the ID token's sid
	refresh             string
}

// TestBackchannelLogoutFiveWays ends a session that a relying party got
// an ID token from in five ways, and checks that each sends the RP one
// logout token that validates as the specification says (section 2.6),
// with go-oidc for the signature against the JWKS, iss, aud and exp, and
// go-jose for the header.
func TestBackchannelLogoutFiveWays(t *testing.T) {
	// A refresh token replayed after 1ms is reuse, not a retry.
	g := startGatehouse(t, "--refresh-reuse-grace", "1ms")
	lr := newLogoutReceiver(t)
	cl := g.registerClient(t, map[string]any{
		"client_name":                         "Back-channel RP",
		"grant_types":                         []string{"authorization_code", "refresh_token"},
		"redirect_uris":                       []string{lr.srv.URL + "/callback"},
		"scope":                               "openid offline_access",
		"first_party":                         true,
		"backchannel_logout_uri":              lr.srv.URL + "/backchannel-logout",
		"backchannel_logout_session_required": true,
	})
	ctx := t.Context()
	provider, err := oidc.NewProvider(ctx, g.URL)
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Supported        bool `json:"backchannel_logout_supported"`
		SessionSupported bool `json:"backchannel_logout_session_supported"`
	}
	if err := provider.Claims(&meta); err != nil || !meta.Supported || !meta.SessionSupported {
		t.Fatalf("discovery: %+v, %v", meta, err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: cl.ID})

	signIn := func(t *testing.T) *rpUser {
		t.Helper()
		u := &rpUser{email: "bcl-" + strings.ToLower(rand.Text()[:10]) + "@example.com", password: "correct horse battery staple"}
		var su struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
		}
		g.call(t, http.MethodPost, "/v1/signup", "", map[string]string{"email": u.email, "password": u.password}, &su, http.StatusCreated)
		u.id = su.User.ID
		jar, _ := cookiejar.New(nil)
		u.browser = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		var login struct {
			CSRF string `json:"csrf_token"`
		}
		u.do(t, g, http.MethodPost, "/v1/login", map[string]string{"email": u.email, "password": u.password}, &login, http.StatusOK)
		u.csrf = login.CSRF
		// The authorization code flow with PKCE; a first-party client
		// skips consent, so /oauth2/authorize answers with the code.
		verifierPKCE := rand.Text() + rand.Text()
		sum := sha256.Sum256([]byte(verifierPKCE))
		q := url.Values{"response_type": {"code"}, "client_id": {cl.ID}, "redirect_uri": {lr.srv.URL + "/callback"},
			"scope": {"openid offline_access"}, "state": {"s"}, "nonce": {"n"},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
		resp, err := u.browser.Get(g.URL + "/oauth2/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Query().Get("code") == "" {
			t.Fatalf("authorize: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
			"redirect_uri": {lr.srv.URL + "/callback"}, "code_verifier": {verifierPKCE}}
		tok := tokenRequest(t, g, cl, form)
		idt, err := verifier.Verify(ctx, tok.IDToken)
		if err != nil {
			t.Fatalf("ID token: %v", err)
		}
		var c struct {
			SID string `json:"sid"`
		}
		if err := idt.Claims(&c); err != nil || c.SID == "" || idt.Subject != u.id {
			t.Fatalf("ID token claims: sid %q sub %q, %v", c.SID, idt.Subject, err)
		}
		u.sid, u.refresh = c.SID, tok.RefreshToken
		return u
	}

	// check validates one logout token for u (section 2.6).
	seenJTI := map[string]bool{}
	check := func(t *testing.T, raw string, u *rpUser) {
		t.Helper()
		// Signature (JWKS), iss, aud and exp, as for an ID token.
		tok, err := verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("logout token does not verify: %v", err)
		}
		jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
		if err != nil {
			t.Fatal(err)
		}
		if typ, _ := jws.Signatures[0].Protected.ExtraHeaders["typ"].(string); typ != "logout+jwt" {
			t.Errorf("typ = %q, want logout+jwt", typ)
		}
		var c struct {
			IAT    *int64                     `json:"iat"`
			JTI    string                     `json:"jti"`
			SID    string                     `json:"sid"`
			Nonce  *string                    `json:"nonce"`
			Events map[string]json.RawMessage `json:"events"`
		}
		if err := tok.Claims(&c); err != nil {
			t.Fatal(err)
		}
		ev, ok := c.Events["http://schemas.openid.net/event/backchannel-logout"]
		switch {
		case c.IAT == nil || time.Since(time.Unix(*c.IAT, 0)) > time.Minute:
			t.Errorf("iat = %v", c.IAT)
		case !ok || strings.TrimSpace(string(ev)) != "{}":
			t.Errorf("events = %v", c.Events)
		case c.Nonce != nil:
			t.Error("a logout token carries a nonce")
		case c.SID != u.sid || tok.Subject != u.id:
			t.Errorf("sid %q sub %q, want %q %q", c.SID, tok.Subject, u.sid, u.id)
		case c.JTI == "" || seenJTI[c.JTI]:
			t.Errorf("jti %q missing or repeated", c.JTI)
		case tok.Expiry.Sub(time.Unix(*c.IAT, 0)) > 5*time.Minute:
			t.Errorf("exp %v is not short after iat", tok.Expiry)
		}
		seenJTI[c.JTI] = true
	}

	ways := []struct {
		name string
		end  func(t *testing.T, u *rpUser)
	}{
		{"logout", func(t *testing.T, u *rpUser) {
			u.do(t, g, http.MethodPost, "/v1/logout", nil, nil, http.StatusNoContent)
		}},
		{"admin revoke", func(t *testing.T, u *rpUser) {
			g.call(t, http.MethodDelete, "/admin/v1/users/"+u.id+"/sessions", g.AdminToken, nil, nil, http.StatusNoContent)
		}},
		{"recovery", func(t *testing.T, u *rpUser) {
			g.call(t, http.MethodPost, "/v1/recovery", "", map[string]string{"email": u.email}, nil, http.StatusAccepted)
			link, err := url.Parse(g.mailLink(t, u.email, "/recover"))
			if err != nil {
				t.Fatal(err)
			}
			g.call(t, http.MethodPost, "/v1/recovery/confirm", "", map[string]string{"token": link.Query().Get("token"), "password": "another horse battery staple"}, nil, http.StatusOK)
		}},
		{"user disabled", func(t *testing.T, u *rpUser) {
			g.call(t, http.MethodPatch, "/admin/v1/users/"+u.id, g.AdminToken, map[string]any{"disabled": true}, nil, http.StatusOK)
		}},
		{"refresh token reuse", func(t *testing.T, u *rpUser) {
			old := u.refresh
			tokenRequest(t, g, cl, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {old}})
			time.Sleep(5 * time.Millisecond) // past the 1ms reuse grace, so the replay is reuse
			tokenError(t, g, cl, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {old}}, "invalid_grant")
		}},
	}
	var users []*rpUser
	for _, w := range ways {
		t.Run(w.name, func(t *testing.T) {
			u := signIn(t)
			users = append(users, u)
			w.end(t, u)
			check(t, lr.next(t, w.name), u)
		})
	}
	// A last logout, queued after all the others: once its token came,
	// any duplicate of an earlier one would have come too.
	last := signIn(t)
	last.do(t, g, http.MethodPost, "/v1/logout", nil, nil, http.StatusNoContent)
	check(t, lr.next(t, "barrier"), last)
	select {
	case extra := <-lr.tokens:
		t.Fatalf("an extra logout token arrived: %s", extra)
	default:
	}
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if len(lr.bad) != 0 {
		t.Fatalf("malformed back-channel requests: %v", lr.bad)
	}
}

// do sends a JSON request in u's browser session (cookie, CSRF token,
// Origin) and decodes the answer into out if not nil.
func (u *rpUser) do(t *testing.T, g *gatehouse, method, path string, body, out any, want int) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(context.Background(), method, g.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", g.URL)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if u.csrf != "" {
		req.Header.Set("X-CSRF-Token", u.csrf)
	}
	resp, err := u.browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
}

// tokenAnswer is a token endpoint answer.
type tokenAnswer struct {
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

func postToken(t *testing.T, g *gatehouse, cl client, form url.Values) (int, tokenAnswer) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(cl.ID), url.QueryEscape(cl.Secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out tokenAnswer
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func tokenRequest(t *testing.T, g *gatehouse, cl client, form url.Values) tokenAnswer {
	t.Helper()
	st, out := postToken(t, g, cl, form)
	if st != http.StatusOK {
		t.Fatalf("token %s: %d %s", form.Get("grant_type"), st, out.Error)
	}
	return out
}

func tokenError(t *testing.T, g *gatehouse, cl client, form url.Values, want string) {
	t.Helper()
	if st, out := postToken(t, g, cl, form); st != http.StatusBadRequest || out.Error != want {
		t.Fatalf("token %s: %d %q, want 400 %q", form.Get("grant_type"), st, out.Error, want)
	}
}
