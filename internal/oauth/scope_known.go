package oauth

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// implementedScopes are the OpenID Connect scopes this server implements.
var implementedScopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess}

// dropUnknownScopes returns scope without the values this server does not
// know, for the authorization endpoint: OpenID Connect Core section
// 3.1.2.1 says scope values "not understood by an implementation SHOULD be
// ignored". A scope is known if the client may request it, if it is one
// of implementedScopes or a service scope (gatehouse:…, refused later), or
// if any registered client may request it. Known scopes stay, so that one
// the client is not allowed is still refused with invalid_scope. The
// registry's scopes are read only when a scope is neither the client's
// nor standard, and then from a cache (registeredScopes), so requests
// with made-up scopes cannot make every /authorize read all clients.
func (a *Authorizer) dropUnknownScopes(ctx context.Context, cl store.Client, scope []string) ([]string, error) {
	ownOrStandard := func(s string) bool {
		return slices.Contains(cl.Scopes, s) || slices.Contains(implementedScopes, s) || IsServiceScope(s)
	}
	if !slices.ContainsFunc(scope, func(s string) bool { return !ownOrStandard(s) }) {
		return scope, nil
	}
	registered, err := a.registeredScopes(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range scope {
		if ownOrStandard(s) || registered[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// scopeRegistry is the cached union of every registered client's scopes.
type scopeRegistry struct {
	mu      sync.Mutex
	scopes  map[string]bool
	expires time.Time
}

// registeredScopes returns the scopes any registered client may request,
// read from the store at most once per DefaultClientCacheTTL: a scope
// registered since shows within that time, until when it counts as
// unknown (ignored, not refused). Concurrent callers wait for one read.
func (a *Authorizer) registeredScopes(ctx context.Context) (map[string]bool, error) {
	r := &a.registry
	r.mu.Lock()
	defer r.mu.Unlock()
	now := a.now()
	if r.scopes != nil && now.Before(r.expires) {
		return r.scopes, nil
	}
	clients, err := a.clients.List(ctx)
	if err != nil {
		return nil, err
	}
	scopes := make(map[string]bool)
	for _, c := range clients {
		for _, s := range c.Scopes {
			scopes[s] = true
		}
	}
	r.scopes, r.expires = scopes, now.Add(DefaultClientCacheTTL)
	return scopes, nil
}
