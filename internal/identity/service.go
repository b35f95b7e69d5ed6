package identity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Password length bounds in bytes (NIST SP 800-63B: at least 8, no
// composition rules; the upper bound only caps hashing work).
const (
	MinPasswordLen = 8
	MaxPasswordLen = 1024
)

// PasswordHasher hashes and verifies passwords. *password.Hasher is the
// implementation; the interface keeps this package testable and free of a
// particular algorithm.
type PasswordHasher interface {
	// Hash returns the encoded hash of password.
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches encoded and whether encoded
	// should be replaced by a hash with the current parameters.
	Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error)
	// VerifyDummy spends the time of one Verify without a real hash, so a
	// login for an unknown email takes as long as a wrong password.
	VerifyDummy(ctx context.Context, password string) error
}

// Limiter counts failed attempts per key; ratelimit.Limiter. The identity
// service keys it by account ("account:<email>") and by client address
// ("ip:<addr>").
type Limiter = ratelimit.Limiter

// Config holds the options of a Service.
type Config struct {
	// SignupOpen allows POST /v1/signup. Default (zero value) false; the
	// server's --signup flag defaults to true.
	SignupOpen bool
	// AccountLimiter limits failed logins per account (email), whether or
	// not the account exists. Nil disables it.
	AccountLimiter Limiter
	// AddressLimiter limits failed logins and signups per client address.
	// Nil disables it.
	AddressLimiter Limiter
	// UserCacheTTL is how long CachedUser may answer from memory; zero
	// turns the cache off. UserCacheSize bounds it (default 100000).
	UserCacheTTL  time.Duration
	UserCacheSize int
	// Audit records the audit events that callers pass with a change
	// (NewUser.Events, UserUpdate.Events, DeleteUser's): in the change's
	// transaction when the store is a store.UserEventStore, right after it
	// otherwise. Nil records none.
	Audit *audit.Recorder
}

// Service manages user accounts.
type Service struct {
	users  store.UserStore
	hasher PasswordHasher
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	cache  *userCache // nil when off
}

// NewService returns a Service over users. now may be nil for time.Now.
func NewService(users store.UserStore, hasher PasswordHasher, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.UserCacheSize <= 0 {
		cfg.UserCacheSize = 100_000
	}
	return &Service{users: users, hasher: hasher, cfg: cfg, log: log, now: now, cache: newUserCache(cfg.UserCacheTTL, cfg.UserCacheSize)}
}

// NewUser describes an account to create.
type NewUser struct {
	Email    string
	Password string
	Claims   map[string]any
	// Events are the audit events of the creation (user.signed_up,
	// user.created), written with the account: their UserID is set to
	// the new account's id, their Detail "email" to its address, and the
	// id of an actor of kind user without one to the new id (a signup is
	// the new user's own act).
	Events []audit.Event
}

// Signup creates an account through self-service signup, if it is open.
// clientAddr is rate limited like failed logins.
func (s *Service) Signup(ctx context.Context, nu NewUser, clientAddr string) (store.User, error) {
	if !s.cfg.SignupOpen {
		return store.User{}, ErrSignupClosed
	}
	if err := s.checkLimit(ctx, s.cfg.AddressLimiter, "ip:"+clientAddr); err != nil {
		return store.User{}, err
	}
	nu.Claims = nil // self-service accounts get no custom claims
	u, err := s.CreateUser(ctx, nu)
	if s.cfg.AddressLimiter != nil && (err == nil || errors.Is(err, store.ErrConflict)) {
		// Every signup attempt that reached the store counts against the
		// address, so probing for taken addresses is as slow as guessing.
		if _, ferr := s.cfg.AddressLimiter.Fail(ctx, "ip:"+clientAddr); ferr != nil {
			s.log.WarnContext(ctx, "rate limiter unavailable", "err", ferr)
		}
	}
	return u, err
}

// CreateUser creates an account. It returns ErrInvalidEmail,
// ErrInvalidPassword, ErrInvalidClaims, or store.ErrConflict if the email
// is taken. The password is hashed before the email is looked up, so the
// answer takes the same time either way.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (store.User, error) {
	email, err := NormalizeEmail(nu.Email)
	if err != nil {
		return store.User{}, err
	}
	if err := ValidatePassword(nu.Password); err != nil {
		return store.User{}, err
	}
	if err := ValidateClaims(nu.Claims); err != nil {
		return store.User{}, err
	}
	hash, err := s.hasher.Hash(ctx, nu.Password)
	if err != nil {
		return store.User{}, fmt.Errorf("identity: hash password: %w", err)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	claims := nu.Claims
	if claims == nil {
		claims = map[string]any{}
	}
	u := store.User{
		ID:           newUserID(),
		Email:        email,
		PasswordHash: hash,
		Claims:       claims,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	// An account created before addresses were put in NFC may hold
	// another spelling of this one: that address is taken too.
	if old, err := s.userByEmail(ctx, nu.Email, email); err == nil && old.Email != email {
		return store.User{}, fmt.Errorf("identity: create user: %w: taken in its older spelling", store.ErrConflict)
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, fmt.Errorf("identity: create user: %w", err)
	}
	for i := range nu.Events {
		e := &nu.Events[i]
		e.UserID = u.ID
		if e.Detail == nil {
			e.Detail = map[string]string{}
		}
		e.Detail["email"] = u.Email
		if e.Actor == (audit.Actor{Kind: audit.ActorUser}) {
			e.Actor.ID = u.ID // a signup is the new user's own act
		}
	}
	err = s.withEvents(ctx, nu.Events,
		func(es store.UserEventStore, events []audit.Event) ([]int64, error) { return es.CreateUserWithEvents(ctx, u, events) },
		func() error { return s.users.CreateUser(ctx, u) })
	if err != nil {
		return store.User{}, fmt.Errorf("identity: create user: %w", err)
	}
	return u, nil
}

// userByEmail finds the account of an address: by its normalized (NFC)
// form, else, for an account created before addresses were put in NFC,
// by the spelling that was typed (as NormalizeEmail made it then) or by
// the decomposed (NFD) spelling. The extra lookups depend only on what
// was typed (none for an ASCII address), so they tell nothing about
// accounts. It returns store.ErrNotFound when none matches.
func (s *Service) userByEmail(ctx context.Context, typed, normalized string) (store.User, error) {
	u, err := s.users.GetUserByEmail(ctx, normalized)
	for _, other := range olderSpellings(typed, normalized) {
		if !errors.Is(err, store.ErrNotFound) {
			break
		}
		u, err = s.users.GetUserByEmail(ctx, other)
	}
	return u, err
}

// Login checks an email and password. Every failure to identify the user
// (unknown email, wrong password, disabled account) is
// ErrInvalidCredentials after the same amount of hashing work. Too many
// failures for the account or the client address give a
// *RateLimitedError, whether or not the account exists.
func (s *Service) Login(ctx context.Context, email, password, clientAddr string) (store.User, error) {
	addrKey := "ip:" + clientAddr
	normalized, err := NormalizeEmail(email)
	if err != nil {
		// Not an address at all: spend the same time and give the same
		// answer, and count it against the client address like any other
		// failure, so it is no way around the address limit.
		if err := s.checkLimit(ctx, s.cfg.AddressLimiter, addrKey); err != nil {
			return store.User{}, err
		}
		if err := s.dummy(ctx, password); err != nil {
			return store.User{}, err
		}
		if s.cfg.AddressLimiter != nil {
			if _, ferr := s.cfg.AddressLimiter.Fail(ctx, addrKey); ferr != nil {
				return store.User{}, s.unavailable(ctx, ferr)
			}
		}
		return store.User{}, ErrInvalidCredentials
	}
	accountKey := "account:" + normalized
	if err := s.checkLimit(ctx, s.cfg.AccountLimiter, accountKey); err != nil {
		return store.User{}, err
	}
	if err := s.checkLimit(ctx, s.cfg.AddressLimiter, addrKey); err != nil {
		return store.User{}, err
	}
	if len(password) > MaxPasswordLen {
		if err := s.dummy(ctx, password[:MaxPasswordLen]); err != nil {
			return store.User{}, err
		}
		if err := s.recordFailure(ctx, accountKey, addrKey); err != nil {
			return store.User{}, err
		}
		return store.User{}, ErrInvalidCredentials
	}

	u, err := s.userByEmail(ctx, email, normalized)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if err := s.dummy(ctx, password); err != nil {
			return store.User{}, err
		}
		if err := s.recordFailure(ctx, accountKey, addrKey); err != nil {
			return store.User{}, err
		}
		return store.User{}, ErrInvalidCredentials
	case err != nil:
		return store.User{}, fmt.Errorf("identity: look up user: %w", err)
	}
	ok, rehash, err := s.hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		return store.User{}, fmt.Errorf("identity: verify password: %w", err)
	}
	if !ok || u.Disabled {
		if err := s.recordFailure(ctx, accountKey, addrKey); err != nil {
			return store.User{}, err
		}
		reason := audit.ReasonInvalidCredentials
		if ok {
			reason = audit.ReasonDisabled
		}
		return store.User{}, &LoginFailure{UserID: u.ID, Reason: reason}
	}
	if s.cfg.AccountLimiter != nil {
		if err := s.cfg.AccountLimiter.Reset(ctx, accountKey); err != nil {
			s.log.WarnContext(ctx, "rate limiter unavailable", "err", err)
		}
	}
	if rehash {
		if h := s.rehash(ctx, u.ID, u.PasswordHash, password); h != "" {
			u.PasswordHash = h
		}
	}
	return u, nil
}

// Recheck reads again the account that Login returned, once the caller
// has created the login's session or grant, and reports whether the login
// still stands: ErrInvalidCredentials if the account was disabled or
// deleted, or its password changed (an administrator's reset), while the
// password was being checked. A password hash that changed but still
// matches password (another login's rehash) stands. Store failures are
// returned as they are.
func (s *Service) Recheck(ctx context.Context, u store.User, password string) error {
	cur, err := s.users.GetUser(ctx, u.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrInvalidCredentials
	case err != nil:
		return fmt.Errorf("identity: recheck user: %w", err)
	case cur.Disabled:
		return ErrInvalidCredentials
	case cur.PasswordHash == u.PasswordHash:
		return nil
	}
	ok, _, err := s.hasher.Verify(ctx, password, cur.PasswordHash)
	if err != nil {
		return fmt.Errorf("identity: verify password: %w", err)
	}
	if !ok {
		return ErrInvalidCredentials
	}
	return nil
}

// errPasswordChanged stops a rehash whose user changed password meanwhile.
var errPasswordChanged = errors.New("identity: password changed during login")

// rehash replaces a user's password hash after a successful login with
// outdated parameters, unless the stored hash is no longer the one that
// was verified (an administrator set a new password meanwhile), and
// returns the new hash, or "" if it stored none. Failure is logged, not
// returned: the login stands.
func (s *Service) rehash(ctx context.Context, userID, verified, password string) string {
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		s.log.WarnContext(ctx, "password rehash failed", "user_id", userID, "err", err)
		return ""
	}
	defer s.Forget(userID)
	_, err = s.users.UpdateUser(ctx, userID, func(u store.User) (store.User, error) {
		if u.PasswordHash != verified {
			return u, errPasswordChanged
		}
		u.PasswordHash = hash
		u.UpdatedAt = s.now().UTC()
		return u, nil
	})
	if errors.Is(err, errPasswordChanged) {
		return ""
	}
	if err != nil {
		s.log.WarnContext(ctx, "password rehash not stored", "user_id", userID, "err", err)
		return ""
	}
	return hash
}

// checkLimit returns a *RateLimitedError if key may not attempt now. A
// limiter that cannot answer fails closed with ErrUnavailable, before any
// password is checked: failing open would let anyone guess without limit
// while a shared limiter is down.
func (s *Service) checkLimit(ctx context.Context, l Limiter, key string) error {
	if l == nil {
		return nil
	}
	d, err := l.Allow(ctx, key)
	if err != nil {
		return s.unavailable(ctx, err)
	}
	if !d.Allowed {
		return &RateLimitedError{RetryAfter: d.RetryAfter}
	}
	return nil
}

// recordFailure counts a failed login against the account and the
// address. If a failure cannot be counted, the attempt is answered
// ErrUnavailable, as a correct password would be when the login cannot
// complete, so the answer does not tell a right guess from a wrong one.
func (s *Service) recordFailure(ctx context.Context, keys ...string) error {
	for i, l := range []Limiter{s.cfg.AccountLimiter, s.cfg.AddressLimiter} {
		if l == nil {
			continue
		}
		if _, err := l.Fail(ctx, keys[i]); err != nil {
			return s.unavailable(ctx, err)
		}
	}
	return nil
}

// unavailable logs a limiter failure and returns ErrUnavailable.
func (s *Service) unavailable(ctx context.Context, err error) error {
	s.log.WarnContext(ctx, "rate limiter unavailable: refusing the attempt", "err", err)
	return fmt.Errorf("%w: rate limiter: %w", ErrUnavailable, err)
}

// dummy spends the time of a password check when there is no hash to
// check against. Its only error is password.ErrBusy-like overload, which
// the caller reports as it would for a real check.
func (s *Service) dummy(ctx context.Context, password string) error {
	if err := s.hasher.VerifyDummy(ctx, password); err != nil {
		return fmt.Errorf("identity: verify password: %w", err)
	}
	return nil
}

// GetUser returns the user with the given id.
func (s *Service) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := s.users.GetUser(ctx, id)
	if err != nil {
		return store.User{}, fmt.Errorf("identity: get user: %w", err)
	}
	return u, nil
}

// CachedUser returns the user with the given id for read-only display,
// from memory when it was read less than UserCacheTTL ago (see
// Config.UserCacheTTL): changes made on another instance that revoke
// nothing may show late by up to that TTL. The result has no password
// hash, and its Claims map is shared: callers must not modify it. Paths
// that issue credentials use GetUser.
func (s *Service) CachedUser(ctx context.Context, id string) (store.User, error) {
	if s.cache == nil {
		return s.GetUser(ctx, id)
	}
	now := s.now()
	u, gen, ok := s.cache.get(id, now)
	if ok {
		return u, nil
	}
	u, err := s.GetUser(ctx, id)
	if err != nil {
		return store.User{}, err
	}
	s.cache.put(u, gen, now)
	u.PasswordHash = ""
	return u, nil
}

// Forget drops the user from this instance's cache. The server calls it
// for every user-wide revocation in the revocation log, so a disable or
// delete on any instance shows at once everywhere.
func (s *Service) Forget(id string) {
	if s.cache != nil {
		s.cache.forget(id)
	}
}

// UserUpdate holds the fields of an administrative change; nil fields
// stay as they are.
type UserUpdate struct {
	Claims   map[string]any
	Disabled *bool
	Password *string
	// Email is a new address, normalised here; it leaves the address
	// unverified (unless EmailVerified says otherwise). A taken address
	// is store.ErrConflict.
	Email *string
	// EmailVerified marks the address verified or not.
	EmailVerified *bool
	// IfEmail, if not empty, applies the change only while the account's
	// address is IfEmail (a verification link for an address the account
	// no longer has must not verify the new one): otherwise
	// ErrEmailChanged, and nothing changes.
	IfEmail string
	// Events are the audit events of the change, written with it.
	Events []audit.Event
}

// UpdateUser applies a change to an account: an administrator's, or
// one of the account lifecycle (a new address or password, a verified
// address). The caller revokes the user's sessions when the change
// disables the account or resets its password.
func (s *Service) UpdateUser(ctx context.Context, id string, up UserUpdate) (store.User, error) {
	if up.Claims != nil {
		if err := ValidateClaims(up.Claims); err != nil {
			return store.User{}, err
		}
	}
	var email string
	if up.Email != nil {
		e, err := NormalizeEmail(*up.Email)
		if err != nil {
			return store.User{}, err
		}
		email = e
	}
	var hash string
	if up.Password != nil {
		if err := ValidatePassword(*up.Password); err != nil {
			return store.User{}, err
		}
		h, err := s.hasher.Hash(ctx, *up.Password)
		if err != nil {
			return store.User{}, fmt.Errorf("identity: hash password: %w", err)
		}
		hash = h
	}
	defer s.Forget(id)
	apply := func(u store.User) (store.User, error) {
		if up.IfEmail != "" && u.Email != up.IfEmail {
			return u, ErrEmailChanged
		}
		if email != "" && email != u.Email {
			u.Email, u.EmailVerified = email, false
		}
		if up.EmailVerified != nil {
			u.EmailVerified = *up.EmailVerified
		}
		if up.Claims != nil {
			u.Claims = up.Claims
		}
		if up.Disabled != nil {
			u.Disabled = *up.Disabled
		}
		if hash != "" {
			u.PasswordHash = hash
		}
		u.UpdatedAt = s.now().UTC()
		return u, nil
	}
	var u store.User
	err := s.withEvents(ctx, up.Events,
		func(es store.UserEventStore, events []audit.Event) ([]int64, error) {
			var stored []audit.Event
			var err error
			u, stored, err = es.UpdateUserWithEvents(ctx, id, func(old store.User) (store.User, []audit.Event, error) {
				nu, err := apply(old)
				return nu, events, err
			})
			seqs := make([]int64, len(stored))
			for i, e := range stored {
				seqs[i] = e.Seq
			}
			return seqs, err
		},
		func() error {
			var err error
			u, err = s.users.UpdateUser(ctx, id, apply)
			return err
		})
	if err != nil {
		return store.User{}, fmt.Errorf("identity: update user: %w", err)
	}
	return u, nil
}

// withEvents makes a change with its audit events: through inTx, in the
// change's transaction, when the store is a store.UserEventStore and the
// trail is on; otherwise through plain, with the events recorded right
// after it (the change stands if that fails; the error is returned, so
// the caller does not report success).
func (s *Service) withEvents(ctx context.Context, events []audit.Event,
	inTx func(store.UserEventStore, []audit.Event) ([]int64, error), plain func() error) error {
	if es, ok := s.users.(store.UserEventStore); ok && s.cfg.Audit != nil && len(events) > 0 {
		return s.cfg.Audit.Commit(ctx, events, func(events []audit.Event) ([]int64, error) { return inTx(es, events) })
	}
	if err := plain(); err != nil {
		return err
	}
	return s.cfg.Audit.Record(ctx, events...)
}

// FindUserByEmail returns the user whose address is email after
// NormalizeEmail, as logins compare it: store.ErrNotFound when there is
// none, ErrInvalidEmail when email is not an address.
func (s *Service) FindUserByEmail(ctx context.Context, email string) (store.User, error) {
	normalized, err := NormalizeEmail(email)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.userByEmail(ctx, email, normalized)
	if err != nil {
		return store.User{}, fmt.Errorf("identity: find user by email: %w", err)
	}
	return u, nil
}

// ListUsers returns a page of at most limit users whose ids sort after
// afterID, in id order (see store.UserStore.ListUsers).
func (s *Service) ListUsers(ctx context.Context, afterID string, limit int) ([]store.User, error) {
	us, err := s.users.ListUsers(ctx, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("identity: list users: %w", err)
	}
	return us, nil
}

// DeleteUser removes the account, with events, the audit events of the
// deletion, written with it. The caller revokes its sessions first.
func (s *Service) DeleteUser(ctx context.Context, id string, events ...audit.Event) error {
	defer s.Forget(id)
	err := s.withEvents(ctx, events,
		func(es store.UserEventStore, events []audit.Event) ([]int64, error) { return es.DeleteUserWithEvents(ctx, id, events) },
		func() error { return s.users.DeleteUser(ctx, id) })
	if err != nil {
		return fmt.Errorf("identity: delete user: %w", err)
	}
	return nil
}

// ValidatePassword enforces the length policy and nothing else.
func ValidatePassword(p string) error {
	if len(p) < MinPasswordLen || len(p) > MaxPasswordLen {
		return ErrInvalidPassword
	}
	return nil
}

// reservedClaims are the registered claim names that custom claims cannot
// set, because the server sets them itself.
var reservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true,
	"jti": true, "sid": true, "scope": true, "client_id": true,
}

// maxClaimsJSON caps the encoded size of custom claims, which travel in
// every access token.
const maxClaimsJSON = 4096

// ValidateClaims rejects custom claims that use a registered name or that
// would make tokens too large.
func ValidateClaims(c map[string]any) error {
	for k := range c {
		if reservedClaims[k] {
			return fmt.Errorf("%w: %q is a registered claim name", ErrInvalidClaims, k)
		}
		if k == "" {
			return fmt.Errorf("%w: empty claim name", ErrInvalidClaims)
		}
	}
	if n := jsonSize(c); n > maxClaimsJSON {
		return fmt.Errorf("%w: %d bytes encoded, at most %d", ErrInvalidClaims, n, maxClaimsJSON)
	}
	return nil
}

func newUserID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
