package store

import (
	"context"
	"time"
)

// This file holds the records and interfaces of second factors and
// passkeys (issue #14): TOTP factors, recovery codes, passkey credentials
// and WebAuthn ceremonies. The SQL store (package sqlstore) implements
// them; storetest.RunMFAStoreTests is their conformance suite.
//
// A backend that keeps users and these records together removes, in
// UserStore.DeleteUser's transaction, the user's TOTP factor, recovery
// codes and passkeys (as it removes consents and authorization codes),
// and nothing of anyone else; storetest.RunMFADeleteUserTests checks it.
// Ceremonies are left to expire.

// TOTPFactor is a user's TOTP authenticator. A user has at most one.
type TOTPFactor struct {
	// ID identifies the factor; it is bound into SealedSecret, so a new
	// enrolment has a new id.
	ID string
	// UserID is the owner.
	UserID string
	// SealedSecret is the shared secret sealed under the KEK (see
	// totp.SealSecret), never the secret itself.
	SealedSecret []byte
	// Confirmed is set once the user proved, with a first code, that the
	// authenticator app holds the secret; only then is the factor
	// required at login.
	Confirmed bool
	// LastUsedStep is the RFC 6238 time step of the last accepted code,
	// 0 before any: codes of this step or earlier are refused (replay).
	LastUsedStep int64
	// CreatedAt is when the enrolment began; ConfirmedAt when it was
	// confirmed, zero until then. Both UTC.
	CreatedAt   time.Time
	ConfirmedAt time.Time
}

// TOTPStore keeps TOTP factors, one per user at most.
//
// Lookups of a user without a factor return ErrNotFound.
type TOTPStore interface {
	// PutTOTPFactor stores f as f.UserID's factor, replacing an
	// unconfirmed one (an enrolment begun again). It returns ErrConflict,
	// changing nothing, if the user has a confirmed factor: that one must
	// be deleted first, after a step-up.
	PutTOTPFactor(ctx context.Context, f TOTPFactor) error
	// GetTOTPFactor returns the user's factor, confirmed or not, or
	// ErrNotFound.
	GetTOTPFactor(ctx context.Context, userID string) (TOTPFactor, error)
	// ConfirmTOTPFactor marks the user's factor factorID confirmed at now,
	// with step as its last used step (the confirming code cannot be used
	// again to log in). It returns ErrNotFound if the user has no factor
	// with that id, and ErrConflict if it is confirmed already.
	ConfirmTOTPFactor(ctx context.Context, userID, factorID string, step int64, now time.Time) error
	// AdvanceTOTPStep atomically sets the last used step of the user's
	// factor factorID to step if step is greater than the stored one,
	// and reports whether it did: false means the code was used already
	// (a replay, or a concurrent use of the same code that won), and the
	// caller refuses it. Of concurrent calls with the same step, exactly
	// one returns true. It returns ErrNotFound if the user has no
	// confirmed factor with that id.
	AdvanceTOTPStep(ctx context.Context, userID, factorID string, step int64) (bool, error)
	// DeleteTOTPFactor removes the user's factor, confirmed or not, or
	// returns ErrNotFound.
	DeleteTOTPFactor(ctx context.Context, userID string) error
}

// RecoveryCode is one stored recovery code of a user.
type RecoveryCode struct {
	// Hash is the keyed hash of the code (see recoverycode.Hasher), unique
	// per user.
	Hash []byte
	// UsedAt is when the code was used, zero while unused.
	UsedAt time.Time
}

// RecoveryCodeStore keeps the users' recovery codes, hashed.
type RecoveryCodeStore interface {
	// ReplaceRecoveryCodes atomically replaces all the user's codes, used
	// or not, with hashes (a new set, or none if hashes is empty).
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error
	// ListRecoveryCodes returns the user's codes in the order they were
	// given to ReplaceRecoveryCodes; a user without codes has none (an
	// empty list, not ErrNotFound).
	ListRecoveryCodes(ctx context.Context, userID string) ([]RecoveryCode, error)
	// UseRecoveryCode atomically marks the user's unused code with hash
	// used at now. It returns ErrNotFound, changing nothing, if the user
	// has no unused code with that hash (never had it, or it was used).
	// Of concurrent calls with the same hash, exactly one succeeds.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) error
}

// PasskeyCredential is a WebAuthn public key credential registered by a
// user: a passkey or a security key.
type PasskeyCredential struct {
	// ID is the credential id chosen by the authenticator (at most 1023
	// bytes), unique across all users.
	ID []byte
	// UserID is the owner; its bytes are the WebAuthn user handle.
	UserID string
	// Name is the label the user gave it ("YubiKey", "Phone").
	Name string
	// PublicKey is the credential public key, COSE_Key encoded.
	PublicKey []byte
	// AttestationType is the attestation type of the registration
	// ("none" for most passkeys).
	AttestationType string
	// AAGUID identifies the authenticator model (16 bytes, zeros when the
	// authenticator does not tell).
	AAGUID []byte
	// SignCount is the last signature counter the authenticator reported;
	// 0 for authenticators without a counter.
	SignCount uint32
	// Transports are the transports the browser reported ("internal",
	// "hybrid", "usb", "nfc", "ble"), for allowCredentials hints.
	Transports []string
	// UserVerified is whether the authenticator verified the user at
	// registration.
	UserVerified bool
	// BackupEligible (BE) is whether the credential can be synced to other
	// devices; it cannot change over the credential's life.
	BackupEligible bool
	// BackupState (BS) is whether the credential is currently backed up,
	// as of its last use.
	BackupState bool
	// CreatedAt is when it was registered; LastUsedAt when it last signed
	// in, zero until then. Both UTC.
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// PasskeyStore keeps passkey credentials, several per user.
//
// Lookups of a credential that does not exist return ErrNotFound.
type PasskeyStore interface {
	// CreatePasskey stores a new credential. It returns ErrConflict if a
	// credential with the same id exists, for any user.
	CreatePasskey(ctx context.Context, c PasskeyCredential) error
	// GetPasskey returns the credential with id, or ErrNotFound.
	GetPasskey(ctx context.Context, id []byte) (PasskeyCredential, error)
	// ListPasskeys returns the user's credentials, oldest first; a user
	// without any has none (an empty list, not ErrNotFound).
	ListPasskeys(ctx context.Context, userID string) ([]PasskeyCredential, error)
	// UpdatePasskey atomically reads the credential, applies update and
	// writes the result back (a use: sign count, backup state, last use;
	// or a new name). If update returns an error, nothing is written and
	// that error is returned. ID, UserID, PublicKey and CreatedAt cannot
	// change (changes are ignored). It returns ErrNotFound, without
	// calling update, if the credential does not exist. update may be
	// called more than once and must have no side effects.
	UpdatePasskey(ctx context.Context, id []byte, update func(PasskeyCredential) (PasskeyCredential, error)) (PasskeyCredential, error)
	// DeletePasskey removes the user's credential id. It returns
	// ErrNotFound if there is none, or it belongs to another user (which
	// keeps its existence hidden).
	DeletePasskey(ctx context.Context, userID string, id []byte) error
}

// CeremonyKind says which WebAuthn ceremony a stored challenge belongs to,
// so that a challenge issued for one ceremony cannot finish another.
type CeremonyKind string

// The ceremony kinds.
const (
	// CeremonyRegistration adds a passkey to a signed-in user.
	CeremonyRegistration CeremonyKind = "registration"
	// CeremonyLogin is a passwordless login with a discoverable
	// credential: no user is known until it finishes.
	CeremonyLogin CeremonyKind = "login"
	// CeremonySecondFactor is a passkey used after a password, for a
	// known user.
	CeremonySecondFactor CeremonyKind = "second_factor"
)

// Ceremony is the server side of a WebAuthn ceremony between its begin and
// finish requests: the challenge and what it was issued for.
type Ceremony struct {
	// ID is the lookup key: the base64url SHA-256 of the challenge, which
	// the finish request carries back in its clientDataJSON, so finishing
	// needs no cookie. (The challenge is no secret: it only has to be
	// fresh and used once; the authenticator's signature over it is the
	// proof.)
	ID string
	// Kind is the ceremony it was begun for.
	Kind CeremonyKind
	// UserID is the user it was begun for; empty for CeremonyLogin.
	UserID string
	// Data is the library's session data (JSON), opaque to the store.
	Data []byte
	// ExpiresAt is when the ceremony can no longer finish (a few minutes
	// after it began), UTC.
	ExpiresAt time.Time
}

// CeremonyStore keeps WebAuthn ceremonies between begin and finish. A
// ceremony is single use: TakeCeremony hands it out once. It is shared by
// all instances (the finish request may reach another instance than the
// begin), so it lives in the database (or Redis), not in memory.
type CeremonyStore interface {
	// CreateCeremony stores c. It returns ErrConflict if the id exists.
	CreateCeremony(ctx context.Context, c Ceremony) error
	// TakeCeremony atomically removes and returns the ceremony id. It
	// returns ErrNotFound if there is none, it was taken already, or it
	// expired (ExpiresAt at or before now; an expired one is removed
	// too). Of concurrent calls for one id, at most one succeeds.
	TakeCeremony(ctx context.Context, id string, now time.Time) (Ceremony, error)
	// DeleteExpiredCeremonies removes the ceremonies expired at now and
	// returns how many.
	DeleteExpiredCeremonies(ctx context.Context, now time.Time) (int, error)
}

// MFAStore is everything second factors and passkeys need, for a backend
// that keeps them all.
type MFAStore interface {
	TOTPStore
	RecoveryCodeStore
	PasskeyStore
	CeremonyStore
}
