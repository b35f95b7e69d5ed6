package revocation

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// DefaultLeeway is added to every event's expiry to cover clock skew
// between the server and verifiers that accept tokens a little past exp.
const DefaultLeeway = time.Minute

// Notifier tells the other instances of a cluster that the log has new
// events, so they Sync at once instead of at their next poll. Redis
// pub/sub and PostgreSQL LISTEN/NOTIFY implement it.
type Notifier interface {
	// Notify announces new events. It is best effort: the periodic Sync
	// reconciles a lost notification.
	Notify(ctx context.Context) error
	// Listen calls onNotify for every announcement (its own included)
	// until ctx ends, reconnecting as needed.
	Listen(ctx context.Context, onNotify func())
}

// Config holds the options of a Log.
type Config struct {
	// Notifier, if set, fans new events out to other instances.
	Notifier Notifier
	// MaxTokenLifetime is the longest lifetime of a token an event can
	// affect: the access-token TTL. Events live this long plus Leeway.
	MaxTokenLifetime time.Duration
	// Leeway is added to the event lifetime; default DefaultLeeway.
	Leeway time.Duration
}

// Log appends revocations to the store, keeps the local Set exact, and
// fans new events out to subscribers (the event stream of
// /v1/revocations).
type Log struct {
	store store.RevocationStore
	cfg   Config
	set   *Set
	log   *slog.Logger
	now   func() time.Time

	syncMu sync.Mutex // one Sync at a time

	mu   sync.Mutex
	subs map[chan store.Revocation]struct{}
}

// NewLog returns a Log over st. Call Sync once before serving so the set
// holds the events already in the store.
func NewLog(st store.RevocationStore, cfg Config, log *slog.Logger, now func() time.Time) *Log {
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Log{store: st, cfg: cfg, set: NewSet(), log: log, now: now, subs: map[chan store.Revocation]struct{}{}}
}

// Set returns the in-process set.
func (l *Log) Set() *Set { return l.set }

// Revoked reports whether a token is revoked; see Set.Revoked.
func (l *Log) Revoked(sid, jti, sub string, issuedAt time.Time) bool {
	return l.set.Revoked(sid, jti, sub, issuedAt)
}

// RevokeSessions records that the session records were revoked: every
// token carrying one of their ids is dead.
func (l *Log) RevokeSessions(ctx context.Context, sessions []store.Session) error {
	at := l.now().UTC().Truncate(time.Millisecond)
	events := make([]store.Revocation, 0, len(sessions))
	for _, s := range sessions {
		events = append(events, store.Revocation{SessionID: s.ID, At: at, Expires: l.expiry(at)})
	}
	return l.append(ctx, events)
}

// RevokeUser records that every token of the user issued until now is
// dead (the account was disabled, deleted, or all its sessions revoked).
func (l *Log) RevokeUser(ctx context.Context, userID string) error {
	at := l.now().UTC().Truncate(time.Millisecond)
	return l.append(ctx, []store.Revocation{{UserID: userID, At: at, Expires: l.expiry(at)}})
}

// RevokeToken records that the one token with the given jti is dead; it
// expires at exp.
func (l *Log) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	at := l.now().UTC().Truncate(time.Millisecond)
	return l.append(ctx, []store.Revocation{{TokenID: jti, At: at, Expires: exp.Add(l.cfg.Leeway)}})
}

func (l *Log) expiry(at time.Time) time.Time {
	return at.Add(l.cfg.MaxTokenLifetime + l.cfg.Leeway)
}

// append adds events to the local set at once, then to the store, then
// notifies subscribers. The local set is updated even if the store write
// fails, so this instance never accepts a token it was told to revoke.
func (l *Log) append(ctx context.Context, events []store.Revocation) error {
	if len(events) == 0 {
		return nil
	}
	l.set.Add(events...)
	stored, err := l.store.AppendRevocations(ctx, events)
	if err != nil {
		return fmt.Errorf("revocation: append: %w", err)
	}
	l.publish(stored)
	if l.cfg.Notifier != nil {
		if err := l.cfg.Notifier.Notify(ctx); err != nil {
			l.log.WarnContext(ctx, "revocation notification failed; other instances learn at their next poll", "err", err)
		}
	}
	return nil
}

// Since returns up to limit live events after the cursor seq.
func (l *Log) Since(ctx context.Context, seq int64, limit int) ([]store.Revocation, error) {
	evs, err := l.store.ListRevocations(ctx, seq, l.now(), limit)
	if err != nil {
		return nil, fmt.Errorf("revocation: list: %w", err)
	}
	return evs, nil
}

// Sync reads events that other instances appended since the last one
// this instance knows, adds them to the set and notifies subscribers.
func (l *Log) Sync(ctx context.Context) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	for {
		evs, err := l.Since(ctx, l.set.LastSeq(), 1000)
		if err != nil {
			return err
		}
		l.set.Add(evs...)
		l.publish(evs)
		if len(evs) > 0 {
			l.set.advance(evs[len(evs)-1].Seq)
		}
		if len(evs) < 1000 {
			return nil
		}
	}
}

// Subscribe returns a channel that receives every event appended or
// synced from now on, and a function that ends the subscription. A
// subscriber that does not keep up loses events; it can catch up with
// Since from the last Seq it saw.
func (l *Log) Subscribe() (<-chan store.Revocation, func()) {
	ch := make(chan store.Revocation, 256)
	l.mu.Lock()
	l.subs[ch] = struct{}{}
	l.mu.Unlock()
	return ch, func() {
		l.mu.Lock()
		if _, ok := l.subs[ch]; ok {
			delete(l.subs, ch)
			close(ch)
		}
		l.mu.Unlock()
	}
}

func (l *Log) publish(evs []store.Revocation) {
	if len(evs) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch := range l.subs {
		for _, e := range evs {
			select {
			case ch <- e:
			default: // a slow subscriber catches up with Since
			}
		}
	}
}

// Run syncs every interval, and at once whenever the Notifier announces
// new events, and prunes expired events from the in-process set, until
// ctx ends. PruneStore cleans the store.
func (l *Log) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	wake := make(chan struct{}, 1)
	if l.cfg.Notifier != nil {
		go l.cfg.Notifier.Listen(ctx, func() {
			select {
			case wake <- struct{}{}:
			default: // a Sync is already due
			}
		})
	}
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
		if err := l.Sync(ctx); err != nil && ctx.Err() == nil {
			l.log.WarnContext(ctx, "revocation sync failed", "err", err)
		}
		if now := l.now(); now.Sub(lastPrune) >= time.Minute {
			lastPrune = now
			l.set.Prune(now)
		}
	}
}

// PruneStore deletes expired events from the store and returns how many.
// In a cluster one instance at a time runs it.
func (l *Log) PruneStore(ctx context.Context) (int, error) {
	n, err := l.store.DeleteExpiredRevocations(ctx, l.now())
	if err != nil {
		return 0, fmt.Errorf("revocation: prune: %w", err)
	}
	return n, nil
}
