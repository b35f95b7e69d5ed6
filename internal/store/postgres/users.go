package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// userColumns lists the users columns in the order scanUser reads them.
const userColumns = `id, email, password_hash, claims, disabled, created_at, updated_at`

// scanUser reads one row of userColumns.
func scanUser(r scanner) (store.User, error) {
	var (
		u                store.User
		claims           []byte
		created, updated int64
	)
	if err := r.Scan(&u.ID, &u.Email, &u.PasswordHash, &claims, &u.Disabled, &created, &updated); err != nil {
		return store.User{}, err
	}
	if err := json.Unmarshal(claims, &u.Claims); err != nil {
		return store.User{}, fmt.Errorf("decode claims: %w", err)
	}
	if u.Claims == nil { // the schema requires an object, but never return nil
		u.Claims = map[string]any{}
	}
	u.CreatedAt = fromMillis(created)
	u.UpdatedAt = fromMillis(updated)
	return u, nil
}

// encodeClaims returns claims as bound to the jsonb column: the text of a
// JSON object, "{}" for nil.
func encodeClaims(claims map[string]any) (string, error) {
	if claims == nil {
		return "{}", nil
	}
	b, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	return string(b), nil
}

// CreateUser stores a new user. It returns store.ErrConflict if the id or
// the email is taken.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	claims, err := encodeClaims(u.Claims)
	if err != nil {
		return fmt.Errorf("postgres: create user: %w", err)
	}
	_, err = s.pool.Exec(ctx,
		`INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)`,
		u.ID, u.Email, u.PasswordHash, claims, u.Disabled, millis(u.CreatedAt), millis(u.UpdatedAt))
	if err != nil {
		return wrapErr("create user", err)
	}
	return nil
}

// GetUser returns the user with the given id, or store.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return store.User{}, wrapErr("get user", err)
	}
	return u, nil
}

// GetUserByEmail returns the user with the given email, compared exactly,
// or store.ErrNotFound.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE email = $1`, email))
	if err != nil {
		return store.User{}, wrapErr("get user by email", err)
	}
	return u, nil
}

// ListUsers returns up to limit users whose ids sort after afterID, in id
// order (the primary key is COLLATE "C": byte-wise, an index range scan).
func (s *Store) ListUsers(ctx context.Context, afterID string, limit int) ([]store.User, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+userColumns+` FROM users WHERE id > $1 ORDER BY id LIMIT $2`, afterID, limit)
	if err != nil {
		return nil, wrapErr("list users", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, wrapErr("list users", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list users", err)
	}
	return out, nil
}

// UpdateUser reads the user with SELECT … FOR UPDATE, applies update and
// writes the result back, in one transaction, so concurrent updates of the
// same user run one after another (updates of other users do not wait).
// update is called once. An ID changed by update is ignored. If update
// returns an error, nothing is written and that error is returned as is.
// A changed email that is taken returns store.ErrConflict; a missing user
// returns store.ErrNotFound without calling update. update runs while the
// transaction holds the user's row lock: it must be quick and must not
// call the store.
func (s *Store) UpdateUser(ctx context.Context, id string, update func(store.User) (store.User, error)) (store.User, error) {
	var out store.User
	err := s.inTx(ctx, "update user", func(tx pgx.Tx) error {
		old, err := scanUser(tx.QueryRow(ctx,
			`SELECT `+userColumns+` FROM users WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return wrapErr("update user", err)
		}
		u, err := update(old)
		if err != nil {
			return err
		}
		claims, err := encodeClaims(u.Claims)
		if err != nil {
			return fmt.Errorf("postgres: update user: %w", err)
		}
		out, err = scanUser(tx.QueryRow(ctx,
			`UPDATE users
			SET email = $1, password_hash = $2, claims = $3::jsonb, disabled = $4, created_at = $5, updated_at = $6
			WHERE id = $7
			RETURNING `+userColumns,
			u.Email, u.PasswordHash, claims, u.Disabled, millis(u.CreatedAt), millis(u.UpdatedAt), id))
		if err != nil {
			return wrapErr("update user", err)
		}
		return nil
	})
	if err != nil {
		return store.User{}, err
	}
	return out, nil
}

// DeleteUser removes the user, with their consents and authorization
// codes, or returns store.ErrNotFound. It does not remove the user's
// sessions (see DeleteUserSessions).
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	// One statement: the dependents go only if the user does, atomically.
	tag, err := s.pool.Exec(ctx, `WITH u AS (DELETE FROM users WHERE id = $1 RETURNING id),
		c AS (DELETE FROM consents WHERE user_id = $1 AND EXISTS (SELECT 1 FROM u)),
		a AS (DELETE FROM auth_codes WHERE user_id = $1 AND EXISTS (SELECT 1 FROM u))
		SELECT FROM u`, id)
	if err != nil {
		return wrapErr("delete user", err)
	}
	return checkAffected("delete user", tag)
}
