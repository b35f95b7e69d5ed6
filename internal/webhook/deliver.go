package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/oauth"
	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/seal"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// DeliveryTimeout bounds one delivery: connecting, sending and reading
// the answer's status.
const DeliveryTimeout = 10 * time.Second

// LogoutSigner signs logout tokens; *oauth.IDTokens implements it.
type LogoutSigner interface {
	SignLogoutToken(ctx context.Context, spec oauth.LogoutTokenSpec) (string, error)
}

// SenderStore is what the sender reads and writes.
type SenderStore interface {
	store.WebhookStore
	store.DeliveryOutbox
	store.ClientStore
}

// Sender delivers queued webhook messages and logout tokens over HTTP:
// it is the outbox.Queue of the deliveries table.
type Sender struct {
	st     SenderStore
	key    [seal.KeySize]byte
	logout LogoutSigner
	client *http.Client
	now    func() time.Time
}

// SenderConfig configures a Sender.
type SenderConfig struct {
	// Logout signs logout tokens; nil leaves them undelivered (dead).
	Logout LogoutSigner
	// Transport carries the requests; nil means a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Timeout (default DeliveryTimeout) bounds one delivery.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewSender returns a sender whose endpoint secrets are sealed under a
// key derived from kek. It follows no redirects: a receiver that moved
// must be registered again (a redirect could also point a delivery
// somewhere the operator never registered).
func NewSender(st SenderStore, kek [seal.KeySize]byte, cfg SenderConfig) (*Sender, error) {
	key, err := secretsKey(kek)
	if err != nil {
		return nil, err
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DeliveryTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &http.Client{Transport: cfg.Transport, Timeout: cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Sender{st: st, key: key, logout: cfg.Logout, client: c, now: cfg.Now}, nil
}

// Claim implements outbox.Queue.
func (s *Sender) Claim(ctx context.Context, holder string, now time.Time, lease time.Duration, limit int) ([]store.Delivery, error) {
	return s.st.ClaimDeliveries(ctx, holder, now, lease, limit)
}

// Lease implements outbox.Queue.
func (s *Sender) Lease(d store.Delivery) outbox.Lease {
	return outbox.Lease{ID: d.ID, Attempts: d.Attempts, Until: d.LeaseUntil}
}

// Delivered implements outbox.Queue.
func (s *Sender) Delivered(ctx context.Context, d store.Delivery, status int, now time.Time) error {
	return s.st.MarkDeliveryDone(ctx, d.ID, store.DeliveryAttempt{At: now, Status: status})
}

// Failed implements outbox.Queue.
func (s *Sender) Failed(ctx context.Context, d store.Delivery, holder string, f outbox.Failure) error {
	return s.st.MarkDeliveryFailed(ctx, d.ID, holder, store.DeliveryAttempt{
		At: f.At, Status: f.Status, Error: f.Err.Error(), Dead: f.Dead, NextAttemptAt: f.NextAttemptAt})
}

// Sweep implements outbox.Queue.
func (s *Sender) Sweep(ctx context.Context, before time.Time) (int, error) {
	return s.st.DeleteFinishedDeliveries(ctx, before)
}

// permanentf is a failure no retry can cure.
func permanentf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{outbox.ErrPermanent}, args...)...)
}

// Deliver implements outbox.Queue: one POST, success on any 2xx.
func (s *Sender) Deliver(ctx context.Context, d store.Delivery) (int, error) {
	var (
		req *http.Request
		err error
	)
	switch d.Kind {
	case store.DeliveryWebhook:
		req, err = s.webhookRequest(ctx, d)
	case store.DeliveryBackchannelLogout:
		req, err = s.logoutRequest(ctx, d)
	default:
		err = permanentf("unknown delivery kind %q", d.Kind)
	}
	if err != nil {
		return 0, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("webhook: POST %s: %w", redact(req.URL), err)
	}
	// Read a little of the answer, so the connection can be reused; the
	// body itself is not kept (it is the receiver's, not ours to store).
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("webhook: POST %s: HTTP %d", redact(req.URL), resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// redact returns u without its query, which may carry a token.
func redact(u *url.URL) string {
	c := *u
	c.RawQuery, c.Fragment = "", ""
	return c.String()
}

// webhookRequest builds the signed Standard Webhooks request of d.
func (s *Sender) webhookRequest(ctx context.Context, d store.Delivery) (*http.Request, error) {
	e, err := s.st.GetWebhook(ctx, d.Target)
	if errors.Is(err, store.ErrNotFound) {
		return nil, permanentf("endpoint %s was deleted", d.Target)
	}
	if err != nil {
		return nil, fmt.Errorf("webhook: read endpoint: %w", err)
	}
	if !e.Enabled {
		return nil, permanentf("endpoint %s is disabled", e.ID)
	}
	now := s.now()
	secrets, err := signingSecrets(s.key, e, now)
	if err != nil {
		return nil, permanentf("%w", err)
	}
	sig, err := Sign(d.MessageID, now, d.Payload, secrets...)
	if err != nil {
		return nil, permanentf("%w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, strings.NewReader(string(d.Payload)))
	if err != nil {
		return nil, permanentf("endpoint URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Gatehouse-Webhooks")
	req.Header.Set(HeaderID, d.MessageID)
	req.Header.Set(HeaderTimestamp, fmt.Sprint(now.Unix()))
	req.Header.Set(HeaderSignature, sig)
	return req, nil
}

// logoutRequest builds the back-channel logout request of d, with a
// fresh logout token (OpenID Connect Back-Channel Logout 1.0 section
// 2.5: POST, application/x-www-form-urlencoded, logout_token).
func (s *Sender) logoutRequest(ctx context.Context, d store.Delivery) (*http.Request, error) {
	if s.logout == nil {
		return nil, permanentf("no logout token signer")
	}
	c, err := s.st.GetClient(ctx, d.Target)
	if errors.Is(err, store.ErrNotFound) {
		return nil, permanentf("client %s was deleted", d.Target)
	}
	if err != nil {
		return nil, fmt.Errorf("webhook: read client: %w", err)
	}
	if c.BackchannelLogoutURI == "" {
		return nil, permanentf("client %s has no backchannel_logout_uri", c.ID)
	}
	var p logoutPayload
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		return nil, permanentf("payload: %w", err)
	}
	tok, err := s.logout.SignLogoutToken(ctx, oauth.LogoutTokenSpec{ClientID: c.ID, SessionID: p.SID, Subject: p.Subject,
		Algorithm: jose.Algorithm(c.IDTokenSignedResponseAlg)})
	if err != nil {
		return nil, fmt.Errorf("webhook: sign logout token: %w", err)
	}
	form := url.Values{"logout_token": {tok}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BackchannelLogoutURI, strings.NewReader(form))
	if err != nil {
		return nil, permanentf("backchannel_logout_uri: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Gatehouse-Backchannel-Logout")
	return req, nil
}

var _ outbox.Queue[store.Delivery] = (*Sender)(nil)
