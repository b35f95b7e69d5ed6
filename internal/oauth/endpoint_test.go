package oauth

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/token"
)

const testIssuer = "https://auth.example.com"

// fakeMinter records what it is asked to mint.
type fakeMinter struct{ specs []token.MintSpec }

func (m *fakeMinter) Mint(spec token.MintSpec) (string, time.Time, error) {
	m.specs = append(m.specs, spec)
	return "jwt", testNow.Add(5 * time.Minute), nil
}

// fakeRefresher serves one refresh token of a grant.
type fakeRefresher struct {
	token string
	grant store.Session
	calls int
}

func (r *fakeRefresher) Refresh(_ context.Context, presented, clientID string, scope []string, _ token.Extend) (token.Response, error) {
	r.calls++
	if presented != r.token || clientID != r.grant.ClientID {
		return token.Response{}, token.ErrInvalidGrant
	}
	granted := strings.Fields(r.grant.Scope)
	for _, s := range scope {
		if !slices.Contains(granted, s) {
			return token.Response{}, token.ErrScopeChanged
		}
	}
	for _, s := range granted {
		if scope != nil && !slices.Contains(scope, s) {
			return token.Response{}, token.ErrScopeChanged
		}
	}
	return token.Response{AccessToken: "new", TokenType: "Bearer", RefreshToken: "ghr_next", Scope: r.grant.Scope}, nil
}

// endpointWorld is a token endpoint with the two grants, over a real
// client registry, and three clients.
type endpointWorld struct {
	e                     *TokenEndpoint
	minter                *fakeMinter
	refresher             *fakeRefresher
	svc, aud, web, public Registered
}

func newEndpointWorld(t *testing.T) *endpointWorld {
	t.Helper()
	ctx := context.Background()
	cs := newTestClients(t, ClientsConfig{})
	w := &endpointWorld{minter: &fakeMinter{}}
	reg := func(m Metadata) Registered {
		t.Helper()
		r, err := cs.Register(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	w.svc = reg(Metadata{GrantTypes: []string{GrantClientCredentials}, Scope: "read write"})
	w.aud = reg(Metadata{GrantTypes: []string{GrantClientCredentials}, Scope: "read", Audience: []string{"https://api.example.com", "urn:billing"}, TokenEndpointAuthMethod: AuthClientSecretPost})
	w.web = reg(Metadata{GrantTypes: []string{GrantAuthorizationCode, GrantRefreshToken}, RedirectURIs: []string{"https://app.example.com/cb"}, Scope: "openid profile"})
	w.public = reg(Metadata{GrantTypes: []string{GrantAuthorizationCode}, RedirectURIs: []string{"http://127.0.0.1/cb"}, TokenEndpointAuthMethod: AuthNone})
	w.refresher = &fakeRefresher{token: "ghr_web", grant: store.Session{ID: "g1", ClientID: w.web.Client.ID, Scope: "openid profile"}}
	var err error
	w.e, err = NewTokenEndpoint(testIssuer, cs, NewClientCredentialsGrant(w.minter, func() time.Time { return testNow }), NewRefreshGrant(w.refresher))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func basicOf(r Registered) Credentials {
	return Credentials{Method: AuthClientSecretBasic, ClientID: r.Client.ID, Secret: r.Secret}
}

func TestTokenEndpointChecks(t *testing.T) {
	w := newEndpointWorld(t)
	cc := func(extra ...string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	tests := []struct {
		name string
		cr   Credentials
		form url.Values
		want *Error
	}{
		{"no grant type", basicOf(w.svc), url.Values{}, ErrInvalidRequest},
		{"unknown grant type", basicOf(w.svc), url.Values{"grant_type": {"password"}}, ErrUnsupportedGrantType},
		{"authorization code is not served yet", basicOf(w.web), url.Values{"grant_type": {"authorization_code"}}, ErrUnsupportedGrantType},
		{"client credentials without a client", Credentials{}, cc(), ErrInvalidClient},
		{"wrong secret", Credentials{AuthClientSecretBasic, w.svc.Client.ID, "ghc_wrong"}, cc(), ErrInvalidClient},
		{"post for a basic client", Credentials{AuthClientSecretPost, w.svc.Client.ID, w.svc.Secret}, cc(), ErrInvalidClient},
		{"grant type not registered", basicOf(w.web), cc(), ErrUnauthorizedClient},
		{"public client", Credentials{AuthNone, w.public.Client.ID, ""}, cc(), ErrUnauthorizedClient},
		{"scope escalation", basicOf(w.svc), cc("scope", "read admin"), ErrInvalidScope},
		{"malformed scope", basicOf(w.svc), cc("scope", `read "x"`), ErrInvalidScope},
		{"audience escalation", Credentials{AuthClientSecretPost, w.aud.Client.ID, w.aud.Secret}, cc("audience", "https://api.example.com https://other.example.com"), ErrInvalidTarget},
		{"issuer not allowed when audiences registered", Credentials{AuthClientSecretPost, w.aud.Client.ID, w.aud.Secret}, cc("audience", testIssuer), ErrInvalidTarget},
		{"other audience for an issuer-only client", basicOf(w.svc), cc("audience", "https://api.example.com"), ErrInvalidTarget},
		{"first-party scope", Credentials{}, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"ghr_x"}, "scope": {"openid"}}, ErrInvalidScope},
		{"first-party audience", Credentials{}, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"ghr_x"}, "audience": {"x"}}, ErrInvalidTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.e.Token(context.Background(), tt.cr, tt.form)
			var oe *Error
			if !errors.As(err, &oe) || !errors.Is(err, tt.want) {
				t.Fatalf("Token = %v, want %s", err, tt.want.Code)
			}
			if oe.Description == "" || oe.Status != tt.want.Status {
				t.Errorf("answer %+v lacks a description or has the wrong status", oe)
			}
		})
	}
	if len(w.minter.specs) != 0 || w.refresher.calls != 0 {
		t.Errorf("a refused request reached a grant: %d mints, %d refreshes", len(w.minter.specs), w.refresher.calls)
	}
}

func TestClientCredentialsGrant(t *testing.T) {
	w := newEndpointWorld(t)
	ctx := context.Background()
	post := Credentials{AuthClientSecretPost, w.aud.Client.ID, w.aud.Secret}
	tests := []struct {
		name      string
		cr        Credentials
		form      url.Values
		wantScope string
		wantAud   []string
	}{
		{"defaults: every scope, the issuer", basicOf(w.svc), url.Values{}, "read write", []string{testIssuer}},
		{"narrower scope", basicOf(w.svc), url.Values{"scope": {"write"}}, "write", []string{testIssuer}},
		{"issuer asked for", basicOf(w.svc), url.Values{"audience": {testIssuer}}, "read write", []string{testIssuer}},
		{"defaults: every registered audience", post, url.Values{}, "read", []string{"https://api.example.com", "urn:billing"}},
		{"one audience", post, url.Values{"audience": {"urn:billing"}}, "read", []string{"urn:billing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("grant_type", "client_credentials")
			n := len(w.minter.specs)
			resp, err := w.e.Token(ctx, tt.cr, tt.form)
			if err != nil {
				t.Fatal(err)
			}
			if resp.AccessToken != "jwt" || resp.TokenType != "Bearer" || resp.ExpiresIn != 300 || resp.RefreshToken != "" || resp.Scope != tt.wantScope {
				t.Errorf("response = %+v", resp)
			}
			spec := w.minter.specs[n]
			if spec.Subject != tt.cr.ClientID || spec.ClientID != tt.cr.ClientID || spec.SessionID != "" ||
				spec.Scope != tt.wantScope || !slices.Equal(spec.Audience, tt.wantAud) || spec.Custom != nil {
				t.Errorf("minted %+v, want sub and client_id %s, no sid, scope %q, aud %v", spec, tt.cr.ClientID, tt.wantScope, tt.wantAud)
			}
		})
	}
}

func TestRefreshGrant(t *testing.T) {
	w := newEndpointWorld(t)
	ctx := context.Background()
	rf := func(extra ...string) url.Values {
		v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"ghr_web"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	for name, form := range map[string]url.Values{
		"no scope":         rf(),
		"the same scope":   rf("scope", "profile openid"),
		"repeated members": rf("scope", "openid profile openid"),
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := w.e.Token(ctx, basicOf(w.web), form)
			if err != nil || resp.AccessToken != "new" {
				t.Fatalf("Token = %+v, %v", resp, err)
			}
		})
	}
	failures := []struct {
		name string
		cr   Credentials
		form url.Values
		want *Error
	}{
		{"missing token", basicOf(w.web), url.Values{"grant_type": {"refresh_token"}}, ErrInvalidRequest},
		{"narrower scope", basicOf(w.web), rf("scope", "openid"), ErrInvalidScope},
		{"audience", basicOf(w.web), rf("audience", testIssuer), ErrInvalidTarget},
		{"first party presenting a client's token", Credentials{}, rf(), ErrInvalidGrant},
		{"unknown token", basicOf(w.web), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"ghr_other"}}, ErrInvalidGrant},
		{"unknown token with scope", basicOf(w.web), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"ghr_other"}, "scope": {"openid"}}, ErrInvalidGrant},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.e.Token(ctx, tt.cr, tt.form)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Token = %v, want %s", err, tt.want.Code)
			}
		})
	}
}

func TestNewTokenEndpointRefusesDuplicates(t *testing.T) {
	m := &fakeMinter{}
	if _, err := NewTokenEndpoint(testIssuer, nil, NewClientCredentialsGrant(m, nil), NewClientCredentialsGrant(m, nil)); err == nil {
		t.Error("two client_credentials grants were accepted")
	}
	e, err := NewTokenEndpoint(testIssuer, nil, NewRefreshGrant(&fakeRefresher{}), NewClientCredentialsGrant(m, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.GrantTypes(); !slices.Equal(got, []string{"refresh_token", "client_credentials"}) {
		t.Errorf("GrantTypes = %v", got)
	}
	// Without a registry no client can authenticate.
	_, err = e.Token(context.Background(), Credentials{AuthNone, "c", ""}, url.Values{"grant_type": {"refresh_token"}})
	if !errors.Is(err, ErrInvalidClient) {
		t.Errorf("Token without a registry = %v, want invalid_client", err)
	}
}

func TestErrorMatching(t *testing.T) {
	cause := errors.New("disk on fire")
	err := ErrInvalidGrant.WithDescription("custom").WithCause(cause)
	if !errors.Is(err, ErrInvalidGrant) || errors.Is(err, ErrInvalidClient) || !errors.Is(err, cause) {
		t.Errorf("errors.Is does not match by code and cause: %v", err)
	}
	if ErrInvalidGrant.Description == "custom" {
		t.Error("WithDescription changed the sentinel")
	}
	var me error = &MetadataError{Field: "scope", Reason: "bad"}
	if !errors.Is(me, ErrInvalidMetadata) || me.Error() != "oauth: invalid client metadata: scope: bad" {
		t.Errorf("MetadataError = %q", me)
	}
}
