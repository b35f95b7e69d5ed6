package audit

import (
	"maps"
	"slices"
	"time"
)

// Event is one entry of the audit trail.
type Event struct {
	// Seq orders the log; the store assigns it, positive and increasing
	// per database, and never reuses one. Zero until stored.
	Seq int64
	// Time is when it happened (UTC, millisecond precision once stored).
	Time time.Time
	// Type is one of the type constants of this package.
	Type string
	// Actor is who caused it.
	Actor Actor
	// UserID is the account the event is about; empty when there is
	// none or it is not known (a failed login for an unknown address).
	UserID string
	// SessionID is the session record (browser session or token grant)
	// the event is about: the ended one for session.ended, the created
	// one for login.succeeded.
	SessionID string
	// ClientID is the OAuth client the event is about, if any.
	ClientID string
	// IP and UserAgent describe the request that caused it; empty for
	// system events.
	IP        string
	UserAgent string
	// Detail holds type-specific fields ("reason", "kind", …). It never
	// holds a password, token, secret or code. Nil and empty are the same.
	Detail map[string]string
}

// Actor is who caused an event.
type Actor struct {
	// Kind is ActorUser, ActorAdmin, ActorSystem or ActorClient.
	Kind string
	// ID names the actor: a user id, a client id, "admin-token" for the
	// admin token, a job name for the system. May be empty.
	ID string
}

// The kinds of Actor.
const (
	// ActorUser is a signed-in user acting on their own account, or an
	// anonymous visitor (signup, login, recovery) when ID is empty.
	ActorUser = "user"
	// ActorAdmin is the admin token or an admin-scoped client.
	ActorAdmin = "admin"
	// ActorSystem is the server itself: the expiry sweeper, refresh token
	// reuse detection, key rotation on schedule.
	ActorSystem = "system"
	// ActorClient is an OAuth client acting with its own credentials.
	ActorClient = "client"
)

// Event types. Names are dotted and in the past tense; they are part of
// the API (GET /admin/v1/events, webhooks) and never change.
const (
	// UserSignedUp: self-service signup created UserID.
	UserSignedUp = "user.signed_up"
	// LoginSucceeded: a password (and, if enrolled, second factor) login
	// created SessionID for UserID. Detail "kind": cookie|token, "method":
	// password|mfa.
	LoginSucceeded = "login.succeeded"
	// LoginFailed: a login was refused. Detail "reason" (ReasonInvalid…);
	// UserID only when the account is known.
	LoginFailed = "login.failed"
	// MFASucceeded and MFAFailed: a second factor was checked during a
	// login or a step-up. Detail "factor": totp|recovery_code|passkey.
	MFASucceeded = "mfa.succeeded"
	MFAFailed    = "mfa.failed"
	// SessionEnded: one session record ended. SessionID is that record,
	// ClientID its client for grants; Detail "reason" (Reason…), "kind"
	// (cookie|token), "auth_session_id" (the browser session a grant came
	// from, when known).
	SessionEnded = "session.ended"
	// UserSessionsEnded: every record of UserID ended at once where the
	// store could not list them one by one. Detail "reason",
	// "except_session_id".
	UserSessionsEnded = "user.sessions_ended"
	// UserPasswordChanged: the user changed their password (an admin reset
	// is user.updated with Detail "password": "set").
	UserPasswordChanged = "user.password_changed"
	// UserEmailChangeRequested: a confirmation link was mailed to a new
	// address (Detail "new_email").
	UserEmailChangeRequested = "user.email_change_requested"
	// UserEmailChanged: the address changed (Detail "email").
	UserEmailChanged = "user.email_changed"
	// UserEmailVerified: the user proved they receive mail at Detail
	// "email".
	UserEmailVerified = "user.email_verified"
	// UserRecoveryRequested: a recovery link was asked for; UserID only
	// when the address has an account (the HTTP answer is the same).
	UserRecoveryRequested = "user.recovery_requested"
	// UserRecovered: a recovery link set a new password.
	UserRecovered = "user.recovered"
	// TOTPEnrolled and TOTPRemoved: an authenticator app was added or
	// removed.
	TOTPEnrolled = "totp.enrolled"
	TOTPRemoved  = "totp.removed"
	// RecoveryCodesRegenerated: a new set of recovery codes replaced the
	// old one. RecoveryCodeUsed: one was spent in a login.
	RecoveryCodesRegenerated = "recovery_codes.regenerated"
	RecoveryCodeUsed         = "recovery_code.used"
	// PasskeyRegistered and PasskeyRemoved: a WebAuthn credential was
	// added or removed (Detail "passkey_id").
	PasskeyRegistered = "passkey.registered"
	PasskeyRemoved    = "passkey.removed"
	// ConsentGranted and ConsentRevoked: UserID allowed ClientID (Detail
	// "scope"), or withdrew it.
	ConsentGranted = "consent.granted"
	ConsentRevoked = "consent.revoked"
	// ClientCreated, ClientUpdated, ClientDeleted: an OAuth client
	// registration changed (ClientID).
	ClientCreated = "client.created"
	ClientUpdated = "client.updated"
	ClientDeleted = "client.deleted"
	// KeyRotated: a new signing key was made current (Detail "kid",
	// "alg").
	KeyRotated = "key.rotated"
	// UserCreated, UserUpdated, UserDisabled, UserDeleted: administrative
	// changes of an account (Actor.Kind admin). user.updated's Detail
	// names the changed fields, never their secret values.
	UserCreated  = "user.created"
	UserUpdated  = "user.updated"
	UserDisabled = "user.disabled"
	UserDeleted  = "user.deleted"
)

// Types lists every event type, in the order above.
func Types() []string {
	return []string{
		UserSignedUp, LoginSucceeded, LoginFailed, MFASucceeded, MFAFailed,
		SessionEnded, UserSessionsEnded, UserPasswordChanged,
		UserEmailChangeRequested, UserEmailChanged, UserEmailVerified,
		UserRecoveryRequested, UserRecovered, TOTPEnrolled, TOTPRemoved,
		RecoveryCodesRegenerated, RecoveryCodeUsed, PasskeyRegistered,
		PasskeyRemoved, ConsentGranted, ConsentRevoked, ClientCreated,
		ClientUpdated, ClientDeleted, KeyRotated, UserCreated, UserUpdated,
		UserDisabled, UserDeleted,
	}
}

// Detail "reason" values of login.failed.
const (
	ReasonInvalidCredentials = "invalid_credentials"
	ReasonDisabled           = "disabled"
	ReasonUnverifiedEmail    = "unverified_email"
	ReasonRateLimited        = "rate_limited"
	ReasonMFAFailed          = "mfa_failed"
	ReasonUnavailable        = "unavailable"
)

// Detail "reason" values of session.ended and user.sessions_ended.
const (
	EndLogout          = "logout"
	EndRevoked         = "revoked"
	EndAdminRevoked    = "admin_revoked"
	EndReuseDetected   = "reuse_detected"
	EndExpired         = "expired"
	EndRecovery        = "recovery"
	EndPasswordChanged = "password_changed"
	EndUserDisabled    = "user_disabled"
	EndUserDeleted     = "user_deleted"
	// EndReplaced: a new login in the same browser replaced the session
	// (session fixation defence). EndClientDeleted and EndConsentRevoked:
	// a grant's client was deleted or the user withdrew their consent.
	EndReplaced       = "replaced"
	EndClientDeleted  = "client_deleted"
	EndConsentRevoked = "consent_revoked"
)

// Clone returns e with its own copy of Detail.
func (e Event) Clone() Event {
	e.Detail = maps.Clone(e.Detail)
	return e
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
