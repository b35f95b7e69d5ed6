package verifier

import (
	"sync"
	"sync/atomic"
	"time"
)

// pruneEvery is how often the revocation set drops expired events.
const pruneEvery = time.Minute

// RevocationSet holds the live revocation events read from a revocation
// feed: a Verifier keeps one, fed by Gatehouse's /v1/revocations, and the
// Gatehouse server keeps one fed by its own revocation log. It is safe for
// concurrent use; a lookup takes a read lock and up to three map reads, or
// no lock at all while the set is empty.
type RevocationSet struct {
	// grace is added to each event's expiry before it is dropped: the
	// verifier accepts tokens up to its leeway past "exp", so it must
	// remember their revocation that much longer.
	grace time.Duration
	// onAdd, if set, is called with each event before it is added,
	// outside the lock (the session cache evicts what the event
	// revokes).
	onAdd func(RevocationEvent)
	// onAdded, if set, is called with the events of each add after they
	// are in the set, outside the lock (live-connection watches end
	// what they revoke; a watch registers before it checks the set, so
	// it misses no event).
	onAdded func([]RevocationEvent)

	size atomic.Int64

	mu        sync.RWMutex
	sessions  map[string]time.Time // sid → expires
	tokens    map[string]time.Time // jti → expires
	users     map[string]userRevocation
	cursor    int64
	lastPrune time.Time
}

// userRevocation is the latest revocation of all of a user's tokens.
type userRevocation struct {
	at, expires time.Time
}

// NewRevocationSet returns an empty set that keeps each event grace past
// its Expires (a verifier's leeway: it accepts tokens that long past
// "exp", so it must remember their revocation that much longer).
func NewRevocationSet(grace time.Duration) *RevocationSet {
	return &RevocationSet{
		grace:    grace,
		sessions: map[string]time.Time{},
		tokens:   map[string]time.Time{},
		users:    map[string]userRevocation{},
	}
}

// Add records events and moves the cursor to at least cursor (and each
// event's own Cursor). Events are idempotent, so the repeats that a
// reconnected stream may send change nothing. Once a minute (by now) it
// also drops the events that have expired.
func (s *RevocationSet) Add(now time.Time, cursor int64, events ...RevocationEvent) {
	if s.onAdd != nil {
		for _, e := range events {
			s.onAdd(e)
		}
	}
	s.mu.Lock()
	for _, e := range events {
		switch {
		case e.SID != "":
			s.sessions[e.SID] = later(s.sessions[e.SID], e.Expires)
		case e.JTI != "":
			s.tokens[e.JTI] = later(s.tokens[e.JTI], e.Expires)
		case e.User != "":
			old := s.users[e.User]
			s.users[e.User] = userRevocation{at: later(old.at, e.At), expires: later(old.expires, e.Expires)}
		}
		cursor = max(cursor, e.Cursor)
	}
	s.cursor = max(s.cursor, cursor)
	if now.Sub(s.lastPrune) >= pruneEvery {
		s.pruneLocked(now)
	}
	s.size.Store(int64(len(s.sessions) + len(s.tokens) + len(s.users)))
	s.mu.Unlock()
	if s.onAdded != nil && len(events) > 0 {
		s.onAdded(events)
	}
}

// Revoked reports whether a credential with the given sid, jti, sub and
// iat is revoked: its session was, it was itself, or its user was at or
// after iat (see userRevokes for the rule of the revocation's own
// second). Empty values match nothing.
func (s *RevocationSet) Revoked(sid, jti, sub string, iat time.Time) bool {
	if s.size.Load() == 0 {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sid != "" {
		if _, ok := s.sessions[sid]; ok {
			return true
		}
	}
	if jti != "" {
		if _, ok := s.tokens[jti]; ok {
			return true
		}
	}
	if sub != "" {
		if u, ok := s.users[sub]; ok && userRevokes(u.at, sid, iat) {
			return true
		}
	}
	return false
}

// Cursor returns the feed cursor read so far: the highest cursor given
// to Add.
func (s *RevocationSet) Cursor() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cursor
}

// Prune drops the events that expired, with the grace, at or before now,
// and returns how many it dropped.
func (s *RevocationSet) Prune(now time.Time) int {
	s.mu.Lock()
	n := s.pruneLocked(now)
	s.size.Store(int64(len(s.sessions) + len(s.tokens) + len(s.users)))
	s.mu.Unlock()
	return n
}

func (s *RevocationSet) pruneLocked(now time.Time) int {
	s.lastPrune = now
	cut := now.Add(-s.grace)
	n := 0
	for k, exp := range s.sessions {
		if !exp.After(cut) {
			delete(s.sessions, k)
			n++
		}
	}
	for k, exp := range s.tokens {
		if !exp.After(cut) {
			delete(s.tokens, k)
			n++
		}
	}
	for k, u := range s.users {
		if !u.expires.After(cut) {
			delete(s.users, k)
			n++
		}
	}
	return n
}

// Len returns how many events the set holds.
func (s *RevocationSet) Len() int { return int(s.size.Load()) }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// userRevokes reports whether a user-wide revocation at "at" covers a
// token with the given sid and iat. iat is whole seconds, so a token of
// the revocation's own second may predate or follow it. A token without a
// sid (a client's own token) is revoked then, to be safe. A token with a
// sid is not: every user-wide revocation ends the user's sessions and
// grants first, and their events revoke such a token exactly, so a login
// a moment after a password reset gets a token that works at once.
func userRevokes(at time.Time, sid string, iat time.Time) bool {
	if sid == "" {
		return !iat.After(at)
	}
	return iat.Before(at.Truncate(time.Second))
}
