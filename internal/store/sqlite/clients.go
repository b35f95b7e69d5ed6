package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

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
		c                                    store.Client
		grants, redirects, scopes, audiences string
		postLogout                           string
		created                              int64
	)
	err := r.Scan(&c.ID, &c.SecretHash, &c.Name, &grants, &redirects, &scopes, &audiences,
		&c.TokenEndpointAuthMethod, &c.FirstParty, &created, &postLogout, &c.IDTokenSignedResponseAlg)
	if err != nil {
		return store.Client{}, err
	}
	for _, f := range []struct {
		name string
		raw  string
		dst  *[]string
	}{
		{"grant_types", grants, &c.GrantTypes},
		{"redirect_uris", redirects, &c.RedirectURIs},
		{"scopes", scopes, &c.Scopes},
		{"audiences", audiences, &c.Audiences},
		{"post_logout_redirect_uris", postLogout, &c.PostLogoutRedirectURIs},
	} {
		if err := json.Unmarshal([]byte(f.raw), f.dst); err != nil {
			return store.Client{}, fmt.Errorf("decode %s: %w", f.name, err)
		}
	}
	c.CreatedAt = fromMillis(created)
	return c, nil
}

// encodeList returns a list field as stored: a JSON array, "[]" for nil.
func encodeList(list []string) (string, error) {
	if list == nil {
		return "[]", nil
	}
	b, err := json.Marshal(list)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// CreateClient stores a new client. It returns store.ErrConflict if the id
// is taken.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	args := []any{c.ID, append([]byte{}, c.SecretHash...), c.Name}
	for _, list := range [][]string{c.GrantTypes, c.RedirectURIs, c.Scopes, c.Audiences} {
		enc, err := encodeList(list)
		if err != nil {
			return fmt.Errorf("sqlite: create client: %w", err)
		}
		args = append(args, enc)
	}
	args = append(args, c.TokenEndpointAuthMethod, c.FirstParty, millis(c.CreatedAt))
	postLogout, err := encodeList(c.PostLogoutRedirectURIs)
	if err != nil {
		return fmt.Errorf("sqlite: create client: %w", err)
	}
	args = append(args, postLogout, c.IDTokenSignedResponseAlg)
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO clients (`+clientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if err != nil {
		return wrapErr("create client", err)
	}
	return nil
}

// GetClient returns the client with the given id, or store.ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(s.db.QueryRowContext(ctx,
		`SELECT `+clientColumns+` FROM clients WHERE id = ?`, id))
	if err != nil {
		return store.Client{}, wrapErr("get client", err)
	}
	return c, nil
}

// ListClients returns every client, oldest first.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+clientColumns+` FROM clients ORDER BY created_at, id`)
	if err != nil {
		return nil, wrapErr("list clients", err)
	}
	defer rows.Close()
	cs := []store.Client{}
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, wrapErr("list clients", err)
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list clients", err)
	}
	return cs, nil
}

// DeleteClient removes the client, with the consents given to it and its
// authorization codes, in one transaction, or returns store.ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.deleteWithDependents(ctx, "delete client", `DELETE FROM clients WHERE id = ?`, id,
		`DELETE FROM consents WHERE client_id = ?`, `DELETE FROM auth_codes WHERE client_id = ?`)
}
