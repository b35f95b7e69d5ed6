package postgres_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/postgres"
	"github.com/gatehouse-auth/gatehouse/internal/store/postgres/pgtest"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// TestMain runs the tests through pgtest.Main, which drops the database
// they share at the end.
func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m))
}

// newTestStore returns a migrated Store on a fresh schema of its own.
func newTestStore(t *testing.T) *postgres.Store {
	t.Helper()
	s := postgres.New(pgtest.NewPool(t))
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestUserStore(t *testing.T) {
	storetest.RunUserStoreTests(t, func(t *testing.T) store.UserStore {
		return newTestStore(t)
	})
}

func TestSessionStore(t *testing.T) {
	storetest.RunSessionStoreTests(t, func(t *testing.T) store.SessionStore {
		return newTestStore(t)
	})
}

func TestKeyStore(t *testing.T) {
	storetest.RunKeyStoreTests(t, func(t *testing.T) store.KeyStore {
		return newTestStore(t)
	})
}

func TestRefreshTokenStore(t *testing.T) {
	storetest.RunRefreshTokenStoreTests(t, func(t *testing.T) store.RefreshTokenStore {
		return newTestStore(t)
	})
}

func TestRevocationStore(t *testing.T) {
	storetest.RunRevocationStoreTests(t, func(t *testing.T) store.RevocationStore {
		return newTestStore(t)
	})
}

func TestClientStore(t *testing.T) {
	storetest.RunClientStoreTests(t, func(t *testing.T) store.ClientStore {
		return newTestStore(t)
	})
}

func TestAuthCodeStore(t *testing.T) {
	storetest.RunAuthCodeStoreTests(t, func(t *testing.T) store.AuthCodeStore {
		return newTestStore(t)
	})
}

func TestConsentStore(t *testing.T) {
	storetest.RunConsentStoreTests(t, func(t *testing.T) store.ConsentStore {
		return newTestStore(t)
	})
}

func TestDeleteCascade(t *testing.T) {
	storetest.RunDeleteCascadeTests(t, func(t *testing.T) storetest.CascadeStore {
		return newTestStore(t)
	})
}

func TestBulkStore(t *testing.T) {
	storetest.RunBulkStoreTests(t, func(t *testing.T) storetest.BulkStore {
		return newTestStore(t)
	})
}

func TestMigrations(t *testing.T) {
	ms, err := postgres.Migrations()
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
}

func TestMigrateIdempotent(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.New(pool)
	ms, err := postgres.Migrations()
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
		rows, err := pool.Query(t.Context(), "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
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
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n != len(ms) {
			t.Errorf("schema_migrations has %d rows after Migrate #%d, want %d", n, i+1, len(ms))
		}
	}
}

// TestMigrateConcurrent runs Migrate from several pools on one fresh
// schema, as several server processes starting at once would. Without the
// advisory lock, the concurrent CREATE TABLE statements fail (a duplicate
// pg_type row, or a table that already exists).
func TestMigrateConcurrent(t *testing.T) {
	url := pgtest.URL(t)
	const instances = 4
	pools := make([]*postgres.Store, instances)
	for i := range pools {
		pools[i] = postgres.New(pgtest.Pool(t, url))
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range pools {
		wg.Go(func() {
			<-start
			if err := s.Migrate(t.Context()); err != nil {
				t.Errorf("Migrate from instance %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()

	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range pools {
		if v, err := s.SchemaVersion(t.Context()); err != nil || v != len(ms) {
			t.Errorf("instance %d: SchemaVersion = %d, %v; want %d", i, v, err, len(ms))
		}
	}
	// The lock was released: a later Migrate does not wait for it.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := pools[0].Migrate(ctx); err != nil {
		t.Errorf("Migrate after the concurrent ones: %v", err)
	}
}

// TestMigrateWaitsForLock holds the migration lock from another session
// and checks that Migrate waits for it, until its context ends, and then
// leaves nothing behind: no schema, and no lock held by a pooled
// connection.
func TestMigrateWaitsForLock(t *testing.T) {
	url := pgtest.URL(t)
	holder := pgtest.Pool(t, url)
	conn, err := holder.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(t.Context(), "SELECT pg_advisory_lock($1)", postgres.MigrationLockKey); err != nil {
		t.Fatal(err)
	}

	s := postgres.New(pgtest.Pool(t, url))
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := s.Migrate(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Migrate while another session holds the lock = %v, want context.DeadlineExceeded", err)
	}
	if v, err := s.SchemaVersion(t.Context()); err != nil || v != 0 {
		t.Fatalf("SchemaVersion after the interrupted Migrate = %d, %v; want 0, nil", v, err)
	}

	if _, err := conn.Exec(t.Context(), "SELECT pg_advisory_unlock($1)", postgres.MigrationLockKey); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate once the lock is free: %v", err)
	}
	// No connection of either pool still holds the lock.
	var held int
	err = holder.QueryRow(t.Context(),
		`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND ((classid::bigint << 32) | objid::bigint) = $1`, postgres.MigrationLockKey).Scan(&held)
	if err != nil {
		t.Fatal(err)
	}
	if held != 0 {
		t.Errorf("%d sessions hold the migration lock after Migrate returned, want 0", held)
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.New(pool)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	latest, err := s.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(t.Context(),
		"INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'from_the_future', 0)", latest+1); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); !errors.Is(err, postgres.ErrSchemaNewer) {
		t.Fatalf("Migrate = %v, want ErrSchemaNewer", err)
	}
	if v, _ := s.SchemaVersion(t.Context()); v != latest+1 {
		t.Errorf("SchemaVersion = %d, want %d", v, latest+1)
	}
}

// TestErrors checks that conflicts carry the package prefix and keep the
// PostgreSQL error, and that other errors are not conflicts.
func TestErrors(t *testing.T) {
	s := newTestStore(t)
	u := store.User{ID: "u-1", Email: "one@example.test"}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	err := s.CreateUser(t.Context(), u)
	var pe *pgconn.PgError
	if !errors.Is(err, store.ErrConflict) || !errors.As(err, &pe) || pe.Code != "23505" {
		t.Errorf("duplicate CreateUser = %v, want ErrConflict wrapping a *pgconn.PgError 23505", err)
	}

	err = s.CreateSession(t.Context(), store.Session{ID: "s-1", Data: []byte("{not json")})
	if err == nil || errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateSession with invalid data = %v, want a non-conflict error", err)
	}
	// jsonb cannot hold U+0000; SQLite would. The error is not a conflict.
	err = s.CreateSession(t.Context(), store.Session{ID: "s-2", Data: []byte(`{"a":"\u0000"}`)})
	if err == nil || errors.Is(err, store.ErrConflict) {
		t.Errorf(`CreateSession with "\u0000" in data = %v, want a non-conflict error`, err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.GetUser(ctx, u.ID); !errors.Is(err, context.Canceled) {
		t.Errorf("GetUser with a canceled context = %v, want context.Canceled", err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// TestAppendRevocationsRejectsBadEvents checks the schema's rule that an
// event revokes exactly one thing, and that a batch holding a bad event
// adds nothing.
func TestAppendRevocationsRejectsBadEvents(t *testing.T) {
	s := newTestStore(t)
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
}

func TestLeaseStore(t *testing.T) {
	storetest.RunLeaseStoreTests(t, func(t *testing.T) store.LeaseStore {
		return newTestStore(t)
	})
}
