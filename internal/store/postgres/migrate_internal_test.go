package postgres

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store/postgres/pgtest"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
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

// TestMigrationsMirrorSQLite checks that the PostgreSQL migrations are
// named and numbered as the SQLite ones, so that a schema version means
// the same tables on both backends and a store added to SQLite is not
// forgotten here.
func TestMigrationsMirrorSQLite(t *testing.T) {
	pg, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	lite, err := sqlite.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i := range max(len(pg), len(lite)) {
		switch {
		case i >= len(pg):
			t.Errorf("SQLite migration %s has no PostgreSQL counterpart in migrations/", lite[i])
		case i >= len(lite):
			t.Errorf("PostgreSQL migration %s has no SQLite counterpart", pg[i])
		case pg[i].String() != lite[i].String():
			t.Errorf("PostgreSQL migration %s, SQLite %s: want the same name", pg[i], lite[i])
		}
	}
}

// TestMigrateFailureRollsBack checks that a failing migration leaves no
// trace, neither its changes nor its schema_migrations row, and that
// running again once it is fixed applies it.
func TestMigrateFailureRollsBack(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := New(pool)
	now := func() time.Time { return time.UnixMilli(1234567).UTC() }
	ms := []Migration{
		{Version: 1, Name: "a", SQL: `CREATE TABLE a (x integer);`},
		{Version: 2, Name: "b", SQL: `CREATE TABLE b (x integer); INSERT INTO b VALUES (1); SELEKT nonsense;`},
	}
	if err := migrate(t.Context(), pool, ms, now); err == nil || !strings.Contains(err.Error(), "0002_b") {
		t.Fatalf("migrate with a broken migration = %v, want an error naming 0002_b", err)
	}
	if v, err := s.SchemaVersion(t.Context()); err != nil || v != 1 {
		t.Fatalf("SchemaVersion = %d, %v; want 1, nil", v, err)
	}
	var exists bool
	if err := pool.QueryRow(t.Context(), `SELECT to_regclass('b') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Fatalf("table b of the failed migration exists: %v, %v; want false, nil", exists, err)
	}

	ms[1].SQL = `CREATE TABLE b (x integer); INSERT INTO b VALUES (1);`
	if err := migrate(t.Context(), pool, ms, now); err != nil {
		t.Fatalf("migrate after the fix: %v", err)
	}
	if v, err := s.SchemaVersion(t.Context()); err != nil || v != 2 {
		t.Fatalf("SchemaVersion = %d, %v; want 2, nil", v, err)
	}
	var applied int64
	if err := pool.QueryRow(t.Context(), `SELECT applied_at FROM schema_migrations WHERE version = 2`).Scan(&applied); err != nil || applied != 1234567 {
		t.Errorf("applied_at = %d, %v; want 1234567 (unix ms of now)", applied, err)
	}
}
