package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// authCodeColumns lists the auth_codes columns in the order scanAuthCode
// reads them.
const authCodeColumns = `hash, client_id, user_id, session_id, redirect_uri,
	code_challenge, code_challenge_method, scope, audiences, nonce,
	auth_time, created_at, expires_at, used_at, grant_id, auth_methods`

// scanAuthCode reads one row of authCodeColumns.
func (s *Store) scanAuthCode(r scanner) (store.AuthCode, error) {
	var (
		c                          store.AuthCode
		authTime, created, expires int64
		used                       sql.NullInt64
		methods                    string
	)
	err := r.Scan(&c.Hash, &c.ClientID, &c.UserID, &c.SessionID, &c.RedirectURI,
		&c.CodeChallenge, &c.CodeChallengeMethod, &c.Scope, s.f.listDest(&c.Audience), &c.Nonce,
		&authTime, &created, &expires, &used, &c.GrantID, &methods)
	if err != nil {
		return store.AuthCode{}, err
	}
	c.AuthTime = fromMillis(authTime)
	c.CreatedAt = fromMillis(created)
	c.ExpiresAt = fromMillis(expires)
	c.UsedAt = fromNullMillis(used)
	c.AuthMethods = decodeMethods(methods)
	return c, nil
}

// CreateAuthCode stores a new, unused code; store.ErrConflict if its hash
// exists.
func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	aud, err := s.f.listArg(c.Audience)
	if err != nil {
		return s.errorf("create auth code", err)
	}
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO auth_codes (`+authCodeColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '', ?)`,
		blob(c.Hash), c.ClientID, c.UserID, c.SessionID, c.RedirectURI,
		c.CodeChallenge, c.CodeChallengeMethod, c.Scope, aud, c.Nonce,
		millis(c.AuthTime), millis(c.CreatedAt), millis(c.ExpiresAt), encodeMethods(c.AuthMethods))
	if err != nil {
		return s.wrapErr("create auth code", err)
	}
	return nil
}

// GetAuthCode returns the code with the given hash, or store.ErrNotFound.
func (s *Store) GetAuthCode(ctx context.Context, hash []byte) (store.AuthCode, error) {
	c, err := s.scanAuthCode(s.db.QueryRowContext(ctx,
		`SELECT `+authCodeColumns+` FROM auth_codes WHERE hash = ?`, blob(hash)))
	if err != nil {
		return store.AuthCode{}, s.wrapErr("get auth code", err)
	}
	return c, nil
}

// RedeemAuthCode marks the unused code used, with one conditional UPDATE:
// of concurrent redemptions exactly one changes the row. A used code is
// store.ErrConflict, a missing one store.ErrNotFound.
func (s *Store) RedeemAuthCode(ctx context.Context, hash []byte, usedAt time.Time, grantID string) error {
	const op = "redeem auth code"
	res, err := s.db.ExecContext(ctx,
		`UPDATE auth_codes SET used_at = ?, grant_id = ? WHERE hash = ? AND used_at IS NULL`,
		millis(usedAt), grantID, blob(hash))
	n, err := s.affected(op, res, err)
	if err != nil || n == 1 {
		return err
	}
	var exists bool
	err = s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM auth_codes WHERE hash = ?)`, blob(hash)).Scan(&exists)
	switch {
	case err != nil:
		return s.wrapErr(op, err)
	case !exists:
		return s.errorf(op, store.ErrNotFound)
	}
	return s.errorf(op+": already used", store.ErrConflict)
}

// DeleteExpiredAuthCodes removes codes whose ExpiresAt is at or before
// before and returns how many.
func (s *Store) DeleteExpiredAuthCodes(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM auth_codes WHERE expires_at <= ?`, millis(before))
	return s.affected("delete expired auth codes", res, err)
}

// consentColumns lists the consents columns in the order scanConsent
// reads them.
const consentColumns = `user_id, client_id, scopes, created_at, updated_at`

// scanConsent reads one row of consentColumns.
func (s *Store) scanConsent(r scanner) (store.Consent, error) {
	var (
		c                store.Consent
		created, updated int64
	)
	if err := r.Scan(&c.UserID, &c.ClientID, s.f.listDest(&c.Scopes), &created, &updated); err != nil {
		return store.Consent{}, err
	}
	c.CreatedAt = fromMillis(created)
	c.UpdatedAt = fromMillis(updated)
	return c, nil
}

// PutConsent stores c, replacing the user's consent to the same client
// but keeping its CreatedAt.
func (s *Store) PutConsent(ctx context.Context, c store.Consent) error {
	scopes, err := s.f.listArg(c.Scopes)
	if err != nil {
		return s.errorf("put consent", err)
	}
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO consents (`+consentColumns+`) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at`,
		c.UserID, c.ClientID, scopes, millis(c.CreatedAt), millis(c.UpdatedAt))
	if err != nil {
		return s.wrapErr("put consent", err)
	}
	return nil
}

// GetConsent returns the user's consent to the client, or
// store.ErrNotFound.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	c, err := s.scanConsent(s.db.QueryRowContext(ctx,
		`SELECT `+consentColumns+` FROM consents WHERE user_id = ? AND client_id = ?`, userID, clientID))
	if err != nil {
		return store.Consent{}, s.wrapErr("get consent", err)
	}
	return c, nil
}

// ListUserConsents returns the user's consents, oldest first.
func (s *Store) ListUserConsents(ctx context.Context, userID string) ([]store.Consent, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+consentColumns+` FROM consents WHERE user_id = ? ORDER BY created_at, client_id`, userID)
	if err != nil {
		return nil, s.wrapErr("list consents", err)
	}
	cs, err := collect(rows, s.scanConsent)
	if err != nil {
		return nil, s.wrapErr("list consents", err)
	}
	return cs, nil
}

// DeleteConsent removes the user's consent to the client, or returns
// store.ErrNotFound.
func (s *Store) DeleteConsent(ctx context.Context, userID, clientID string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM consents WHERE user_id = ? AND client_id = ?`, userID, clientID)
	return s.checkAffected("delete consent", res, err)
}
