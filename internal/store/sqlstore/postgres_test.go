package sqlstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

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
	if _, err := conn.Exec(t.Context(), "SELECT pg_advisory_lock($1)", MigrationLockKey); err != nil {
		t.Fatal(err)
	}
	s, err := OpenPostgres(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := s.Migrate(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Migrate while another session holds the lock = %v, want context.DeadlineExceeded", err)
	}
	if v, err := s.SchemaVersion(t.Context()); err != nil || v != 0 {
		t.Fatalf("SchemaVersion after the interrupted Migrate = %d, %v; want 0, nil", v, err)
	}
	if _, err := conn.Exec(t.Context(), "SELECT pg_advisory_unlock($1)", MigrationLockKey); err != nil {
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
		AND ((classid::bigint << 32) | objid::bigint) = $1`, MigrationLockKey).Scan(&held)
	if err != nil {
		t.Fatal(err)
	}
	if held != 0 {
		t.Errorf("%d sessions hold the migration lock after Migrate returned, want 0", held)
	}
}
