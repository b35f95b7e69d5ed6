package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// CreateSessions stores many new records in one transaction: all of them,
// or, on any error, none. Each record is checked and stored as
// CreateSession would, and a taken id or secret hash (in the database or
// earlier in ss) is store.ErrConflict.
//
// It is for bulk loading (the benchmark seeder, imports), not part of
// store.SessionStore. On PostgreSQL it is one COPY; on SQLite one prepared
// INSERT per record in one transaction, whose one commit (one fsync with
// synchronous=FULL) covers the whole batch. A batch holds SQLite's write
// lock until it commits, so callers keep batches to a few thousand records
// on a database that serves requests.
func (s *Store) CreateSessions(ctx context.Context, ss []store.Session) error {
	rows := make([][]any, len(ss))
	for i, r := range ss {
		args, err := s.sessionArgs(r)
		if err != nil {
			return s.errorf(fmt.Sprintf("create sessions: record %d", i), err)
		}
		rows[i] = args
	}
	return s.bulkInsert(ctx, "create sessions", "sessions", sessionColumnNames, insertSession, rows)
}

// CreateRefreshTokens stores many new, current tokens in one transaction,
// all or none, as CreateRefreshToken stores one; a taken hash is
// store.ErrConflict. Like CreateSessions it is for bulk loading.
func (s *Store) CreateRefreshTokens(ctx context.Context, ts []store.RefreshToken) error {
	rows := make([][]any, len(ts))
	for i, t := range ts {
		rows[i] = refreshTokenArgs(t)
	}
	return s.bulkInsert(ctx, "create refresh tokens", "refresh_tokens", refreshTokenColumns, insertRefreshToken, rows)
}

// bulkInsert stores rows, the values of columns of table, all or none:
// with COPY on PostgreSQL, with the prepared statement insert in one
// transaction on SQLite.
func (s *Store) bulkInsert(ctx context.Context, op, table string, columns []string, insert string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if s.f.copy {
		if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows)); err != nil {
			return s.wrapErr(op, err)
		}
		return nil
	}
	return s.inTx(ctx, op, func(tx db) error {
		stmt, err := tx.(stdDB).x.(*sql.Tx).PrepareContext(ctx, s.f.rebind(insert))
		if err != nil {
			return s.wrapErr(op, err)
		}
		defer stmt.Close()
		for i, args := range rows {
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return s.wrapErr(fmt.Sprintf("%s: record %d", op, i), err)
			}
		}
		return nil
	})
}
