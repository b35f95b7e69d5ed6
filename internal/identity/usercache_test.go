package identity_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// countingUsers counts GetUser reads and can run a hook inside one.
type countingUsers struct {
	store.UserStore
	mu     sync.Mutex
	reads  int
	during func() // runs once inside the next GetUser, after the read
}

func (c *countingUsers) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := c.UserStore.GetUser(ctx, id)
	c.mu.Lock()
	c.reads++
	hook := c.during
	c.during = nil
	c.mu.Unlock()
	if hook != nil {
		hook()
	}
	return u, err
}

func (c *countingUsers) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

func TestCachedUser(t *testing.T) {
	ctx := t.Context()
	clk := clocktest.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	users := &countingUsers{UserStore: newUsers(t)}
	hasher := &fakeHasher{}
	cfg := identity.Config{UserCacheTTL: 5 * time.Second, UserCacheSize: 2}
	svc := identity.NewService(users, hasher, cfg, nil, clk.Now)
	// other is another instance over the same database.
	other := identity.NewService(users, hasher, cfg, nil, clk.Now)
	u, err := svc.CreateUser(ctx, identity.NewUser{Email: "cache@example.com", Password: "password1", Claims: map[string]any{"tier": "gold"}})
	if err != nil {
		t.Fatal(err)
	}

	read := func(want int, wantClaim string) store.User {
		t.Helper()
		before := users.count()
		got, err := svc.CachedUser(ctx, u.ID)
		if err != nil {
			t.Fatalf("CachedUser: %v", err)
		}
		if n := users.count() - before; n != want {
			t.Errorf("CachedUser read the store %d times, want %d", n, want)
		}
		if got.Claims["tier"] != wantClaim {
			t.Errorf("claims tier = %v, want %q", got.Claims["tier"], wantClaim)
		}
		if got.PasswordHash != "" {
			t.Error("CachedUser returned a password hash")
		}
		return got
	}
	read(1, "gold")
	read(0, "gold")

	// A change on another instance shows after the TTL, or at once after
	// Forget (the revocation log's user-wide events).
	if _, err := other.UpdateUser(ctx, u.ID, identity.UserUpdate{Claims: map[string]any{"tier": "silver"}}); err != nil {
		t.Fatal(err)
	}
	read(0, "gold")
	clk.Advance(5 * time.Second)
	read(1, "silver")
	if _, err := other.UpdateUser(ctx, u.ID, identity.UserUpdate{Claims: map[string]any{"tier": "bronze"}}); err != nil {
		t.Fatal(err)
	}
	svc.Forget(u.ID)
	read(1, "bronze")

	// A change on this instance shows at once.
	if _, err := svc.UpdateUser(ctx, u.ID, identity.UserUpdate{Claims: map[string]any{"tier": "iron"}}); err != nil {
		t.Fatal(err)
	}
	read(1, "iron")
	read(0, "iron")

	// A read that was in flight when the user was forgotten is not cached:
	// it may hold the record from before the change.
	svc.Forget(u.ID)
	users.during = func() { svc.Forget(u.ID) }
	read(1, "iron")
	read(1, "iron")
	read(0, "iron")

	// The size bound: with room for two, three users cannot all stay.
	var ids []string
	for _, e := range []string{"a@example.com", "b@example.com"} {
		v, err := svc.CreateUser(ctx, identity.NewUser{Email: e, Password: "password1"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	ids = append(ids, u.ID)
	for _, id := range ids {
		if _, err := svc.CachedUser(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	before := users.count()
	for _, id := range ids {
		if _, err := svc.CachedUser(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if users.count() == before {
		t.Error("three users served from a cache bounded to two")
	}

	// A delete on this instance shows at once.
	if err := svc.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CachedUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CachedUser after delete = %v, want ErrNotFound", err)
	}
}

func TestCachedUserOff(t *testing.T) {
	users := &countingUsers{UserStore: newUsers(t)}
	svc := identity.NewService(users, &fakeHasher{}, identity.Config{}, nil, nil)
	u, err := svc.CreateUser(t.Context(), identity.NewUser{Email: "off@example.com", Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := svc.CachedUser(t.Context(), u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := users.count(); n != 3 {
		t.Errorf("with the cache off, 3 reads hit the store %d times", n)
	}
}
