package benchseed_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/benchseed"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/redisstore/redistest"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

// TestMain drops the PostgreSQL database the tests share at the end.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func open(t *testing.T, target benchseed.Target) *benchseed.Stores {
	t.Helper()
	st, err := benchseed.Open(t.Context(), target)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}

func sqliteTarget(t *testing.T) benchseed.Target {
	return benchseed.Target{DB: filepath.Join(t.TempDir(), "gatehouse.db")}
}

// checkSeeded seeds st twice and checks that the sampled cookies
// authenticate through a session.Manager as the server's would, without a
// touch, that the sampled refresh tokens belong to live grants, and that
// the usage grew.
func checkSeeded(t *testing.T, st *benchseed.Stores) {
	t.Helper()
	ctx := t.Context()
	o := benchseed.Options{Cookies: 230, Grants: 200, Users: 7, Sample: 25, GrantSample: 6, FreshFor: 10 * time.Minute, Batch: 50, Measure: true}
	res, err := benchseed.Seed(ctx, st, o)
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	if res.Users != 7 || res.Cookies != 230 || res.Grants != 200 || len(res.Sample) != 25 || len(res.GrantSample) != 6 {
		t.Fatalf("Seed = %+v", res)
	}
	if res.Before == nil || res.After == nil || res.Before.Live != 0 || res.After.Live != 430 {
		t.Fatalf("usage before %+v, after %+v; want 0 and 430 live", res.Before, res.After)
	}
	if res.After.SessionBytes <= res.Before.SessionBytes || res.After.RefreshBytes < res.Before.RefreshBytes {
		t.Errorf("usage did not grow: before %+v, after %+v", res.Before, res.After)
	}
	if st.Backend != "redis" && res.After.RefreshBytes <= res.Before.RefreshBytes {
		t.Errorf("refresh tokens took no space: before %+v, after %+v", res.Before, res.After)
	}

	m := session.NewManager(st.Sessions, session.Config{}, nil, nil)
	users := map[string]bool{}
	for _, secret := range res.Sample {
		s, err := m.AuthenticateCookie(ctx, secret)
		if err != nil {
			t.Fatalf("AuthenticateCookie(sampled secret): %v", err)
		}
		if s.Kind != store.KindCookie || s.UserAgent != benchseed.UserAgent {
			t.Fatalf("authenticated %+v", s)
		}
		stored, err := st.Sessions.GetSession(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !stored.LastSeenAt.After(time.Now().Add(5 * time.Minute)) {
			t.Errorf("last use %v: a check within FreshFor touched the record", stored.LastSeenAt)
		}
		users[s.UserID] = true
	}
	if len(users) < 2 {
		t.Errorf("the sample is from %d users, want the records spread", len(users))
	}
	for _, tok := range res.GrantSample {
		h := sha256.Sum256([]byte(tok))
		rt, err := st.Refresh.GetRefreshToken(ctx, h[:])
		if err != nil {
			t.Fatalf("GetRefreshToken(sampled token): %v", err)
		}
		g, err := m.Get(ctx, rt.SessionID)
		if err != nil || g.Kind != store.KindToken || !rt.ExpiresAt.Equal(g.IdleExpiresAt) {
			t.Fatalf("grant of a sampled token: %+v, %v (token %+v)", g, err, rt)
		}
	}

	// Again: the users are found, not made anew, and records add up.
	again, err := benchseed.Seed(ctx, st, benchseed.Options{Cookies: 30, Users: 7, Sample: 30, Measure: true})
	if err != nil {
		t.Fatalf("Seed again: %v", err)
	}
	if again.After.Live != 460 {
		t.Errorf("live after the second seeding = %d, want 460", again.After.Live)
	}
	if slices.ContainsFunc(again.Sample, func(s string) bool { return slices.Contains(res.Sample, s) }) {
		t.Errorf("the second sample repeats the first")
	}
	for i := range 7 {
		u, err := st.Users.GetUserByEmail(ctx, benchseed.UserEmail(i))
		if err != nil {
			t.Fatalf("seeded user %d: %v", i, err)
		}
		if list, err := st.Sessions.ListUserSessions(ctx, u.ID); err != nil || len(list) < 30 {
			t.Errorf("user %d has %d records (%v)", i, len(list), err)
		}
	}
	if _, err := st.Users.GetUserByEmail(ctx, benchseed.UserEmail(7)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an eighth user: %v", err)
	}
}

func TestSeedSQLite(t *testing.T) {
	checkSeeded(t, open(t, sqliteTarget(t)))
}

func TestSeedPostgres(t *testing.T) {
	dbURL := pgtest.URL(t)
	checkSeeded(t, open(t, benchseed.Target{DB: dbURL}))
	// Seeding settles the database (Settle): the tables it wrote were
	// vacuumed and analyzed, so autovacuum has no reason to start on
	// them while a benchmark measures.
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, table := range []string{"sessions", "refresh_tokens", "users"} {
		var vacuumed, analyzed bool
		err := conn.QueryRow(context.Background(), `SELECT last_vacuum IS NOT NULL, last_analyze IS NOT NULL
			FROM pg_stat_user_tables WHERE relname = $1`, table).Scan(&vacuumed, &analyzed)
		if err != nil || !vacuumed || !analyzed {
			t.Errorf("%s after seeding: vacuumed %v, analyzed %v (%v)", table, vacuumed, analyzed, err)
		}
	}
}

func TestSeedRedis(t *testing.T) {
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	u, err := url.Parse(redistest.URL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("key_prefix", prefix)
	u.RawQuery = q.Encode()
	st := open(t, benchseed.Target{DB: filepath.Join(t.TempDir(), "gatehouse.db"), Sessions: u.String()})
	if st.Backend != "redis" {
		t.Fatalf("Backend = %q", st.Backend)
	}
	checkSeeded(t, st)
}

func TestSeedRefusesBadCounts(t *testing.T) {
	st := open(t, sqliteTarget(t))
	for _, o := range []benchseed.Options{
		{Cookies: -1},
		{Cookies: 3, Sample: 4},
		{Grants: 1, GrantSample: 2},
	} {
		if _, err := benchseed.Seed(t.Context(), st, o); err == nil {
			t.Errorf("Seed(%+v): no error", o)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	for _, target := range []benchseed.Target{
		{},
		{DB: "sqlite"},
		{DB: filepath.Join(t.TempDir(), "a.db"), Sessions: "memcached://x"},
		{DB: filepath.Join(t.TempDir(), "b.db"), Sessions: "redis://127.0.0.1:6379/0?addr=127.0.0.1:6380"},
	} {
		if st, err := benchseed.Open(t.Context(), target); err == nil {
			st.Close()
			t.Errorf("Open(%+v): no error", target)
		}
	}
}

func TestSampleIndexes(t *testing.T) {
	for _, c := range []struct{ n, k int }{{10, 0}, {10, 10}, {1000, 37}, {5, 1}} {
		set := benchseed.SampleIndexes(c.n, c.k)
		if len(set) != c.k {
			t.Errorf("SampleIndexes(%d, %d) has %d", c.n, c.k, len(set))
		}
		for i := range set {
			if i < 0 || i >= c.n {
				t.Errorf("SampleIndexes(%d, %d) has %d", c.n, c.k, i)
			}
		}
	}
	// Uniform: over many draws of 1 of 4, each index comes up about a
	// quarter of the time.
	var count [4]int
	for range 4000 {
		for i := range benchseed.SampleIndexes(4, 1) {
			count[i]++
		}
	}
	for i, c := range count {
		if c < 800 || c > 1200 {
			t.Errorf("index %d drawn %d times of 4000", i, c)
		}
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "gatehouse.db")
	cookies, grants := filepath.Join(dir, "cookies.txt"), filepath.Join(dir, "grants.txt")
	var out bytes.Buffer
	err := benchseed.Run(context.Background(), []string{"-db", db, "-cookies", "120", "-grants", "10", "-users", "3",
		"-sample", "12", "-sample-out", cookies, "-grant-sample", "2", "-grant-sample-out", grants, "-measure"}, &out)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var res benchseed.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if res.Backend != "sqlite" || res.Cookies != 120 || res.Grants != 10 || res.After == nil || res.After.Live != 130 || res.After.FileBytes == 0 {
		t.Errorf("output %s", out.String())
	}
	b, err := os.ReadFile(cookies)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(b))
	if len(lines) != 12 || !session.ValidSecretSyntax(lines[0]) {
		t.Errorf("sample file %q", b)
	}
	if b, _ := os.ReadFile(grants); len(strings.Fields(string(b))) != 2 {
		t.Errorf("grant sample file %q", b)
	}
	for _, args := range [][]string{
		{"-db", db, "-sample", "3"},
		{"-db", db, "extra"},
		{"-nope"},
	} {
		if err := benchseed.Run(context.Background(), args, &out); err == nil {
			t.Errorf("Run(%q): no error", args)
		}
	}
}
