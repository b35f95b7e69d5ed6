package store

import (
	"context"
	"time"
)

// WebhookEndpoint is an operator's registered receiver of webhook
// messages (Standard Webhooks).
type WebhookEndpoint struct {
	// ID is unique ("wh_…").
	ID string
	// URL receives the messages: an absolute http or https URL.
	URL string
	// Description is the operator's note; may be empty.
	Description string
	// EventTypes are the event types the endpoint receives, in the order
	// registered; empty means every type.
	EventTypes []string
	// Enabled endpoints receive messages; a disabled one gets none, and
	// events that happen while it is disabled are not queued for it.
	Enabled bool
	// Secret is the sealed signing secret (the webhook package seals and
	// opens it); never stored in the clear.
	Secret []byte
	// PreviousSecret is the sealed secret a rotation replaced, which keeps
	// signing until PreviousUntil so that receivers can switch; nil when
	// there is none.
	PreviousSecret []byte
	PreviousUntil  time.Time
	// CreatedAt and UpdatedAt are when the endpoint was registered and
	// last changed.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// WebhookStore keeps webhook endpoints. A missing endpoint is
// ErrNotFound; EventTypes come back in the order written, nil and empty
// alike.
type WebhookStore interface {
	// CreateWebhook stores a new endpoint; ErrConflict if its ID exists.
	CreateWebhook(ctx context.Context, e WebhookEndpoint) error
	// GetWebhook returns one endpoint.
	GetWebhook(ctx context.Context, id string) (WebhookEndpoint, error)
	// ListWebhooks returns every endpoint, oldest first (then by ID); an
	// empty slice if there are none.
	ListWebhooks(ctx context.Context) ([]WebhookEndpoint, error)
	// UpdateWebhook applies update to the endpoint atomically and stores
	// what it returns (its ID and CreatedAt are kept); an error from update
	// is returned as is and changes nothing.
	UpdateWebhook(ctx context.Context, id string, update func(WebhookEndpoint) (WebhookEndpoint, error)) (WebhookEndpoint, error)
	// DeleteWebhook removes the endpoint and its deliveries, in one
	// transaction.
	DeleteWebhook(ctx context.Context, id string) error
}

// DeliveryKind says what a delivery carries.
type DeliveryKind string

// The kinds of deliveries.
const (
	// DeliveryWebhook is a Standard Webhooks message; its Target is the
	// endpoint's ID.
	DeliveryWebhook DeliveryKind = "webhook"
	// DeliveryBackchannelLogout is an OpenID Connect logout token; its
	// Target is the client's ID.
	DeliveryBackchannelLogout DeliveryKind = "backchannel_logout"
)

// DeliveryState is where a delivery is in its life.
type DeliveryState string

// The states of a delivery: pending until delivered or dead, which are
// final (RetryDelivery makes a dead one pending again).
const (
	DeliveryPending   DeliveryState = "pending"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryDead      DeliveryState = "dead"
)

// Delivery is one outgoing HTTP request in the durable queue, with the
// same life as an OutboxMail: claimed under a lease, retried with
// backoff, delivered or dead.
type Delivery struct {
	// ID is unique and derived from what is delivered, so that queueing
	// the same thing twice is a no-op ("<endpoint>.<message>" for
	// webhooks, "<client>.<sid>" for logout tokens).
	ID   string
	Kind DeliveryKind
	// Target is the endpoint (webhooks) or client (logout) ID.
	Target string
	// MessageID identifies the message to the receiver (webhook-id).
	MessageID string
	// Payload is what the sender needs to build the request; it holds no
	// secret. It is cleared once the delivery is delivered (a dead one
	// keeps it, for RetryDelivery).
	Payload   []byte
	CreatedAt time.Time
	State     DeliveryState
	// NextAttemptAt is when the delivery is next due.
	NextAttemptAt time.Time
	// Attempts counts claims (a claim adds one).
	Attempts int
	// LastAttemptAt, LastStatus (the HTTP status, 0 if none came) and
	// LastError describe the latest attempt, for operators.
	LastAttemptAt time.Time
	LastStatus    int
	LastError     string
	LeaseHolder   string
	LeaseUntil    time.Time
	// FinishedAt is when the delivery was delivered or declared dead.
	FinishedAt time.Time
}

// DeliveryAttempt is the outcome of one attempt, recorded by
// MarkDeliveryDone or MarkDeliveryFailed.
type DeliveryAttempt struct {
	At     time.Time
	Status int
	// Error describes a failure (no secrets); empty on success.
	Error string
	// Dead gives a failed delivery up for good; otherwise it is due again
	// at NextAttemptAt.
	Dead          bool
	NextAttemptAt time.Time
}

// DeliveryOutbox is the durable queue of webhook messages and logout
// tokens. Its contract is MailOutbox's: two concurrent claims never
// return the same delivery, a delivered one is never returned again, and
// an expired lease is claimed again by anyone. A missing delivery is
// ErrNotFound.
type DeliveryOutbox interface {
	// EnqueueDeliveries stores ds as pending (due at their NextAttemptAt,
	// no attempts) and skips those whose ID exists, in one transaction;
	// it returns how many it added.
	EnqueueDeliveries(ctx context.Context, ds ...Delivery) (int, error)
	// ClaimDeliveries leases up to limit due, unleased pending deliveries
	// to holder until now+lease, adds one to their Attempts, and returns
	// them, earliest NextAttemptAt first (then by ID).
	ClaimDeliveries(ctx context.Context, holder string, now time.Time, lease time.Duration, limit int) ([]Delivery, error)
	// MarkDeliveryDone records a successful attempt: state delivered,
	// FinishedAt a.At, payload and lease cleared, whoever holds the lease.
	// Marking a delivered delivery again changes nothing.
	MarkDeliveryDone(ctx context.Context, id string, a DeliveryAttempt) error
	// MarkDeliveryFailed records a failed attempt of a delivery leased to
	// holder: dead or pending again at a.NextAttemptAt;
	// ErrNotFound, changing nothing, if it is not pending and leased to
	// holder.
	MarkDeliveryFailed(ctx context.Context, id, holder string, a DeliveryAttempt) error
	// GetDelivery returns one delivery.
	GetDelivery(ctx context.Context, id string) (Delivery, error)
	// ListDeliveries returns up to limit deliveries of a kind and target,
	// newest first (then by ID, descending).
	ListDeliveries(ctx context.Context, kind DeliveryKind, target string, limit int) ([]Delivery, error)
	// RetryDelivery makes a dead delivery pending again, due at now, with
	// no attempts; ErrNotFound if there is no dead delivery id.
	RetryDelivery(ctx context.Context, id string, now time.Time) error
	// DeleteFinishedDeliveries deletes delivered and dead deliveries that
	// finished before before, and returns how many.
	DeleteFinishedDeliveries(ctx context.Context, before time.Time) (int, error)
}

// BackchannelSession records that a client with a back-channel logout
// URI received an ID token for a browser session: SID is that token's
// "sid", Subject its "sub".
type BackchannelSession struct {
	ClientID  string
	SID       string
	Subject   string
	ExpiresAt time.Time
}

// BackchannelStore keeps BackchannelSessions, one per (ClientID, SID).
type BackchannelStore interface {
	// RecordBackchannelSession stores b, or, if one exists for its client
	// and SID, keeps the later ExpiresAt.
	RecordBackchannelSession(ctx context.Context, b BackchannelSession) error
	// BackchannelSessions returns the records of a browser session (sid
	// not empty) or of a user (sid empty, subject not empty), oldest
	// client first; an empty slice if there are none.
	BackchannelSessions(ctx context.Context, sid, subject string) ([]BackchannelSession, error)
	// DeleteBackchannelSession removes one record; a missing one is not an
	// error.
	DeleteBackchannelSession(ctx context.Context, clientID, sid string) error
	// DeleteExpiredBackchannelSessions removes records whose ExpiresAt is
	// at or before now and returns how many.
	DeleteExpiredBackchannelSessions(ctx context.Context, now time.Time) (int, error)
}

// TailCursorStore keeps the durable cursors of consumers that tail the
// event log.
type TailCursorStore interface {
	// TailCursor returns the named cursor; 0 if it was never set.
	TailCursor(ctx context.Context, name string) (int64, error)
	// SetTailCursor stores the named cursor.
	SetTailCursor(ctx context.Context, name string, seq int64, now time.Time) error
}
