package store

import (
	"context"
	"time"
)

// TokenPurpose is what a one-time token is for.
type TokenPurpose string

// The purposes of one-time tokens.
const (
	// PurposeVerifyEmail proves that the user receives mail at the
	// token's Email: after signup, on request, and after an email change
	// (where Email is the new address).
	PurposeVerifyEmail TokenPurpose = "verify"
	// PurposeRecover lets the user set a new password without the old one.
	PurposeRecover TokenPurpose = "recover"
)

// OneTimeToken is a secret mailed to a user in a link: it proves that
// whoever holds it received mail at Email. Only the SHA-256 of the
// secret is stored, never the secret.
type OneTimeToken struct {
	// Hash is the SHA-256 of the secret (which has at least 128 bits).
	Hash []byte
	// Purpose is what the token may be used for.
	Purpose TokenPurpose
	// UserID is the account the token acts on.
	UserID string
	// Email is the address the token was mailed to. A verification token
	// verifies only that address: if the account's address changed since,
	// it no longer applies.
	Email string
	// CreatedAt is when it was issued; ExpiresAt when it dies unused
	// (dead at ExpiresAt itself).
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is when it was consumed; zero while unused.
	UsedAt time.Time
}

// OneTimeTokenStore keeps one-time tokens. A missing token is
// ErrNotFound.
type OneTimeTokenStore interface {
	// CreateOneTimeToken stores t, unused, and deletes in the same
	// transaction every unused token of the same user and purpose: a
	// newer token supersedes the older ones. ErrConflict if its hash
	// exists.
	CreateOneTimeToken(ctx context.Context, t OneTimeToken) error
	// ConsumeOneTimeToken atomically marks the token hash of purpose as
	// used at now, if it is unused and not expired at now (ExpiresAt
	// after now), and returns it with UsedAt now. A token that is
	// missing, of another purpose, used, expired or superseded is
	// ErrNotFound, and nothing changes: of concurrent consumptions of one
	// token exactly one succeeds.
	ConsumeOneTimeToken(ctx context.Context, hash []byte, purpose TokenPurpose, now time.Time) (OneTimeToken, error)
	// DeleteExpiredOneTimeTokens removes tokens, used or not, whose
	// ExpiresAt is at or before before, and returns how many.
	DeleteExpiredOneTimeTokens(ctx context.Context, before time.Time) (int, error)
}

// OneTimeTokenMailStore keeps one-time tokens and the mail outbox, and
// writes a token together with the mail that carries it (see
// MailOutbox), so that a crash can leave neither a token whose mail was
// never queued nor a mail whose token is missing.
type OneTimeTokenMailStore interface {
	OneTimeTokenStore
	MailOutbox
	// CreateOneTimeTokenWithMail does what CreateOneTimeToken (t, with
	// its superseding) and EnqueueMail (m) do, in one transaction: both
	// are stored or neither. ErrConflict if t's hash or m's id exists.
	CreateOneTimeTokenWithMail(ctx context.Context, t OneTimeToken, m OutboxMail) error
	// RehearseOneTimeTokenWithMail does the writes of
	// CreateOneTimeTokenWithMail (superseding included) and deletes t
	// and m in the same transaction. A request for an address without an
	// account does it, with a user id no account has (so nothing is
	// superseded and nothing stays), so that its answer costs what a real
	// one does.
	RehearseOneTimeTokenWithMail(ctx context.Context, t OneTimeToken, m OutboxMail) error
}
