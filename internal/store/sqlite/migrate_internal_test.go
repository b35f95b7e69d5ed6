package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

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
			ms, err := parseMigrations(tc.files, "m")
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

// TestMigrateFailureRollsBack checks that a failing migration leaves no
// trace, neither its changes nor its schema_migrations row, and that
// running again once it is fixed applies it.
func TestMigrateFailureRollsBack(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := New(db)
	now := func() time.Time { return time.UnixMilli(1234567).UTC() }
	ms := []Migration{
		{Version: 1, Name: "a", SQL: `CREATE TABLE a (x INTEGER);`},
		{Version: 2, Name: "b", SQL: `CREATE TABLE b (x INTEGER); INSERT INTO b VALUES (1); SELEKT nonsense;`},
	}
	if err := migrate(t.Context(), db, ms, now); err == nil || !strings.Contains(err.Error(), "0002_b") {
		t.Fatalf("migrate with a broken migration = %v, want an error naming 0002_b", err)
	}
	if v, err := s.SchemaVersion(t.Context()); err != nil || v != 1 {
		t.Fatalf("SchemaVersion = %d, %v; want 1, nil", v, err)
	}
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_master WHERE name = 'b'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("table b of the failed migration: count %d, %v; want 0, nil", n, err)
	}

	ms[1].SQL = `CREATE TABLE b (x INTEGER); INSERT INTO b VALUES (1);`
	if err := migrate(t.Context(), db, ms, now); err != nil {
		t.Fatalf("migrate after the fix: %v", err)
	}
	if v, err := s.SchemaVersion(t.Context()); err != nil || v != 2 {
		t.Fatalf("SchemaVersion = %d, %v; want 2, nil", v, err)
	}
	var applied int64
	if err := db.QueryRowContext(t.Context(), `SELECT applied_at FROM schema_migrations WHERE version = 2`).Scan(&applied); err != nil || applied != 1234567 {
		t.Errorf("applied_at = %d, %v; want 1234567 (unix ms of now)", applied, err)
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
