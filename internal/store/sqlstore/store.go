package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Compile-time checks that Store implements the store interfaces.
var (
	_ store.UserStore             = (*Store)(nil)
	_ store.SessionStore          = (*Store)(nil)
	_ store.KeyStore              = (*Store)(nil)
	_ store.RefreshTokenStore     = (*Store)(nil)
	_ store.RevocationStore       = (*Store)(nil)
	_ store.ClientStore           = (*Store)(nil)
	_ store.AuthCodeStore         = (*Store)(nil)
	_ store.ConsentStore          = (*Store)(nil)
	_ store.LeaseStore            = (*Store)(nil)
	_ store.MailOutbox            = (*Store)(nil)
	_ store.OneTimeTokenStore     = (*Store)(nil)
	_ store.OneTimeTokenMailStore = (*Store)(nil)
	_ store.EventStore            = (*Store)(nil)
	_ store.SessionEventStore     = (*Store)(nil)
	_ store.RevocationEventStore  = (*Store)(nil)
	_ store.UserEventStore        = (*Store)(nil)
)

// Store keeps users, session records, signing keys, refresh tokens, the
// revocation log, OAuth clients, authorization codes, consents, job
// leases, the mail outbox and one-time tokens in a SQLite or PostgreSQL database. It is safe for concurrent
// use (on PostgreSQL, by any number of processes sharing the database).
type Store struct {
	sqlDB *sql.DB
	db    db
	f     *flavor
	// pool is the pgx pool the PostgreSQL statements run on (and
	// LISTEN/NOTIFY); nil on SQLite.
	pool *pgxpool.Pool
	// writeSlot lets one of this process's write transactions run at a
	// time on SQLite (nil on PostgreSQL). SQLite runs one writer anyway
	// (BEGIN IMMEDIATE), but its busy handler polls with sleeps, not in
	// turn: under a burst one transaction could lose the race for longer
	// than busy_timeout and fail with SQLITE_BUSY (seen with four writers
	// of 25 event batches each under the race detector). Waiting here is
	// in arrival order and ends with the caller's context; busy_timeout
	// is left to cover other processes on the same file.
	writeSlot chan struct{}
}

// newStore returns a Store on sqlDB in flavor f.
func newStore(sqlDB *sql.DB, f *flavor) *Store {
	s := &Store{sqlDB: sqlDB, db: stdDB{sqlDB, f}, f: f}
	if f.name == "sqlite" {
		s.writeSlot = make(chan struct{}, 1)
	}
	return s
}

// Flavor names the database: "sqlite" or "postgres".
func (s *Store) Flavor() string { return s.f.name }

// DB returns a database/sql pool on the store's database (on PostgreSQL,
// pgx's driver beside the pgx pool the stores use).
func (s *Store) DB() *sql.DB { return s.sqlDB }

// PgxPool returns the pgx pool of the store's PostgreSQL database, for
// LISTEN/NOTIFY (package pgnotify), nil on SQLite. Close closes it.
func (s *Store) PgxPool() *pgxpool.Pool { return s.pool }

// Close closes the database.
func (s *Store) Close() error {
	err := s.sqlDB.Close()
	if s.pool != nil {
		s.pool.Close()
	}
	if err != nil {
		return fmt.Errorf("%s: close: %w", s.f.name, err)
	}
	return nil
}

// Ping reports whether the database answers, on the pool the stores'
// statements use (on PostgreSQL, a ping also finds a connection that an
// outage broke, which the pool then drops).
func (s *Store) Ping(ctx context.Context) error {
	ping := s.sqlDB.PingContext
	if s.pool != nil {
		ping = s.pool.Ping
	}
	if err := ping(ctx); err != nil {
		return fmt.Errorf("%s: ping: %w", s.f.name, err)
	}
	return nil
}

// inTx runs fn in a transaction (IMMEDIATE on SQLite, READ COMMITTED on
// PostgreSQL) and commits it if fn returns nil. An error from fn is
// returned as is, after rolling back; begin and commit errors are wrapped
// for op.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx db) error) error {
	if s.pool != nil {
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			return s.wrapErr(op+": begin", err)
		}
		// After a commit this is a no-op. A rollback that fails (ctx
		// ended, say) closes the connection, which the pool then discards
		// and the server rolls back: its error adds nothing.
		defer func() { _ = tx.Rollback(ctx) }()
		if err := fn(pgxDB{tx, s.f}); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return s.wrapErr(op+": commit", err)
		}
		return nil
	}
	if s.writeSlot != nil {
		select {
		case s.writeSlot <- struct{}{}:
			defer func() { <-s.writeSlot }()
		case <-ctx.Done():
			return s.wrapErr(op+": begin", ctx.Err())
		}
	}
	tx, err := s.sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return s.wrapErr(op+": begin", err)
	}
	// After a commit this is a no-op; its error adds nothing to the one
	// the caller returns.
	defer func() { _ = tx.Rollback() }()
	if err := fn(stdDB{tx, s.f}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.wrapErr(op+": commit", err)
	}
	return nil
}

// scanner is one row: a *sql.Row, *sql.Rows, pgx.Row or pgx.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// collect reads every row of rows with scan, closes rows, and returns an
// empty, non-nil slice if there are none.
func collect[T any](rows rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// errorf returns an error for op with the flavor's prefix.
func (s *Store) errorf(op string, err error) error {
	return fmt.Errorf("%s: %s: %w", s.f.name, op, err)
}

// wrapErr wraps err, returned by the operation op, with the flavor's
// prefix, mapping sql.ErrNoRows to store.ErrNotFound and unique-key
// violations to store.ErrConflict (keeping the driver's error in the
// chain). Other constraint failures (CHECK, NOT NULL) are bugs, not
// conflicts.
func (s *Store) wrapErr(op string, err error) error {
	switch {
	case errors.Is(err, sql.ErrNoRows), errors.Is(err, pgx.ErrNoRows):
		return s.errorf(op, store.ErrNotFound)
	case s.f.isUnique(err):
		return fmt.Errorf("%s: %s: %w: %w", s.f.name, op, store.ErrConflict, err)
	default:
		return s.errorf(op, err)
	}
}

// wrapErrIf is wrapErr for op, or nil if err is nil.
func (s *Store) wrapErrIf(op string, err error) error {
	if err == nil {
		return nil
	}
	return s.wrapErr(op, err)
}

// affected returns how many rows res changed, for operations that report a
// count.
func (s *Store) affected(op string, res result, err error) (int, error) {
	if err != nil {
		return 0, s.wrapErr(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.wrapErr(op, err)
	}
	return int(n), nil
}

// checkAffected returns store.ErrNotFound, wrapped for op, if res changed
// no row.
func (s *Store) checkAffected(op string, res result, err error) error {
	n, err := s.affected(op, res, err)
	if err != nil {
		return err
	}
	if n == 0 {
		return s.errorf(op, store.ErrNotFound)
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

// blob returns b as bound to a NOT NULL BLOB or bytea column: the drivers
// bind a nil []byte as NULL, so nil becomes an empty value.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
