// Package session manages the server-side session records that every
// login creates: browser sessions behind an opaque cookie and, sharing the
// same record, token grants. It owns secret generation (256 random bits,
// stored only as a SHA-256 hash), idle and absolute timeouts, the coarse
// last-seen writes, the in-process cache that makes a cookie check cost no
// store read, revocation, session data with versions for ETags, the
// background sweep of expired records, and the CSRF tokens bound to a
// cookie session.
package session
