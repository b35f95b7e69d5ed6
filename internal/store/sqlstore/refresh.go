package sqlstore

import (
	"context"
	"database/sql"
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

// refreshTokenColumns are the columns of a new, current token, in the
// order of refreshTokenArgs (COPY names them).
var refreshTokenColumns = []string{"hash", "session_id", "created_at", "expires_at"}

// insertRefreshToken is the statement that stores a new, current token.
const insertRefreshToken = `INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) VALUES (?, ?, ?, ?)`

// refreshTokenArgs returns the values of refreshTokenColumns for rt, the
// arguments of insertRefreshToken.
func refreshTokenArgs(rt store.RefreshToken) []any {
	return []any{blob(rt.Hash), rt.SessionID, millis(rt.CreatedAt), millis(rt.ExpiresAt)}
}

// CreateRefreshToken stores rt as a current token (its RotatedAt and
// SealedSuccessor are not stored), or returns store.ErrConflict if its hash
// is taken.
func (s *Store) CreateRefreshToken(ctx context.Context, rt store.RefreshToken) error {
	if _, err := s.db.ExecContext(ctx, insertRefreshToken, refreshTokenArgs(rt)...); err != nil {
		return s.wrapErr("create refresh token", err)
	}
	return nil
}

// GetRefreshToken returns the token whose hash is hash, expired or not, or
// store.ErrNotFound.
func (s *Store) GetRefreshToken(ctx context.Context, hash []byte) (store.RefreshToken, error) {
	rt, err := scanRefreshToken(s.db.QueryRowContext(ctx,
		`SELECT `+refreshColumns+` FROM refresh_tokens WHERE hash = ?`, blob(hash)))
	if err != nil {
		return store.RefreshToken{}, s.wrapErr("get refresh token", err)
	}
	return rt, nil
}

// RotateRefreshToken marks the current token oldHash as rotated at
// successor.CreatedAt with sealedSuccessor and stores successor, in one
// transaction. It returns store.ErrNotFound if oldHash does not exist and
// store.ErrConflict if it was already rotated or if successor's hash is
// taken; then it writes nothing.
//
// Of concurrent rotations of one token exactly one succeeds: on SQLite
// the IMMEDIATE transactions run one after another; on PostgreSQL the
// conditional UPDATE (… WHERE rotated_at IS NULL) decides: the first takes
// the row lock, and the others wait for it, re-check the condition against
// the committed row, find it rotated and change nothing. Should the first
// roll back (its successor's hash was taken), the next one rotates
// instead.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash []byte, sealedSuccessor []byte, successor store.RefreshToken) error {
	const op = "rotate refresh token"
	return s.inTx(ctx, op, func(tx db) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE refresh_tokens SET rotated_at = ?, sealed_successor = ?
			WHERE hash = ? AND rotated_at IS NULL`,
			millis(successor.CreatedAt), blob(sealedSuccessor), blob(oldHash))
		n, err := s.affected(op, res, err)
		if err != nil {
			return err
		}
		if n == 0 {
			var exists bool
			err := tx.QueryRowContext(ctx,
				`SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE hash = ?)`, blob(oldHash)).Scan(&exists)
			if err != nil {
				return s.wrapErr(op, err)
			}
			if exists {
				return s.errorf(op+": already rotated", store.ErrConflict)
			}
			return s.errorf(op, store.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, insertRefreshToken, refreshTokenArgs(successor)...); err != nil {
			return s.wrapErr(op+": insert successor", err)
		}
		return nil
	})
}

// DeleteSessionRefreshTokens removes every token of the grant sessionID,
// current or rotated; removing none is not an error.
func (s *Store) DeleteSessionRefreshTokens(ctx context.Context, sessionID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE session_id = ?`, sessionID); err != nil {
		return s.wrapErr("delete session refresh tokens", err)
	}
	return nil
}

// DeleteExpiredRefreshTokens removes tokens, current or rotated, whose
// ExpiresAt is at or before now, and returns how many it removed.
func (s *Store) DeleteExpiredRefreshTokens(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE expires_at <= ?`, millis(now))
	return s.affected("delete expired refresh tokens", res, err)
}
