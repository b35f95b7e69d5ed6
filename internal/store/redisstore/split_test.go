package redisstore_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	redisstore "github.com/gatehouse-auth/gatehouse/internal/store/redisstore"
)

// routedSessions returns n cookie sessions of user, with routed ids.
func routedSessions(st *redisstore.Store, user string, n int) []store.Session {
	now := time.Now().UTC().Truncate(time.Millisecond)
	out := make([]store.Session, n)
	for i := range out {
		var b [40]byte
		_, _ = rand.Read(b[:])
		hash := sha256.Sum256(b[:32])
		out[i] = store.Session{
			ID:         st.SessionRoute(user) + "." + hex.EncodeToString(b[32:]),
			SecretHash: hash[:], Kind: store.KindCookie, UserID: user,
			CreatedAt: now, LastSeenAt: now,
			IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(2 * time.Hour),
		}
	}
	return out
}

// indexKeys returns the index keys (i, x and their buckets) under base.
func indexKeys(t *testing.T, c *redis.Client, base string) []string {
	t.Helper()
	var out []string
	for _, k := range keys(t, c, base) {
		rest := strings.TrimPrefix(k, base)
		if rest == "i" || rest == "x" || strings.HasPrefix(rest, "i:") || strings.HasPrefix(rest, "x:") {
			out = append(out, k)
		}
	}
	return out
}

// checkAllThere checks that every session is found by id and by secret
// hash, listed, and counted.
func checkAllThere(t *testing.T, st *redisstore.Store, user string, ss []store.Session) {
	t.Helper()
	ctx := t.Context()
	for _, s := range ss {
		if got, err := st.GetSession(ctx, s.ID); err != nil || got.ID != s.ID {
			t.Fatalf("GetSession(%s) = %q, %v", s.ID, got.ID, err)
		}
		if got, err := st.GetSessionBySecretHashRoute(ctx, st.SessionRoute(user), s.SecretHash); err != nil || got.ID != s.ID {
			t.Fatalf("GetSessionBySecretHashRoute(%s) = %q, %v", s.ID, got.ID, err)
		}
	}
	if list, err := st.ListUserSessions(ctx, user); err != nil || len(list) != len(ss) {
		t.Fatalf("ListUserSessions = %d records, %v; want %d", len(list), err, len(ss))
	}
	if n, err := st.CountSessions(ctx, time.Now()); err != nil || n != len(ss) {
		t.Fatalf("CountSessions = %d, %v; want %d", n, err, len(ss))
	}
}

// TestIndexesSplit fills one route past Redis's listpack limit (128
// entries) and checks that the route's indexes split into buckets that
// each keep the compact encoding, with a level key, and that every
// operation still finds every record: by id, by secret hash, listed,
// counted, touched, swept and revoked, leaving no key behind.
func TestIndexesSplit(t *testing.T) {
	st, c, prefix := newTestStore(t)
	ctx := t.Context()
	const user, n = "alice", 700
	ss := routedSessions(st, user, n)
	if err := st.CreateSessions(ctx, ss); err != nil {
		t.Fatal(err)
	}
	base := prefix + "{" + st.SessionRoute(user) + "}:"
	if lvl, err := c.Get(ctx, base+"l").Int(); err != nil || lvl < 3 {
		t.Fatalf("level = %d, %v; want at least 3 for %d records", lvl, err, n)
	}
	ik := indexKeys(t, c, base)
	if len(ik) < 16 {
		t.Fatalf("index keys = %v; want buckets", ik)
	}
	for _, k := range ik {
		if enc := c.ObjectEncoding(ctx, k).Val(); enc != "listpack" {
			t.Errorf("%s is encoded %s, want listpack", k, enc)
		}
	}
	// The user's own index (700 ids) splits too.
	ub, ul := ownerKeys(t, c, base, "u", user)
	if lvl, err := c.Get(ctx, ul).Int(); ul == "" || err != nil || lvl < 3 || len(ub) < 8 {
		t.Fatalf("user index: level %q = %d, %v, buckets %v", ul, lvl, err, ub)
	}
	for _, k := range ub {
		if enc := c.ObjectEncoding(ctx, k).Val(); enc != "listpack" {
			t.Errorf("%s is encoded %s, want listpack", k, enc)
		}
	}
	checkAllThere(t, st, user, ss)
	// A touch moves the record's expiry entry within its bucket.
	late := time.Now().Add(90 * time.Minute).Truncate(time.Millisecond)
	if err := st.TouchSession(ctx, ss[0].ID, time.Now(), late); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys(t, c, prefix) {
		if at := c.PExpireTime(ctx, k).Val(); at <= 0 || at.Milliseconds() > ss[0].ExpiresAt.UnixMilli() {
			t.Errorf("%s expires at %v, want a TTL within the records' end", k, at)
		}
	}
	if at := c.PExpireTime(ctx, base+"l").Val(); at.Milliseconds() < late.UnixMilli() {
		t.Errorf("the level expires at %d ms, before the touched record's %d", at.Milliseconds(), late.UnixMilli())
	}
	// One delete, then a sweep at a time after every idle expiry but
	// the touched one.
	if err := st.DeleteSession(ctx, ss[1].ID); err != nil {
		t.Fatal(err)
	}
	swept, err := st.DeleteExpiredSessions(ctx, time.Now().Add(75*time.Minute))
	if err != nil || swept != n-2 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want %d", swept, err, n-2)
	}
	checkAllThere(t, st, user, ss[:1])
	if removed, err := st.DeleteUserSessions(ctx, user, ""); err != nil || len(removed) != 1 {
		t.Fatalf("DeleteUserSessions = %d, %v; want 1", len(removed), err)
	}
	// Only the level keys stay, until the time of the last record they
	// counted: the route's and the user's index's.
	for _, k := range keys(t, c, prefix) {
		if k != base+"l" && k != base+"ul:"+user {
			t.Errorf("key left behind: %s", k)
		}
	}
}

// TestLargeOldIndexSplits puts a route's records in the layout of
// earlier versions, one i and one x past the listpack limit, and checks
// that the next record splits them, with every record still found.
func TestLargeOldIndexSplits(t *testing.T) {
	st, c, prefix := newTestStore(t)
	ctx := t.Context()
	const user = "bob"
	ss := routedSessions(st, user, 300)
	if err := st.CreateSessions(ctx, ss); err != nil {
		t.Fatal(err)
	}
	base := prefix + "{" + st.SessionRoute(user) + "}:"
	unsplit(t, ctx, c, base)
	if enc := c.ObjectEncoding(ctx, base+"x").Val(); enc != "skiplist" {
		t.Fatalf("old x is encoded %s, want skiplist", enc)
	}
	checkAllThere(t, st, user, ss)
	more := routedSessions(st, user, 1)
	if err := st.CreateSession(ctx, more[0]); err != nil {
		t.Fatal(err)
	}
	if lvl, err := c.Get(ctx, base+"l").Int(); err != nil || lvl != 1 {
		t.Fatalf("level = %d, %v; want 1", lvl, err)
	}
	checkAllThere(t, st, user, append(ss, more...))
}

// unsplit moves every bucket of base's indexes back into i and x and
// drops the level: the layout of earlier versions.
func unsplit(t *testing.T, ctx context.Context, c *redis.Client, base string) {
	t.Helper()
	for _, k := range indexKeys(t, c, base) {
		rest := strings.TrimPrefix(k, base)
		if rest == "i" || rest == "x" {
			continue
		}
		var err error
		if rest[0] == 'i' {
			var m map[string]string
			if m, err = c.HGetAll(ctx, k).Result(); err == nil {
				err = c.HSet(ctx, base+"i", m).Err()
			}
		} else {
			var zs []redis.Z
			if zs, err = c.ZRangeWithScores(ctx, k, 0, -1).Result(); err == nil {
				err = c.ZAdd(ctx, base+"x", zs...).Err()
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		c.Del(ctx, k)
	}
	c.Del(ctx, base+"l")
}

// routedGrants returns n token grants of user for client, with routed ids.
func routedGrants(st *redisstore.Store, user, client string, n int) []store.Session {
	now := time.Now().UTC().Truncate(time.Millisecond)
	out := make([]store.Session, n)
	for i := range out {
		var b [16]byte
		_, _ = rand.Read(b[:])
		out[i] = store.Session{
			ID:   st.SessionRoute(user) + "." + hex.EncodeToString(b[:]),
			Kind: store.KindToken, UserID: user, ClientID: client, Scope: "openid",
			CreatedAt: now, LastSeenAt: now,
			IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(2 * time.Hour),
		}
	}
	return out
}

// ownerKeys returns the keys of an owner index under base (family "u"
// for a user's, "c" for a client's): bucket 0 (<f>:<owner>), the others
// (<f><n>:<owner>) and the level (<f>l:<owner>).
func ownerKeys(t *testing.T, c *redis.Client, base, f, owner string) (buckets []string, level string) {
	t.Helper()
	for _, k := range keys(t, c, base) {
		rest := strings.TrimPrefix(k, base)
		name, id, ok := strings.Cut(rest, ":")
		switch {
		case !ok || id != owner || !strings.HasPrefix(name, f):
		case name == f+"l":
			level = k
		case strings.Trim(name[len(f):], "0123456789") == "":
			buckets = append(buckets, k)
		}
	}
	return buckets, level
}

// clientKeys returns the keys of client's index under base.
func clientKeys(t *testing.T, c *redis.Client, base, client string) (buckets []string, level string) {
	t.Helper()
	return ownerKeys(t, c, base, "c", client)
}

// TestClientIndexSplits gives one client 700 grants on one route, past
// Redis's listpack limit, and checks that the client's index splits into
// buckets that each keep the compact encoding, with a level of its own,
// that a client whose id ends like a bucket's name is kept apart, and
// that listing, touching, deleting and revoking by client still reach
// every grant, leaving no client key behind.
func TestClientIndexSplits(t *testing.T) {
	st, c, prefix := newTestStore(t)
	ctx := t.Context()
	const user, client, n = "carol", "app", 700
	gs := routedGrants(st, user, client, n)
	if err := st.CreateSessions(ctx, gs); err != nil {
		t.Fatal(err)
	}
	// Another client of the same user, whose id would name a bucket of
	// "app" if the bucket number came after the client id.
	other := routedGrants(st, user, "app:1", 3)
	if err := st.CreateSessions(ctx, other); err != nil {
		t.Fatal(err)
	}
	base := prefix + "{" + st.SessionRoute(user) + "}:"
	buckets, lk := clientKeys(t, c, base, client)
	if lvl, err := c.Get(ctx, lk).Int(); lk == "" || err != nil || lvl < 3 {
		t.Fatalf("client level %q = %d, %v; want at least 3 for %d grants", lk, lvl, err, n)
	}
	if len(buckets) < 8 {
		t.Fatalf("client index keys = %v; want buckets", buckets)
	}
	for _, k := range buckets {
		if enc := c.ObjectEncoding(ctx, k).Val(); enc != "listpack" {
			t.Errorf("%s is encoded %s, want listpack", k, enc)
		}
	}
	if list, err := st.ListClientSessions(ctx, client); err != nil || len(list) != n {
		t.Fatalf("ListClientSessions = %d, %v; want %d", len(list), err, n)
	}
	if list, err := st.ListClientSessions(ctx, "app:1"); err != nil || len(list) != len(other) {
		t.Fatalf("ListClientSessions(app:1) = %d, %v; want %d", len(list), err, len(other))
	}
	late := time.Now().Add(90 * time.Minute).Truncate(time.Millisecond)
	if err := st.TouchSession(ctx, gs[0].ID, time.Now(), late); err != nil {
		t.Fatal(err)
	}
	if at := c.PExpireTime(ctx, lk).Val(); at.Milliseconds() < late.UnixMilli() {
		t.Errorf("the client level expires at %d ms, before the touched grant's %d", at.Milliseconds(), late.UnixMilli())
	}
	if err := st.DeleteSession(ctx, gs[1].ID); err != nil {
		t.Fatal(err)
	}
	for _, k := range buckets {
		if c.ZScore(ctx, k, gs[1].ID).Err() != redis.Nil {
			t.Errorf("deleted grant still in %s", k)
		}
	}
	removed, err := st.DeleteClientSessions(ctx, client)
	if err != nil || len(removed) != n-1 {
		t.Fatalf("DeleteClientSessions = %d, %v; want %d", len(removed), err, n-1)
	}
	if list, err := st.ListUserSessions(ctx, user); err != nil || len(list) != len(other) {
		t.Fatalf("ListUserSessions after = %d, %v; want the other client's %d", len(list), err, len(other))
	}
	if left, _ := clientKeys(t, c, base, client); len(left) != 0 {
		t.Errorf("client index keys left behind: %v", left)
	}
}

// TestLargeOldClientIndexSplits puts a client's index in the layout of
// earlier versions, one c:<client> past the listpack limit, and checks
// that the next grant splits it, with every grant still listed.
func TestLargeOldClientIndexSplits(t *testing.T) {
	st, c, prefix := newTestStore(t)
	ctx := t.Context()
	const user, client = "dave", "app"
	gs := routedGrants(st, user, client, 300)
	if err := st.CreateSessions(ctx, gs); err != nil {
		t.Fatal(err)
	}
	base := prefix + "{" + st.SessionRoute(user) + "}:"
	buckets, lk := clientKeys(t, c, base, client)
	for _, k := range buckets {
		if k == base+"c:"+client {
			continue
		}
		zs, err := c.ZRangeWithScores(ctx, k, 0, -1).Result()
		if err == nil {
			err = c.ZAdd(ctx, base+"c:"+client, zs...).Err()
		}
		if err != nil {
			t.Fatal(err)
		}
		c.Del(ctx, k)
	}
	c.Del(ctx, lk)
	if enc := c.ObjectEncoding(ctx, base+"c:"+client).Val(); enc != "skiplist" {
		t.Fatalf("old client index is encoded %s, want skiplist", enc)
	}
	if list, err := st.ListClientSessions(ctx, client); err != nil || len(list) != len(gs) {
		t.Fatalf("ListClientSessions = %d, %v; want %d", len(list), err, len(gs))
	}
	more := routedGrants(st, user, client, 1)
	if err := st.CreateSession(ctx, more[0]); err != nil {
		t.Fatal(err)
	}
	if lvl, err := c.Get(ctx, lk).Int(); err != nil || lvl != 1 {
		t.Fatalf("client level = %d, %v; want 1", lvl, err)
	}
	if list, err := st.ListClientSessions(ctx, client); err != nil || len(list) != len(gs)+1 {
		t.Fatalf("ListClientSessions = %d, %v; want %d", len(list), err, len(gs)+1)
	}
}
