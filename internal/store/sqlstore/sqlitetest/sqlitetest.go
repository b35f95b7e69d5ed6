// Package sqlitetest opens real, migrated SQLite stores for tests of
// packages built on the store interfaces (the team's rule: real backends,
// never mocks or in-memory stand-ins).
package sqlitetest

import (
	"path/filepath"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
)

// New returns a migrated SQLite store in a file under t.TempDir(), closed
// when the test ends. It fails the test if the store cannot be opened.
func New(t testing.TB) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatalf("sqlitetest: open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatalf("sqlitetest: migrate: %v", err)
	}
	return st
}
