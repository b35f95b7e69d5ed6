// Package token issues and checks Gatehouse's tokens: JWT access tokens
// (RFC 9068 profile, typ "at+jwt") that carry the "sid" of a server-side
// grant, and opaque refresh tokens that are stored hashed, rotated on
// every use, and whose reuse after a short grace period revokes the whole
// grant (theft detection). It also implements introspection (RFC 7662)
// and revocation (RFC 7009) of those tokens.
package token
