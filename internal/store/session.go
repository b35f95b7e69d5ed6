package store

import (
	"context"
	"encoding/json"
	"time"
)

// SessionKind tells a browser session from a token grant.
type SessionKind string

// The kinds of session record.
const (
	// KindCookie is a browser session authenticated by an opaque cookie.
	KindCookie SessionKind = "cookie"
	// KindToken is a token grant: access tokens carry its id as "sid" and
	// its refresh tokens belong to it.
	KindToken SessionKind = "token"
)

// Session is the one server-side record that every login creates, whatever
// the client asked for: a cookie session or a token grant. Both are listed,
// expired and revoked the same way.
type Session struct {
	// ID is the public handle of the record: safe to show, and the "sid" of
	// tokens. It is never the cookie secret.
	ID string
	// SecretHash is the SHA-256 of the cookie secret for cookie sessions,
	// the only form in which the secret is stored. Empty for token grants.
	SecretHash []byte
	// Kind is KindCookie or KindToken.
	Kind SessionKind
	// UserID is the owner.
	UserID string
	// ClientID is the OAuth client a grant was issued to; empty for
	// first-party logins.
	ClientID string
	// Scope is the space-separated scope granted, if any.
	Scope string
	// Audience is what a grant's access tokens are for; empty means the
	// issuer. It comes back in the order written; nil and empty are the
	// same.
	Audience []string
	// CreatedAt is when the record was created: for a cookie session and a
	// first-party grant, when the user authenticated.
	CreatedAt time.Time
	// AuthTime is when the user last authenticated: for a cookie session
	// or a first-party grant, its login or the last step-up on it
	// (UpdateSessionAuth); for a grant of the authorization code flow, the
	// authentication of the browser session it was authorized in
	// (AuthSessionID), which may be well before CreatedAt. Tokens carry it
	// as "auth_time" (OpenID Connect Core sections 2 and 12.2). Zero for
	// records stored before it was recorded (callers then use CreatedAt).
	AuthTime time.Time
	// AuthMethods are how the user authenticated at AuthTime: RFC 8176
	// amr values ("pwd", "otp", "hwk", "swk", "user"; see package
	// authcontext), in the order they happened, each once, never "mfa"
	// (derived). Empty for records stored before they were recorded.
	// Stores keep them compactly (they are short ASCII words); nil and
	// empty are the same.
	AuthMethods []string
	// EnrolmentOnly marks a cookie session of a user who must use a
	// second factor and has none yet: it may only enrol one (see package
	// accounts). It is cleared when the session is stepped up.
	EnrolmentOnly bool
	// AuthSessionID is the id of that browser session: the "sid" of the
	// grant's ID tokens. Empty when AuthTime is zero.
	AuthSessionID string
	// LastSeenAt is when the record was last used, written at a coarse
	// granularity (see the session manager).
	LastSeenAt time.Time
	// IdleExpiresAt is when the record dies if it is not used again.
	IdleExpiresAt time.Time
	// ExpiresAt is the absolute end of the record, used or not.
	ExpiresAt time.Time
	// UserAgent and IP describe the client at login.
	UserAgent string
	IP        string
	// Data is the session's JSON object (carts, workflows). Never nil when
	// read back from a store; "{}" at first.
	Data json.RawMessage
	// DataVersion increases by one on every write of Data; it is the ETag.
	DataVersion int64
}

// Expired reports whether the record is dead at now, by either timeout.
func (s Session) Expired(now time.Time) bool {
	return !now.Before(s.ExpiresAt) || !now.Before(s.IdleExpiresAt)
}

// SessionStore keeps session records.
//
// A record that does not exist, or that was deleted, is ErrNotFound. The
// store does not judge expiry: it may return a record whose timeouts have
// passed (callers check Session.Expired) until DeleteExpiredSessions or the
// backend's own expiry removes it.
type SessionStore interface {
	// CreateSession stores a new record. It returns ErrConflict if the id or
	// the secret hash is taken; an empty SecretHash (token grants) is never
	// taken. A nil Data is stored as "{}".
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns the record with the given public id.
	GetSession(ctx context.Context, id string) (Session, error)
	// GetSessionBySecretHash returns the record whose SecretHash is hash. An
	// empty hash matches no record.
	GetSessionBySecretHash(ctx context.Context, hash []byte) (Session, error)
	// ListUserSessions returns the user's records, oldest first; an empty
	// slice if there are none.
	ListUserSessions(ctx context.Context, userID string) ([]Session, error)
	// TouchSession records use of the record: it sets LastSeenAt and
	// IdleExpiresAt.
	TouchSession(ctx context.Context, id string, lastSeen, idleExpiresAt time.Time) error
	// UpdateSessionData atomically reads the record's data and version,
	// calls update, and stores the returned data (nil is stored as "{}")
	// with the version increased by one. If update returns an error, nothing
	// is written and the error is returned. It returns the updated record,
	// or ErrNotFound, without calling update, if there is none. A backend
	// may call update more than once (retrying on contention), so update
	// must have no side effects and must not call the store.
	UpdateSessionData(ctx context.Context, id string, update func(data json.RawMessage, version int64) (json.RawMessage, error)) (Session, error)
	// UpdateSessionAuth replaces the record's AuthMethods, AuthTime and
	// EnrolmentOnly (a step-up or a re-authentication of the session), and
	// nothing else, or returns ErrNotFound.
	UpdateSessionAuth(ctx context.Context, id string, methods []string, authTime time.Time, enrolmentOnly bool) error
	// DeleteSession removes the record, or returns ErrNotFound.
	DeleteSession(ctx context.Context, id string) error
	// DeleteSessions removes the records with the given ids and returns
	// the ids of those it removed; ids with no record are skipped, not an
	// error. It deletes exactly the records whose revocation was recorded,
	// in as few round trips as the backend allows.
	DeleteSessions(ctx context.Context, ids []string) ([]string, error)
	// DeleteUserSessions removes every record of the user except the one
	// whose id is exceptID (which may be empty), and returns the removed
	// records, oldest first; removing none is not an error.
	DeleteUserSessions(ctx context.Context, userID, exceptID string) ([]Session, error)
	// DeleteClientSessions removes every record, of any user, whose
	// ClientID is clientID (the grants of an OAuth client being deleted),
	// and returns the removed records, oldest first; removing none is not
	// an error. An empty clientID matches no record: first-party records,
	// which have no client, are never removed by it.
	DeleteClientSessions(ctx context.Context, clientID string) ([]Session, error)
	// ListClientSessions returns every record, of any user, whose ClientID
	// is clientID, oldest first; an empty slice if there are none (and
	// always for an empty clientID). A client's grants are listed so that
	// their revocation is recorded before they are deleted.
	ListClientSessions(ctx context.Context, clientID string) ([]Session, error)
	// DeleteExpiredSessions removes every record that is expired at now
	// (see Session.Expired) and returns how many it removed.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
	// CountSessions returns how many records are not expired at now.
	CountSessions(ctx context.Context, now time.Time) (int, error)
}
