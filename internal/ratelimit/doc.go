// Package ratelimit limits failed logins per key, so that password guessing
// against one account, or from one address, slows to a trickle.
//
// A Limiter applies one Limit to every key it sees. The login handler holds
// two, with different limits: one for account keys and one for client
// addresses. For each attempt it
//
//  1. asks Allow for both keys, and refuses with 429 Too Many Requests and
//     the longer Decision.RetryAfter if either is refused, without checking
//     the password;
//  2. checks the password;
//  3. on failure, records it with Fail on both keys;
//  4. on success, may Reset the account key (not the address key: one
//     address that guesses many accounts and knows one of them must not get
//     its budget back).
//
// The algorithm is GCRA (the generic cell rate algorithm), in its
// "failures" reading: a key may fail Limit.Max times in a burst, then
// regains one attempt every Limit.Interval (Window/Max), and has its whole
// budget back at most Window after its last failure. Unlike a fixed window,
// it has no boundary at which the budget resets all at once, and a locked
// out user waits one interval, not a whole window. The state of a key is a
// single timestamp, so a shared backend such as Redis can update it
// atomically in one short script, and expiry is only a matter of reclaiming
// storage: the decision depends on the stored time and the clock alone.
//
// Memory is the in-process backend: bounded, and suitable for a single
// server. Package ratelimittest holds the conformance suite that every
// backend passes.
package ratelimit
