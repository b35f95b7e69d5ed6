package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// refreshColumns lists the refresh_tokens columns in the order
// scanRefreshToken reads them.
const refreshColumns = `hash, session_id, created_at, expires_at, rotated_at, sealed_successor`

// scanRefreshToken reads one row of refreshColumns.
func scanRefreshToken(r scanner) (store.RefreshToken, error) {
	var (
		rt               store.RefreshToken
		created, expires int64
		rotated          sql.NullInt64
	)
	if err := r.Scan(&rt.Hash, &rt.SessionID, &created, &expires, &rotated, &rt.SealedSuccessor); err != nil {
		return store.RefreshToken{}, err
	}
	rt.CreatedAt = fromMillis(created)
	rt.ExpiresAt = fromMillis(expires)
	rt.RotatedAt = fromNullMillis(rotated)
	return rt, nil
}

// insertRefreshToken is the statement that stores a new, current token.
const insertRefreshToken = `INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) VALUES (?, ?, ?, ?)`

// refreshTokenArgs returns the arguments of insertRefreshToken for rt.
func refreshTokenArgs(rt store.RefreshToken) []any {
	return []any{blob(rt.Hash), rt.SessionID, millis(rt.CreatedAt), millis(rt.ExpiresAt)}
}

// CreateRefreshToken stores rt as a current token (its RotatedAt and
// SealedSuccessor are not stored), or returns store.ErrConflict if its hash
// is taken.
func (s *Store) CreateRefreshToken(ctx context.Context, rt store.RefreshToken) error {
	if _, err := s.db.ExecContext(ctx, insertRefreshToken, refreshTokenArgs(rt)...); err != nil {
		return wrapErr("create refresh token", err)
	}
	return nil
}

// GetRefreshToken returns the token whose hash is hash, expired or not, or
// store.ErrNotFound.
func (s *Store) GetRefreshToken(ctx context.Context, hash []byte) (store.RefreshToken, error) {
	rt, err := scanRefreshToken(s.db.QueryRowContext(ctx,
		`SELECT `+refreshColumns+` FROM refresh_tokens WHERE hash = ?`, blob(hash)))
	if err != nil {
		return store.RefreshToken{}, wrapErr("get refresh token", err)
	}
	return rt, nil
}

// RotateRefreshToken marks the current token oldHash as rotated at
// successor.CreatedAt with sealedSuccessor and stores successor, in one
// IMMEDIATE transaction, so that of concurrent rotations of one token
// exactly one succeeds. It returns store.ErrNotFound if oldHash does not
// exist and store.ErrConflict if it was already rotated or if successor's
// hash is taken; then it writes nothing.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash []byte, sealedSuccessor []byte, successor store.RefreshToken) error {
	const op = "rotate refresh token"
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr(op+": begin", err)
	}
	defer rollback(tx)

	res, err := tx.ExecContext(ctx,
		`UPDATE refresh_tokens SET rotated_at = ?, sealed_successor = ?
		WHERE hash = ? AND rotated_at IS NULL`,
		millis(successor.CreatedAt), blob(sealedSuccessor), blob(oldHash))
	if err != nil {
		return wrapErr(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(op, err)
	}
	if n == 0 {
		var exists bool
		err := tx.QueryRowContext(ctx,
			`SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE hash = ?)`, blob(oldHash)).Scan(&exists)
		if err != nil {
			return wrapErr(op, err)
		}
		if exists {
			return fmt.Errorf("sqlite: %s: already rotated: %w", op, store.ErrConflict)
		}
		return fmt.Errorf("sqlite: %s: %w", op, store.ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, insertRefreshToken, refreshTokenArgs(successor)...); err != nil {
		return wrapErr(op+": insert successor", err)
	}
	if err := tx.Commit(); err != nil {
		return wrapErr(op+": commit", err)
	}
	return nil
}

// DeleteSessionRefreshTokens removes every token of the grant sessionID,
// current or rotated; removing none is not an error.
func (s *Store) DeleteSessionRefreshTokens(ctx context.Context, sessionID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE session_id = ?`, sessionID); err != nil {
		return wrapErr("delete session refresh tokens", err)
	}
	return nil
}

// DeleteExpiredRefreshTokens removes tokens, current or rotated, whose
// ExpiresAt is at or before now, and returns how many it removed.
func (s *Store) DeleteExpiredRefreshTokens(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE expires_at <= ?`, millis(now))
	if err != nil {
		return 0, wrapErr("delete expired refresh tokens", err)
	}
	return affected("delete expired refresh tokens", res)
}
