package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// authCodeColumns lists the auth_codes columns in the order scanAuthCode
// reads them.
const authCodeColumns = `hash, client_id, user_id, session_id, redirect_uri,
	code_challenge, code_challenge_method, scope, audiences, nonce,
	auth_time, created_at, expires_at, used_at, grant_id`

// scanAuthCode reads one row of authCodeColumns.
func scanAuthCode(r scanner) (store.AuthCode, error) {
	var (
		c                          store.AuthCode
		authTime, created, expires int64
		used                       *int64
	)
	err := r.Scan(&c.Hash, &c.ClientID, &c.UserID, &c.SessionID, &c.RedirectURI,
		&c.CodeChallenge, &c.CodeChallengeMethod, &c.Scope, &c.Audience, &c.Nonce,
		&authTime, &created, &expires, &used, &c.GrantID)
	if err != nil {
		return store.AuthCode{}, err
	}
	c.AuthTime = fromMillis(authTime)
	c.CreatedAt = fromMillis(created)
	c.ExpiresAt = fromMillis(expires)
	c.UsedAt = fromNullMillis(used)
	return c, nil
}

// CreateAuthCode stores a new, unused code (its UsedAt and GrantID are
// ignored); store.ErrConflict if its hash exists.
func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO auth_codes (`+authCodeColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL, '')`,
		blob(c.Hash), c.ClientID, c.UserID, c.SessionID, c.RedirectURI,
		c.CodeChallenge, c.CodeChallengeMethod, c.Scope, list(c.Audience), c.Nonce,
		millis(c.AuthTime), millis(c.CreatedAt), millis(c.ExpiresAt))
	if err != nil {
		return wrapErr("create auth code", err)
	}
	return nil
}

// GetAuthCode returns the code with the given hash, used or not, expired
// or not, or store.ErrNotFound.
func (s *Store) GetAuthCode(ctx context.Context, hash []byte) (store.AuthCode, error) {
	c, err := scanAuthCode(s.pool.QueryRow(ctx,
		`SELECT `+authCodeColumns+` FROM auth_codes WHERE hash = $1`, blob(hash)))
	if err != nil {
		return store.AuthCode{}, wrapErr("get auth code", err)
	}
	return c, nil
}

// RedeemAuthCode marks the unused code used, with one conditional UPDATE
// (… WHERE used_at IS NULL): of concurrent redemptions the first takes
// the row lock, and the others re-check the condition once it commits and
// change nothing. A used code is store.ErrConflict, a missing one
// store.ErrNotFound.
func (s *Store) RedeemAuthCode(ctx context.Context, hash []byte, usedAt time.Time, grantID string) error {
	const op = "redeem auth code"
	tag, err := s.pool.Exec(ctx,
		`UPDATE auth_codes SET used_at = $1, grant_id = $2 WHERE hash = $3 AND used_at IS NULL`,
		millis(usedAt), grantID, blob(hash))
	if err != nil {
		return wrapErr(op, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var exists bool
	err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM auth_codes WHERE hash = $1)`, blob(hash)).Scan(&exists)
	switch {
	case err != nil:
		return wrapErr(op, err)
	case !exists:
		return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
	}
	return fmt.Errorf("postgres: %s: already used: %w", op, store.ErrConflict)
}

// DeleteExpiredAuthCodes removes codes, used or not, whose ExpiresAt is
// at or before before, and returns how many it removed.
func (s *Store) DeleteExpiredAuthCodes(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM auth_codes WHERE expires_at <= $1`, millis(before))
	if err != nil {
		return 0, wrapErr("delete expired auth codes", err)
	}
	return affected(tag), nil
}
