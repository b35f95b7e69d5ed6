package oauth

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// listCountingStore counts ListClients calls.
type listCountingStore struct {
	store.ClientStore
	lists atomic.Int64
}

func (s *listCountingStore) ListClients(ctx context.Context) ([]store.Client, error) {
	s.lists.Add(1)
	return s.ClientStore.ListClients(ctx)
}

// TestUnknownScopesReadTheRegistryOnce: requests with made-up scopes read
// the client registry at most once per cache lifetime, not on every
// /authorize; a scope registered since counts once the cache expires.
func TestUnknownScopesReadTheRegistryOnce(t *testing.T) {
	st := newTestStore(t)
	counting := &listCountingStore{ClientStore: st}
	now := testNow
	clock := func() time.Time { return now }
	cs := NewClients(counting, ClientsConfig{}, clock)
	az := NewAuthorizer(AuthorizerConfig{Issuer: "https://id.example"}, cs, st, st, clock)
	ctx := t.Context()
	if _, err := cs.Register(ctx, Metadata{GrantTypes: []string{GrantClientCredentials}, Scope: "reports:read"}); err != nil {
		t.Fatal(err)
	}
	rp := store.Client{ID: "rp", Scopes: []string{ScopeOpenID}}
	for i := range 100 {
		got, err := az.dropUnknownScopes(ctx, rp, []string{ScopeOpenID, "made-up-" + string(rune('a'+i%26)), "reports:read"})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{ScopeOpenID, "reports:read"}; !slices.Equal(got, want) {
			t.Fatalf("dropUnknownScopes = %v, want %v", got, want)
		}
	}
	if n := counting.lists.Load(); n != 1 {
		t.Fatalf("the registry was read %d times for 100 requests, want once", n)
	}

	if _, err := cs.Register(ctx, Metadata{GrantTypes: []string{GrantClientCredentials}, Scope: "late:scope"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(DefaultClientCacheTTL)
	got, err := az.dropUnknownScopes(ctx, rp, []string{"late:scope"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"late:scope"}) {
		t.Errorf("after the cache expired, dropUnknownScopes = %v, want the newly registered scope kept", got)
	}
}
