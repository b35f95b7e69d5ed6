package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	msqlite "modernc.org/sqlite"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// openTestDB opens a new database file in a temporary directory and closes
// it when the test ends.
func openTestDB(t *testing.T) (*sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// newTestStore returns a migrated Store on a new database file.
func newTestStore(t *testing.T) *sqlite.Store {
	t.Helper()
	db, _ := openTestDB(t)
	s := sqlite.New(db)
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

// TestOpenPragmas checks that every connection of the pool, not just the
// first, runs with the crash-safety and locking settings.
func TestOpenPragmas(t *testing.T) {
	db, _ := openTestDB(t)
	const conns = 3
	held := make([]*sql.Conn, conns)
	for i := range held {
		c, err := db.Conn(t.Context())
		if err != nil {
			t.Fatalf("Conn: %v", err)
		}
		defer c.Close()
		held[i] = c
	}
	for i, c := range held {
		for _, p := range []struct {
			pragma, want string
		}{
			{"journal_mode", "wal"},
			{"synchronous", "2"}, // FULL
			{"foreign_keys", "1"},
			{"busy_timeout", "5000"},
		} {
			var got string
			if err := c.QueryRowContext(t.Context(), "PRAGMA "+p.pragma).Scan(&got); err != nil {
				t.Fatalf("conn %d: PRAGMA %s: %v", i, p.pragma, err)
			}
			if got != p.want {
				t.Errorf("conn %d: PRAGMA %s = %q, want %q", i, p.pragma, got, p.want)
			}
		}
	}
}

// TestOpenImmediateTransactions checks that a transaction takes the write
// lock when it begins: a second one waits for it rather than both reading
// and then failing to upgrade.
func TestOpenImmediateTransactions(t *testing.T) {
	db, _ := openTestDB(t)
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatalf("BeginTx: %v", err)
	}
	defer tx.Rollback()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	tx2, err := db.BeginTx(ctx, nil)
	if err == nil {
		tx2.Rollback()
		t.Fatal("a second transaction began while the first held the write lock")
	}
}

func TestOpenErrors(t *testing.T) {
	for _, path := range []string{"", ":memory:", filepath.Join(t.TempDir(), "missing-dir", "gatehouse.db")} {
		if db, err := sqlite.Open(t.Context(), path); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

// TestOpenPathEscaping checks that characters special in URIs reach the
// file system unchanged.
func TestOpenPathEscaping(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a b?c#d%20e")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "gate house.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	if err := sqlite.New(db).Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not at %q: %v", path, err)
	}
}

// TestDurableAcrossReopen checks that an acknowledged write is in the file
// once the pool is closed and the file opened again.
func TestDurableAcrossReopen(t *testing.T) {
	db, path := openTestDB(t)
	s := sqlite.New(db)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	u := store.User{ID: "u-reopen", Email: "reopen@example.test", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	db.Close()

	db2, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open again: %v", err)
	}
	defer db2.Close()
	if _, err := sqlite.New(db2).GetUser(t.Context(), u.ID); err != nil {
		t.Fatalf("GetUser after reopening: %v", err)
	}
}

func TestMigrations(t *testing.T) {
	ms, err := sqlite.Migrations()
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
	db, _ := openTestDB(t)
	s := sqlite.New(db)
	ms, err := sqlite.Migrations()
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
		rows, err := db.QueryContext(t.Context(), "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
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
}

// TestMigrateConcurrent runs Migrate from several pools on one file, as
// several server processes starting at once would.
func TestMigrateConcurrent(t *testing.T) {
	_, path := openTestDB(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			db, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			defer db.Close()
			if err := sqlite.New(db).Migrate(t.Context()); err != nil {
				t.Errorf("Migrate: %v", err)
			}
		})
	}
	wg.Wait()
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	db, path := openTestDB(t)
	s := sqlite.New(db)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	latest, err := s.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(),
		"INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future', 0)", latest+1); err != nil {
		t.Fatal(err)
	}
	err = s.Migrate(t.Context())
	if !errors.Is(err, sqlite.ErrSchemaNewer) {
		t.Fatalf("Migrate of %s = %v, want ErrSchemaNewer", path, err)
	}
	if v, _ := s.SchemaVersion(t.Context()); v != latest+1 {
		t.Errorf("SchemaVersion = %d, want %d", v, latest+1)
	}
}

// TestErrors checks that conflicts carry the package prefix and keep the
// SQLite error, and that other errors are not conflicts.
func TestErrors(t *testing.T) {
	s := newTestStore(t)
	u := store.User{ID: "u-1", Email: "one@example.test"}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	err := s.CreateUser(t.Context(), u)
	var se *msqlite.Error
	if !errors.Is(err, store.ErrConflict) || !errors.As(err, &se) {
		t.Errorf("duplicate CreateUser = %v, want ErrConflict wrapping a *sqlite.Error", err)
	}

	err = s.CreateSession(t.Context(), store.Session{ID: "s-1", Data: []byte("{not json")})
	if err == nil || errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateSession with invalid data = %v, want a non-conflict error", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.GetUser(ctx, u.ID); !errors.Is(err, context.Canceled) {
		t.Errorf("GetUser with a canceled context = %v, want context.Canceled", err)
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

// TestOpenCreatesPrivateFiles checks that a new database file and its
// -wal and -shm files are created with mode 0600 even under a permissive
// umask, and that Open leaves an existing file's mode alone.
func TestOpenCreatesPrivateFiles(t *testing.T) {
	old := setUmask(0o002)
	t.Cleanup(func() { setUmask(old) })
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := sqlite.New(db)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s has mode %o, want 600", name, m)
		}
	}

	shared := filepath.Join(dir, "shared.db")
	if err := os.WriteFile(shared, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o640); err != nil {
		t.Fatal(err)
	}
	db2, err := sqlite.Open(t.Context(), shared)
	if err != nil {
		t.Fatal(err)
	}
	db2.Close()
	if fi, err := os.Stat(shared); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("existing file's mode changed: %v, %v", fi.Mode(), err)
	}
}
