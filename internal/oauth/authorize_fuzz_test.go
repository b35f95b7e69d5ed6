package oauth

import (
	"context"
	"net/url"
	"slices"
	"testing"
)

// FuzzParseRequest feeds arbitrary authorization requests to the parser.
// Whatever it accepts must name the registered client and one of its
// registered redirect URIs, carry only allowed scopes, and, for the public
// client, a PKCE challenge.
func FuzzParseRequest(f *testing.F) {
	ctx := context.Background()
	cs := newTestClients(f, ClientsConfig{})
	pub, err := cs.Register(ctx, Metadata{Name: "spa", TokenEndpointAuthMethod: AuthNone,
		GrantTypes: []string{GrantAuthorizationCode}, RedirectURIs: []string{"https://app.example/cb", "http://127.0.0.1/cb"}, Scope: "openid profile"})
	if err != nil {
		f.Fatal(err)
	}
	st := newTestStore(f)
	az := NewAuthorizer(AuthorizerConfig{Issuer: "https://id.example"}, cs, st, st, nil)
	id := pub.Client.ID
	challenge := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	f.Add("response_type=code&client_id=" + id + "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid&code_challenge=" + challenge + "&code_challenge_method=S256&state=s&nonce=n")
	f.Add("response_type=code&client_id=" + id + "&redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2Fcb&code_challenge=" + challenge + "&code_challenge_method=S256")
	f.Add("response_type=token&client_id=" + id)
	f.Add("response_type=code&client_id=" + id + "&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&code_challenge=" + challenge + "&code_challenge_method=plain")
	f.Add("prompt=none&max_age=-1&client_id=&request=x")
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		req, err := az.ParseRequest(ctx, q)
		if err != nil {
			return
		}
		if req.Client.ID != id {
			t.Fatalf("accepted a request for client %q", req.Client.ID)
		}
		if !MatchRedirectURI(pub.Client.RedirectURIs, req.RedirectURI) {
			t.Fatalf("accepted unregistered redirect URI %q", req.RedirectURI)
		}
		for _, s := range req.Scope {
			if !slices.Contains([]string{"openid", "profile"}, s) {
				t.Fatalf("accepted scope %q beyond the client's", s)
			}
		}
		if req.CodeChallenge == "" {
			t.Fatal("a public client's request was accepted without PKCE")
		}
	})
}
