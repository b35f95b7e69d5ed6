package redisstore_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	sessions "github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestOldLayoutStillRead writes a cookie session as the previous version
// did (an id and a cookie without a route, under {sessions}) next to new
// ones, and checks that the manager still accepts its cookie, lists it
// with the user's new records, and revokes it with them.
func TestOldLayoutStillRead(t *testing.T) {
	st, c, prefix := newTestStore(t)
	ctx := t.Context()
	m := sessions.NewManager(st, sessions.Config{CacheSize: -1}, nil, nil)

	var b [32]byte
	_, _ = rand.Read(b[:])
	oldCookie := base64.RawURLEncoding.EncodeToString(b[:])
	hash := sessions.HashSecret(oldCookie)
	now := time.Now().UTC().Truncate(time.Millisecond)
	_, _ = rand.Read(b[:16])
	old := store.Session{
		ID: hex.EncodeToString(b[:16]), SecretHash: hash[:], Kind: store.KindCookie, UserID: "alice",
		CreatedAt: now.Add(-time.Minute), LastSeenAt: now, IdleExpiresAt: now.Add(30 * time.Minute), ExpiresAt: now.Add(time.Hour),
	}
	// As the previous version wrote it: a record with every field, sh
	// among them, and a pointer key r:<id>.
	base, hexHash := prefix+"{sessions}:", hex.EncodeToString(hash[:])
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	exp := old.IdleExpiresAt
	pipe := c.TxPipeline()
	pipe.HSet(ctx, base+"h:"+hexHash, "id", old.ID, "sh", hexHash, "k", "cookie", "u", "alice", "c", "", "sc", "", "a", "",
		"ct", ms(old.CreatedAt), "ls", ms(old.LastSeenAt), "ie", ms(old.IdleExpiresAt), "ex", ms(old.ExpiresAt),
		"ua", chromeUA, "ip", "192.0.2.1", "d", "{}", "v", "0", "at", "", "as", "")
	pipe.PExpireAt(ctx, base+"h:"+hexHash, exp)
	pipe.Set(ctx, base+"r:"+old.ID, "h:"+hexHash, 0)
	pipe.PExpireAt(ctx, base+"r:"+old.ID, exp)
	pipe.ZAdd(ctx, base+"u:alice", redis.Z{Score: float64(old.CreatedAt.UnixMilli()), Member: old.ID})
	pipe.PExpireAt(ctx, base+"u:alice", exp)
	pipe.ZAdd(ctx, base+"x", redis.Z{Score: float64(exp.UnixMilli()), Member: old.ID})
	pipe.PExpireAt(ctx, base+"x", exp)
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if ks := keys(t, c, prefix+"{sessions}:h:"); len(ks) != 1 {
		t.Fatalf("old record not in the old layout: %v", ks)
	}
	created, err := m.CreateCookie(ctx, "alice", sessions.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateGrant(ctx, sessions.GrantSpec{UserID: "alice", ClientID: "app"}); err != nil {
		t.Fatal(err)
	}
	if got, err := m.AuthenticateCookie(ctx, oldCookie); err != nil || got.ID != old.ID || got.UserAgent != chromeUA {
		t.Fatalf("old cookie: %+v, %v", got, err)
	}
	if got, err := st.GetSession(ctx, old.ID); err != nil || string(got.SecretHash) != string(hash[:]) {
		t.Fatalf("GetSession of the old record: %+v, %v", got, err)
	}
	if got, err := m.AuthenticateCookie(ctx, created.Secret); err != nil || got.ID != created.Session.ID {
		t.Fatalf("new cookie: %q, %v", got.ID, err)
	}
	list, err := m.List(ctx, "alice")
	if err != nil || len(list) != 3 || list[0].ID != old.ID {
		t.Fatalf("List = %d records, %v; want 3, the old one first", len(list), err)
	}
	if n, err := st.CountSessions(ctx, now); err != nil || n != 3 {
		t.Fatalf("CountSessions = %d, %v; want 3", n, err)
	}
	if n, err := m.RevokeUser(ctx, "alice", "", "revoked"); err != nil || n != 3 {
		t.Fatalf("RevokeUser = %d, %v; want 3", n, err)
	}
	for _, v := range []string{oldCookie, created.Secret} {
		if _, err := m.AuthenticateCookie(ctx, v); err == nil {
			t.Errorf("cookie %q works after RevokeUser", v)
		}
	}
	// Only the client's list of routes is left, and it expires.
	for _, k := range keys(t, c, prefix) {
		if !strings.HasPrefix(k, prefix+"cr:{app}") {
			t.Errorf("key left behind: %s", k)
		} else if ttl := c.PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("%s has no TTL", k)
		}
	}
}
