package redisstore_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	redisstore "github.com/gatehouse-auth/gatehouse/internal/store/redisstore"
	"github.com/gatehouse-auth/gatehouse/internal/store/redisstore/redistest"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// newTestStore returns a Store under a key prefix of its own, on the test
// server, and that prefix.
func newTestStore(t *testing.T) (*redisstore.Store, *redis.Client, string) {
	t.Helper()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	return redisstore.New(c, redisstore.Options{KeyPrefix: prefix}), c, prefix
}

func TestSessionStore(t *testing.T) {
	storetest.RunSessionStoreTests(t, func(t *testing.T) store.SessionStore {
		st, _, _ := newTestStore(t)
		return st
	})
}

// session returns a cookie session of user that lives from now until ttl
// from now (idle) and twice that (absolute), by the real clock.
func session(user string, ttl time.Duration) store.Session {
	now := time.Now().UTC().Truncate(time.Millisecond)
	var id [8]byte
	_, _ = rand.Read(id[:])
	hash := sha256.Sum256(id[:])
	return store.Session{
		ID:            fmt.Sprintf("s-%x", id),
		SecretHash:    hash[:],
		Kind:          store.KindCookie,
		UserID:        user,
		CreatedAt:     now,
		LastSeenAt:    now,
		IdleExpiresAt: now.Add(ttl),
		ExpiresAt:     now.Add(2 * ttl),
	}
}

// keys returns the keys under prefix.
func keys(t *testing.T, c *redis.Client, prefix string) []string {
	t.Helper()
	ks, err := redistest.Keys(t.Context(), c, prefix)
	if err != nil {
		t.Fatalf("keys: %v", err)
	}
	return ks
}

// TestKeysExpireWithTheirRecords checks that every key the store writes
// has a TTL, none later than the last expiry of the records it serves, and
// that a touch moves them.
func TestKeysExpireWithTheirRecords(t *testing.T) {
	st, c, prefix := newTestStore(t)
	ctx := t.Context()
	short := session("alice", time.Hour)
	long := session("alice", 2*time.Hour)
	grant := session("alice", 3*time.Hour)
	grant.SecretHash, grant.Kind, grant.ClientID = nil, store.KindToken, "app"
	for _, s := range []store.Session{short, long, grant} {
		if err := st.CreateSession(ctx, s); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
	}
	latest := grant.IdleExpiresAt // the earlier timeout of the longest-lived record
	check := func(t *testing.T) {
		t.Helper()
		ks := keys(t, c, prefix)
		if len(ks) == 0 {
			t.Fatal("no keys written")
		}
		for _, k := range ks {
			at, err := c.PExpireTime(ctx, k).Result()
			if err != nil {
				t.Fatalf("PEXPIRETIME %s: %v", k, err)
			}
			if at < 0 {
				t.Errorf("%s has no TTL", k)
			} else if at.Milliseconds() > latest.UnixMilli() {
				t.Errorf("%s expires at %d ms, after the last record's end %d", k, at.Milliseconds(), latest.UnixMilli())
			}
		}
	}
	check(t)
	// The record and its secret hash expire with its idle timeout.
	for _, k := range ks(prefix, short) {
		at, _ := c.PExpireTime(ctx, k).Result()
		if want := short.IdleExpiresAt.UnixMilli(); at.Milliseconds() != want {
			t.Errorf("%s expires at %d ms, want the idle expiry %d", k, at.Milliseconds(), want)
		}
	}
	// A touch moves them, within the absolute expiry.
	idle := time.Now().Add(90 * time.Minute).Truncate(time.Millisecond)
	if err := st.TouchSession(ctx, short.ID, time.Now(), idle); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	for _, k := range ks(prefix, short) {
		at, _ := c.PExpireTime(ctx, k).Result()
		if want := idle.UnixMilli(); at.Milliseconds() != want {
			t.Errorf("after touch, %s expires at %d ms, want %d", k, at.Milliseconds(), want)
		}
	}
	check(t)
	// The indexes follow a record that comes to outlive the others.
	latest = time.Now().Add(4 * time.Hour).Truncate(time.Millisecond)
	if err := st.TouchSession(ctx, grant.ID, time.Now(), latest); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	for _, k := range []string{prefix + "{sessions}:u:alice", prefix + "{sessions}:c:app", prefix + "{sessions}:x"} {
		at, _ := c.PExpireTime(ctx, k).Result()
		if want := latest.UnixMilli(); at.Milliseconds() != want {
			t.Errorf("after touch, %s expires at %d ms, want %d", k, at.Milliseconds(), want)
		}
	}
	check(t)
}

// ks returns the keys of the cookie session s, as the store lays them out
// (see lua/common.lua): its record, under its secret hash. (Its id is an
// entry in the hash i, which expires with the latest of them.)
func ks(prefix string, s store.Session) []string {
	return []string{
		prefix + "{sessions}:h:" + fmt.Sprintf("%x", s.SecretHash),
	}
}

// TestNothingLeftBehind checks that removing records, by every path,
// leaves no key behind, and that records created already expired leave
// nothing either.
func TestNothingLeftBehind(t *testing.T) {
	tests := []struct {
		name   string
		remove func(t *testing.T, st *redisstore.Store, ss []store.Session)
	}{
		{"DeleteSession", func(t *testing.T, st *redisstore.Store, ss []store.Session) {
			for _, s := range ss {
				if err := st.DeleteSession(t.Context(), s.ID); err != nil {
					t.Fatalf("DeleteSession: %v", err)
				}
			}
		}},
		{"DeleteUserSessions", func(t *testing.T, st *redisstore.Store, ss []store.Session) {
			for _, u := range []string{"alice", "bob"} {
				if _, err := st.DeleteUserSessions(t.Context(), u, ""); err != nil {
					t.Fatalf("DeleteUserSessions: %v", err)
				}
			}
		}},
		{"DeleteClientSessionsThenUser", func(t *testing.T, st *redisstore.Store, ss []store.Session) {
			removed, err := st.DeleteClientSessions(t.Context(), "app")
			if err != nil || len(removed) != 1 {
				t.Fatalf("DeleteClientSessions = %d records, %v; want 1", len(removed), err)
			}
			for _, u := range []string{"alice", "bob"} {
				if _, err := st.DeleteUserSessions(t.Context(), u, ""); err != nil {
					t.Fatalf("DeleteUserSessions: %v", err)
				}
			}
		}},
		{"DeleteExpiredSessions", func(t *testing.T, st *redisstore.Store, ss []store.Session) {
			n, err := st.DeleteExpiredSessions(t.Context(), time.Now().Add(24*time.Hour))
			if err != nil || n != len(ss) {
				t.Fatalf("DeleteExpiredSessions = %d, %v; want %d", n, err, len(ss))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, c, prefix := newTestStore(t)
			grant := session("bob", time.Hour)
			grant.SecretHash, grant.Kind, grant.ClientID = nil, store.KindToken, "app"
			ss := []store.Session{session("alice", time.Hour), session("alice", time.Hour), session("bob", time.Hour), grant}
			for _, s := range ss {
				if err := st.CreateSession(t.Context(), s); err != nil {
					t.Fatalf("CreateSession: %v", err)
				}
			}
			tt.remove(t, st, ss)
			if left := keys(t, c, prefix); len(left) != 0 {
				t.Errorf("keys left behind: %v", left)
			}
		})
	}

	t.Run("CreatedExpired", func(t *testing.T) {
		st, c, prefix := newTestStore(t)
		s := session("alice", -time.Minute)
		if err := st.CreateSession(t.Context(), s); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		if left := keys(t, c, prefix); len(left) != 0 {
			t.Errorf("keys of a record created expired: %v", left)
		}
	})
}

// TestExpiredByRedis checks what is left when Redis expires a record by
// itself: its index entries, which listing drops, and the sweep counts.
func TestExpiredByRedis(t *testing.T) {
	st, c, prefix := newTestStore(t)
	ctx := t.Context()
	gone, kept := session("alice", time.Hour), session("alice", time.Hour)
	for _, s := range []store.Session{gone, kept} {
		if err := st.CreateSession(ctx, s); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
	}
	// What Redis does when the record's time comes.
	if err := c.Del(ctx, ks(prefix, gone)...).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetSessionBySecretHash(ctx, gone.SecretHash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSessionBySecretHash of an expired record: %v, want ErrNotFound", err)
	}
	list, err := st.ListUserSessions(ctx, "alice")
	if err != nil || len(list) != 1 || list[0].ID != kept.ID {
		t.Fatalf("ListUserSessions = %v, %v; want only %s", list, err, kept.ID)
	}
	if n, _ := c.ZCard(ctx, prefix+"{sessions}:u:alice").Result(); n != 1 {
		t.Errorf("user index holds %d entries after listing, want 1", n)
	}
	// The expiry index still holds the entry, until a sweep at a time
	// after the record's expiry.
	n, err := st.DeleteExpiredSessions(ctx, time.Now().Add(-time.Minute))
	if err != nil || n != 0 {
		t.Errorf("DeleteExpiredSessions before the expiry = %d, %v; want 0", n, err)
	}
	if err := st.DeleteSession(ctx, kept.ID); err != nil {
		t.Fatal(err)
	}
	n, err = st.DeleteExpiredSessions(ctx, gone.IdleExpiresAt)
	if err != nil || n != 1 {
		t.Errorf("DeleteExpiredSessions = %d, %v; want 1 (the entry of the record Redis expired)", n, err)
	}
	if left := keys(t, c, prefix); len(left) != 0 {
		t.Errorf("keys left behind: %v", left)
	}
}

// TestOneSlot checks that every key of a store hashes to one Cluster slot,
// whatever the ids, so that its scripts run on a Cluster.
func TestOneSlot(t *testing.T) {
	for _, tt := range []struct {
		key  string
		slot int
	}{
		// From the Cluster specification and CLUSTER KEYSLOT.
		{"123456789", 0x31c3 % 16384},
		{"foo", 12182},
		{"{user1000}.following", keySlot("user1000")},
		{"foo{{bar}}zap", keySlot("{bar")},
	} {
		if got := keySlot(tt.key); got != tt.slot {
			t.Fatalf("keySlot(%q) = %d, want %d", tt.key, got, tt.slot)
		}
	}
	st, c, prefix := newTestStore(t)
	ctx := t.Context()
	s := session("user-{with}-braces", time.Hour)
	s.ClientID = "client}{"
	if err := st.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	ks := keys(t, c, prefix)
	if len(ks) != 5 {
		t.Fatalf("keys = %v, want 5 (record, hash, user, client, expiry)", ks)
	}
	want := keySlot(ks[0])
	for _, k := range ks[1:] {
		if got := keySlot(k); got != want {
			t.Errorf("%s in slot %d, %s in slot %d", ks[0], want, k, got)
		}
	}
}

// keySlot returns the Cluster slot of key: CRC16 (XMODEM) of its hash tag,
// the part between the first '{' and the next '}' if not empty, or of the
// whole key, modulo 16384.
func keySlot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc % 16384)
}

// TestDefaultKeyPrefix checks the default prefix.
func TestDefaultKeyPrefix(t *testing.T) {
	c := redistest.Client(t)
	st := redisstore.New(c, redisstore.Options{})
	id := "redisstore-test-" + strings.Repeat("0", 8)
	// A lookup that misses writes nothing, so it is safe on a shared server.
	if _, err := st.GetSession(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSession: %v", err)
	}
	if got := c.Exists(t.Context(), redisstore.DefaultKeyPrefix+"{sessions}:r:"+id).Val(); got != 0 {
		t.Fatal("lookup wrote a key")
	}
}

// TestUpdateSessionDataRetriesStale checks that an update computed from
// data that changed meanwhile is computed again from the new data.
func TestUpdateSessionDataRetriesStale(t *testing.T) {
	st, _, _ := newTestStore(t)
	ctx := t.Context()
	s := session("alice", time.Hour)
	s.Data = json.RawMessage(`{"n":0}`)
	if err := st.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	var seen []string
	got, err := st.UpdateSessionData(ctx, s.ID, func(data json.RawMessage, version int64) (json.RawMessage, error) {
		seen = append(seen, fmt.Sprintf("%s@%d", data, version))
		if len(seen) == 1 {
			// Another writer gets in between the read and the write.
			if _, err := st.UpdateSessionData(ctx, s.ID, func(json.RawMessage, int64) (json.RawMessage, error) {
				return json.RawMessage(`{"n":1}`), nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		return json.RawMessage(`{"n":2}`), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{`{"n":0}@0`, `{"n":1}@1`}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("update saw %v, want %v", seen, want)
	}
	if got.DataVersion != 2 || string(got.Data) != `{"n":2}` {
		t.Errorf("result %s@%d, want {\"n\":2}@2", got.Data, got.DataVersion)
	}
}

// benchRecord creates the record that of the record BenchmarkRedisGetSessionBySecretHash
// reads; BenchmarkRedisBareGet reads a string of the same size.
func benchRecord(b *testing.B, st *redisstore.Store) store.Session {
	b.Helper()
	now := time.Now().UTC()
	hash := sha256.Sum256([]byte(b.Name()))
	s := store.Session{
		ID: "0123456789abcdef0123456789abcdef", SecretHash: hash[:], Kind: store.KindCookie,
		UserID: "u-0123456789abcdef", CreatedAt: now, LastSeenAt: now,
		IdleExpiresAt: now.Add(30 * time.Minute), ExpiresAt: now.Add(12 * time.Hour),
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		IP:        "2001:db8::1", Data: json.RawMessage(`{}`),
	}
	if err := st.CreateSession(b.Context(), s); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkRedisGetSessionBySecretHash is the store's half of a cookie
// check that misses the in-process cache. Compare with
// BenchmarkRedisBareGet, from the same run: the target is at most 1.3
// times its time.
func BenchmarkRedisGetSessionBySecretHash(b *testing.B) {
	c := redistest.Client(b)
	st := redisstore.New(c, redisstore.Options{KeyPrefix: redistest.Prefix(b, c)})
	s := benchRecord(b, st)
	ctx := b.Context()
	for b.Loop() {
		if _, err := st.GetSessionBySecretHash(ctx, s.SecretHash); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisBareGet is one GET of a string as long as the record
// BenchmarkRedisGetSessionBySecretHash reads: the floor for any lookup.
func BenchmarkRedisBareGet(b *testing.B) {
	c := redistest.Client(b)
	key, size := bareValue(b, c)
	ctx := b.Context()
	for b.Loop() {
		if _, err := c.Get(ctx, key).Result(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "value-bytes")
}

// bareValue stores, under a test prefix, a string as long as a benchmark
// record's fields and values, and returns its key and size.
func bareValue(b *testing.B, c *redis.Client) (string, int) {
	b.Helper()
	prefix := redistest.Prefix(b, c)
	s := benchRecord(b, redisstore.New(c, redisstore.Options{KeyPrefix: prefix}))
	ctx := b.Context()
	fields, err := c.HGetAll(ctx, fmt.Sprintf("%s{sessions}:h:%x", prefix, s.SecretHash)).Result()
	if err != nil {
		b.Fatal(err)
	}
	size := 0
	for k, v := range fields {
		size += len(k) + len(v)
	}
	key := prefix + "bare"
	if err := c.Set(ctx, key, strings.Repeat("x", size), time.Hour).Err(); err != nil {
		b.Fatal(err)
	}
	return key, size
}

// BenchmarkRedisLookupVsBareGet alternates a GetSessionBySecretHash and a
// bare GET of the same size, timing each, and reports their mean times
// and ratio ("x-bare-get", target at most 1.3). Alternating makes the
// ratio robust to a busy machine, where two separate benchmarks can run
// under different load.
func BenchmarkRedisLookupVsBareGet(b *testing.B) {
	c := redistest.Client(b)
	key, _ := bareValue(b, c)
	st := redisstore.New(c, redisstore.Options{KeyPrefix: redistest.Prefix(b, c)})
	s := benchRecord(b, st)
	ctx := b.Context()
	var lookup, get time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := st.GetSessionBySecretHash(ctx, s.SecretHash); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := c.Get(ctx, key).Result(); err != nil {
			b.Fatal(err)
		}
		get += time.Since(t1)
		lookup += t1.Sub(t0)
	}
	b.ReportMetric(float64(lookup.Nanoseconds())/float64(b.N), "lookup-ns/op")
	b.ReportMetric(float64(get.Nanoseconds())/float64(b.N), "get-ns/op")
	b.ReportMetric(float64(lookup)/float64(get), "x-bare-get")
}
