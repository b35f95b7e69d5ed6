package revocation

import (
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Set is the in-process view of the live revocation events. It is safe
// for concurrent use; lookups take a read lock and three map reads.
type Set struct {
	mu       sync.RWMutex
	sessions map[string]time.Time // sid → expires
	tokens   map[string]time.Time // jti → expires
	users    map[string]userEvent // sub → latest revocation
	lastSeq  int64
}

type userEvent struct {
	at, expires time.Time
}

// NewSet returns an empty set.
func NewSet() *Set {
	return &Set{sessions: map[string]time.Time{}, tokens: map[string]time.Time{}, users: map[string]userEvent{}}
}

// Add records events. Events are idempotent: adding one twice changes
// nothing.
func (s *Set) Add(events ...store.Revocation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		switch {
		case e.SessionID != "":
			s.sessions[e.SessionID] = later(s.sessions[e.SessionID], e.Expires)
		case e.TokenID != "":
			s.tokens[e.TokenID] = later(s.tokens[e.TokenID], e.Expires)
		case e.UserID != "":
			old := s.users[e.UserID]
			s.users[e.UserID] = userEvent{at: later(old.at, e.At), expires: later(old.expires, e.Expires)}
		}
	}
}

// advance records that every event up to seq has been read from the log.
func (s *Set) advance(seq int64) {
	s.mu.Lock()
	if seq > s.lastSeq {
		s.lastSeq = seq
	}
	s.mu.Unlock()
}

// LastSeq returns the cursor up to which the log has been read. Events
// this instance appended itself do not move it: the next Sync reads them
// back, so that an event another instance committed with a lower Seq is
// not skipped.
func (s *Set) LastSeq() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.lastSeq
}

// Revoked reports whether a token with the given sid, jti, sub and iat is
// revoked: its session was revoked, it was revoked itself, or its user was
// revoked at or after it was issued (see userRevokes). Empty values match
// nothing.
func (s *Set) Revoked(sid, jti, sub string, issuedAt time.Time) bool {
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
		if u, ok := s.users[sub]; ok && userRevokes(u.at, sid, issuedAt) {
			return true
		}
	}
	return false
}

// Prune drops events that expired before now and returns how many.
func (s *Set) Prune(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, exp := range s.sessions {
		if exp.Before(now) {
			delete(s.sessions, k)
			n++
		}
	}
	for k, exp := range s.tokens {
		if exp.Before(now) {
			delete(s.tokens, k)
			n++
		}
	}
	for k, u := range s.users {
		if u.expires.Before(now) {
			delete(s.users, k)
			n++
		}
	}
	return n
}

// Len returns how many events the set holds.
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.sessions) + len(s.tokens) + len(s.users)
}

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
