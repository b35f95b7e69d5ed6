package oauth

import (
	"context"
	"slices"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// implementedScopes are the OpenID Connect scopes this server implements.
var implementedScopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess}

// dropUnknownScopes returns scope without the values this server does not
// know, for the authorization endpoint: OpenID Connect Core section
// 3.1.2.1 says scope values "not understood by an implementation SHOULD be
// ignored". A scope is known if the client may request it, if it is one
// of implementedScopes or a service scope (gatehouse:…, refused later), or if any registered
// client may request it. Known scopes stay, so that one the client is not
// allowed is still refused with invalid_scope. The registry is read only
// when a scope is neither the client's nor standard.
func (a *Authorizer) dropUnknownScopes(ctx context.Context, cl store.Client, scope []string) ([]string, error) {
	ownOrStandard := func(s string) bool {
		return slices.Contains(cl.Scopes, s) || slices.Contains(implementedScopes, s) || IsServiceScope(s)
	}
	if !slices.ContainsFunc(scope, func(s string) bool { return !ownOrStandard(s) }) {
		return scope, nil
	}
	clients, err := a.clients.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range scope {
		if ownOrStandard(s) || slices.ContainsFunc(clients, func(c store.Client) bool { return slices.Contains(c.Scopes, s) }) {
			out = append(out, s)
		}
	}
	return out, nil
}
