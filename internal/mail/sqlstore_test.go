package mail

import (
	"path/filepath"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

// TestTwoInstancesOnTheSQLStoreSendEachMailOnce runs the two-worker
// exactly-once check on the real outbox: two store handles (two
// instances) on one SQLite file, and on one PostgreSQL database.
func TestTwoInstancesOnTheSQLStoreSendEachMailOnce(t *testing.T) {
	migrated := func(t *testing.T, open func() (*sqlstore.Store, error)) store.MailOutbox {
		t.Helper()
		s, err := open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		return s
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "gatehouse.db")
		a := migrated(t, func() (*sqlstore.Store, error) { return sqlstore.OpenSQLite(t.Context(), path) })
		b := migrated(t, func() (*sqlstore.Store, error) { return sqlstore.OpenSQLite(t.Context(), path) })
		twoWorkersSendEachMailOnce(t, a, b)
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.NewDatabase(t)
		a := migrated(t, func() (*sqlstore.Store, error) { return sqlstore.OpenPostgres(t.Context(), url) })
		b := migrated(t, func() (*sqlstore.Store, error) { return sqlstore.OpenPostgres(t.Context(), url) })
		twoWorkersSendEachMailOnce(t, a, b)
	})
}
