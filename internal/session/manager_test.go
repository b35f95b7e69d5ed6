package session_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
)

// countingStore is a real SQLite session store that counts the calls the
// manager's cache and touch logic are meant to save.
type countingStore struct {
	store.SessionStore
	touches, lookups atomic.Int64
}

func (s *countingStore) TouchSession(ctx context.Context, id string, lastSeen, idle time.Time) error {
	s.touches.Add(1)
	return s.SessionStore.TouchSession(ctx, id, lastSeen, idle)
}

func (s *countingStore) GetSessionBySecretHash(ctx context.Context, hash []byte) (store.Session, error) {
	s.lookups.Add(1)
	return s.SessionStore.GetSessionBySecretHash(ctx, hash)
}

func newStore(t testing.TB) *countingStore {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return &countingStore{SessionStore: st}
}

var start = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newManager(t testing.TB, cfg session.Config) (*session.Manager, *countingStore, *clocktest.Clock) {
	t.Helper()
	st := newStore(t)
	clk := clocktest.New(start)
	return session.NewManager(st, cfg, nil, clk.Now), st, clk
}

func create(t testing.TB, m *session.Manager, userID string) session.Created {
	t.Helper()
	c, err := m.CreateCookie(t.Context(), userID, session.ClientInfo{UserAgent: "test", IP: "192.0.2.1"})
	if err != nil {
		t.Fatalf("CreateCookie: %v", err)
	}
	return c
}

func alive(t *testing.T, m *session.Manager, secret string) bool {
	t.Helper()
	_, err := m.AuthenticateCookie(t.Context(), secret)
	if err != nil && !errors.Is(err, session.ErrInvalid) {
		t.Fatalf("AuthenticateCookie: %v, want nil or ErrInvalid", err)
	}
	return err == nil
}

func TestDefaults(t *testing.T) {
	m, _, _ := newManager(t, session.Config{})
	got := m.Config()
	if got.IdleTimeout != 30*time.Minute || got.Lifetime != 12*time.Hour || got.TouchInterval != time.Minute ||
		got.GrantIdleTimeout != 30*24*time.Hour || got.GrantLifetime != 90*24*time.Hour || got.CacheSize != 100_000 {
		t.Errorf("defaults = %+v", got)
	}
}

func TestCreateCookie(t *testing.T) {
	m, st, clk := newManager(t, session.Config{IdleTimeout: 10 * time.Minute, Lifetime: time.Hour})
	seen := map[string]bool{}
	for range 50 {
		c := create(t, m, "u1")
		if !session.ValidSecretSyntax(c.Secret) {
			t.Fatalf("secret %q does not pass ValidSecretSyntax", c.Secret)
		}
		if raw, err := base64.RawURLEncoding.DecodeString(c.Secret); err != nil || len(raw) != 32 {
			t.Fatalf("secret %q: want 32 bytes in base64url", c.Secret)
		}
		if seen[c.Secret] || seen[c.Session.ID] {
			t.Fatalf("secret or id repeated")
		}
		seen[c.Secret], seen[c.Session.ID] = true, true
		if c.Session.ID == c.Secret {
			t.Fatal("the public id is the secret")
		}
		stored, err := st.GetSession(t.Context(), c.Session.ID)
		if err != nil {
			t.Fatal(err)
		}
		h := session.HashSecret(c.Secret)
		if string(stored.SecretHash) != string(h[:]) {
			t.Errorf("stored hash %x, want HashSecret(secret) %x", stored.SecretHash, h)
		}
		now := clk.Now()
		if stored.Kind != store.KindCookie || stored.UserID != "u1" || !stored.CreatedAt.Equal(now) || !stored.LastSeenAt.Equal(now) ||
			!stored.ExpiresAt.Equal(now.Add(time.Hour)) || !stored.IdleExpiresAt.Equal(now.Add(10*time.Minute)) ||
			stored.UserAgent != "test" || stored.IP != "192.0.2.1" || string(stored.Data) != "{}" {
			t.Errorf("stored %+v", stored)
		}
	}
}

func TestCreateCookieCapsUserAgent(t *testing.T) {
	m, _, _ := newManager(t, session.Config{})
	ua := string(make([]byte, 5000))
	c, err := m.CreateCookie(t.Context(), "u", session.ClientInfo{UserAgent: ua})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.Session.UserAgent); n == 0 || n > 1024 {
		t.Errorf("stored User-Agent of %d bytes", n)
	}
}

// TestTimeouts moves the clock through sequences of uses and checks
// whether the session is alive at the end. The idle timeout is 10 minutes,
// the lifetime one hour, the touch interval one minute.
func TestTimeouts(t *testing.T) {
	cases := []struct {
		name string
		// uses are the gaps between successive authentications after
		// login; the last one decides.
		uses  []time.Duration
		alive bool
	}{
		{"fresh", []time.Duration{0}, true},
		{"just before idle", []time.Duration{10*time.Minute - time.Millisecond}, true},
		{"at idle", []time.Duration{10 * time.Minute}, false},
		{"long after idle", []time.Duration{5 * time.Hour}, false},
		{"kept alive past idle", []time.Duration{9 * time.Minute, 9 * time.Minute, 9 * time.Minute}, true},
		{"idle after being kept alive", []time.Duration{9 * time.Minute, 9 * time.Minute, 10 * time.Minute}, false},
		// A use less than a touch interval after the last write is not
		// written, so the idle clock runs from the write (documented).
		{"unwritten use does not extend", []time.Duration{5 * time.Minute, 30 * time.Second, 9*time.Minute + 31*time.Second}, false},
		{"written use extends", []time.Duration{5 * time.Minute, time.Minute, 10*time.Minute - time.Millisecond}, true},
		{"kept busy until the lifetime", repeat(6*time.Minute, 10), false}, // 10 × 6m = 1h
		{"kept busy just short of the lifetime", append(repeat(6*time.Minute, 9), 6*time.Minute-time.Millisecond), true},
		{"kept busy past the lifetime", append(repeat(6*time.Minute, 9), 7*time.Minute), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, _, clk := newManager(t, session.Config{IdleTimeout: 10 * time.Minute, Lifetime: time.Hour})
			c := create(t, m, "u")
			var got bool
			for i, d := range tc.uses {
				clk.Advance(d)
				got = alive(t, m, c.Secret)
				if !got && i < len(tc.uses)-1 {
					t.Fatalf("dead after use %d", i)
				}
			}
			if got != tc.alive {
				t.Errorf("alive = %v, want %v", got, tc.alive)
			}
			// A dead session stays dead, and is not in the list.
			if !got {
				clk.Advance(time.Second)
				if alive(t, m, c.Secret) {
					t.Error("came back to life")
				}
				if l, _ := m.List(t.Context(), "u"); len(l) != 0 {
					t.Errorf("List shows the dead session: %+v", l)
				}
				if _, err := m.Get(t.Context(), c.Session.ID); !errors.Is(err, session.ErrInvalid) {
					t.Errorf("Get of a dead session: %v, want ErrInvalid", err)
				}
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestTouchInterval(t *testing.T) {
	m, st, clk := newManager(t, session.Config{IdleTimeout: time.Hour, Lifetime: 24 * time.Hour, TouchInterval: time.Minute})
	c := create(t, m, "u")
	steps := []struct {
		advance     time.Duration
		wantTouches int64
		lastSeen    time.Duration // since login
	}{
		{0, 0, 0},
		{30 * time.Second, 0, 0},
		{29*time.Second + 999*time.Millisecond, 0, 0},
		{time.Millisecond, 1, time.Minute},
		{time.Millisecond, 1, time.Minute},
		{59 * time.Second, 1, time.Minute},
		{time.Second, 2, 2*time.Minute + time.Millisecond},
		{45 * time.Minute, 3, 47*time.Minute + time.Millisecond},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		got, err := m.AuthenticateCookie(t.Context(), c.Secret)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if n := st.touches.Load(); n != s.wantTouches {
			t.Errorf("step %d: %d store touches, want %d", i, n, s.wantTouches)
		}
		want := start.Add(s.lastSeen)
		if !got.LastSeenAt.Equal(want) || !got.IdleExpiresAt.Equal(want.Add(time.Hour)) {
			t.Errorf("step %d: last seen %v, idle expiry %v; want %v, %v", i, got.LastSeenAt, got.IdleExpiresAt, want, want.Add(time.Hour))
		}
		stored, err := st.GetSession(t.Context(), c.Session.ID)
		if err != nil || !stored.LastSeenAt.Equal(want) {
			t.Errorf("step %d: stored last seen %v (err %v), want %v", i, stored.LastSeenAt, err, want)
		}
	}
	// All of it was served from the cache.
	if n := st.lookups.Load(); n != 0 {
		t.Errorf("%d store lookups by hash, want 0 (the cache holds the session)", n)
	}
}

func TestCacheInvalidation(t *testing.T) {
	t.Run("revoke", func(t *testing.T) {
		m, _, _ := newManager(t, session.Config{})
		c := create(t, m, "u")
		if !alive(t, m, c.Secret) {
			t.Fatal("new session dead")
		}
		if err := m.Revoke(t.Context(), "u", c.Session.ID, "revoked"); err != nil {
			t.Fatal(err)
		}
		if alive(t, m, c.Secret) {
			t.Error("revoked session still authenticates (stale cache)")
		}
		if err := m.Revoke(t.Context(), "u", c.Session.ID, "revoked"); !errors.Is(err, session.ErrInvalid) {
			t.Errorf("second Revoke: %v, want ErrInvalid", err)
		}
	})
	t.Run("revoked behind the manager's back", func(t *testing.T) {
		// Another instance deletes the record: this one's cache serves it
		// until Forget (the revocation feed) or the next touch.
		m, st, clk := newManager(t, session.Config{})
		c := create(t, m, "u")
		if err := st.DeleteSession(t.Context(), c.Session.ID); err != nil {
			t.Fatal(err)
		}
		if !alive(t, m, c.Secret) {
			t.Fatal("want the cached entry to answer; is the cache in use?")
		}
		m.Forget(c.Session.ID)
		if alive(t, m, c.Secret) {
			t.Error("alive after Forget")
		}

		d := create(t, m, "u")
		if err := st.DeleteSession(t.Context(), d.Session.ID); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute) // the next use writes last-seen, and finds it gone
		if alive(t, m, d.Secret) {
			t.Error("alive after a touch found it deleted")
		}
		clk.Advance(-time.Minute)
		if alive(t, m, d.Secret) {
			t.Error("the failed touch left it in the cache")
		}
	})
	t.Run("forget user", func(t *testing.T) {
		m, st, _ := newManager(t, session.Config{})
		a, b, other := create(t, m, "u"), create(t, m, "u"), create(t, m, "v")
		for _, c := range []session.Created{a, b, other} {
			if err := st.DeleteSession(t.Context(), c.Session.ID); err != nil {
				t.Fatal(err)
			}
		}
		m.ForgetUser("u")
		if alive(t, m, a.Secret) || alive(t, m, b.Secret) {
			t.Error("ForgetUser left the user's sessions cached")
		}
		if !alive(t, m, other.Secret) {
			t.Error("ForgetUser dropped another user's session")
		}
	})
	t.Run("disabled cache", func(t *testing.T) {
		m, st, _ := newManager(t, session.Config{CacheSize: -1})
		c := create(t, m, "u")
		for range 3 {
			if !alive(t, m, c.Secret) {
				t.Fatal("dead")
			}
		}
		if n := st.lookups.Load(); n != 3 {
			t.Errorf("%d lookups with the cache off, want 3", n)
		}
		if err := st.DeleteSession(t.Context(), c.Session.ID); err != nil {
			t.Fatal(err)
		}
		if alive(t, m, c.Secret) {
			t.Error("alive after deletion with the cache off")
		}
	})
	t.Run("bounded cache", func(t *testing.T) {
		m, st, _ := newManager(t, session.Config{CacheSize: 2})
		var all []session.Created
		for range 6 {
			all = append(all, create(t, m, "u"))
		}
		for _, c := range all {
			if !alive(t, m, c.Secret) {
				t.Fatal("an evicted session does not authenticate from the store")
			}
		}
		if n := st.lookups.Load(); n < 4 {
			t.Errorf("%d store lookups for 6 sessions in a cache of 2; want at least 4", n)
		}
	})
}

func TestRevokeUser(t *testing.T) {
	var (
		mu          sync.Mutex
		revoked     []string
		userRevokes []string
	)
	st := newStore(t)
	clk := clocktest.New(start)
	m := session.NewManager(st, session.Config{
		OnRevoke: func(_ context.Context, ss []store.Session) {
			mu.Lock()
			defer mu.Unlock()
			for _, s := range ss {
				revoked = append(revoked, s.ID)
			}
		},
		OnRevokeUser: func(_ context.Context, userID string) error {
			mu.Lock()
			defer mu.Unlock()
			userRevokes = append(userRevokes, userID)
			return nil
		},
	}, nil, clk.Now)
	a, b, c := create(t, m, "u"), create(t, m, "u"), create(t, m, "u")
	grant, err := m.CreateGrant(t.Context(), session.GrantSpec{UserID: "u", Scope: "openid"})
	if err != nil {
		t.Fatal(err)
	}
	other := create(t, m, "v")
	for _, s := range []session.Created{a, b, c, other} {
		alive(t, m, s.Secret) // warm the cache
	}

	n, err := m.RevokeUser(t.Context(), "u", b.Session.ID, "revoked")
	if err != nil || n != 3 {
		t.Fatalf("RevokeUser = %d, %v; want 3 (two cookies and the grant)", n, err)
	}
	for _, s := range []session.Created{a, c} {
		if alive(t, m, s.Secret) {
			t.Errorf("session %s survived RevokeUser", s.Session.ID)
		}
	}
	if !alive(t, m, b.Secret) {
		t.Error("RevokeUser ended the excepted session")
	}
	if !alive(t, m, other.Secret) {
		t.Error("RevokeUser ended another user's session")
	}
	if _, err := m.Get(t.Context(), grant.ID); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("the grant survived: %v", err)
	}
	mu.Lock()
	slices.Sort(revoked)
	want := []string{a.Session.ID, c.Session.ID, grant.ID}
	slices.Sort(want)
	if !slices.Equal(revoked, want) {
		t.Errorf("OnRevoke got %v, want %v", revoked, want)
	}
	if len(userRevokes) != 0 {
		t.Errorf("OnRevokeUser called for a revocation with an exception: %v", userRevokes)
	}
	mu.Unlock()

	// Without an exception, everything goes and the user-wide hook runs.
	if n, err := m.RevokeUser(t.Context(), "u", "", "revoked"); err != nil || n != 1 {
		t.Fatalf("RevokeUser all = %d, %v; want 1", n, err)
	}
	if alive(t, m, b.Secret) {
		t.Error("the last session survived")
	}
	mu.Lock()
	if !slices.Equal(userRevokes, []string{"u"}) {
		t.Errorf("OnRevokeUser got %v, want [u]", userRevokes)
	}
	mu.Unlock()
	// Nothing left is not an error.
	if n, err := m.RevokeUser(t.Context(), "u", "", "revoked"); err != nil || n != 0 {
		t.Errorf("RevokeUser of nothing = %d, %v", n, err)
	}
}

func TestRevokeIsPerUser(t *testing.T) {
	m, _, _ := newManager(t, session.Config{})
	victim := create(t, m, "victim")
	alive(t, m, victim.Secret)
	for _, id := range []string{victim.Session.ID, "no-such-id", ""} {
		if err := m.Revoke(t.Context(), "attacker", id, "revoked"); !errors.Is(err, session.ErrInvalid) {
			t.Errorf("Revoke(attacker, %q) = %v, want ErrInvalid", id, err)
		}
	}
	if !alive(t, m, victim.Secret) {
		t.Error("another user revoked the victim's session")
	}
}

func TestAuthenticateRejects(t *testing.T) {
	m, st, _ := newManager(t, session.Config{})
	c := create(t, m, "u")
	grant, err := m.CreateGrant(t.Context(), session.GrantSpec{UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	flipped := []byte(c.Secret)
	flipped[10] ^= 1
	for _, s := range []string{"", "short", c.Secret + "A", c.Secret[1:], string(flipped), c.Session.ID, grant.ID,
		c.Secret[:42] + "=", c.Secret[:42] + "+", c.Secret[:42] + "/"} {
		if _, err := m.AuthenticateCookie(t.Context(), s); !errors.Is(err, session.ErrInvalid) {
			t.Errorf("AuthenticateCookie(%q) = %v, want ErrInvalid", s, err)
		}
	}
	// Malformed secrets are refused before any store read.
	before := st.lookups.Load()
	m.AuthenticateCookie(t.Context(), "not a secret")
	if st.lookups.Load() != before {
		t.Error("a malformed secret was looked up")
	}
}

func TestListAndSweep(t *testing.T) {
	m, _, clk := newManager(t, session.Config{IdleTimeout: 10 * time.Minute, Lifetime: time.Hour})
	old := create(t, m, "u")
	clk.Advance(6 * time.Minute)
	fresh := create(t, m, "u")
	if _, err := m.UpdateData(t.Context(), fresh.Session.ID, func(json.RawMessage, int64) (json.RawMessage, error) {
		return json.RawMessage(`{"secret": "data"}`), nil
	}); err != nil {
		t.Fatal(err)
	}
	list, err := m.List(t.Context(), "u")
	if err != nil || len(list) != 2 || list[0].ID != old.Session.ID || list[1].ID != fresh.Session.ID {
		t.Fatalf("List = %+v, %v; want old then fresh", list, err)
	}
	for _, s := range list {
		if s.Data != nil {
			t.Errorf("List hands out session data %s", s.Data)
		}
	}
	if n, err := m.Count(t.Context()); err != nil || n != 2 {
		t.Errorf("Count = %d, %v; want 2", n, err)
	}
	clk.Advance(5 * time.Minute) // old idle at 10m, fresh at 16m
	if list, _ := m.List(t.Context(), "u"); len(list) != 1 || list[0].ID != fresh.Session.ID {
		t.Errorf("List after old went idle = %+v", list)
	}
	if n, err := m.Count(t.Context()); err != nil || n != 1 {
		t.Errorf("Count = %d, %v; want 1", n, err)
	}
	if n, err := m.Sweep(t.Context()); err != nil || n != 1 {
		t.Errorf("Sweep = %d, %v; want 1", n, err)
	}
	if n, err := m.Sweep(t.Context()); err != nil || n != 0 {
		t.Errorf("second Sweep = %d, %v; want 0", n, err)
	}
	if !alive(t, m, fresh.Secret) {
		t.Error("Sweep removed a live session")
	}
}

func TestUpdateData(t *testing.T) {
	m, _, _ := newManager(t, session.Config{})
	c := create(t, m, "u")
	var versions []int64
	for i, body := range []string{`{"a":1}`, `{"a":2}`} {
		s, err := m.UpdateData(t.Context(), c.Session.ID, func(old json.RawMessage, v int64) (json.RawMessage, error) {
			versions = append(versions, v)
			return json.RawMessage(body), nil
		})
		if err != nil || string(s.Data) != body || s.DataVersion != int64(i+1) {
			t.Fatalf("UpdateData %d = %s v%d, %v", i, s.Data, s.DataVersion, err)
		}
	}
	if !slices.Equal(versions, []int64{0, 1}) {
		t.Errorf("update saw versions %v, want [0 1]", versions)
	}
	refuse := errors.New("no")
	if _, err := m.UpdateData(t.Context(), c.Session.ID, func(json.RawMessage, int64) (json.RawMessage, error) { return nil, refuse }); !errors.Is(err, refuse) {
		t.Errorf("refused update = %v", err)
	}
	if s, _ := m.Get(t.Context(), c.Session.ID); string(s.Data) != `{"a":2}` || s.DataVersion != 2 {
		t.Errorf("after a refused update: %s v%d", s.Data, s.DataVersion)
	}
	if _, err := m.UpdateData(t.Context(), "nope", func(d json.RawMessage, _ int64) (json.RawMessage, error) { return d, nil }); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("UpdateData of an unknown id = %v, want ErrInvalid", err)
	}
}
