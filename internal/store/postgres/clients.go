package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// clientColumns lists the clients columns in the order scanClient reads
// them.
const clientColumns = `id, secret_hash, name, grant_types, redirect_uris, scopes, audiences,
	token_endpoint_auth_method, first_party, created_at,
	post_logout_redirect_uris, id_token_signed_response_alg`

// scanClient reads one row of clientColumns.
func scanClient(r scanner) (store.Client, error) {
	var (
		c       store.Client
		created int64
	)
	err := r.Scan(&c.ID, &c.SecretHash, &c.Name, &c.GrantTypes, &c.RedirectURIs, &c.Scopes, &c.Audiences,
		&c.TokenEndpointAuthMethod, &c.FirstParty, &created,
		&c.PostLogoutRedirectURIs, &c.IDTokenSignedResponseAlg)
	if err != nil {
		return store.Client{}, err
	}
	c.CreatedAt = fromMillis(created)
	return c, nil
}

// list returns a list field as bound to a NOT NULL text[] column: pgx
// binds a nil slice as NULL, so nil becomes an empty array.
func list(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// CreateClient stores a new client. It returns store.ErrConflict if the id
// is taken.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO clients (`+clientColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		c.ID, blob(c.SecretHash), c.Name,
		list(c.GrantTypes), list(c.RedirectURIs), list(c.Scopes), list(c.Audiences),
		c.TokenEndpointAuthMethod, c.FirstParty, millis(c.CreatedAt),
		list(c.PostLogoutRedirectURIs), c.IDTokenSignedResponseAlg)
	if err != nil {
		return wrapErr("create client", err)
	}
	return nil
}

// GetClient returns the client with the given id, or store.ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx,
		`SELECT `+clientColumns+` FROM clients WHERE id = $1`, id))
	if err != nil {
		return store.Client{}, wrapErr("get client", err)
	}
	return c, nil
}

// ListClients returns every client, oldest first (ties by id); an empty
// slice if there are none.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+clientColumns+` FROM clients ORDER BY created_at, id`)
	if err != nil {
		return nil, wrapErr("list clients", err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Client, error) { return scanClient(r) })
	if err != nil {
		return nil, wrapErr("list clients", err)
	}
	return cs, nil
}

// DeleteClient removes the client, with the consents given to it and its
// authorization codes, or returns store.ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	// One statement: the dependents go only if the client does, atomically.
	tag, err := s.pool.Exec(ctx, `WITH d AS (DELETE FROM clients WHERE id = $1 RETURNING id),
		c AS (DELETE FROM consents WHERE client_id = $1 AND EXISTS (SELECT 1 FROM d)),
		a AS (DELETE FROM auth_codes WHERE client_id = $1 AND EXISTS (SELECT 1 FROM d))
		SELECT FROM d`, id)
	if err != nil {
		return wrapErr("delete client", err)
	}
	return checkAffected("delete client", tag)
}
