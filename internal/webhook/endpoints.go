package webhook

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/oauth"
	"github.com/gatehouse-auth/gatehouse/internal/seal"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Store is what the webhook package keeps.
type Store interface {
	store.WebhookStore
	store.DeliveryOutbox
}

// Limits on registrations.
const (
	maxDescriptionLen = 500
	maxEventTypes     = 64
	// DefaultRotationGrace is how long a rotated-out secret keeps signing.
	DefaultRotationGrace = 24 * time.Hour
	// MaxDeliveriesListed bounds one listing of an endpoint's deliveries.
	MaxDeliveriesListed = 100
)

// ErrInvalid is the category of every *InputError.
var ErrInvalid = errors.New("webhook: invalid input")

// InputError is a refused registration or change: which field, and why.
type InputError struct {
	Field, Reason string
}

// Error implements error.
func (e *InputError) Error() string { return "webhook: " + e.Message() }

// Message is the error's text for an API client: the field and reason.
func (e *InputError) Message() string { return e.Field + " " + e.Reason }

// Is makes every InputError match ErrInvalid.
func (e *InputError) Is(target error) bool { return target == ErrInvalid }

// Spec is a new endpoint.
type Spec struct {
	// URL receives the messages (http or https; see oauth.CheckHTTPURL).
	URL string
	// Description is the operator's note.
	Description string
	// EventTypes are the event types to deliver; empty means all.
	EventTypes []string
	// Disabled registers the endpoint without delivering to it yet.
	Disabled bool
}

// Patch changes an endpoint; nil fields stay.
type Patch struct {
	URL         *string
	Description *string
	EventTypes  *[]string
	Enabled     *bool
}

// Endpoints manages webhook endpoints and their secrets for the admin
// API.
type Endpoints struct {
	st    Store
	key   [seal.KeySize]byte
	now   func() time.Time
	grace time.Duration
	wake  func()
}

// EndpointsConfig configures Endpoints; zero fields take the defaults.
type EndpointsConfig struct {
	// RotationGrace (default DefaultRotationGrace) is how long the old
	// secret keeps signing after a rotation.
	RotationGrace time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Wake, if not nil, is called when a retried delivery is due.
	Wake func()
}

// NewEndpoints returns the endpoint manager; secrets are sealed under a
// key derived from kek.
func NewEndpoints(st Store, kek [seal.KeySize]byte, cfg EndpointsConfig) (*Endpoints, error) {
	key, err := secretsKey(kek)
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RotationGrace <= 0 {
		cfg.RotationGrace = DefaultRotationGrace
	}
	if cfg.Wake == nil {
		cfg.Wake = func() {}
	}
	return &Endpoints{st: st, key: key, now: cfg.Now, grace: cfg.RotationGrace, wake: cfg.Wake}, nil
}

// secretsKey derives the key that seals endpoint secrets.
func secretsKey(kek [seal.KeySize]byte) ([seal.KeySize]byte, error) {
	key, err := seal.DeriveKey("gatehouse webhook secrets", kek[:])
	if err != nil {
		return key, fmt.Errorf("webhook: secrets key: %w", err)
	}
	return key, nil
}

// sealSecret seals a secret, bound to its endpoint's id.
func sealSecret(key [seal.KeySize]byte, id, secret string) ([]byte, error) {
	b, err := seal.Seal(key, []byte(secret), []byte(id))
	if err != nil {
		return nil, fmt.Errorf("webhook: sealing the secret of %s: %w", id, err)
	}
	return b, nil
}

// openSecret opens a sealed secret of endpoint id.
func openSecret(key [seal.KeySize]byte, id string, sealed []byte) (string, error) {
	b, err := seal.Open(key, sealed, []byte(id))
	if err != nil {
		return "", fmt.Errorf("webhook: opening the secret of %s (was the key-encryption key changed?): %w", id, err)
	}
	return string(b), nil
}

// signingSecrets returns the secrets that sign e's messages at now: the
// current one, and the previous one during its grace period.
func signingSecrets(key [seal.KeySize]byte, e store.WebhookEndpoint, now time.Time) ([]string, error) {
	cur, err := openSecret(key, e.ID, e.Secret)
	if err != nil {
		return nil, err
	}
	out := []string{cur}
	if len(e.PreviousSecret) > 0 && now.Before(e.PreviousUntil) {
		prev, err := openSecret(key, e.ID, e.PreviousSecret)
		if err != nil {
			return nil, err
		}
		out = append(out, prev)
	}
	return out, nil
}

// checkURL validates an endpoint URL.
func checkURL(u string) error {
	if why := oauth.CheckHTTPURL(u, true); why != "" {
		return &InputError{Field: "url", Reason: why}
	}
	return nil
}

// checkDescription validates a description.
func checkDescription(d string) error {
	if len(d) > maxDescriptionLen {
		return &InputError{Field: "description", Reason: fmt.Sprintf("is longer than %d bytes", maxDescriptionLen)}
	}
	if !utf8.ValidString(d) || strings.IndexFunc(d, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return &InputError{Field: "description", Reason: "must be UTF-8 text without control characters"}
	}
	return nil
}

// eventTypes validates and de-duplicates event types.
func eventTypes(types []string) ([]string, error) {
	if len(types) > maxEventTypes {
		return nil, &InputError{Field: "event_types", Reason: fmt.Sprintf("has more than %d entries", maxEventTypes)}
	}
	known := audit.Types()
	var out []string
	for i, t := range types {
		if !slices.Contains(known, t) {
			return nil, &InputError{Field: fmt.Sprintf("event_types[%d]", i), Reason: "is not an event type (see docs/events.md)"}
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Create registers an endpoint and returns it with its secret, which is
// shown only now.
func (s *Endpoints) Create(ctx context.Context, spec Spec) (store.WebhookEndpoint, string, error) {
	if err := checkURL(spec.URL); err != nil {
		return store.WebhookEndpoint{}, "", err
	}
	if err := checkDescription(spec.Description); err != nil {
		return store.WebhookEndpoint{}, "", err
	}
	types, err := eventTypes(spec.EventTypes)
	if err != nil {
		return store.WebhookEndpoint{}, "", err
	}
	now := s.now().UTC()
	e := store.WebhookEndpoint{ID: "wh_" + strings.ToLower(rand.Text()), URL: spec.URL, Description: spec.Description,
		EventTypes: types, Enabled: !spec.Disabled, CreatedAt: now, UpdatedAt: now}
	secret := NewSecret()
	if e.Secret, err = sealSecret(s.key, e.ID, secret); err != nil {
		return store.WebhookEndpoint{}, "", err
	}
	if err := s.st.CreateWebhook(ctx, e); err != nil {
		return store.WebhookEndpoint{}, "", fmt.Errorf("webhook: create endpoint: %w", err)
	}
	return e, secret, nil
}

// List returns every endpoint, oldest first.
func (s *Endpoints) List(ctx context.Context) ([]store.WebhookEndpoint, error) {
	return s.st.ListWebhooks(ctx)
}

// Get returns one endpoint, or store.ErrNotFound.
func (s *Endpoints) Get(ctx context.Context, id string) (store.WebhookEndpoint, error) {
	return s.st.GetWebhook(ctx, id)
}

// Update applies p to an endpoint; a refused field changes nothing.
func (s *Endpoints) Update(ctx context.Context, id string, p Patch) (store.WebhookEndpoint, error) {
	if p.URL != nil {
		if err := checkURL(*p.URL); err != nil {
			return store.WebhookEndpoint{}, err
		}
	}
	if p.Description != nil {
		if err := checkDescription(*p.Description); err != nil {
			return store.WebhookEndpoint{}, err
		}
	}
	var types []string
	if p.EventTypes != nil {
		var err error
		if types, err = eventTypes(*p.EventTypes); err != nil {
			return store.WebhookEndpoint{}, err
		}
	}
	return s.st.UpdateWebhook(ctx, id, func(e store.WebhookEndpoint) (store.WebhookEndpoint, error) {
		if p.URL != nil {
			e.URL = *p.URL
		}
		if p.Description != nil {
			e.Description = *p.Description
		}
		if p.EventTypes != nil {
			e.EventTypes = types
		}
		if p.Enabled != nil {
			e.Enabled = *p.Enabled
		}
		e.UpdatedAt = s.now().UTC()
		return e, nil
	})
}

// Delete removes an endpoint and its deliveries.
func (s *Endpoints) Delete(ctx context.Context, id string) error {
	return s.st.DeleteWebhook(ctx, id)
}

// RotateSecret gives an endpoint a new secret and returns it (shown only
// now). The old secret keeps signing, next to the new one, for the
// rotation grace period, so that receivers can switch without losing a
// message; a second rotation within it drops the oldest secret.
func (s *Endpoints) RotateSecret(ctx context.Context, id string) (store.WebhookEndpoint, string, error) {
	secret := NewSecret()
	sealed, err := sealSecret(s.key, id, secret)
	if err != nil {
		return store.WebhookEndpoint{}, "", err
	}
	e, err := s.st.UpdateWebhook(ctx, id, func(e store.WebhookEndpoint) (store.WebhookEndpoint, error) {
		now := s.now().UTC()
		e.PreviousSecret, e.PreviousUntil, e.Secret = e.Secret, now.Add(s.grace), sealed
		e.UpdatedAt = now
		return e, nil
	})
	if err != nil {
		return store.WebhookEndpoint{}, "", err
	}
	return e, secret, nil
}

// Deliveries returns the latest deliveries to an endpoint, newest first
// (at most limit, 1 to MaxDeliveriesListed); store.ErrNotFound if there
// is no such endpoint.
func (s *Endpoints) Deliveries(ctx context.Context, id string, limit int) ([]store.Delivery, error) {
	if _, err := s.st.GetWebhook(ctx, id); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxDeliveriesListed {
		limit = MaxDeliveriesListed
	}
	return s.st.ListDeliveries(ctx, store.DeliveryWebhook, id, limit)
}

// ErrNotDead reports a manual retry of a delivery that is not dead.
var ErrNotDead = errors.New("webhook: only a dead delivery can be retried")

// Retry makes a dead delivery of endpoint id pending again, due now,
// with a fresh count of attempts. store.ErrNotFound if the endpoint has
// no such delivery; ErrNotDead if it is pending or delivered.
func (s *Endpoints) Retry(ctx context.Context, id, deliveryID string) (store.Delivery, error) {
	d, err := s.st.GetDelivery(ctx, deliveryID)
	if err != nil {
		return store.Delivery{}, err
	}
	if d.Kind != store.DeliveryWebhook || d.Target != id {
		return store.Delivery{}, fmt.Errorf("webhook: delivery %s of endpoint %s: %w", deliveryID, id, store.ErrNotFound)
	}
	if d.State != store.DeliveryDead {
		return store.Delivery{}, ErrNotDead
	}
	if err := s.st.RetryDelivery(ctx, deliveryID, s.now().UTC()); err != nil {
		return store.Delivery{}, err
	}
	s.wake()
	return s.st.GetDelivery(ctx, deliveryID)
}
