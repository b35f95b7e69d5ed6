package store

import (
	"context"
	"time"
)

// MailState is where an outbox mail is in its life.
type MailState string

// The states of an outbox mail. A pending mail is due once its
// NextAttemptAt has come and it is not leased; sent and dead are final.
const (
	MailPending MailState = "pending"
	MailSent    MailState = "sent"
	MailDead    MailState = "dead"
)

// OutboxMail is one mail in the durable outbox. The store keeps Payload
// as opaque bytes: the mail package seals the rendered message (which may
// carry a one-time secret) before it is written, so the database never
// holds a mail's secret in the clear.
type OutboxMail struct {
	// ID is unique (the mail's Message-ID local part).
	ID string
	// Kind names the template (verify_email…), for logs and metrics.
	Kind string
	// Payload is the sealed message. It is cleared once the mail is sent
	// or dead: a finished mail's secret is not kept.
	Payload []byte
	// CreatedAt is when the mail was enqueued.
	CreatedAt time.Time
	// State is pending, sent or dead; EnqueueMail ignores it (pending).
	State MailState
	// NextAttemptAt is when the mail is next due (at or after it).
	NextAttemptAt time.Time
	// Attempts counts claims: ClaimMails adds one, so a mail whose sender
	// crashes mid-delivery still uses up its attempts.
	Attempts int
	// LastError is the latest failure, for operators; empty until one.
	LastError string
	// LeaseHolder is the instance that claimed the mail, and LeaseUntil
	// when that claim lapses; empty and zero until a claim.
	LeaseHolder string
	LeaseUntil  time.Time
	// FinishedAt is when the mail was marked sent or dead; zero while it
	// is pending.
	FinishedAt time.Time
}

// MailFailure is what MarkMailFailed records.
type MailFailure struct {
	// At is when the attempt failed: the mail's FinishedAt if it is dead.
	At time.Time
	// Error describes the failure (no secrets: an SMTP reply, a network
	// error).
	Error string
	// Dead, when true, gives the mail up for good (a permanent refusal,
	// or the last attempt); otherwise it is due again at NextAttemptAt.
	Dead          bool
	NextAttemptAt time.Time
}

// MailOutbox is the durable queue of outgoing mail. Enqueuing a mail
// makes it survive a crash; a worker on any instance claims due mails
// under a lease, sends them, and marks each sent or failed. Two claims
// running at the same time never return the same mail, and a mail marked
// sent is never returned again, so that several instances do not send a
// mail twice (SMTP itself stays at-least-once: a worker that dies after
// the server accepted a mail and before MarkMailSent leaves it to be sent
// again once its lease lapses).
//
// A missing mail is ErrNotFound. Times are compared as for sessions: a
// lease or a NextAttemptAt equal to now has come.
//
// A store that also keeps one-time tokens should offer a method that
// creates a token and enqueues its mail in one transaction, taking the
// same OutboxMail value as EnqueueMail, so that a crash cannot leave a
// token whose mail was never queued, nor a mail whose token is missing.
type MailOutbox interface {
	// EnqueueMail stores m as pending, due at m.NextAttemptAt (which the
	// caller sets, usually to CreatedAt), with no attempts, lease, error
	// or FinishedAt whatever m holds; ErrConflict if its ID exists.
	EnqueueMail(ctx context.Context, m OutboxMail) error
	// ClaimMails leases up to limit pending mails that are due at now
	// (NextAttemptAt at or before now) and not leased (LeaseUntil at or
	// before now) to holder until now+lease, adds one to their Attempts,
	// and returns them, earliest NextAttemptAt first (then by ID); limit
	// must be positive. An expired lease is
	// claimed again, by any holder.
	ClaimMails(ctx context.Context, holder string, now time.Time, lease time.Duration, limit int) ([]OutboxMail, error)
	// MarkMailSent records that the mail went out at now: state sent,
	// FinishedAt now, payload and lease cleared. It does so whoever holds
	// the lease, and even if the mail was marked dead meanwhile (the mail
	// is out either way). ErrNotFound if there is no such mail; marking a
	// sent mail again changes nothing.
	MarkMailSent(ctx context.Context, id string, now time.Time) error
	// MarkMailFailed records a failed attempt of a mail leased to holder:
	// its error, and either dead (FinishedAt f.At, payload cleared) or
	// pending again at f.NextAttemptAt; the lease is cleared. ErrNotFound if no such mail is pending and leased to
	// holder (another instance took it over after the lease lapsed, or
	// it was marked sent): nothing changes then.
	MarkMailFailed(ctx context.Context, id, holder string, f MailFailure) error
	// GetMail returns one mail, for operators and tests.
	GetMail(ctx context.Context, id string) (OutboxMail, error)
	// DeleteFinishedMails deletes the sent and dead mails whose
	// FinishedAt is before before, and returns how many. Pending mails
	// stay, however old.
	DeleteFinishedMails(ctx context.Context, before time.Time) (int, error)
}
