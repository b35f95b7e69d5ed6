package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// EventSource is the audit trail, read by tailing; store.EventStore
// implements it. Its contract makes events visible in Seq order, so a
// cursor at the last Seq read misses none (see store.EventStore).
type EventSource interface {
	EventsAfter(ctx context.Context, seq int64, limit int) ([]audit.Event, error)
}

// DispatchStore is what the dispatcher reads and writes.
type DispatchStore interface {
	store.WebhookStore
	store.DeliveryOutbox
	store.BackchannelStore
	store.TailCursorStore
	store.LeaseStore
}

// Names the dispatcher keeps in the store.
const (
	// CursorName is the dispatcher's tail cursor.
	CursorName = "hooks"
	// LeaseName makes one instance of a cluster dispatch at a time.
	LeaseName = "hooks-dispatch"
)

// DispatcherConfig configures a Dispatcher; zero fields take defaults.
type DispatcherConfig struct {
	// Instance names this process among the lease holders (required).
	Instance string
	// Interval (default 1s) is how often the trail is polled.
	Interval time.Duration
	// Batch (default 200) is how many events one round reads.
	Batch int
	// Lease (default 30s) is how long one instance keeps dispatching
	// before it must renew.
	Lease time.Duration
	// Queued, if not nil, is called after a round queued deliveries (it
	// wakes the delivery worker).
	Queued func()
	// Log receives failures; nil discards them.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Dispatcher tails the audit trail and queues webhook messages and
// logout tokens. Each round reads the events after its durable cursor,
// queues all their deliveries in one transaction (ids derived from the
// event, so a round repeated after a crash queues nothing twice), then
// moves the cursor.
type Dispatcher struct {
	events    EventSource
	st        DispatchStore
	cfg       DispatcherConfig
	lastSweep time.Time
}

// NewDispatcher returns a dispatcher reading events and writing to st.
func NewDispatcher(events EventSource, st DispatchStore, cfg DispatcherConfig) (*Dispatcher, error) {
	if cfg.Instance == "" {
		return nil, fmt.Errorf("webhook: dispatcher needs an instance name")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 200
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.Queued == nil {
		cfg.Queued = func() {}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Dispatcher{events: events, st: st, cfg: cfg}, nil
}

// Run dispatches until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := d.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				d.cfg.Log.WarnContext(ctx, "webhook: dispatch round failed", "err", err)
			}
			if n < d.cfg.Batch || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce reads one batch of events after the cursor, queues their
// deliveries and moves the cursor; it returns how many events it read
// (0 when another instance holds the dispatch lease).
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	now := d.cfg.Now()
	ok, err := d.st.AcquireLease(ctx, LeaseName, d.cfg.Instance, now, d.cfg.Lease)
	if err != nil || !ok {
		return 0, err
	}
	cursor, err := d.st.TailCursor(ctx, CursorName)
	if err != nil {
		return 0, fmt.Errorf("webhook: read cursor: %w", err)
	}
	evs, err := d.events.EventsAfter(ctx, cursor, d.cfg.Batch)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	endpoints, err := d.st.ListWebhooks(ctx)
	if err != nil {
		return 0, fmt.Errorf("webhook: list endpoints: %w", err)
	}
	var (
		ds   []store.Delivery
		done []store.BackchannelSession
	)
	for _, ev := range evs {
		ws, err := webhookDeliveries(ev, endpoints, now)
		if err != nil {
			return 0, err
		}
		ds = append(ds, ws...)
		bs, err := d.logoutsFor(ctx, ev, done)
		if err != nil {
			return 0, err
		}
		for _, b := range bs {
			ds = append(ds, logoutDelivery(ev, b, now))
			done = append(done, b)
		}
	}
	if _, err := d.st.EnqueueDeliveries(ctx, ds...); err != nil {
		return 0, fmt.Errorf("webhook: queue deliveries: %w", err)
	}
	// Logged-out sessions are forgotten only once their tokens are
	// queued: a crash before this point finds them again.
	for _, b := range done {
		if err := d.st.DeleteBackchannelSession(ctx, b.ClientID, b.SID); err != nil {
			return 0, fmt.Errorf("webhook: forget a logged-out session: %w", err)
		}
	}
	if err := d.st.SetTailCursor(ctx, CursorName, evs[len(evs)-1].Seq, now); err != nil {
		return 0, fmt.Errorf("webhook: move cursor: %w", err)
	}
	if len(ds) > 0 {
		d.cfg.Queued()
	}
	if now.Sub(d.lastSweep) >= time.Hour { // forget sessions whose ID tokens expired
		d.lastSweep = now
		if _, err := d.st.DeleteExpiredBackchannelSessions(ctx, now); err != nil {
			d.cfg.Log.WarnContext(ctx, "webhook: sweeping back-channel sessions failed", "err", err)
		}
	}
	return len(evs), nil
}

// MessageID is the webhook-id of an event's messages: "evt_" and its
// Seq, the same for every endpoint and every retry.
func MessageID(ev audit.Event) string { return "evt_" + strconv.FormatInt(ev.Seq, 10) }

// Message is a webhook body (Standard Webhooks: type, timestamp, data).
type Message struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      EventData `json:"data"`
}

// EventData is an event as webhooks send it: the fields of audit.Event.
type EventData struct {
	Seq       int64             `json:"seq"`
	Time      time.Time         `json:"time"`
	Type      string            `json:"type"`
	Actor     ActorData         `json:"actor"`
	UserID    string            `json:"user_id,omitempty"`
	SessionID string            `json:"session_id,omitempty"`
	ClientID  string            `json:"client_id,omitempty"`
	IP        string            `json:"ip,omitempty"`
	UserAgent string            `json:"user_agent,omitempty"`
	Detail    map[string]string `json:"detail"`
}

// ActorData is who caused an event.
type ActorData struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
}

// NewMessage returns the webhook body of ev.
func NewMessage(ev audit.Event) Message {
	detail := ev.Detail
	if detail == nil {
		detail = map[string]string{}
	}
	return Message{Type: ev.Type, Timestamp: ev.Time.UTC(), Data: EventData{
		Seq: ev.Seq, Time: ev.Time.UTC(), Type: ev.Type, Actor: ActorData{Kind: ev.Actor.Kind, ID: ev.Actor.ID},
		UserID: ev.UserID, SessionID: ev.SessionID, ClientID: ev.ClientID, IP: ev.IP, UserAgent: ev.UserAgent, Detail: detail,
	}}
}

// webhookDeliveries returns ev's deliveries: one per enabled endpoint
// that takes its type and existed when it happened.
func webhookDeliveries(ev audit.Event, endpoints []store.WebhookEndpoint, now time.Time) ([]store.Delivery, error) {
	var out []store.Delivery
	var body []byte
	for _, e := range endpoints {
		if !e.Enabled || ev.Time.Before(e.CreatedAt) || (len(e.EventTypes) > 0 && !slices.Contains(e.EventTypes, ev.Type)) {
			continue
		}
		if body == nil {
			var err error
			if body, err = json.Marshal(NewMessage(ev)); err != nil {
				return nil, fmt.Errorf("webhook: encode event %d: %w", ev.Seq, err)
			}
		}
		id := MessageID(ev)
		out = append(out, store.Delivery{ID: e.ID + "." + id, Kind: store.DeliveryWebhook, Target: e.ID,
			MessageID: id, Payload: body, CreatedAt: now, NextAttemptAt: now})
	}
	return out, nil
}

// logoutsFor returns the back-channel sessions an event ends, leaving
// out those in skip (already logged out in this round):
//   - session.ended of a browser session: every client's record of it;
//   - session.ended of a grant: its client's record of the browser
//     session the grant came from;
//   - user.sessions_ended: every record of the user, but the kept
//     session's (except_session_id).
func (d *Dispatcher) logoutsFor(ctx context.Context, ev audit.Event, skip []store.BackchannelSession) ([]store.BackchannelSession, error) {
	var (
		bs  []store.BackchannelSession
		err error
	)
	switch ev.Type {
	case audit.SessionEnded:
		sid := ev.SessionID
		if ev.Detail["kind"] == string(store.KindToken) || ev.ClientID != "" {
			sid = ev.Detail["auth_session_id"]
		}
		if sid == "" {
			return nil, nil
		}
		bs, err = d.st.BackchannelSessions(ctx, sid, "")
		if ev.ClientID != "" {
			bs = slices.DeleteFunc(bs, func(b store.BackchannelSession) bool { return b.ClientID != ev.ClientID })
		}
	case audit.UserSessionsEnded:
		if ev.UserID == "" {
			return nil, nil
		}
		bs, err = d.st.BackchannelSessions(ctx, "", ev.UserID)
		if keep := ev.Detail["except_session_id"]; keep != "" {
			bs = slices.DeleteFunc(bs, func(b store.BackchannelSession) bool { return b.SID == keep })
		}
	default:
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("webhook: find back-channel sessions: %w", err)
	}
	return slices.DeleteFunc(bs, func(b store.BackchannelSession) bool {
		return slices.ContainsFunc(skip, func(s store.BackchannelSession) bool { return s.ClientID == b.ClientID && s.SID == b.SID })
	}), nil
}

// logoutPayload is what a logout token delivery keeps: enough to sign
// the token when it is sent (each attempt gets a fresh token).
type logoutPayload struct {
	SID     string `json:"sid"`
	Subject string `json:"sub"`
}

// logoutDelivery is the delivery of one logout token.
func logoutDelivery(ev audit.Event, b store.BackchannelSession, now time.Time) store.Delivery {
	body, _ := json.Marshal(logoutPayload{SID: b.SID, Subject: b.Subject}) // cannot fail
	id := "bcl_" + strconv.FormatInt(ev.Seq, 10) + "." + b.ClientID + "." + b.SID
	return store.Delivery{ID: id, Kind: store.DeliveryBackchannelLogout, Target: b.ClientID, MessageID: id,
		Payload: body, CreatedAt: now, NextAttemptAt: now}
}
