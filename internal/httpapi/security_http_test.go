package httpapi_test

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/syncbuf"
)

// TestUserCannotDelegateServiceScopes: a user who approves a client
// allowed gatehouse:admin (or any gatehouse:* scope) gets no token with
// it, and a user's token that carries one anyway (a grant stored before
// the rule) is no admin or introspection credential.
func TestUserCannotDelegateServiceScopes(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	victim := srv.NewUser(t)
	for _, scope := range []string{"gatehouse:admin", "gatehouse:introspect", "gatehouse:anything"} {
		t.Run("Authorize/"+scope, func(t *testing.T) {
			for _, firstParty := range []bool{false, true} {
				r := newRP(t, srv, map[string]any{"scope": "openid " + scope, "first_party": firstParty})
				b := newBrowser(t, srv)
				verifier := oauth2.GenerateVerifier()
				q := r.authorize(t, b, u, oauth2.S256ChallengeOption(verifier))
				if q.Get("error") != "invalid_scope" || q.Get("code") != "" {
					t.Errorf("first_party=%v: authorization with %s answered %v, want error=invalid_scope", firstParty, scope, q)
				}
				// The same client still works for the user's own scope.
				r.config.Scopes = []string{"openid"}
				if q := r.authorize(t, b, u, oauth2.S256ChallengeOption(verifier)); q.Get("code") == "" {
					t.Errorf("first_party=%v: authorization with openid answered %v", firstParty, q)
				}
			}
		})
	}

	t.Run("FirstPartyRefresh", func(t *testing.T) {
		p := tokenLogin(t, srv, u)
		refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p.RefreshToken}, "scope": {"gatehouse:admin"}}
		form(t, srv.NewClient(), "/oauth2/token", refresh).WantError(t, http.StatusBadRequest, "invalid_scope")
	})

	t.Run("LegacyGrant", func(t *testing.T) {
		web := newClient(t, srv, map[string]any{"grant_types": []string{"authorization_code", "refresh_token"}, "redirect_uris": []string{rpCallback}, "scope": "openid gatehouse:admin gatehouse:introspect"})
		ctx := t.Context()
		g, err := srv.App.Sessions.CreateGrant(ctx, session.GrantSpec{UserID: u.ID, ClientID: web.ClientID, Scope: "openid gatehouse:admin gatehouse:introspect"})
		if err != nil {
			t.Fatal(err)
		}
		usr, err := srv.App.Users.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.App.Tokens.IssueForGrant(ctx, g, usr)
		if err != nil {
			t.Fatal(err)
		}
		if _, claims := jwtParts(t, resp.AccessToken); !strings.Contains(claims["scope"].(string), "gatehouse:admin") {
			t.Fatalf("setup: the legacy token has scope %v", claims["scope"])
		}
		user := bearer(srv, resp.AccessToken)
		user.Do(t, http.MethodGet, "/admin/v1/users/"+victim.ID, nil).WantError(t, http.StatusForbidden, "forbidden")
		user.Do(t, http.MethodPost, "/admin/v1/users", map[string]any{"email": apptest.RandomEmail(), "password": "correct horse battery"}).WantError(t, http.StatusForbidden, "forbidden")
		user.Do(t, http.MethodPost, "/admin/v1/clients", map[string]any{"grant_types": []string{"client_credentials"}}).WantError(t, http.StatusForbidden, "forbidden")
		form(t, user, "/oauth2/introspect", url.Values{"token": {resp.AccessToken}}).WantError(t, http.StatusUnauthorized, "invalid_client")
		// Refreshing it cannot ask for the scope again.
		refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {resp.RefreshToken}, "scope": {"openid gatehouse:admin gatehouse:introspect"}}
		form(t, basicAuth(srv, web.ClientID, web.ClientSecret), "/oauth2/token", refresh).WantError(t, http.StatusBadRequest, "invalid_scope")
	})

	t.Run("LegacyCode", func(t *testing.T) {
		// A code issued before the rule, for a service scope: the
		// exchange refuses it.
		r := newRP(t, srv, map[string]any{"scope": "openid gatehouse:admin"})
		r.config.Scopes = []string{"openid"}
		verifier := oauth2.GenerateVerifier()
		code := r.authorize(t, newBrowser(t, srv), u, oauth2.S256ChallengeOption(verifier)).Get("code")
		if _, err := srv.OpenDB(t).ExecContext(t.Context(), `UPDATE auth_codes SET scope = 'openid gatehouse:admin' WHERE client_id = ?`, r.client.ClientID); err != nil {
			t.Fatal(err)
		}
		_, err := r.config.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
		wantOAuthError(t, err, "invalid_grant")
	})

	t.Run("ClientCredentialsStillAdmin", func(t *testing.T) {
		admin := serviceClient(t, srv, "gatehouse:admin")
		p := clientToken(t, srv, admin, url.Values{"scope": {"gatehouse:admin"}})
		bearer(srv, p.AccessToken).Do(t, http.MethodGet, "/admin/v1/users/"+victim.ID, nil).WantStatus(t, http.StatusOK)
	})
}

// TestResourceServerIntrospection: a confidential client registered with
// gatehouse:introspect sees every token and session cookie, with its
// credentials or its client credentials token, and can do nothing else.
func TestResourceServerIntrospection(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	rs := serviceClient(t, srv, "gatehouse:introspect")
	other := serviceClient(t, srv, "x")
	u, cookie := srv.NewSession(t)
	user := tokenLogin(t, srv, u)
	otherTok := clientToken(t, srv, other, nil)
	rsTok := clientToken(t, srv, rs, url.Values{"scope": {"gatehouse:introspect"}})

	callers := map[string]*apptest.Client{
		"basic":  basicAuth(srv, rs.ClientID, rs.ClientSecret),
		"bearer": bearer(srv, rsTok.AccessToken),
	}
	for name, c := range callers {
		t.Run(name, func(t *testing.T) {
			ask := func(v url.Values) map[string]any {
				t.Helper()
				var in map[string]any
				form(t, c, "/oauth2/introspect", v).WantStatus(t, http.StatusOK).Decode(t, &in)
				return in
			}
			if in := ask(url.Values{"token": {user.AccessToken}}); in["active"] != true || in["sub"] != u.ID || in["sid"] == nil {
				t.Errorf("first-party access token: %v", in)
			}
			if in := ask(url.Values{"token": {user.RefreshToken}}); in["active"] != true || in["sub"] != u.ID {
				t.Errorf("first-party refresh token: %v", in)
			}
			if in := ask(url.Values{"token": {otherTok.AccessToken}}); in["active"] != true || in["client_id"] != other.ClientID {
				t.Errorf("another client's token: %v", in)
			}
			if in := ask(url.Values{"token": {cookie.Cookie}, "token_type_hint": {"gatehouse_session"}}); in["active"] != true || in["sub"] != u.ID || in["token_type"] != "gatehouse_session" {
				t.Errorf("session cookie: %v", in)
			}
			if in := ask(url.Values{"token": {"not-a-token"}}); in["active"] != false || len(in) != 1 {
				t.Errorf("garbage: %v", in)
			}
		})
	}
	// Nothing more: no admin API, no user endpoints.
	rsb := bearer(srv, rsTok.AccessToken)
	rsb.Do(t, http.MethodGet, "/admin/v1/users/"+u.ID, nil).WantError(t, http.StatusForbidden, "forbidden")
	rsb.Do(t, http.MethodPost, "/admin/v1/clients", map[string]any{"grant_types": []string{"client_credentials"}}).WantError(t, http.StatusForbidden, "forbidden")
	rsb.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	// A client without the scope still sees only its own tokens, and its
	// token is no introspection credential.
	var in map[string]any
	form(t, basicAuth(srv, other.ClientID, other.ClientSecret), "/oauth2/introspect", url.Values{"token": {user.AccessToken}}).WantStatus(t, http.StatusOK).Decode(t, &in)
	if in["active"] != false || len(in) != 1 {
		t.Errorf("a plain client introspecting a user's token = %v", in)
	}
	form(t, bearer(srv, otherTok.AccessToken), "/oauth2/introspect", url.Values{"token": {user.AccessToken}}).WantError(t, http.StatusUnauthorized, "invalid_client")
	// A wrong secret is refused.
	form(t, basicAuth(srv, rs.ClientID, "ghc_wrong"), "/oauth2/introspect", url.Values{"token": {user.AccessToken}}).WantError(t, http.StatusUnauthorized, "invalid_client")
}

// TestClientSecretInIDSlotNotLogged: a secret sent where the client id
// belongs (curl -u "$SECRET:$ID") never reaches the log.
func TestClientSecretInIDSlotNotLogged(t *testing.T) {
	var logs syncbuf.Buffer
	srv := apptest.Start(t, apptest.Options{Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	c := serviceClient(t, srv, "x")
	secret := c.ClientSecret
	swapped := srv.NewClient()
	swapped.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(secret+":"+c.ClientID)))
	cc := url.Values{"grant_type": {"client_credentials"}}
	form(t, swapped, "/oauth2/token", cc).WantError(t, http.StatusUnauthorized, "invalid_client")
	form(t, swapped, "/oauth2/introspect", url.Values{"token": {"x"}}).WantError(t, http.StatusUnauthorized, "invalid_client")
	form(t, swapped, "/oauth2/revoke", url.Values{"token": {"x"}}).WantError(t, http.StatusUnauthorized, "invalid_client")
	form(t, srv.NewClient(), "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {secret}, "client_secret": {c.ClientID}}).WantError(t, http.StatusUnauthorized, "invalid_client")
	// A secret with a malformed escape in the id slot.
	bad := srv.NewClient()
	bad.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(secret+"%zz:"+c.ClientID)))
	form(t, bad, "/oauth2/token", cc).WantError(t, http.StatusUnauthorized, "invalid_client")

	out := logs.String()
	if !strings.Contains(out, "invalid_client") {
		t.Fatalf("the refusals were not logged at all:\n%s", out)
	}
	// Neither the secret nor any 12-byte piece of its random part.
	random := strings.TrimPrefix(secret, "ghc_")
	for i := 0; i+12 <= len(random); i++ {
		if strings.Contains(out, random[i:i+12]) {
			t.Fatalf("the log holds part of the client secret (%q):\n%s", random[i:i+12], out)
		}
	}
}

// TestMetricsNeedAdminAndNeverCount: on the API listener /metrics is for
// administrators only, and a scrape reads a maintained gauge instead of
// counting sessions in the store.
func TestMetricsNeedAdminAndNeverCount(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u, c := srv.NewSession(t)
	srv.NewClient().Do(t, http.MethodGet, "/metrics", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	bearer(srv, tokenLogin(t, srv, u).AccessToken).Do(t, http.MethodGet, "/metrics", nil).WantError(t, http.StatusForbidden, "forbidden")
	c.Do(t, http.MethodGet, "/metrics", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")

	sessions := func() float64 {
		t.Helper()
		v, ok := metricValue(t, srv.Admin().Do(t, http.MethodGet, "/metrics", nil).WantStatus(t, http.StatusOK).Body, "gatehouse_active_sessions")
		if !ok {
			t.Fatal("no gatehouse_active_sessions")
		}
		return v
	}
	before := sessions()
	srv.NewSession(t)
	if got := sessions(); got != before {
		t.Errorf("a scrape counted the sessions: %v, then %v without a refresh", before, got)
	}
	if err := srv.App.Metrics.RefreshSessions(t.Context(), srv.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got := sessions(); got != 3 {
		t.Errorf("after a refresh gatehouse_active_sessions = %v, want 3", got)
	}
}
