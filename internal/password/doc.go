// Package password hashes and verifies user passwords with Argon2id
// (RFC 9106), stored in the PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// where salt and hash are standard base64 without padding, as in the PHC
// specification and the Argon2 reference implementation.
//
// A Hasher owns three concerns that callers must not re-implement:
//
//   - Cost control. Every Argon2 computation takes a slot from a bounded
//     semaphore, so a login storm queues, and then fails with ErrBusy, instead
//     of allocating Params.Memory for every concurrent request until the
//     process runs out of memory. The HTTP layer maps ErrBusy to
//     429 Too Many Requests with a Retry-After header. The computations
//     run in internal/argon2, whose working memory the Hasher reuses
//     from one computation to the next instead of allocating it for each:
//     it holds at most one buffer per slot, and lets them go a minute
//     after the last computation.
//   - Upgrades. Verify reports needsRehash when a stored hash was made with
//     other parameters than the Hasher's, so the caller can store a fresh
//     hash while it still holds the plaintext.
//   - Timing. Comparisons are constant-time, and VerifyDummy spends the
//     cost of a real verification, so a login for an unknown email takes as
//     long as one with a wrong password.
//
// Stored hashes are untrusted input: ParsePHC accepts only canonical strings
// whose parameters lie within the Max* and Min* limits of this package, so
// a corrupted or poisoned database row is rejected as ErrMalformedHash
// instead of making the server allocate gigabytes or spin for minutes.
package password
