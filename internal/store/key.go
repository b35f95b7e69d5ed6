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
	// leave the JWKS; zero while it is current.
	ExpiresAt time.Time
}

// KeyStore keeps signing keys. A missing key is ErrNotFound.
type KeyStore interface {
	// CreateKey stores a new key; ErrConflict if its id exists.
	CreateKey(ctx context.Context, k SigningKey) error
	// ListKeys returns every stored key, oldest first.
	ListKeys(ctx context.Context) ([]SigningKey, error)
	// RotateKey atomically stores next and retires every current key of the
	// same algorithm (RetiredAt = next.CreatedAt, ExpiresAt =
	// next.CreatedAt + retireAfter).
	RotateKey(ctx context.Context, next SigningKey, retireAfter time.Duration) error
	// DeleteExpiredKeys removes retired keys whose ExpiresAt is before now
	// and returns how many.
	DeleteExpiredKeys(ctx context.Context, now time.Time) (int, error)
}
