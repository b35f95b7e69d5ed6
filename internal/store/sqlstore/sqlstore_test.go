package sqlstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	msqlite "modernc.org/sqlite"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// TestMain runs the tests through pgtest.Main, which drops the PostgreSQL
// database they share at the end.
func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m))
}

// opener opens another Store on one database that a test owns: a new
// pool each call, closed when the test ends.
type opener func(t *testing.T) *Store

// sqliteDB returns an opener of a new database file in a temporary
// directory.
func sqliteDB(t *testing.T) opener {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	return func(t *testing.T) *Store {
		t.Helper()
		s, err := OpenSQLite(t.Context(), path)
		if err != nil {
			t.Fatalf("OpenSQLite: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// postgresDB returns an opener of a fresh schema of its own (see pgtest).
func postgresDB(t *testing.T) opener {
	url := pgtest.URL(t)
	return func(t *testing.T) *Store {
		t.Helper()
		s, err := OpenPostgres(t.Context(), url)
		if err != nil {
			t.Fatalf("OpenPostgres: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		return s
	}
}

// forEachFlavor runs fn as a subtest per database, each with an empty
// database of its own.
func forEachFlavor(t *testing.T, fn func(t *testing.T, open opener)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteDB(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, postgresDB(t)) })
}

// migrated returns a migrated Store from open.
func migrated(t *testing.T, open opener) *Store {
	t.Helper()
	s := open(t)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestSQLite(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) storetest.FullStore { return migrated(t, sqliteDB(t)) })
}

func TestPostgres(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) storetest.FullStore { return migrated(t, postgresDB(t)) })
}

func TestMigrations(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, open opener) {
		ms, err := Migrations(open(t).Flavor())
		if err != nil {
			t.Fatalf("Migrations: %v", err)
		}
		if len(ms) == 0 || ms[0].String() != "0001_users_sessions" {
			t.Fatalf("Migrations()[0] = %v, want 0001_users_sessions first", ms)
		}
		for i, m := range ms {
			if m.Version != i+1 || m.Name == "" || m.SQL == "" {
				t.Errorf("migration %d = {%d %q, %d bytes of SQL}", i, m.Version, m.Name, len(m.SQL))
			}
		}
	})
}

// TestMigrationsMirror checks that the PostgreSQL migrations are named
// and numbered as the SQLite ones, so that a schema version means the same
// tables on both databases and a table added to one is not forgotten in
// the other.
func TestMigrationsMirror(t *testing.T) {
	lite, err := Migrations("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := Migrations("postgres")
	if err != nil {
		t.Fatal(err)
	}
	for i := range max(len(pg), len(lite)) {
		switch {
		case i >= len(pg):
			t.Errorf("SQLite migration %s has no PostgreSQL counterpart", lite[i])
		case i >= len(lite):
			t.Errorf("PostgreSQL migration %s has no SQLite counterpart", pg[i])
		case pg[i].String() != lite[i].String():
			t.Errorf("PostgreSQL migration %s, SQLite %s: want the same name", pg[i], lite[i])
		}
	}
}

func TestMigrateIdempotent(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, open opener) {
		s := open(t)
		ms, err := Migrations(s.Flavor())
		if err != nil {
			t.Fatalf("Migrations: %v", err)
		}
		latest := ms[len(ms)-1].Version

		if v, err := s.SchemaVersion(t.Context()); err != nil || v != 0 {
			t.Fatalf("SchemaVersion of a new database = %d, %v; want 0, nil", v, err)
		}
		for i := range 3 {
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate #%d: %v", i+1, err)
			}
			if v, err := s.SchemaVersion(t.Context()); err != nil || v != latest {
				t.Fatalf("SchemaVersion after Migrate #%d = %d, %v; want %d, nil", i+1, v, err, latest)
			}
			rows, err := s.DB().QueryContext(t.Context(), "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
			if err != nil {
				t.Fatal(err)
			}
			var n int
			for rows.Next() {
				var (
					version int
					name    string
					applied int64
				)
				if err := rows.Scan(&version, &name, &applied); err != nil {
					t.Fatal(err)
				}
				if version != ms[n].Version || name != ms[n].Name || applied <= 0 {
					t.Errorf("schema_migrations row %d = (%d, %q, %d), want (%d, %q, a time)", n, version, name, applied, ms[n].Version, ms[n].Name)
				}
				n++
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
			if n != len(ms) {
				t.Errorf("schema_migrations has %d rows after Migrate #%d, want %d", n, i+1, len(ms))
			}
		}
	})
}

// TestMigrateConcurrent runs Migrate from several pools on one empty
// database, as several server processes starting at once would. Without
// the advisory lock, PostgreSQL's concurrent CREATE TABLE statements fail
// (a duplicate pg_type row, or a table that already exists).
func TestMigrateConcurrent(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, open opener) {
		const instances = 4
		stores := make([]*Store, instances)
		for i := range stores {
			stores[i] = open(t)
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() {
				<-start
				if err := s.Migrate(t.Context()); err != nil {
					t.Errorf("Migrate from instance %d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		ms, err := Migrations(stores[0].Flavor())
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range stores {
			if v, err := s.SchemaVersion(t.Context()); err != nil || v != len(ms) {
				t.Errorf("instance %d: SchemaVersion = %d, %v; want %d", i, v, err, len(ms))
			}
		}
		// The lock was released: a later Migrate does not wait for it.
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := stores[0].Migrate(ctx); err != nil {
			t.Errorf("Migrate after the concurrent ones: %v", err)
		}
	})
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, open opener) {
		s := migrated(t, open)
		latest, err := s.SchemaVersion(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.ExecContext(t.Context(),
			"INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future', 0)", latest+1); err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(t.Context()); !errors.Is(err, ErrSchemaNewer) {
			t.Fatalf("Migrate = %v, want ErrSchemaNewer", err)
		}
		if v, _ := s.SchemaVersion(t.Context()); v != latest+1 {
			t.Errorf("SchemaVersion = %d, want %d", v, latest+1)
		}
	})
}

// TestMigrateFailureRollsBack checks that a failing migration leaves no
// trace, neither its changes nor its schema_migrations row, and that
// running again once it is fixed applies it.
func TestMigrateFailureRollsBack(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, open opener) {
		s := open(t)
		now := func() time.Time { return time.UnixMilli(1234567).UTC() }
		ms := []Migration{
			{Version: 1, Name: "a", SQL: `CREATE TABLE a (x integer);`},
			{Version: 2, Name: "b", SQL: `CREATE TABLE b (x integer); INSERT INTO b VALUES (1); SELEKT nonsense;`},
		}
		if err := s.migrate(t.Context(), ms, now); err == nil || !strings.Contains(err.Error(), "0002_b") {
			t.Fatalf("migrate with a broken migration = %v, want an error naming 0002_b", err)
		}
		if v, err := s.SchemaVersion(t.Context()); err != nil || v != 1 {
			t.Fatalf("SchemaVersion = %d, %v; want 1, nil", v, err)
		}
		if _, err := s.db.ExecContext(t.Context(), `SELECT x FROM b`); err == nil {
			t.Fatal("table b of the failed migration exists")
		}

		ms[1].SQL = `CREATE TABLE b (x integer); INSERT INTO b VALUES (1);`
		if err := s.migrate(t.Context(), ms, now); err != nil {
			t.Fatalf("migrate after the fix: %v", err)
		}
		if v, err := s.SchemaVersion(t.Context()); err != nil || v != 2 {
			t.Fatalf("SchemaVersion = %d, %v; want 2, nil", v, err)
		}
		var applied int64
		if err := s.db.QueryRowContext(t.Context(), `SELECT applied_at FROM schema_migrations WHERE version = 2`).Scan(&applied); err != nil || applied != 1234567 {
			t.Errorf("applied_at = %d, %v; want 1234567 (unix ms of now)", applied, err)
		}
	})
}

// TestGrantStoredBeforeAuthTime checks the upgrade to schema version 6: a
// grant stored before it reads back with a zero AuthTime (unknown, not
// the epoch) and no AuthSessionID, so that a refresh knows it cannot
// issue an ID token for it.
func TestGrantStoredBeforeAuthTime(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, open opener) {
		s := open(t)
		ms, err := Migrations(s.Flavor())
		if err != nil {
			t.Fatal(err)
		}
		now := func() time.Time { return time.UnixMilli(1234567).UTC() }
		if err := s.migrate(t.Context(), ms[:5], now); err != nil {
			t.Fatal(err)
		}
		_, err = s.db.ExecContext(t.Context(), `INSERT INTO sessions
			(id, kind, user_id, client_id, scope, created_at, last_seen_at, idle_expires_at, expires_at)
			VALUES ('g1', 'token', 'u1', 'c1', 'openid offline_access', 1000, 1000, 99999999999, 99999999999)`)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.migrate(t.Context(), ms, now); err != nil {
			t.Fatal(err)
		}
		g, err := s.GetSession(t.Context(), "g1")
		if err != nil {
			t.Fatal(err)
		}
		if !g.AuthTime.IsZero() || g.AuthSessionID != "" || g.Scope != "openid offline_access" {
			t.Errorf("old grant = AuthTime %v AuthSessionID %q scope %q; want zero, empty, its scope", g.AuthTime, g.AuthSessionID, g.Scope)
		}
	})
}

// TestErrors checks that conflicts carry the database's prefix and keep
// the driver's error, and that other errors are not conflicts.
func TestErrors(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, open opener) {
		s := migrated(t, open)
		u := store.User{ID: "u-1", Email: "one@example.test"}
		if err := s.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		err := s.CreateUser(t.Context(), u)
		var (
			se *msqlite.Error
			pe *pgconn.PgError
		)
		switch {
		case !errors.Is(err, store.ErrConflict), !strings.HasPrefix(err.Error(), s.Flavor()+": "):
			t.Errorf("duplicate CreateUser = %v, want ErrConflict with prefix %q", err, s.Flavor())
		case s.Flavor() == "sqlite" && !errors.As(err, &se):
			t.Errorf("duplicate CreateUser = %v, want it wrapping a *sqlite.Error", err)
		case s.Flavor() == "postgres" && (!errors.As(err, &pe) || pe.Code != "23505"):
			t.Errorf("duplicate CreateUser = %v, want it wrapping a *pgconn.PgError 23505", err)
		}

		err = s.CreateSession(t.Context(), store.Session{ID: "s-1", Data: []byte("{not json")})
		if err == nil || errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateSession with invalid data = %v, want a non-conflict error", err)
		}
		if s.Flavor() == "postgres" {
			// jsonb cannot hold U+0000; SQLite would. The error is not a
			// conflict.
			err = s.CreateSession(t.Context(), store.Session{ID: "s-2", Data: []byte(`{"a":"\u0000"}`)})
			if err == nil || errors.Is(err, store.ErrConflict) {
				t.Errorf(`CreateSession with "\u0000" in data = %v, want a non-conflict error`, err)
			}
		}

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.GetUser(ctx, u.ID); !errors.Is(err, context.Canceled) {
			t.Errorf("GetUser with a canceled context = %v, want context.Canceled", err)
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
}

// TestAppendRevocationsRejectsBadEvents checks the schema's rule that an
// event revokes exactly one thing, and that a batch holding a bad event
// adds nothing.
func TestAppendRevocationsRejectsBadEvents(t *testing.T) {
	forEachFlavor(t, func(t *testing.T, open opener) {
		s := migrated(t, open)
		at := time.Date(2099, time.January, 2, 3, 4, 5, 0, time.UTC)
		good := store.Revocation{SessionID: "s-good", At: at, Expires: at.Add(time.Hour)}
		for _, tc := range []struct {
			name string
			bad  store.Revocation
		}{
			{"none set", store.Revocation{At: at, Expires: at.Add(time.Hour)}},
			{"two set", store.Revocation{SessionID: "s-1", UserID: "u-1", At: at, Expires: at.Add(time.Hour)}},
			{"three set", store.Revocation{SessionID: "s-1", UserID: "u-1", TokenID: "jti-1", At: at, Expires: at.Add(time.Hour)}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.AppendRevocations(t.Context(), []store.Revocation{good, tc.bad})
				if err == nil || errors.Is(err, store.ErrConflict) {
					t.Fatalf("AppendRevocations with a bad event = %v, want a non-conflict error", err)
				}
				got, err := s.ListRevocations(t.Context(), 0, at, 100)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 0 {
					t.Errorf("the failed batch left %d events, want none", len(got))
				}
			})
		}
	})
}

func TestRebind(t *testing.T) {
	for _, tc := range []struct {
		f        *flavor
		in, want string
	}{
		{sqliteFlavor(), `SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = ? AND c = ?`},
		{postgresFlavor(), `SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{postgresFlavor(), `SELECT 1`, `SELECT 1`},
		{postgresFlavor(), `VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, `VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`},
	} {
		if got := tc.f.rebind(tc.in); got != tc.want {
			t.Errorf("%s: rebind(%q) = %q, want %q", tc.f.name, tc.in, got, tc.want)
		}
	}
}
