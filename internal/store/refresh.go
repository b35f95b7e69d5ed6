package store

import (
	"context"
	"time"
)

// RefreshToken is one refresh token of a token grant. Only its SHA-256 is
// stored. When it is used it is rotated: it points to its successor, which
// is kept sealed under a key derived from this token, so that a client
// presenting it again within the grace period gets the same new pair
// while the server still holds no usable secret.
type RefreshToken struct {
	// Hash is the SHA-256 of the token.
	Hash []byte
	// SessionID is the grant (session record) it belongs to.
	SessionID string
	// CreatedAt is when it was issued; ExpiresAt when it dies unused (it is
	// dead at ExpiresAt itself, as a Session is at its ExpiresAt).
	CreatedAt time.Time
	ExpiresAt time.Time
	// RotatedAt is when it was exchanged for its successor; zero while it
	// is the grant's current token.
	RotatedAt time.Time
	// SealedSuccessor is the successor's token response, sealed; set with
	// RotatedAt.
	SealedSuccessor []byte
}

// RefreshTokenStore keeps refresh tokens. A missing token is ErrNotFound.
//
// The store does not judge expiry: it may return a token whose ExpiresAt
// has passed (callers check it) until DeleteExpiredRefreshTokens or the
// backend's own expiry removes it. Hashes and sealed successors
// round-trip exactly.
type RefreshTokenStore interface {
	// CreateRefreshToken stores a new, current token; ErrConflict if its
	// hash exists.
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// GetRefreshToken returns the token with the given hash.
	GetRefreshToken(ctx context.Context, hash []byte) (RefreshToken, error)
	// RotateRefreshToken atomically marks the token oldHash as rotated at
	// successor.CreatedAt with the given sealed successor and stores
	// successor, but only if oldHash is still current. It returns
	// ErrNotFound if oldHash does not exist, and ErrConflict (writing
	// nothing) if it was already rotated: the caller then reads it again to
	// decide between the grace period and reuse. Of concurrent rotations
	// of one token exactly one succeeds. A successor whose hash exists is
	// also ErrConflict, and also writes nothing.
	RotateRefreshToken(ctx context.Context, oldHash []byte, sealedSuccessor []byte, successor RefreshToken) error
	// DeleteSessionRefreshTokens removes every token of the grant, current
	// or rotated; removing none is not an error.
	DeleteSessionRefreshTokens(ctx context.Context, sessionID string) error
	// DeleteExpiredRefreshTokens removes tokens, current or rotated, whose
	// ExpiresAt is at or before now and returns how many.
	DeleteExpiredRefreshTokens(ctx context.Context, now time.Time) (int, error)
}
