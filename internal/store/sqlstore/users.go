package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// userColumns lists the users columns in the order scanUser reads them.
const userColumns = `id, email, password_hash, claims, disabled, email_verified, created_at, updated_at`

// scanUser reads one row of userColumns.
func scanUser(r scanner) (store.User, error) {
	var (
		u                store.User
		claims           string
		created, updated int64
	)
	if err := r.Scan(&u.ID, &u.Email, &u.PasswordHash, &claims, &u.Disabled, &u.EmailVerified, &created, &updated); err != nil {
		return store.User{}, err
	}
	if err := json.Unmarshal([]byte(claims), &u.Claims); err != nil {
		return store.User{}, fmt.Errorf("decode claims: %w", err)
	}
	if u.Claims == nil { // "null" cannot be written, but never return nil
		u.Claims = map[string]any{}
	}
	u.CreatedAt = fromMillis(created)
	u.UpdatedAt = fromMillis(updated)
	return u, nil
}

// encodeClaims returns claims as stored: a JSON object, "{}" for nil.
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
	return s.wrapErrIf("create user", s.insertUser(ctx, s.db, u))
}

// insertUser inserts u through q.
func (s *Store) insertUser(ctx context.Context, q db, u store.User) error {
	claims, err := encodeClaims(u.Claims)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx,
		`INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.PasswordHash, claims, u.Disabled, u.EmailVerified, millis(u.CreatedAt), millis(u.UpdatedAt))
	return err
}

// CreateUserWithEvents implements store.UserEventStore.
func (s *Store) CreateUserWithEvents(ctx context.Context, u store.User, events []audit.Event) ([]int64, error) {
	const op = "create user"
	var seqs []int64
	err := s.inTx(ctx, op, func(tx db) error {
		if err := s.insertUser(ctx, tx, u); err != nil {
			return s.wrapErr(op, err)
		}
		var err error
		seqs, err = s.appendEvents(ctx, tx, events)
		return err
	})
	return seqs, err
}

// GetUser returns the user with the given id, or store.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return store.User{}, s.wrapErr("get user", err)
	}
	return u, nil
}

// GetUserByEmail returns the user with the given email, compared exactly,
// or store.ErrNotFound.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	if err != nil {
		return store.User{}, s.wrapErr("get user by email", err)
	}
	return u, nil
}

// ListUsers returns up to limit users whose ids sort after afterID, in id
// order (byte-wise: on PostgreSQL the primary key is COLLATE "C"); nil if
// there are none.
func (s *Store) ListUsers(ctx context.Context, afterID string, limit int) ([]store.User, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, s.wrapErr("list users", err)
	}
	out, err := collect(rows, scanUser)
	if err != nil || len(out) == 0 {
		return nil, s.wrapErrIf("list users", err)
	}
	return out, nil
}

// UpdateUser reads the user, applies update and writes the result back, in
// one transaction, so concurrent updates of the same user run one after
// another: on SQLite the IMMEDIATE transaction holds the database's write
// lock, on PostgreSQL SELECT … FOR UPDATE holds the user's row lock
// (updates of other users do not wait). update is called once. An ID
// changed by update is ignored. If update returns an error, nothing is
// written and that error is returned as is. A changed email that is taken
// returns store.ErrConflict; a missing user returns store.ErrNotFound
// without calling update. update runs while the lock is
// held: it must be quick and must not call the store.
func (s *Store) UpdateUser(ctx context.Context, id string, update func(store.User) (store.User, error)) (store.User, error) {
	u, _, err := s.UpdateUserWithEvents(ctx, id, func(old store.User) (store.User, []audit.Event, error) {
		u, err := update(old)
		return u, nil, err
	})
	return u, err
}

// UpdateUserWithEvents implements store.UserEventStore: UpdateUser with
// the events update returns appended last in its transaction.
func (s *Store) UpdateUserWithEvents(ctx context.Context, id string, update func(store.User) (store.User, []audit.Event, error)) (store.User, []audit.Event, error) {
	const op = "update user"
	var (
		out    store.User
		events []audit.Event
	)
	err := s.inTx(ctx, op, func(tx db) error {
		old, err := scanUser(tx.QueryRowContext(ctx,
			`SELECT `+userColumns+` FROM users WHERE id = ?`+s.f.forUpdate, id))
		if err != nil {
			return s.wrapErr(op, err)
		}
		u, evs, err := update(old)
		if err != nil {
			return err
		}
		claims, err := encodeClaims(u.Claims)
		if err != nil {
			return s.errorf(op, err)
		}
		out, err = scanUser(tx.QueryRowContext(ctx,
			`UPDATE users
			SET email = ?, password_hash = ?, claims = ?, disabled = ?, email_verified = ?, created_at = ?, updated_at = ?
			WHERE id = ?
			RETURNING `+userColumns,
			u.Email, u.PasswordHash, claims, u.Disabled, u.EmailVerified, millis(u.CreatedAt), millis(u.UpdatedAt), id))
		if err != nil {
			return s.wrapErr(op, err)
		}
		seqs, err := s.appendEvents(ctx, tx, evs)
		if err != nil {
			return err
		}
		for i := range evs {
			evs[i].Seq = seqs[i]
		}
		events = evs
		return nil
	})
	if err != nil {
		return store.User{}, nil, err
	}
	return out, events, nil
}

// DeleteUser removes the user, with its consents, authorization codes,
// TOTP factor, recovery codes, passkeys and one-time tokens, in one
// transaction, or returns store.ErrNotFound. It does not
// remove the user's sessions (see DeleteUserSessions).
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	_, err := s.DeleteUserWithEvents(ctx, id, nil)
	return err
}

// DeleteUserWithEvents implements store.UserEventStore: DeleteUser with
// events appended last in its transaction.
func (s *Store) DeleteUserWithEvents(ctx context.Context, id string, events []audit.Event) ([]int64, error) {
	return s.deleteWithDependents(ctx, "delete user", events, `DELETE FROM users WHERE id = ?`, id,
		`DELETE FROM consents WHERE user_id = ?`, `DELETE FROM auth_codes WHERE user_id = ?`,
		`DELETE FROM totp_factors WHERE user_id = ?`, `DELETE FROM recovery_codes WHERE user_id = ?`,
		`DELETE FROM passkeys WHERE user_id = ?`, `DELETE FROM one_time_tokens WHERE user_id = ?`)
}

// deleteWithDependents runs del and then the delete statements of
// dependent rows, all with the one argument id, and appends events, in
// one transaction, and returns the events' Seqs. It returns
// store.ErrNotFound, and deletes nothing, if del removes no row.
func (s *Store) deleteWithDependents(ctx context.Context, op string, events []audit.Event, del, id string, dependents ...string) ([]int64, error) {
	var seqs []int64
	err := s.inTx(ctx, op, func(tx db) error {
		res, err := tx.ExecContext(ctx, del, id)
		if err := s.checkAffected(op, res, err); err != nil {
			return err
		}
		for _, q := range dependents {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return s.wrapErr(op, err)
			}
		}
		seqs, err = s.appendEvents(ctx, tx, events)
		return err
	})
	return seqs, err
}
