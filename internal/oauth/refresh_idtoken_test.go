package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/token"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// testSigners holds one generated key per algorithm.
type testSigners map[jose.Algorithm]jose.PrivateKey

func newTestSigners(t *testing.T, algs ...jose.Algorithm) testSigners {
	t.Helper()
	s := testSigners{}
	for _, alg := range algs {
		k, err := jose.GenerateKey(alg, string(alg)+"-test")
		if err != nil {
			t.Fatal(err)
		}
		s[alg] = k
	}
	return s
}

func (s testSigners) Key(_ context.Context, kid string) (jose.PublicKey, bool) {
	for _, k := range s {
		if k.KeyID() == kid {
			return k.Public(), true
		}
	}
	return jose.PublicKey{}, false
}

func (s testSigners) Signer(alg jose.Algorithm) (jose.PrivateKey, error) {
	k, ok := s[alg]
	if !ok {
		return jose.PrivateKey{}, fmt.Errorf("no %s key", alg)
	}
	return k, nil
}

func (s testSigners) Algorithms() []jose.Algorithm {
	var out []jose.Algorithm
	for alg := range s {
		out = append(out, alg)
	}
	slices.Sort(out)
	return out
}

// extendingRefresher serves refresh tokens of several grants as
// *token.Service does: it mints the new pair, then lets the extension
// add to the response.
type extendingRefresher struct {
	grants  map[string]store.Session // by refresh token
	user    store.User
	plain   int // calls of Refresh without an extension
	extends int // calls of Refresh with one
}

func (r *extendingRefresher) Refresh(ctx context.Context, presented, clientID string, _ []string, extend token.Extend) (token.Response, error) {
	if extend == nil {
		r.plain++
	} else {
		r.extends++
	}
	g, ok := r.grants[presented]
	if !ok || g.ClientID != clientID {
		return token.Response{}, token.ErrInvalidGrant
	}
	resp := token.Response{AccessToken: "access-of-" + g.ID, TokenType: "Bearer", RefreshToken: "ghr_next", Scope: g.Scope}
	if extend != nil {
		if err := extend(ctx, g, r.user, &resp); err != nil {
			return token.Response{}, err
		}
	}
	return resp, nil
}

// TestRefreshIDToken checks the ID token of a refresh (OpenID Connect
// Core section 12.2) through the token endpoint, with the refresh grant
// linked to the code grant by NewTokenEndpoint.
func TestRefreshIDToken(t *testing.T) {
	ctx := context.Background()
	now := testNow.Add(3 * time.Hour)
	clock := func() time.Time { return now }
	keys := newTestSigners(t, jose.RS256, jose.EdDSA)
	ids := NewIDTokens(testIssuer, 0, keys, clock)
	cs := newTestClients(t, ClientsConfig{IDTokenAlgorithms: ids.Algorithms()})
	reg := func(m Metadata) Registered {
		t.Helper()
		m.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}
		m.RedirectURIs = []string{"https://app.example.com/cb"}
		m.Scope = "openid profile offline_access"
		r, err := cs.Register(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	rs := reg(Metadata{})
	ed := reg(Metadata{IDTokenSignedResponseAlg: string(jose.EdDSA)})

	// The user logged in two hours before the code was redeemed.
	authTime := testNow.Add(-2 * time.Hour).Add(456 * time.Millisecond)
	grant := func(id string, c Registered, scope string) store.Session {
		return store.Session{
			ID: id, Kind: store.KindToken, UserID: "u1", ClientID: c.Client.ID, Scope: scope,
			CreatedAt: testNow, AuthTime: authTime, AuthSessionID: "browser-1",
		}
	}
	legacy := grant("g-legacy", rs, "openid offline_access")
	legacy.AuthTime, legacy.AuthSessionID = time.Time{}, ""
	firstParty := store.Session{ID: "g-fp", Kind: store.KindToken, UserID: "u1", CreatedAt: testNow}
	r := &extendingRefresher{user: store.User{ID: "u1"}, grants: map[string]store.Session{
		"ghr_rs":     grant("g-rs", rs, "openid profile offline_access"),
		"ghr_ed":     grant("g-ed", ed, "openid offline_access"),
		"ghr_oauth":  grant("g-oauth", rs, "profile offline_access"),
		"ghr_legacy": legacy,
		"ghr_fp":     firstParty,
	}}
	e, err := NewTokenEndpoint(testIssuer, cs,
		NewAuthorizationCodeGrant(nil, nil, nil, nil, ids, clock), NewRefreshGrant(r))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		cr      Credentials
		refresh string
		// wantAlg is the ID token's algorithm; empty for no ID token.
		wantAlg jose.Algorithm
	}{
		{"openid grant, RS256 by default", basicOf(rs), "ghr_rs", jose.RS256},
		{"openid grant, the client's registered algorithm", basicOf(ed), "ghr_ed", jose.EdDSA},
		{"grant without openid", basicOf(rs), "ghr_oauth", ""},
		{"openid grant stored before its auth time was kept", basicOf(rs), "ghr_legacy", ""},
		{"first-party grant", Credentials{}, "ghr_fp", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.Token(ctx, tt.cr, url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {tt.refresh}})
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if tt.wantAlg == "" {
				if resp.IDToken != "" {
					t.Fatalf("id_token %s, want none", resp.IDToken)
				}
				return
			}
			g := r.grants[tt.refresh]
			tok, err := (&jose.Verifier{Keys: keys}).Verify(t.Context(), resp.IDToken)
			if err != nil {
				t.Fatalf("verify id_token: %v", err)
			}
			if tok.Header.Algorithm != tt.wantAlg || tok.Header.Type != IDTokenType {
				t.Errorf("header alg %s typ %s, want %s %s", tok.Header.Algorithm, tok.Header.Type, tt.wantAlg, IDTokenType)
			}
			var c map[string]any
			if err := json.Unmarshal(tok.Payload, &c); err != nil {
				t.Fatal(err)
			}
			atHash, err := TokenHash(tt.wantAlg, resp.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"iss": testIssuer, "sub": "u1", "aud": []any{g.ClientID}, "azp": g.ClientID,
				"iat": float64(now.Unix()), "exp": float64(now.Add(DefaultIDTokenTTL).Unix()),
				"auth_time": float64(authTime.Unix()), "acr": "urn:gatehouse:acr:1fa", "amr": []any{"pwd"},
				"sid": "browser-1", "at_hash": atHash,
			}
			for k, v := range want {
				if got, _ := json.Marshal(c[k]); string(got) != mustJSON(t, v) {
					t.Errorf("%s = %s, want %s", k, got, mustJSON(t, v))
				}
			}
			for k := range c {
				if _, ok := want[k]; !ok {
					// nonce above all: section 12.2 says SHOULD NOT.
					t.Errorf("unexpected claim %s = %v", k, c[k])
				}
			}
			hint, err := ids.VerifyHint(t.Context(), resp.IDToken)
			if err != nil || hint.SessionID != "browser-1" || hint.ClientID != g.ClientID {
				t.Errorf("VerifyHint = %+v, %v", hint, err)
			}
		})
	}
	if r.plain != 1 || r.extends != 4 {
		t.Errorf("Refresh called %d times without an extension, %d with; want 1 (first party) and 4", r.plain, r.extends)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRefreshGrantWithoutCodeGrant checks that a refresh grant served
// without a code grant issues no ID tokens and needs no signer.
func TestRefreshGrantWithoutCodeGrant(t *testing.T) {
	r := &extendingRefresher{user: store.User{ID: "u1"}, grants: map[string]store.Session{
		"ghr_a": {ID: "g1", ClientID: "c1", Scope: "openid", AuthTime: testNow},
	}}
	e, err := NewTokenEndpoint(testIssuer, nil, NewRefreshGrant(r))
	if err != nil {
		t.Fatal(err)
	}
	if g := e.grants[GrantRefreshToken].(*RefreshGrant); g.ids != nil {
		t.Errorf("refresh grant without a code grant has an ID-token signer")
	}
}
