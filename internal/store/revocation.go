package store

import (
	"context"
	"time"
)

// Revocation is one event of the revocation log. Exactly one of
// SessionID, UserID and TokenID is set: a revoked session record (every
// token with that "sid"), a user-wide revocation (every token of that
// "sub" issued at or before At), or one access token (its "jti").
type Revocation struct {
	// Seq orders the log; the store assigns it, positive and increasing,
	// and never reuses one, even after the event is deleted. It is the
	// cursor of GET /v1/revocations (0 reads from the start).
	Seq int64
	// SessionID, UserID, TokenID: what is revoked.
	SessionID string
	UserID    string
	TokenID   string
	// At is when the revocation happened.
	At time.Time
	// Expires is when every token the event could affect has expired, so
	// the event may be dropped. The event is expired at Expires itself, as
	// a Session is at its ExpiresAt.
	Expires time.Time
}

// RevocationStore keeps the revocation log.
type RevocationStore interface {
	// AppendRevocations adds events and returns them, in the same order,
	// with Seq set; later events get higher Seqs. Events become visible in
	// Seq order, even across concurrent appends (and processes): once
	// ListRevocations has returned an event, no event with a lower Seq
	// appears after it, so a reader that moves its cursor to the last Seq
	// it read misses nothing.
	AppendRevocations(ctx context.Context, events []Revocation) ([]Revocation, error)
	// ListRevocations returns up to limit events with Seq > afterSeq, in
	// Seq order, that have not expired at now (Expires is after now);
	// expired events are skipped, not counted against limit. It returns an
	// empty slice if there are none.
	ListRevocations(ctx context.Context, afterSeq int64, now time.Time, limit int) ([]Revocation, error)
	// DeleteExpiredRevocations removes events whose Expires is at or before
	// now and returns how many.
	DeleteExpiredRevocations(ctx context.Context, now time.Time) (int, error)
}
