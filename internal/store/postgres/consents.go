package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// consentColumns lists the consents columns in the order scanConsent
// reads them.
const consentColumns = `user_id, client_id, scopes, created_at, updated_at`

// scanConsent reads one row of consentColumns.
func scanConsent(r scanner) (store.Consent, error) {
	var (
		c                store.Consent
		created, updated int64
	)
	if err := r.Scan(&c.UserID, &c.ClientID, &c.Scopes, &created, &updated); err != nil {
		return store.Consent{}, err
	}
	c.CreatedAt = fromMillis(created)
	c.UpdatedAt = fromMillis(updated)
	return c, nil
}

// PutConsent stores c, replacing the user's consent to the same client
// (INSERT … ON CONFLICT DO UPDATE, atomic under concurrent puts) but
// keeping its CreatedAt.
func (s *Store) PutConsent(ctx context.Context, c store.Consent) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO consents (`+consentColumns+`) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at`,
		c.UserID, c.ClientID, list(c.Scopes), millis(c.CreatedAt), millis(c.UpdatedAt))
	if err != nil {
		return wrapErr("put consent", err)
	}
	return nil
}

// GetConsent returns the user's consent to the client, or
// store.ErrNotFound.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	c, err := scanConsent(s.pool.QueryRow(ctx,
		`SELECT `+consentColumns+` FROM consents WHERE user_id = $1 AND client_id = $2`, userID, clientID))
	if err != nil {
		return store.Consent{}, wrapErr("get consent", err)
	}
	return c, nil
}

// ListUserConsents returns the user's consents, oldest first (ties by
// client id); an empty slice if there are none.
func (s *Store) ListUserConsents(ctx context.Context, userID string) ([]store.Consent, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+consentColumns+` FROM consents WHERE user_id = $1 ORDER BY created_at, client_id`, userID)
	if err != nil {
		return nil, wrapErr("list consents", err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Consent, error) { return scanConsent(r) })
	if err != nil {
		return nil, wrapErr("list consents", err)
	}
	return cs, nil
}

// DeleteConsent removes the user's consent to the client, or returns
// store.ErrNotFound.
func (s *Store) DeleteConsent(ctx context.Context, userID, clientID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM consents WHERE user_id = $1 AND client_id = $2`, userID, clientID)
	if err != nil {
		return wrapErr("delete consent", err)
	}
	return checkAffected("delete consent", tag)
}
