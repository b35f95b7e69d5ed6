package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

// TestMigratePostgres runs "gatehouse migrate --db postgres://…" twice on
// a new database: the first run applies every migration, the second finds
// nothing to do.
func TestMigratePostgres(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	ms, err := sqlstore.Migrations("postgres")
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	want := fmt.Sprintf("database is at schema version %d\n", len(ms))
	for i := range 2 {
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), []string{"migrate", "--db", dbURL, "--data-dir", dataDir}, strings.NewReader(""), &stdout, &stderr)
		if err != nil {
			t.Fatalf("migrate #%d: %v\nstderr: %s", i+1, err, stderr.String())
		}
		if stdout.String() != want {
			t.Errorf("migrate #%d printed %q, want %q", i+1, stdout.String(), want)
		}
	}
}
