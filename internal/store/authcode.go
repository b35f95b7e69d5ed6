package store

import (
	"context"
	"time"
)

// AuthCode is an OAuth 2.0 authorization code (RFC 6749 section 4.1)
// between the authorization endpoint, which issues it, and the token
// endpoint, which redeems it once. Only its SHA-256 is stored; the record
// keeps everything the code was issued for, so that the token endpoint can
// check the redemption against it.
type AuthCode struct {
	// Hash is the SHA-256 of the code.
	Hash []byte
	// ClientID is the client the code was issued to.
	ClientID string
	// UserID is the user who authorized it.
	UserID string
	// SessionID is the browser session the user authorized it in: the
	// "sid" of the ID token.
	SessionID string
	// RedirectURI is the redirect_uri of the authorization request, which
	// the token request must repeat exactly (RFC 6749 section 4.1.3).
	RedirectURI string
	// CodeChallenge and CodeChallengeMethod are the PKCE challenge (RFC
	// 7636); empty when the request had none.
	CodeChallenge       string
	CodeChallengeMethod string
	// Scope is the space-separated scope granted.
	Scope string
	// Audience is what the tokens issued from the code are for. It comes
	// back in the order written; nil and empty are the same.
	Audience []string
	// Nonce is the OpenID Connect nonce of the request; may be empty.
	Nonce string
	// AuthTime is when the user last authenticated (the ID token's
	// "auth_time").
	AuthTime time.Time
	// AuthMethods are how the user authenticated (Session.AuthMethods of
	// the browser session), for the amr and acr of the tokens issued from
	// the code. Nil for codes stored before they were recorded.
	AuthMethods []string
	// CreatedAt is when the code was issued; ExpiresAt when it dies unused
	// (dead at ExpiresAt itself).
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is when the code was redeemed; zero while it is unused.
	UsedAt time.Time
	// GrantID is the grant (token session record) created when the code
	// was redeemed, so that a second redemption can revoke it (RFC 6749
	// section 4.1.2, RFC 9700 section 4.5). Empty while unused.
	GrantID string
}

// AuthCodeStore keeps authorization codes. A missing code is ErrNotFound.
//
// The store does not judge expiry: it may return a code whose ExpiresAt
// has passed (callers check it) until DeleteExpiredAuthCodes or the
// backend's own expiry removes it. Used codes are kept until then too, so
// that their reuse is detected. Hashes and lists round-trip exactly.
type AuthCodeStore interface {
	// CreateAuthCode stores a new, unused code (its UsedAt and GrantID are
	// ignored); ErrConflict if its hash exists.
	CreateAuthCode(ctx context.Context, c AuthCode) error
	// GetAuthCode returns the code with the given hash.
	GetAuthCode(ctx context.Context, hash []byte) (AuthCode, error)
	// RedeemAuthCode atomically marks the unused code hash as used at
	// usedAt by the grant grantID. It returns ErrNotFound if there is no
	// such code, and ErrConflict, writing nothing, if it was already used:
	// of concurrent redemptions of one code exactly one succeeds.
	RedeemAuthCode(ctx context.Context, hash []byte, usedAt time.Time, grantID string) error
	// DeleteExpiredAuthCodes removes codes, used or not, whose ExpiresAt
	// is at or before before, and returns how many.
	DeleteExpiredAuthCodes(ctx context.Context, before time.Time) (int, error)
}
