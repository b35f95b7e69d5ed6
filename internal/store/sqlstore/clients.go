package sqlstore

import (
	"context"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// clientColumns lists the clients columns in the order scanClient reads
// them.
const clientColumns = `id, secret_hash, name, grant_types, redirect_uris, scopes, audiences,
	token_endpoint_auth_method, first_party, created_at,
	post_logout_redirect_uris, id_token_signed_response_alg,
	backchannel_logout_uri, backchannel_logout_session_required`

// scanClient reads one row of clientColumns.
func (s *Store) scanClient(r scanner) (store.Client, error) {
	var (
		c       store.Client
		created int64
	)
	l := s.f.listDest
	err := r.Scan(&c.ID, &c.SecretHash, &c.Name,
		l(&c.GrantTypes), l(&c.RedirectURIs), l(&c.Scopes), l(&c.Audiences),
		&c.TokenEndpointAuthMethod, &c.FirstParty, &created,
		l(&c.PostLogoutRedirectURIs), &c.IDTokenSignedResponseAlg,
		&c.BackchannelLogoutURI, &c.BackchannelLogoutSessionRequired)
	if err != nil {
		return store.Client{}, err
	}
	c.CreatedAt = fromMillis(created)
	return c, nil
}

// CreateClient stores a new client. It returns store.ErrConflict if the id
// is taken.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	args := []any{c.ID, blob(c.SecretHash), c.Name}
	for _, list := range [][]string{c.GrantTypes, c.RedirectURIs, c.Scopes, c.Audiences, c.PostLogoutRedirectURIs} {
		enc, err := s.f.listArg(list)
		if err != nil {
			return s.errorf("create client", err)
		}
		args = append(args, enc)
	}
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO clients (id, secret_hash, name, grant_types, redirect_uris, scopes, audiences,
			post_logout_redirect_uris, token_endpoint_auth_method, first_party, created_at,
			id_token_signed_response_alg, backchannel_logout_uri, backchannel_logout_session_required)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		append(args, c.TokenEndpointAuthMethod, c.FirstParty, millis(c.CreatedAt), c.IDTokenSignedResponseAlg,
			c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired)...)
	if err != nil {
		return s.wrapErr("create client", err)
	}
	return nil
}

// GetClient returns the client with the given id, or store.ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := s.scanClient(s.db.QueryRowContext(ctx,
		`SELECT `+clientColumns+` FROM clients WHERE id = ?`, id))
	if err != nil {
		return store.Client{}, s.wrapErr("get client", err)
	}
	return c, nil
}

// ListClients returns every client, oldest first (ties by id); an empty
// slice if there are none.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+clientColumns+` FROM clients ORDER BY created_at, id`)
	if err != nil {
		return nil, s.wrapErr("list clients", err)
	}
	cs, err := collect(rows, s.scanClient)
	if err != nil {
		return nil, s.wrapErr("list clients", err)
	}
	return cs, nil
}

// DeleteClient removes the client, with the consents given to it and its
// authorization codes, in one transaction, or returns store.ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	_, err := s.deleteWithDependents(ctx, "delete client", nil, `DELETE FROM clients WHERE id = ?`, id,
		`DELETE FROM consents WHERE client_id = ?`, `DELETE FROM auth_codes WHERE client_id = ?`)
	return err
}
