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
	_ store.UserStore    = (*Store)(nil)
	_ store.SessionStore = (*Store)(nil)
)

// Store keeps users and session records in a SQLite database. It is safe
// for concurrent use.
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

// rollback ends tx if it has not been committed. Its error is dropped: the
// caller already returns a better one, or the commit went through.
func rollback(tx *sql.Tx) {
	_ = tx.Rollback()
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
