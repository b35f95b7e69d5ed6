package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// ErrInvalid reports a session that does not exist, has expired or was
// revoked: the caller is not authenticated by it.
var ErrInvalid = errors.New("session: invalid or expired session")

// Default timeouts. An idle timeout of 30 minutes and an absolute lifetime
// of 12 hours follow OWASP's session management guidance for ordinary web
// applications; regulated applications set shorter ones.
const (
	DefaultIdleTimeout   = 30 * time.Minute
	DefaultLifetime      = 12 * time.Hour
	DefaultTouchInterval = time.Minute
	// Token grants (refresh tokens) live longer: 30 days unused, 90 days
	// at most.
	DefaultGrantIdleTimeout = 30 * 24 * time.Hour
	DefaultGrantLifetime    = 90 * 24 * time.Hour
	DefaultCacheSize        = 100_000
	// SecretLen is the length of an encoded cookie secret: 32 random
	// bytes (256 bits) in unpadded base64url.
	SecretLen = 43
)

// Config holds the options of a Manager. Zero fields take the defaults.
type Config struct {
	// IdleTimeout: a session not used for this long is dead. Default 30m.
	// Because last use is written at most once per TouchInterval, a
	// session may end up to TouchInterval before IdleTimeout has passed
	// since its very last request.
	IdleTimeout time.Duration
	// Lifetime is the absolute life of a session, used or not. Default 12h.
	Lifetime time.Duration
	// GrantIdleTimeout and GrantLifetime are the idle and absolute
	// lifetimes of token grants. Defaults 30 days and 90 days.
	GrantIdleTimeout time.Duration
	GrantLifetime    time.Duration
	// TouchInterval is how often at most last use is written to the store
	// per session. Default 1m.
	TouchInterval time.Duration
	// CacheSize bounds how many sessions the in-process cache holds.
	// Default 100000; negative disables the cache.
	CacheSize int
	// Record, if set, makes a revocation durable: it is called with the
	// records about to be revoked (logout, revocation by the user or an
	// administrator) before they are deleted, and the revocation goes
	// ahead only if it succeeds, so that no caller is told a record is
	// revoked unless the revocation log has it. Its error is returned
	// wrapped, and nothing is deleted. events are the audit trail's
	// session.ended events of the records (none without Audit), which
	// Record stores in the same transaction as the revocation.
	Record func(ctx context.Context, revoked []store.Session, events []audit.Event) error
	// Audit, if set, records the audit trail's session.ended events: one
	// per ended record, through Record (in the revocation's transaction),
	// and the expiry sweep's (in the sweep's transaction when the store
	// is a store.SessionEventStore).
	Audit *audit.Recorder
	// OnRevoke, if set, is called with the records that were revoked,
	// after they are deleted, for clean-up (their refresh tokens). Expired
	// records removed by the sweep are not reported.
	OnRevoke func(ctx context.Context, revoked []store.Session)
	// OnRevokeUser, if set, is called when every record of a user is to be
	// revoked (RevokeUser with no exception), before any is deleted: the
	// revocation log records a user-wide event, which also covers tokens
	// whose grant was already gone. If it fails, nothing is revoked.
	OnRevokeUser func(ctx context.Context, userID string) error
}

func (c Config) withDefaults() Config {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.Lifetime <= 0 {
		c.Lifetime = DefaultLifetime
	}
	if c.GrantIdleTimeout <= 0 {
		c.GrantIdleTimeout = DefaultGrantIdleTimeout
	}
	if c.GrantLifetime <= 0 {
		c.GrantLifetime = DefaultGrantLifetime
	}
	if c.TouchInterval <= 0 {
		c.TouchInterval = DefaultTouchInterval
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	return c
}

// Router is implemented by a session store that keeps each user's records
// together on one part of a partitioned backend (a Redis Cluster slot) and
// finds a record in one step only if it knows that part, its route (see
// package redisstore). The Manager then starts every record id with
// "<route>." and every cookie value with "<route>.": the route is not
// secret (it names one of many groups of users), and the secret after it
// keeps its 256 bits. Cookies without a route, from before, still work:
// their records are found with GetSessionBySecretHash.
type Router interface {
	// SessionRoute returns the route of userID's records: RouteLen
	// lower-case hex digits.
	SessionRoute(userID string) string
	// GetSessionBySecretHashRoute is GetSessionBySecretHash among the
	// records of route.
	GetSessionBySecretHashRoute(ctx context.Context, route string, hash []byte) (store.Session, error)
}

// RouteLen is the length of a Router's routes.
const RouteLen = 3

// Manager creates, authenticates, lists and revokes session records.
type Manager struct {
	store store.SessionStore
	// router is store as a Router, or nil.
	router Router
	cfg    Config
	cache  *cache
	log    *slog.Logger
	now    func() time.Time
}

// NewManager returns a Manager over st. now may be nil for time.Now.
func NewManager(st store.SessionStore, cfg Config, log *slog.Logger, now func() time.Time) *Manager {
	cfg = cfg.withDefaults()
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	router, _ := st.(Router)
	return &Manager{store: st, router: router, cfg: cfg, cache: newCache(cfg.CacheSize), log: log, now: now}
}

// Config returns the manager's effective configuration.
func (m *Manager) Config() Config { return m.cfg }

// ClientInfo describes the client that logs in.
type ClientInfo struct {
	UserAgent string
	IP        string
}

// maxUserAgent caps what is stored of a User-Agent header.
const maxUserAgent = 512

// Created is a new cookie session with the secret for its cookie. The
// secret exists only here and in the client's cookie.
type Created struct {
	Session store.Session
	// Secret is the cookie's value: SecretLen characters, preceded by
	// "<route>." when the store is a Router.
	Secret string
}

// CreateCookie starts a browser session for the user that records no
// authentication methods (AuthOf reads it as a password login at its
// creation). Logins use StartCookie.
func (m *Manager) CreateCookie(ctx context.Context, userID string, ci ClientInfo) (Created, error) {
	return m.StartCookie(ctx, userID, ci, authcontext.Authentication{}, false)
}

// StartCookie starts a browser session for the user, who authenticated
// as a says; enrolmentOnly marks a session that may only enrol a second
// factor (see store.Session). Every call makes a new secret and a new id,
// so no identifier that existed before login survives it (session
// fixation).
func (m *Manager) StartCookie(ctx context.Context, userID string, ci ClientInfo, a authcontext.Authentication, enrolmentOnly bool) (Created, error) {
	secret := newSecret()
	if m.router != nil {
		secret = m.router.SessionRoute(userID) + "." + secret
	}
	hash := HashSecret(secret)
	s := m.newRecord(store.KindCookie, userID, ci)
	s.SecretHash = hash[:]
	setAuth(&s, a)
	s.EnrolmentOnly = enrolmentOnly
	if err := m.store.CreateSession(ctx, s); err != nil {
		return Created{}, fmt.Errorf("session: create: %w", err)
	}
	m.cache.put(hash, s, m.now())
	return Created{Session: s, Secret: secret}, nil
}

// GrantSpec describes a token grant to create.
type GrantSpec struct {
	UserID   string
	ClientID string
	Scope    string
	// Audience is what the grant's access tokens are for, kept so that
	// refreshed tokens have it too; empty means the issuer.
	Audience []string
	Client   ClientInfo
	// Auth is how and when the user authenticated: the login of a
	// first-party grant, or the browser session's authentication for a
	// grant of the authorization code flow. The zero value records none.
	Auth authcontext.Authentication
	// AuthSessionID is the browser session the user authenticated in, for
	// a grant of the authorization code flow (see store.Session).
	AuthSessionID string
}

// CreateGrant starts a token grant: a record of kind token whose id is the
// "sid" of the tokens issued under it.
func (m *Manager) CreateGrant(ctx context.Context, g GrantSpec) (store.Session, error) {
	s := m.newRecord(store.KindToken, g.UserID, g.Client)
	s.ClientID, s.Scope, s.Audience = g.ClientID, g.Scope, g.Audience
	setAuth(&s, g.Auth)
	if !s.AuthTime.IsZero() {
		s.AuthSessionID = g.AuthSessionID
	}
	if err := m.store.CreateSession(ctx, s); err != nil {
		return store.Session{}, fmt.Errorf("session: create grant: %w", err)
	}
	return s, nil
}

// EndEvents returns one session.ended event per record, for reason (an
// audit.End… value). The actor is left to the request's (audit.Source),
// except for the reasons the server itself causes.
func EndEvents(records []store.Session, reason string) []audit.Event {
	out := make([]audit.Event, len(records))
	for i, r := range records {
		e := audit.Event{
			Type: audit.SessionEnded, UserID: r.UserID, SessionID: r.ID, ClientID: r.ClientID,
			Detail: map[string]string{"reason": reason, "kind": string(r.Kind)},
		}
		if r.AuthSessionID != "" {
			e.Detail["auth_session_id"] = r.AuthSessionID
		}
		switch reason {
		case audit.EndExpired, audit.EndReuseDetected:
			e.Actor = audit.Actor{Kind: audit.ActorSystem, ID: reason}
		}
		out[i] = e
	}
	return out
}

// setAuth records a on s, as stored (milliseconds, UTC).
func setAuth(s *store.Session, a authcontext.Authentication) {
	s.AuthMethods = nil
	for _, m := range a.Methods {
		s.AuthMethods = append(s.AuthMethods, string(m))
	}
	s.AuthTime = time.Time{}
	if !a.Time.IsZero() {
		s.AuthTime = a.Time.UTC().Truncate(time.Millisecond)
	}
}

// AuthOf returns how and when the user of the record authenticated. A
// record stored before the methods were recorded reads as a password
// login (the only kind there was) at its AuthTime, or its creation when
// it has none.
func AuthOf(s store.Session) authcontext.Authentication {
	at := s.AuthTime
	if at.IsZero() {
		at = s.CreatedAt
	}
	if len(s.AuthMethods) == 0 {
		return authcontext.New(at, authcontext.Password)
	}
	return authcontext.ParseAMR(s.AuthMethods, at)
}

// UpdateAuth records that the user of the live record id authenticated
// again, as a says (a step-up adds a factor, a re-authentication moves
// the time), and clears or sets enrolmentOnly. The record keeps its id
// and cookie: see docs/decisions.md. This instance's cache forgets the
// record so that its next check reads the store; other instances may show
// the old authentication in a cached principal until their cache entry is
// refreshed, so decisions that depend on it read the record with Get. It
// returns the updated record, or ErrInvalid.
func (m *Manager) UpdateAuth(ctx context.Context, id string, a authcontext.Authentication, enrolmentOnly bool) (store.Session, error) {
	s, err := m.Get(ctx, id)
	if err != nil {
		return store.Session{}, err
	}
	setAuth(&s, a)
	s.EnrolmentOnly = enrolmentOnly
	err = m.store.UpdateSessionAuth(ctx, id, s.AuthMethods, s.AuthTime, enrolmentOnly)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, ErrInvalid
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("session: update auth: %w", err)
	}
	m.cache.deleteID(id)
	return s, nil
}

func (m *Manager) newRecord(kind store.SessionKind, userID string, ci ClientInfo) store.Session {
	now := m.now().UTC().Truncate(time.Millisecond)
	ua := ci.UserAgent
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	id := newID()
	if m.router != nil {
		id = m.router.SessionRoute(userID) + "." + id
	}
	s := store.Session{
		ID:         id,
		Kind:       kind,
		UserID:     userID,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(m.lifetimeOf(kind)),
		UserAgent:  ua,
		IP:         ci.IP,
		Data:       json.RawMessage("{}"),
	}
	s.IdleExpiresAt = earliest(now.Add(m.idleTimeoutOf(s)), s.ExpiresAt)
	return s
}

// AuthenticateCookie returns the live session whose secret is given, or
// ErrInvalid. A warm check costs one SHA-256 and a map lookup; the store is
// read on a cache miss and written at most once per TouchInterval.
func (m *Manager) AuthenticateCookie(ctx context.Context, secret string) (store.Session, error) {
	route, ok := cookieRoute(secret)
	if !ok || (route != "" && m.router == nil) {
		return store.Session{}, ErrInvalid
	}
	hash := HashSecret(secret)
	now := m.now()
	s, cached := m.cache.get(hash)
	if !cached || s.Expired(now) {
		// A cached entry that looks expired may have been touched by
		// another instance: the store has the last word.
		if cached {
			m.cache.deleteID(s.ID)
		}
		var err error
		// A copy for the store (its slice escapes), so that the cached
		// path keeps the hash on the stack.
		key := hash
		if route != "" {
			s, err = m.router.GetSessionBySecretHashRoute(ctx, route, key[:])
		} else {
			s, err = m.store.GetSessionBySecretHash(ctx, key[:])
		}
		if errors.Is(err, store.ErrNotFound) {
			return store.Session{}, ErrInvalid
		}
		if err != nil {
			return store.Session{}, fmt.Errorf("session: authenticate: %w", err)
		}
		if s.Kind != store.KindCookie || s.Expired(now) {
			return store.Session{}, ErrInvalid
		}
		s.Data = nil
		m.cache.put(hash, s, m.now())
	}
	if now.Sub(s.LastSeenAt) >= m.cfg.TouchInterval {
		touched, err := m.touch(ctx, s, now)
		if err != nil {
			return store.Session{}, err
		}
		s = touched
		m.cache.put(hash, s, m.now())
	}
	return s, nil
}

// touch records use of s at now.
func (m *Manager) touch(ctx context.Context, s store.Session, now time.Time) (store.Session, error) {
	now = now.UTC().Truncate(time.Millisecond)
	idle := earliest(now.Add(m.idleTimeoutOf(s)), s.ExpiresAt)
	err := m.store.TouchSession(ctx, s.ID, now, idle)
	if errors.Is(err, store.ErrNotFound) {
		// Revoked elsewhere (another instance, or the sweep).
		m.cache.deleteID(s.ID)
		return store.Session{}, ErrInvalid
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("session: touch: %w", err)
	}
	s.LastSeenAt, s.IdleExpiresAt = now, idle
	return s, nil
}

// idleTimeoutOf returns the idle timeout for the record's kind.
func (m *Manager) idleTimeoutOf(s store.Session) time.Duration {
	if s.Kind == store.KindToken {
		return m.cfg.GrantIdleTimeout
	}
	return m.cfg.IdleTimeout
}

// lifetimeOf returns the absolute lifetime for the record's kind.
func (m *Manager) lifetimeOf(kind store.SessionKind) time.Duration {
	if kind == store.KindToken {
		return m.cfg.GrantLifetime
	}
	return m.cfg.Lifetime
}

// Touch records use of s, a live record the caller has just read with Get
// (a token grant being refreshed, say), and returns it updated, or
// ErrInvalid if it was deleted meanwhile.
func (m *Manager) Touch(ctx context.Context, s store.Session) (store.Session, error) {
	return m.touch(ctx, s, m.now())
}

// Get returns the live record with the given id, data included, or
// ErrInvalid.
func (m *Manager) Get(ctx context.Context, id string) (store.Session, error) {
	s, err := m.store.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, ErrInvalid
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("session: get: %w", err)
	}
	if s.Expired(m.now()) {
		return store.Session{}, ErrInvalid
	}
	return s, nil
}

// List returns the user's live records, oldest first.
func (m *Manager) List(ctx context.Context, userID string) ([]store.Session, error) {
	all, err := m.store.ListUserSessions(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("session: list: %w", err)
	}
	now := m.now()
	live := make([]store.Session, 0, len(all))
	for _, s := range all {
		if !s.Expired(now) {
			s.Data = nil
			live = append(live, s)
		}
	}
	return live, nil
}

// Revoke ends the user's record id at once, for reason (an audit.End…
// value, recorded in its session.ended event). It returns ErrInvalid if
// there is no such live record of that user, so one user cannot probe
// another's ids.
func (m *Manager) Revoke(ctx context.Context, userID, id, reason string) error {
	s, err := m.store.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && s.UserID != userID) {
		return ErrInvalid
	}
	if err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	if err := m.record(ctx, []store.Session{s}, reason); err != nil {
		return err
	}
	m.cache.revoke(id, m.now(), m.tombUntil())
	if err := m.store.DeleteSession(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrInvalid
		}
		return fmt.Errorf("session: revoke: %w", err)
	}
	m.notify(ctx, []store.Session{s})
	return nil
}

// RevokeUser ends every record of the user except exceptID (which may be
// empty), for reason (see Revoke), and returns how many it ended. The
// revocation is recorded before any record is deleted: if that fails, it
// returns the error and nothing is revoked.
func (m *Manager) RevokeUser(ctx context.Context, userID, exceptID, reason string) (int, error) {
	if exceptID == "" && m.cfg.OnRevokeUser != nil {
		if err := m.cfg.OnRevokeUser(ctx, userID); err != nil {
			return 0, fmt.Errorf("session: revoke all: %w", err)
		}
	}
	m.cache.revokeUser(userID, exceptID, m.now(), m.tombUntil())
	if m.cfg.Record != nil {
		gone, err := m.revokeListed(ctx, reason, func(ctx context.Context) ([]store.Session, error) {
			live, err := m.store.ListUserSessions(ctx, userID)
			return slices.DeleteFunc(live, func(s store.Session) bool { return s.ID == exceptID }), err
		})
		if err != nil {
			return 0, fmt.Errorf("session: revoke all: %w", err)
		}
		return len(gone), nil
	}
	gone, err := m.store.DeleteUserSessions(ctx, userID, exceptID)
	if err != nil {
		return 0, fmt.Errorf("session: revoke all: %w", err)
	}
	for _, s := range gone {
		m.cache.revoke(s.ID, m.now(), m.tombUntil())
	}
	if err := m.cfg.Audit.Record(ctx, EndEvents(gone, reason)...); err != nil {
		return len(gone), err
	}
	if len(gone) > 0 {
		m.notify(ctx, gone)
	}
	return len(gone), nil
}

// maxRevokeRounds bounds how often revokeListed lists again for records
// created while it revoked: records created after the last round are
// newer than the revocation and are left alone.
const maxRevokeRounds = 8

// revokeListed revokes, through cfg.Record, the records list returns, and
// only then deletes them by id, so that no record is deleted unless
// its revocation is stored; it lists again until none are left (records
// created meanwhile), at most maxRevokeRounds times. If recording fails,
// it returns the error with the records not yet recorded left in place,
// so that a retry finds them; the records it did delete are returned
// either way.
func (m *Manager) revokeListed(ctx context.Context, reason string, list func(context.Context) ([]store.Session, error)) (gone []store.Session, err error) {
	defer func() {
		if len(gone) > 0 {
			m.notify(ctx, gone)
		}
	}()
	for range maxRevokeRounds {
		live, err := list(ctx)
		if err != nil {
			return gone, err
		}
		if len(live) == 0 {
			return gone, nil
		}
		if err := m.record(ctx, live, reason); err != nil {
			return gone, err
		}
		ids := make([]string, len(live))
		for i, s := range live {
			ids[i] = s.ID
			m.cache.revoke(s.ID, m.now(), m.tombUntil())
		}
		removed, err := m.store.DeleteSessions(ctx, ids)
		done := make(map[string]bool, len(removed))
		for _, id := range removed {
			done[id] = true
		}
		// Those deleted meanwhile (logout, sweep) are not counted.
		gone = append(gone, slices.DeleteFunc(live, func(s store.Session) bool { return !done[s.ID] })...)
		if err != nil {
			return gone, err
		}
	}
	return gone, nil
}

// RevokeClient ends every record (token grant) issued to the OAuth client
// clientID, whoever its user, for reason (see Revoke), and returns how
// many it ended. An empty clientID ends nothing: first-party records have
// no client.
func (m *Manager) RevokeClient(ctx context.Context, clientID, reason string) (int, error) {
	if clientID == "" {
		return 0, nil
	}
	if m.cfg.Record != nil {
		gone, err := m.revokeListed(ctx, reason, func(ctx context.Context) ([]store.Session, error) {
			return m.store.ListClientSessions(ctx, clientID)
		})
		if err != nil {
			return 0, fmt.Errorf("session: revoke client: %w", err)
		}
		return len(gone), nil
	}
	gone, err := m.store.DeleteClientSessions(ctx, clientID)
	if err != nil {
		return 0, fmt.Errorf("session: revoke client: %w", err)
	}
	for _, s := range gone {
		m.cache.revoke(s.ID, m.now(), m.tombUntil())
	}
	// The store deletes by client in one step, so the records are known
	// only once deleted: their revocation is recorded after the fact, and
	// a failure is returned for the caller to retry.
	if err := m.record(ctx, gone, reason); err != nil {
		return 0, err
	}
	if len(gone) > 0 {
		m.notify(ctx, gone)
	}
	return len(gone), nil
}

// Evict drops a record from this instance's cache as the size bound would:
// the next check reads the store and caches it again. Benchmarks use it to
// measure a cache miss; a revocation uses Forget instead.
func (m *Manager) Evict(id string) { m.cache.deleteID(id) }

// Forget drops a record from this instance's cache, and keeps it out,
// without touching the store; other instances call it when they learn of
// a revocation.
func (m *Manager) Forget(id string) { m.cache.revoke(id, m.now(), m.tombUntil()) }

// ForgetUser drops every cached record of the user from this instance and
// keeps those created until now out.
func (m *Manager) ForgetUser(userID string) {
	m.cache.revokeUser(userID, "", m.now(), m.tombUntil())
}

// tombUntil is how long a revocation keeps a record out of the cache:
// longer than any request that read it before the revocation can take.
func (m *Manager) tombUntil() time.Time { return m.now().Add(2 * m.cfg.TouchInterval) }

// record makes the revocation of the records durable through cfg.Record,
// with their session.ended events for reason in the same transaction.
// Without Record, the events are recorded on their own.
func (m *Manager) record(ctx context.Context, revoked []store.Session, reason string) error {
	if len(revoked) == 0 {
		return nil
	}
	var events []audit.Event
	if m.cfg.Audit != nil {
		events = m.cfg.Audit.Complete(ctx, EndEvents(revoked, reason))
	}
	if m.cfg.Record == nil {
		return m.cfg.Audit.Record(ctx, events...)
	}
	if err := m.cfg.Record(ctx, revoked, events); err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	m.cfg.Audit.Logged(ctx, events)
	return nil
}

func (m *Manager) notify(ctx context.Context, revoked []store.Session) {
	if m.cfg.OnRevoke != nil {
		m.cfg.OnRevoke(ctx, revoked)
	}
}

// UpdateData atomically replaces the record's data with what update
// returns, given the current data and version.
func (m *Manager) UpdateData(ctx context.Context, id string, update func(data json.RawMessage, version int64) (json.RawMessage, error)) (store.Session, error) {
	s, err := m.store.UpdateSessionData(ctx, id, update)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, ErrInvalid
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("session: update data: %w", err)
	}
	return s, nil
}

// Sweep removes expired records from the store and returns how many.
// With Audit on a store.SessionEventStore, each removed record gets a
// session.ended event (reason expired) in the same transaction; records a
// backend expires by itself (Redis key expiry) end without one.
func (m *Manager) Sweep(ctx context.Context) (int, error) {
	if es, ok := m.store.(store.SessionEventStore); ok && m.cfg.Audit != nil {
		events, err := es.DeleteExpiredSessionsWithEvents(ctx, m.now(), func(s store.Session) audit.Event {
			e := EndEvents([]store.Session{s}, audit.EndExpired)
			return m.cfg.Audit.Complete(context.WithoutCancel(ctx), e)[0]
		})
		if err != nil {
			return 0, fmt.Errorf("session: sweep: %w", err)
		}
		m.cfg.Audit.Logged(ctx, events)
		return len(events), nil
	}
	n, err := m.store.DeleteExpiredSessions(ctx, m.now())
	if err != nil {
		return 0, fmt.Errorf("session: sweep: %w", err)
	}
	return n, nil
}

// Count returns how many records are live.
func (m *Manager) Count(ctx context.Context) (int, error) {
	n, err := m.store.CountSessions(ctx, m.now())
	if err != nil {
		return 0, fmt.Errorf("session: count: %w", err)
	}
	return n, nil
}

// HashSecret returns the SHA-256 of a cookie secret: the only form in
// which the store keeps it. The secret has 256 bits of entropy, so a fast
// hash suffices. Package oauth hashes client secrets with it too.
func HashSecret(secret string) [32]byte {
	// A cookie secret is 43 characters, a client secret about 50: copied
	// into a stack buffer, the hash allocates nothing ([]byte(secret)
	// would, past 32 bytes).
	var buf [64]byte
	if len(secret) <= len(buf) {
		n := copy(buf[:], secret)
		return sha256.Sum256(buf[:n])
	}
	return sha256.Sum256([]byte(secret))
}

// ValidSecretSyntax reports whether s has the shape of a cookie secret:
// SecretLen characters of the unpadded base64url alphabet. Anything else
// is rejected before it is hashed or looked up.
func ValidSecretSyntax(s string) bool {
	if len(s) != SecretLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// cookieRoute checks the shape of a cookie value: a secret
// (ValidSecretSyntax), or a route, a dot and a secret. It returns the
// route, "" for none; ok is false for anything else.
func cookieRoute(v string) (route string, ok bool) {
	if ValidSecretSyntax(v) {
		return "", true
	}
	if len(v) != RouteLen+1+SecretLen || v[RouteLen] != '.' || !ValidSecretSyntax(v[RouteLen+1:]) {
		return "", false
	}
	for i := range RouteLen {
		if c := v[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	return v[:RouteLen], true
}

func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
