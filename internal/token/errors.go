package token

import "errors"

// Errors of the token service.
var (
	// ErrInvalidToken reports an access token that is malformed, badly
	// signed, expired, not yet valid, of the wrong type or issuer, or
	// revoked.
	ErrInvalidToken = errors.New("token: invalid access token")
	// ErrWrongAudience reports a valid token minted for another audience.
	ErrWrongAudience = errors.New("token: token is for another audience")
	// ErrInvalidGrant reports a refresh token that is unknown, expired,
	// revoked, reused, or bound to another client (RFC 6749 invalid_grant).
	ErrInvalidGrant = errors.New("token: invalid grant")
	// ErrScopeChanged reports a refresh request whose scope parameter is
	// not exactly the grant's scope (RFC 6749 invalid_scope): a refreshed
	// token keeps its grant's scope.
	ErrScopeChanged = errors.New("token: a refreshed token keeps its grant's scope")
)
