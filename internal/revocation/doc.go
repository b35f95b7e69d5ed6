// Package revocation keeps the revocation log and the in-process set that
// answers "is this token revoked?" without a store read.
//
// Revoking a session record, a user or one access token appends an event
// {sid | user | jti, at, expires} to the log (store.RevocationStore). The
// server's own set (a verifier.RevocationSet, the one outside verifiers
// keep), other instances (which poll the log and, with Redis
// or PostgreSQL, receive notifications) and outside verifiers (through
// GET /v1/revocations and its event stream) all consume the same log. An
// event is dropped once every token it could affect has expired, so the
// set is bounded by the revocations of one access-token lifetime.
package revocation
