package store

import (
	"context"
	"time"
)

// SigningKey is a key the server signs tokens with. The private half is
// stored only sealed (AES-GCM under the key-encryption key).
type SigningKey struct {
	// ID is the key id ("kid").
	ID string
	// Algorithm is the JWS algorithm: EdDSA, ES256 or RS256.
	Algorithm string
	// SealedPrivateKey is the encrypted private key.
	SealedPrivateKey []byte
	// PublicJWK is the public key as a JWK (JSON).
	PublicJWK []byte
	// CreatedAt is when the key was made and started signing.
	CreatedAt time.Time
	// RetiredAt is when a newer key replaced it; zero while it is current.
	RetiredAt time.Time
	// ExpiresAt is when no token it signed can still be valid, so it may
	// leave the JWKS; zero while it is current. Like Session.ExpiresAt, it
	// has passed at ExpiresAt itself.
	ExpiresAt time.Time
}

// KeyStore keeps signing keys. A missing key is ErrNotFound.
//
// Every field of a key round-trips: byte fields exactly, times to the
// millisecond, and a zero RetiredAt or ExpiresAt comes back zero.
type KeyStore interface {
	// CreateKey stores a new key as given; ErrConflict if its id exists.
	CreateKey(ctx context.Context, k SigningKey) error
	// ListKeys returns every stored key, oldest (by CreatedAt) first.
	ListKeys(ctx context.Context) ([]SigningKey, error)
	// RotateKey atomically stores next and retires every current key of the
	// same algorithm (RetiredAt = next.CreatedAt, ExpiresAt =
	// next.CreatedAt + retireAfter). Keys of other algorithms, and keys
	// already retired, are left as they are. If next's id exists it returns
	// ErrConflict and retires nothing.
	RotateKey(ctx context.Context, next SigningKey, retireAfter time.Duration) error
	// DeleteExpiredKeys removes retired keys whose ExpiresAt is at or
	// before now and returns how many. Current keys are never removed.
	DeleteExpiredKeys(ctx context.Context, now time.Time) (int, error)
}
