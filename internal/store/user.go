package store

import (
	"context"
	"time"
)

// User is an account that can log in.
type User struct {
	// ID is the stable, opaque identifier of the user (the JWT "sub").
	ID string
	// Email is the normalised address, unique across users.
	Email string
	// PasswordHash is the Argon2id hash in PHC string format.
	PasswordHash string
	// Claims are custom claims copied into the user's access tokens. Never
	// nil when read back from a store. They must be JSON-encodable, and come
	// back as encoding/json decodes them into a map[string]any: numbers as
	// float64, objects as map[string]any, arrays as []any.
	Claims map[string]any
	// Disabled users cannot log in.
	Disabled bool
	// EmailVerified reports that the user proved they receive mail at
	// Email (a verification or recovery link was used, or an
	// administrator said so). Changing Email clears it.
	EmailVerified bool
	// MFARequired reports that an administrator requires a second factor
	// of the user (the server's --require-mfa requires it of everyone): a
	// login without one may only enrol one (see package accounts).
	MFARequired bool
	// CreatedAt and UpdatedAt are UTC timestamps.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// UserStore keeps users.
//
// Lookups of a user that does not exist return ErrNotFound. Email addresses
// are compared exactly as given: callers normalise them first.
type UserStore interface {
	// CreateUser stores a new user. It returns ErrConflict if the id or the
	// email is already taken.
	CreateUser(ctx context.Context, u User) error
	// GetUser returns the user with the given id, or ErrNotFound.
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserByEmail returns the user with the given email, or ErrNotFound.
	GetUserByEmail(ctx context.Context, email string) (User, error)
	// UpdateUser atomically reads the user, applies update and writes the
	// result back. If update returns an error, nothing is written and that
	// error is returned. The id cannot change (an ID changed by update is
	// ignored); a changed email that is taken returns ErrConflict. It returns
	// ErrNotFound, without calling update, if the user does not exist. A
	// backend may call update more than once (retrying on contention), so
	// update must have no side effects and must not call the store.
	UpdateUser(ctx context.Context, id string, update func(User) (User, error)) (User, error)
	// ListUsers returns up to limit users (limit > 0) whose ids sort after
	// afterID ("" starts at the first), in byte-wise id order: a page
	// of a listing, which the last id returned continues. Users created
	// or deleted between pages may or may not show.
	ListUsers(ctx context.Context, afterID string, limit int) ([]User, error)
	// DeleteUser removes the user, or returns ErrNotFound. A backend that
	// also keeps consents and authorization codes removes the user's in
	// the same transaction; sessions and grants are left to the caller,
	// which revokes them (writing revocation events) first.
	DeleteUser(ctx context.Context, id string) error
	// Ping reports whether the backend answers.
	Ping(ctx context.Context) error
}
