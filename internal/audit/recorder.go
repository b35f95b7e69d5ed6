package audit

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Source is who made the request an event comes from: its actor, its
// client address (after the trusted-proxy rules) and its user agent.
type Source struct {
	Actor     Actor
	IP        string
	UserAgent string
}

// sourceKey is the context key of a Source.
type sourceKey struct{}

// WithSource returns ctx carrying src. The HTTP layer sets it once per
// request (the address and user agent) and again once it knows the
// principal (the actor); the domain services read it when they build
// events, so that their signatures need not carry request metadata.
func WithSource(ctx context.Context, src Source) context.Context {
	return context.WithValue(ctx, sourceKey{}, src)
}

// SourceFrom returns the Source ctx carries, or the zero Source.
func SourceFrom(ctx context.Context) Source {
	src, _ := ctx.Value(sourceKey{}).(Source)
	return src
}

// WithActor returns ctx with its Source's actor replaced by a.
func WithActor(ctx context.Context, a Actor) context.Context {
	src := SourceFrom(ctx)
	src.Actor = a
	return WithSource(ctx, src)
}

// OrSystem returns ctx unchanged if its Source names an actor, and
// otherwise ctx with the system actor id: a background job's events are
// the server's, a request's are its principal's.
func OrSystem(ctx context.Context, id string) context.Context {
	if SourceFrom(ctx).Actor.Kind != "" {
		return ctx
	}
	return WithActor(ctx, Actor{Kind: ActorSystem, ID: id})
}

// Appender stores events; store.EventStore implements it.
type Appender interface {
	// AppendEvents stores events, in order, in one transaction, and
	// returns their Seqs.
	AppendEvents(ctx context.Context, events ...Event) ([]int64, error)
}

// Recorder completes events from their request and clock, stores them,
// and writes them to the structured log. A nil *Recorder records
// nothing, so that a service can run without an audit trail (tests, the
// CLI).
type Recorder struct {
	store Appender
	log   *slog.Logger
	now   func() time.Time
}

// NewRecorder returns a Recorder that appends to st and logs to log (nil
// discards); now may be nil for time.Now.
func NewRecorder(st Appender, log *slog.Logger, now func() time.Time) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Recorder{store: st, log: log, now: now}
}

// Complete fills what the events leave empty: Time from the clock, and
// Actor, IP and UserAgent from the Source of ctx; an event with no actor
// at all is an anonymous visitor's (ActorUser, no ID). It changes events in
// place and returns them, ready for a store method that writes them in
// the transaction of a change; call Logged once that commits.
func (r *Recorder) Complete(ctx context.Context, events []Event) []Event {
	if r == nil {
		return events
	}
	src := SourceFrom(ctx)
	now := r.now().UTC()
	for i := range events {
		e := &events[i]
		if e.Time.IsZero() {
			e.Time = now
		}
		if e.Actor == (Actor{}) {
			e.Actor = src.Actor
		}
		if e.Actor.Kind == "" {
			e.Actor.Kind = ActorUser // an anonymous visitor: signup, login, recovery
		}
		if e.IP == "" && e.UserAgent == "" {
			e.IP, e.UserAgent = src.IP, src.UserAgent
		}
	}
	return events
}

// Record completes events, stores them in one transaction, and logs
// them. It is for events with no change to share a transaction with (a
// failed login), or whose change lives outside the SQL database
// (sessions on Redis: the change is made first, the event right after).
// The caller fails its operation if Record fails, so that no caller is
// told of a change whose event is missing.
func (r *Recorder) Record(ctx context.Context, events ...Event) error {
	if r == nil || len(events) == 0 {
		return nil
	}
	r.Complete(ctx, events)
	seqs, err := r.store.AppendEvents(ctx, events...)
	if err != nil {
		return fmt.Errorf("audit: record %s: %w", events[0].Type, err)
	}
	for i := range events {
		if i < len(seqs) {
			events[i].Seq = seqs[i]
		}
	}
	r.Logged(ctx, events)
	return nil
}

// Commit completes events and calls write, which stores the change they
// describe and the events in one transaction and returns the events'
// Seqs; once write succeeds, it logs them. A nil Recorder calls write with
// no events, so that the change is made without a trail. write's error is
// returned as is.
func (r *Recorder) Commit(ctx context.Context, events []Event, write func([]Event) ([]int64, error)) error {
	if r == nil {
		events = nil
	}
	r.Complete(ctx, events)
	seqs, err := write(events)
	if err != nil {
		return err
	}
	for i := range events {
		if i < len(seqs) {
			events[i].Seq = seqs[i]
		}
	}
	r.Logged(ctx, events)
	return nil
}

// Logged writes events, stored already, to the structured log: one INFO
// line each, message "audit", with the event's fields.
func (r *Recorder) Logged(ctx context.Context, events []Event) {
	if r == nil {
		return
	}
	for _, e := range events {
		attrs := []slog.Attr{
			slog.Int64("seq", e.Seq),
			slog.String("type", e.Type),
			slog.String("actor_kind", e.Actor.Kind),
			slog.String("actor_id", e.Actor.ID),
		}
		for _, kv := range [][2]string{{"user_id", e.UserID}, {"session_id", e.SessionID}, {"client_id", e.ClientID}, {"ip", e.IP}, {"user_agent", e.UserAgent}} {
			if kv[1] != "" {
				attrs = append(attrs, slog.String(kv[0], kv[1]))
			}
		}
		if len(e.Detail) > 0 {
			d := make([]any, 0, len(e.Detail))
			for _, k := range sortedKeys(e.Detail) {
				d = append(d, slog.String(k, e.Detail[k]))
			}
			attrs = append(attrs, slog.Group("detail", d...))
		}
		r.log.LogAttrs(ctx, slog.LevelInfo, "audit", attrs...)
	}
}
