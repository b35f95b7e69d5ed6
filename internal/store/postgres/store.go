package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

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
	_ store.AuthCodeStore     = (*Store)(nil)
	_ store.ConsentStore      = (*Store)(nil)
)

// Store keeps users, session records, signing keys, refresh tokens, the
// revocation log, OAuth clients, authorization codes and consents in a
// PostgreSQL database. It is safe
// for concurrent use, by any number of goroutines and of processes
// sharing the database.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a Store on pool. The caller keeps ownership of pool and
// closes it after the last use of the Store. Tables are found through the
// connections' search_path (by default the "public" schema). Call Migrate
// before use.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool}
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// querier is what the stores' statements run on: the pool, or a
// transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// scanner is a pgx.Row or pgx.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// uniqueViolation is the SQLSTATE of a violated UNIQUE or PRIMARY KEY
// constraint.
const uniqueViolation = "23505"

// wrapErr wraps err, returned by the operation op, with the package prefix,
// mapping pgx.ErrNoRows to store.ErrNotFound and unique-key violations to
// store.ErrConflict (keeping the PostgreSQL error in the chain).
func wrapErr(op string, err error) error {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
	case isUniqueViolation(err):
		return fmt.Errorf("postgres: %s: %w: %w", op, store.ErrConflict, err)
	default:
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
}

// isUniqueViolation reports whether err is PostgreSQL's violation of a
// UNIQUE or PRIMARY KEY constraint. Other constraint failures (CHECK, NOT
// NULL) are bugs, not conflicts.
func isUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == uniqueViolation
}

// inTx runs fn in a transaction on the pool (READ COMMITTED, the server's
// default) and commits it if fn returns nil. An error from fn is returned
// as is, after rolling back; begin and commit errors are wrapped for op.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return wrapErr(op+": begin", err)
	}
	// After a commit this is a no-op. A rollback that fails (ctx ended,
	// say) closes the connection, which the pool then discards and the
	// server rolls back: its error adds nothing.
	defer func() { _ = tx.Rollback(ctx) }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return wrapErr(op+": commit", err)
	}
	return nil
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
func nullMillis(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ms := millis(t)
	return &ms
}

// fromNullMillis returns the time of a nullable column: the zero time for
// NULL.
func fromNullMillis(ms *int64) time.Time {
	if ms == nil {
		return time.Time{}
	}
	return fromMillis(*ms)
}

// blob returns b as bound to a NOT NULL bytea column: pgx binds a nil
// []byte as NULL, so nil becomes an empty value.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// affected returns how many rows a statement changed, as an int.
func affected(tag pgconn.CommandTag) int {
	return int(tag.RowsAffected())
}

// checkAffected returns store.ErrNotFound, wrapped for op, if tag reports
// no row changed.
func checkAffected(op string, tag pgconn.CommandTag) error {
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
	}
	return nil
}
