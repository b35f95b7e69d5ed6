package password

import "errors"

// Sentinel errors, wrapped with more detail where they are returned; test
// for them with errors.Is.
var (
	// ErrBusy reports that no computation slot became free within
	// Config.MaxWait, or that the context ended first (the error then also
	// matches the context's error). The caller should answer
	// 429 Too Many Requests with a Retry-After header.
	ErrBusy = errors.New("password: too many concurrent hash computations")
	// ErrMalformedHash reports that an encoded hash is not a canonical
	// Argon2id PHC string, or that its parameters are outside the limits
	// this package accepts.
	ErrMalformedHash = errors.New("password: malformed hash")
	// ErrInvalidParams reports that Config.Params passed to NewHasher are
	// outside the limits this package accepts.
	ErrInvalidParams = errors.New("password: invalid params")
)
