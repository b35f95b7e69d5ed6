package store

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
)

// MaxEventPage is the most events one ListEvents or EventsAfter call
// returns; a larger limit is treated as MaxEventPage.
const MaxEventPage = 1000

// EventFilter selects events of the audit trail for ListEvents. Zero
// fields select everything.
type EventFilter struct {
	// UserID keeps only the events about this user.
	UserID string
	// Types keeps only events of these types (any of them).
	Types []string
	// Since keeps events at or after it; Until keeps events before it.
	Since, Until time.Time
	// Cursor continues a listing: only events with Seq < Cursor (the
	// next cursor of the previous page). Zero starts with the newest.
	Cursor int64
	// Limit is the page size: 1 to MaxEventPage; zero or less is
	// MaxEventPage.
	Limit int
}

// EventStore keeps the audit trail (package audit). Events live in the
// SQL database on every deployment, also when session records live in
// Redis.
//
// Contract, enforced by storetest.RunEventStoreTests:
//   - The store assigns Seq: positive, increasing in the order events are
//     appended, never reused (not even after DeleteEventsBefore).
//   - Events become visible in Seq order, even across concurrent appends
//     and processes: once EventsAfter or ListEvents has returned an
//     event, no event with a lower Seq appears later. A tailer that moves
//     its cursor to the last Seq it read misses nothing.
//   - Times come back in UTC, truncated to the millisecond; a nil Detail
//     comes back as an empty map, never nil.
type EventStore interface {
	// AppendEvents stores events, in order and in one transaction (all or
	// none), and returns their Seqs. Appending none returns an empty
	// slice.
	AppendEvents(ctx context.Context, events ...audit.Event) ([]int64, error)
	// ListEvents returns, newest first (Seq descending), up to f.Limit
	// events that match f, and the cursor of the next page: the Seq of
	// the last event returned, or 0 when there are no more. An empty
	// slice (never nil) and 0 if none match.
	ListEvents(ctx context.Context, f EventFilter) (events []audit.Event, next int64, err error)
	// EventsAfter returns up to limit events with Seq > seq, oldest first
	// (Seq ascending); an empty slice if there are none or limit is not
	// positive. Consumers that tail the log call it with the Seq of the
	// last event they processed.
	EventsAfter(ctx context.Context, seq int64, limit int) ([]audit.Event, error)
	// DeleteEventsBefore removes the events whose Time is before t
	// (retention) and returns how many.
	DeleteEventsBefore(ctx context.Context, t time.Time) (int, error)
}

// SessionEventStore is a SessionStore that writes audit events in the
// transaction of a session change. The SQL store implements it; the Redis
// store does not (its records are not in the SQL database, and Redis
// expires them by itself).
type SessionEventStore interface {
	// DeleteExpiredSessionsWithEvents does what DeleteExpiredSessions
	// does and, in the same transaction, appends event(s) for each record
	// it removed, oldest record first. It returns the appended events with
	// Seq set.
	DeleteExpiredSessionsWithEvents(ctx context.Context, now time.Time, event func(Session) audit.Event) ([]audit.Event, error)
}

// RevocationEventStore is a RevocationStore that writes audit events in
// the transaction of a revocation (the SQL store).
type RevocationEventStore interface {
	// AppendRevocationsWithEvents does what AppendRevocations does and
	// appends events in the same transaction: all are stored or none. It
	// returns the stored revocations and the events' Seqs.
	AppendRevocationsWithEvents(ctx context.Context, revs []Revocation, events []audit.Event) ([]Revocation, []int64, error)
}

// UserEventStore is a UserStore that writes audit events in the
// transaction of an account change (the SQL store). Each method does what
// its UserStore counterpart does, with the same errors, and appends events
// (EventStore.AppendEvents) in the same transaction: the change and its
// events are stored or neither. They return the events' Seqs.
type UserEventStore interface {
	CreateUserWithEvents(ctx context.Context, u User, events []audit.Event) ([]int64, error)
	// UpdateUserWithEvents is UpdateUser whose update also returns the
	// events of the change, built from the user as read in the
	// transaction; an update that returns an error writes nothing.
	UpdateUserWithEvents(ctx context.Context, id string, update func(User) (User, []audit.Event, error)) (User, []audit.Event, error)
	DeleteUserWithEvents(ctx context.Context, id string, events []audit.Event) ([]int64, error)
}
