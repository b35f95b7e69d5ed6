package revocation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/verifier"
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

// ErrNotStored reports a revocation that the store did not take: it did
// not happen, and the caller must say so (HTTP 503) rather than succeed.
var ErrNotStored = errors.New("revocation: not stored")

// Config holds the options of a Log.
type Config struct {
	// Notifier, if set, fans new events out to other instances.
	Notifier Notifier
	// MaxTokenLifetime is the longest lifetime of a token an event can
	// affect: the access-token TTL. Events live this long plus Leeway.
	MaxTokenLifetime time.Duration
	// Leeway is added to the event lifetime; default DefaultLeeway.
	Leeway time.Duration
	// RecentEvents is how many of the last published events the Log keeps
	// in memory for its subscribers; default DefaultRecentEvents. A
	// subscriber further behind reads the store instead, so the size
	// bounds memory, never what a subscriber receives.
	RecentEvents int
}

// DefaultRecentEvents is the default Config.RecentEvents: a burst of ten
// thousand revocations is served to every subscriber from memory.
const DefaultRecentEvents = 16384

// Log appends revocations to the store, keeps the local set exact, and
// publishes the log, in Seq order and without holes, to subscribers (the
// event stream of /v1/revocations).
//
// An event is published only once Sync has read it back from the store,
// in Seq order, together with every lower-numbered event another instance
// appended: an instance never publishes its own event ahead of an older
// one it has not read yet. The events published last are kept in memory
// (Config.RecentEvents); each Subscription reads them from its own cursor,
// and reads the store when it is further behind, so no subscriber loses an
// event whatever the size of a burst.
type Log struct {
	store store.RevocationStore
	cfg   Config
	set   *verifier.RevocationSet
	log   *slog.Logger
	now   func() time.Time

	syncMu sync.Mutex // one Sync at a time
	// again asks the Sync in progress to go round once more: events were
	// appended while it read.
	again atomic.Bool
	// wake asks Run to Sync at once: the Notifier announced events, or
	// the Sync after a local append failed.
	wake chan struct{}

	mu sync.Mutex
	// recent holds the last published events in Seq order; every
	// published event with a Seq above recentFrom is in it.
	recent     []store.Revocation
	recentFrom int64
	// published is the Seq up to which the log has been published.
	published int64
	subs      map[*Subscription]struct{}
}

// NewLog returns a Log over st. Call Sync once before serving so the set
// holds the events already in the store.
func NewLog(st store.RevocationStore, cfg Config, log *slog.Logger, now func() time.Time) *Log {
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.RecentEvents <= 0 {
		cfg.RecentEvents = DefaultRecentEvents
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Log{store: st, cfg: cfg, set: verifier.NewRevocationSet(0), log: log, now: now,
		wake: make(chan struct{}, 1), subs: map[*Subscription]struct{}{}}
}

// Set returns the in-process set: the verifier's, so that the server and
// outside verifiers apply one rule to the same events.
func (l *Log) Set() *verifier.RevocationSet { return l.set }

// Revoked reports whether a token is revoked; see
// verifier.RevocationSet.Revoked.
func (l *Log) Revoked(sid, jti, sub string, issuedAt time.Time) bool {
	return l.set.Revoked(sid, jti, sub, issuedAt)
}

// RevokeSessions records that the session records were revoked: every
// token carrying one of their ids is dead. It returns only once the
// events are stored; on error nothing is recorded (see append). audits
// are the audit trail's events of the revocation (session.ended), stored
// in the same transaction when the store is a store.RevocationEventStore
// (the SQL store), or right after the revocations otherwise.
func (l *Log) RevokeSessions(ctx context.Context, sessions []store.Session, audits ...audit.Event) error {
	at := l.now().UTC().Truncate(time.Millisecond)
	events := make([]store.Revocation, 0, len(sessions))
	for _, s := range sessions {
		events = append(events, store.Revocation{SessionID: s.ID, At: at, Expires: l.expiry(at)})
	}
	return l.appendWith(ctx, events, audits)
}

// RevokeUser records that every token of the user issued until now is
// dead (the account was disabled, deleted, or all its sessions revoked).
// It returns only once the event is stored.
func (l *Log) RevokeUser(ctx context.Context, userID string) error {
	at := l.now().UTC().Truncate(time.Millisecond)
	return l.append(ctx, []store.Revocation{{UserID: userID, At: at, Expires: l.expiry(at)}})
}

// RevokeToken records that the one token with the given jti is dead; it
// expires at exp. It returns only once the event is stored.
func (l *Log) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	at := l.now().UTC().Truncate(time.Millisecond)
	return l.append(ctx, []store.Revocation{{TokenID: jti, At: at, Expires: exp.Add(l.cfg.Leeway)}})
}

func (l *Log) expiry(at time.Time) time.Time {
	return at.Add(l.cfg.MaxTokenLifetime + l.cfg.Leeway)
}

// append stores events, then adds them to the local set, publishes them
// (a Sync reads them back, in Seq order after any older event) and tells
// the other instances through the Notifier. A revocation counts only once it is durable:
// if the store write fails, the error is returned and the local set is
// left alone, so that the caller answers with an error and every instance
// agrees that the revocation did not happen; a retry appends it again.
func (l *Log) append(ctx context.Context, events []store.Revocation) error {
	return l.appendWith(ctx, events, nil)
}

// appendWith is append that also stores audits, the audit events of the
// revocation, in its transaction (see RevokeSessions).
func (l *Log) appendWith(ctx context.Context, events []store.Revocation, audits []audit.Event) error {
	if len(events) == 0 {
		return nil
	}
	var (
		stored []store.Revocation
		err    error
	)
	if es, ok := l.store.(store.RevocationEventStore); ok && len(audits) > 0 {
		var seqs []int64
		stored, seqs, err = es.AppendRevocationsWithEvents(ctx, events, audits)
		for i := range seqs {
			audits[i].Seq = seqs[i]
		}
	} else {
		stored, err = l.store.AppendRevocations(ctx, events)
		if err == nil && len(audits) > 0 {
			es, ok := l.store.(store.EventStore)
			if !ok {
				return fmt.Errorf("%w: the revocation store keeps no audit events", ErrNotStored)
			}
			_, err = es.AppendEvents(ctx, audits...)
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotStored, err)
	}
	// Own events do not move the cursor (no Cursor, cursor 0): the next
	// Sync reads them back, so that an event another instance committed
	// with a lower Seq is not skipped.
	l.set.Add(l.now(), 0, feedEvents(stored)...)
	l.syncSoon(ctx, stored)
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

// syncPage is how many events one Sync reads per store query.
const syncPage = 1000

// Sync reads the events appended since the last one this instance read
// (by any instance, itself included), adds them to the set and publishes
// them to subscribers, in Seq order.
func (l *Log) Sync(ctx context.Context) error {
	l.syncMu.Lock()
	l.again.Store(false)
	err := l.syncLocked(ctx)
	l.syncMu.Unlock()
	if l.again.Load() {
		l.syncSoon(ctx, nil)
	}
	return err
}

// syncSoon publishes events this instance has just stored (own, in Seq
// order), and any older ones: it syncs now, unless a Sync is running,
// which then goes round once more, so that a burst of appends costs one
// read, not one each. When own follows the last event read with no Seq
// between, no other event can come before it, and it is published
// without reading it back. A failure is left to Run's next Sync.
func (l *Log) syncSoon(ctx context.Context, own []store.Revocation) {
	l.again.Store(true)
	for l.again.Load() {
		if !l.syncMu.TryLock() {
			return // the holder sees again and goes round
		}
		l.again.Store(false)
		var err error
		if next(l.set.Cursor(), own) {
			l.publish(own)
			l.set.Add(l.now(), own[len(own)-1].Seq)
		} else {
			err = l.syncLocked(ctx)
		}
		own = nil
		l.syncMu.Unlock()
		if err != nil {
			if ctx.Err() == nil {
				l.log.WarnContext(ctx, "revocation sync failed; retrying at the next poll", "err", err)
			}
			select {
			case l.wake <- struct{}{}:
			default:
			}
			return
		}
	}
}

// next reports whether evs are the events right after seq: consecutive
// Seqs from seq+1.
func next(seq int64, evs []store.Revocation) bool {
	if len(evs) == 0 {
		return false
	}
	for i, e := range evs {
		if e.Seq != seq+1+int64(i) {
			return false
		}
	}
	return true
}

// syncLocked is Sync with l.syncMu held.
func (l *Log) syncLocked(ctx context.Context) error {
	for {
		evs, err := l.Since(ctx, l.set.Cursor(), syncPage)
		if err != nil {
			return err
		}
		l.set.Add(l.now(), 0, feedEvents(evs)...)
		l.publish(evs)
		if len(evs) > 0 {
			l.set.Add(l.now(), evs[len(evs)-1].Seq)
		}
		if len(evs) < syncPage {
			return nil
		}
	}
}

// Published returns the Seq up to which the log has been published to
// subscribers.
func (l *Log) Published() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.published
}

// publish adds events read in Seq order to the recent ones and rings
// every subscriber's doorbell; l.syncMu is held.
func (l *Log) publish(evs []store.Revocation) {
	if len(evs) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recent = append(l.recent, evs...)
	if over := len(l.recent) - l.cfg.RecentEvents; over > 0 {
		l.recentFrom = l.recent[over-1].Seq
		l.recent = append(l.recent[:0:0], l.recent[over:]...)
	}
	l.published = evs[len(evs)-1].Seq
	for s := range l.subs {
		s.ring()
	}
}

// Subscription reads the published log from its own cursor. Its Ready
// channel is only a doorbell; Next returns the events themselves, every
// one exactly once and in Seq order, however far behind the reader is.
// A Subscription is used by one goroutine at a time.
type Subscription struct {
	l      *Log
	bell   chan struct{}
	cursor int64
}

// Subscribe returns a Subscription whose first event is the first live
// one with a Seq above after; pass Published() for "from now on".
// Close it when done.
func (l *Log) Subscribe(after int64) *Subscription {
	s := &Subscription{l: l, bell: make(chan struct{}, 1), cursor: after}
	l.mu.Lock()
	l.subs[s] = struct{}{}
	l.mu.Unlock()
	s.ring() // events may be waiting already
	return s
}

func (s *Subscription) ring() {
	select {
	case s.bell <- struct{}{}:
	default: // already rung; Next returns every waiting event
	}
}

// Ready receives a value when events may be waiting for Next. Call Next
// until it returns none before waiting on Ready again.
func (s *Subscription) Ready() <-chan struct{} { return s.bell }

// Cursor returns the Seq of the last event Next returned (or stepped over
// as expired), or the Subscribe cursor.
func (s *Subscription) Cursor() int64 { return s.cursor }

// Next returns up to limit live events after the cursor, in Seq order,
// and moves the cursor past them. It returns none when the reader has
// caught up with what is published. Recent events come from memory; a
// reader further behind reads the store, which fails only if the store
// does (the cursor then stays where it was).
func (s *Subscription) Next(ctx context.Context, limit int) ([]store.Revocation, error) {
	l := s.l
	now := l.now()
	l.mu.Lock()
	if s.cursor >= l.recentFrom {
		i, _ := slices.BinarySearchFunc(l.recent, s.cursor+1, func(e store.Revocation, seq int64) int {
			return cmp.Compare(e.Seq, seq)
		})
		var out []store.Revocation
		for ; i < len(l.recent) && len(out) < limit; i++ {
			e := l.recent[i]
			s.cursor = e.Seq
			if e.Expires.After(now) {
				out = append(out, e)
			}
		}
		l.mu.Unlock()
		return out, nil
	}
	l.mu.Unlock()
	evs, err := l.Since(ctx, s.cursor, limit)
	if err != nil {
		return nil, err
	}
	if len(evs) > 0 {
		s.cursor = evs[len(evs)-1].Seq
	}
	return evs, nil
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.l.mu.Lock()
	delete(s.l.subs, s)
	s.l.mu.Unlock()
}

// Run syncs every interval, at once whenever the Notifier announces new
// events or this instance appended some, and prunes expired events from
// the in-process set, until ctx ends. It returns only once the Notifier's
// listener has stopped. PruneStore cleans the store.
func (l *Log) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	if l.cfg.Notifier != nil {
		wg.Go(func() {
			l.cfg.Notifier.Listen(ctx, func() {
				select {
				case l.wake <- struct{}{}:
				default: // a Sync is already due
				}
			})
		})
	}
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-l.wake:
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

// feedEvents turns log events into the verifier's events, without their
// Seq: the caller moves the set's cursor itself.
func feedEvents(evs []store.Revocation) []verifier.RevocationEvent {
	out := make([]verifier.RevocationEvent, len(evs))
	for i, e := range evs {
		out[i] = verifier.RevocationEvent{SID: e.SessionID, JTI: e.TokenID, User: e.UserID, At: e.At, Expires: e.Expires}
	}
	return out
}
