package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// CreateSessions stores many new records with one COPY: all of them, or,
// on any error, none. Each record is checked and stored as CreateSession
// would, and a taken id or secret hash (in the database or earlier in ss)
// is store.ErrConflict.
//
// It is for bulk loading (the benchmark seeder, imports), not part of
// store.SessionStore: one statement and one commit cover the whole batch
// instead of one round trip and one commit per record.
func (s *Store) CreateSessions(ctx context.Context, ss []store.Session) error {
	if len(ss) == 0 {
		return nil
	}
	rows := make([][]any, len(ss))
	for i, r := range ss {
		args, err := sessionArgs(r)
		if err != nil {
			return fmt.Errorf("postgres: create sessions: record %d: %w", i, err)
		}
		rows[i] = args
	}
	if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"sessions"}, sessionColumnNames, pgx.CopyFromRows(rows)); err != nil {
		return wrapErr("create sessions", err)
	}
	return nil
}

// CreateRefreshTokens stores many new, current tokens with one COPY, all
// or none, as CreateRefreshToken stores one; a taken hash is
// store.ErrConflict. Like CreateSessions it is for bulk loading.
func (s *Store) CreateRefreshTokens(ctx context.Context, ts []store.RefreshToken) error {
	if len(ts) == 0 {
		return nil
	}
	rows := make([][]any, len(ts))
	for i, t := range ts {
		rows[i] = refreshTokenArgs(t)
	}
	if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"refresh_tokens"}, refreshTokenColumns, pgx.CopyFromRows(rows)); err != nil {
		return wrapErr("create refresh tokens", err)
	}
	return nil
}
