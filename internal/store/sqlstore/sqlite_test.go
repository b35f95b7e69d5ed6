package sqlstore

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// openTestDB opens a new database file in a temporary directory and
// returns its pool, closed when the test ends, and its path.
func openTestDB(t *testing.T) (*sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s.DB(), path
}

func TestParseMigrations(t *testing.T) {
	file := func(sql string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(sql)} }
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []string // Migration.String() of each, in order
		wantErr string
	}{
		{
			name: "ordered",
			files: fstest.MapFS{
				"m/0002_keys.sql":           file("B"),
				"m/0001_users_sessions.sql": file("A"),
				"m/0003_refresh_tokens.sql": file("C"),
			},
			want: []string{"0001_users_sessions", "0002_keys", "0003_refresh_tokens"},
		},
		{name: "stray file", files: fstest.MapFS{"m/0001_a.sql": file("A"), "m/README": file("")}, wantErr: "not named"},
		{name: "gap", files: fstest.MapFS{"m/0001_a.sql": file("A"), "m/0003_c.sql": file("C")}, wantErr: "want version 2"},
		{name: "duplicate", files: fstest.MapFS{"m/0001_a.sql": file("A"), "m/0001_b.sql": file("B")}, wantErr: "want version 2"},
		{name: "starts at 2", files: fstest.MapFS{"m/0002_b.sql": file("B")}, wantErr: "want version 1"},
		{name: "zero", files: fstest.MapFS{"m/0000_a.sql": file("A")}, wantErr: "not named"},
		{name: "no description", files: fstest.MapFS{"m/0001.sql": file("A")}, wantErr: "not named"},
		{name: "short number", files: fstest.MapFS{"m/1_a.sql": file("A")}, wantErr: "not named"},
		{name: "not sql", files: fstest.MapFS{"m/0001_a.up.txt": file("A")}, wantErr: "not named"},
		{name: "directory", files: fstest.MapFS{"m/0001_a.sql/x": file("A")}, wantErr: "not named"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := parseMigrations("sqlite", tc.files, "m")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseMigrations = %v, %v; want an error containing %q", ms, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseMigrations: %v", err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.String())
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("parseMigrations = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDSN(t *testing.T) {
	for _, tc := range []struct{ path, wantPrefix string }{
		{"/var/lib/gatehouse/gatehouse.db", "file:/var/lib/gatehouse/gatehouse.db?"},
		{"data/gatehouse.db", "file:data/gatehouse.db?"},
		{"//var//lib/./x.db", "file:/var/lib/x.db?"},
		{"/a b/c?d#e%f.db", "file:/a b/c%3fd%23e%25f.db?"},
	} {
		got := dsn(tc.path)
		if !strings.HasPrefix(got, tc.wantPrefix) {
			t.Errorf("dsn(%q) = %q, want prefix %q", tc.path, got, tc.wantPrefix)
		}
		for _, p := range []string{"busy_timeout(5000)", "foreign_keys(1)", "journal_mode(WAL)", "synchronous(FULL)", "_txlock=immediate"} {
			if !strings.Contains(got, p) {
				t.Errorf("dsn(%q) = %q, missing %q", tc.path, got, p)
			}
		}
	}
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
		if s, err := OpenSQLite(t.Context(), path); err == nil {
			s.Close()
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
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not at %q: %v", path, err)
	}
}

// TestDurableAcrossReopen checks that an acknowledged write is in the file
// once the pool is closed and the file opened again.
func TestDurableAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	u := store.User{ID: "u-reopen", Email: "reopen@example.test", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	s.Close()

	s2, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("Open again: %v", err)
	}
	defer s2.Close()
	if _, err := s2.GetUser(t.Context(), u.ID); err != nil {
		t.Fatalf("GetUser after reopening: %v", err)
	}
}

// TestOpenCreatesPrivateFiles checks that a new database file and its
// -wal and -shm files are created with mode 0600 even under a permissive
// umask, and that Open leaves an existing file's mode alone.
func TestOpenCreatesPrivateFiles(t *testing.T) {
	old := setUmask(0o002)
	t.Cleanup(func() { setUmask(old) })
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.db")
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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
	s2, err := OpenSQLite(t.Context(), shared)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if fi, err := os.Stat(shared); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("existing file's mode changed: %v, %v", fi.Mode(), err)
	}
}
