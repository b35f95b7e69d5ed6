// Package accounts owns the rules of a user's account: who may sign up
// and log in, what a login creates, and what an administrator's change to
// an account revokes. HTTP handlers and the command line call its Service
// and nothing below it, so each rule lives here once: a handler decodes a
// request, calls one method and encodes the answer.
//
// The package sits between the transports (internal/httpapi,
// cmd/gatehouse) and the services it composes: identity (passwords,
// limits, users), session (records and their revocation), the token
// service (token-mode logins) and the revocation log (subject-wide
// revocations). Features that add login rules (email verification,
// account recovery, second factors, step-up) add methods and typed
// errors here; see errors.go for how errors map to the HTTP contract.
package accounts
