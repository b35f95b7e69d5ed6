package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Compile-time checks that Store implements the store interfaces.
var (
	_ store.UserStore         = (*Store)(nil)
	_ store.SessionStore      = (*Store)(nil)
	_ store.KeyStore          = (*Store)(nil)
	_ store.RefreshTokenStore = (*Store)(nil)
	_ store.RevocationStore   = (*Store)(nil)
	_ store.ClientStore       = (*Store)(nil)
)

// Store keeps users, session records, signing keys, refresh tokens, the
// revocation log and OAuth clients in a SQLite database. It is safe for
// concurrent use.
type Store struct {
	db *sql.DB
}

// New returns a Store on db, which should come from Open or have the same
// settings: without _txlock=immediate, concurrent updates still lose
// nothing but may fail with SQLITE_BUSY instead of waiting their turn. The
// caller keeps ownership of db and closes it. Call Migrate before use.
func New(db *sql.DB) *Store {
	return &Store{db: db}
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// wrapErr wraps err, returned by the operation op, with the package prefix,
// mapping sql.ErrNoRows to store.ErrNotFound and unique-key violations to
// store.ErrConflict (keeping the SQLite error in the chain).
func wrapErr(op string, err error) error {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlite: %s: %w", op, store.ErrNotFound)
	case isUniqueViolation(err):
		return fmt.Errorf("sqlite: %s: %w: %w", op, store.ErrConflict, err)
	default:
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
}

// isUniqueViolation reports whether err is SQLite's violation of a UNIQUE
// or PRIMARY KEY constraint. Other constraint failures (CHECK, NOT NULL)
// are bugs, not conflicts.
func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return false
}

// millis returns t as stored: unix milliseconds.
func millis(t time.Time) int64 {
	return t.UnixMilli()
}

// fromMillis returns the UTC time of the stored unix milliseconds ms.
func fromMillis(ms int64) time.Time {
	return time.UnixMilli(ms).UTC()
}

// nullMillis returns t as stored in a nullable column: NULL for the zero
// time, else unix milliseconds.
func nullMillis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return millis(t)
}

// fromNullMillis returns the time of a nullable column: the zero time for
// NULL.
func fromNullMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return fromMillis(ms.Int64)
}

// blob returns b as bound to a NOT NULL BLOB column: the driver binds a
// nil []byte as NULL, so nil becomes an empty blob.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// rollback ends tx if it has not been committed. Its error is dropped: the
// caller already returns a better one, or the commit went through.
func rollback(tx *sql.Tx) {
	_ = tx.Rollback()
}

// affected returns how many rows res changed, for operations that report a
// count.
func affected(op string, res sql.Result) (int, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrapErr(op, err)
	}
	return int(n), nil
}

// checkAffected returns store.ErrNotFound, wrapped for op, if res changed
// no row.
func checkAffected(op string, res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(op, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: %w", op, store.ErrNotFound)
	}
	return nil
}
