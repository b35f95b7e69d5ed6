package sqlite

import (
	"context"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// CreateSessions stores many new records in one transaction: all of them,
// or, on any error, none. Each record is checked and stored as
// CreateSession would, and a taken id or secret hash (in the database or
// earlier in ss) is store.ErrConflict.
//
// It is for bulk loading (the benchmark seeder, imports), not part of
// store.SessionStore: with synchronous=FULL one commit, one fsync, covers
// the whole batch instead of one per record. A batch holds the database's
// write lock until it commits, so callers keep batches to a few thousand
// records on a database that serves requests.
func (s *Store) CreateSessions(ctx context.Context, ss []store.Session) error {
	if len(ss) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr("create sessions", err)
	}
	defer rollback(tx)
	stmt, err := tx.PrepareContext(ctx, insertSession)
	if err != nil {
		return wrapErr("create sessions", err)
	}
	defer stmt.Close()
	for i, r := range ss {
		args, err := sessionArgs(r)
		if err != nil {
			return fmt.Errorf("sqlite: create sessions: record %d: %w", i, err)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return wrapErr(fmt.Sprintf("create sessions: record %d", i), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return wrapErr("create sessions", err)
	}
	return nil
}

// CreateRefreshTokens stores many new, current tokens in one transaction,
// all or none, as CreateRefreshToken stores one; a taken hash is
// store.ErrConflict. Like CreateSessions it is for bulk loading.
func (s *Store) CreateRefreshTokens(ctx context.Context, ts []store.RefreshToken) error {
	if len(ts) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr("create refresh tokens", err)
	}
	defer rollback(tx)
	stmt, err := tx.PrepareContext(ctx, insertRefreshToken)
	if err != nil {
		return wrapErr("create refresh tokens", err)
	}
	defer stmt.Close()
	for i, t := range ts {
		if _, err := stmt.ExecContext(ctx, refreshTokenArgs(t)...); err != nil {
			return wrapErr(fmt.Sprintf("create refresh tokens: record %d", i), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return wrapErr("create refresh tokens", err)
	}
	return nil
}
