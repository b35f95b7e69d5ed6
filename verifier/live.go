package verifier

import (
	"container/heap"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Timing of live-connection watches.
const (
	// sessionRefreshMargin is how long before a watched cookie session's
	// expiry it is introspected again (at most half its remaining life).
	sessionRefreshMargin = time.Minute
	// minSessionRefresh: a watched session with less than twice this
	// left is not introspected again; its watch ends at its expiry.
	minSessionRefresh = time.Second
	// maxTimerWait bounds one wait of the expiry timer, so a jump of the
	// wall clock delays an expiry by at most this much.
	maxTimerWait = time.Minute
	// maxRefreshes bounds the concurrent re-introspections of watched
	// sessions.
	maxRefreshes = 8
)

// Watch ties a live connection (a WebSocket, a Server-Sent Events
// stream, a long poll) to the credential that opened it. p is the
// Principal that Middleware, Authenticate, Verify or VerifySession
// returned for the request. The returned context is a child of ctx that
// is cancelled, whichever comes first:
//
//   - when a revocation event from the feed covers the credential: its
//     session ("sid"), the token itself ("jti"), or all of its user's
//     credentials issued up to an instant ("sub" and "iat": logout
//     everywhere, a disabled account, a password reset); the cause then
//     matches ErrRevoked;
//   - for an access token, when Verify would stop accepting it: at "exp"
//     plus Config.Leeway; the cause is an *ExpiredError (ErrExpired);
//   - for a session cookie, when the session expires: shortly before its
//     expiry (idle or absolute, as introspected) the verifier introspects
//     the cookie again, which counts as use of the session at the issuer
//     and so renews its idle timeout while the connection stays open; an
//     inactive answer, or reaching the expiry, ends the watch with a
//     cause matching ErrSessionInactive;
//   - when the Verifier is closed (cause ErrClosed), when ctx ends (its
//     cause), or when the returned CancelFunc is called
//     (context.Canceled).
//
// Read the reason with context.Cause, for instance to send a WebSocket
// close code. A credential already revoked or expired gives a context
// that is already cancelled. Revocations reach watches as fast as they
// reach Verify (see the package documentation for the delay); events are
// matched through indexes by sid, jti and sub, so the cost of an event
// does not grow with the number of watches, and all expiries share one
// timer. Call the CancelFunc when the connection ends, as with
// context.WithCancel, to release the watch.
func (v *Verifier) Watch(ctx context.Context, p *Principal) (context.Context, context.CancelFunc) {
	wctx, cancel := context.WithCancelCause(ctx)
	if p == nil {
		cancel(ErrNoCredentials)
		return wctx, func() {}
	}
	w := &watcher{
		sid: p.SessionID, jti: p.TokenID, sub: p.Subject, iat: p.IssuedAt,
		expiry: p.ExpiresAt, expires: p.ExpiresAt, index: -1, cancel: cancel,
	}
	if p.Method == MethodSession {
		w.session, w.cookie = true, p.session
	} else if !p.ExpiresAt.IsZero() {
		w.expires = p.ExpiresAt.Add(v.cfg.Leeway)
	}
	now := v.cfg.Now()
	if !w.expires.IsZero() && !now.Before(w.expires) {
		cancel(w.expiredCause(now))
		return wctx, func() {}
	}
	// Removes the watch when ctx ends; stopped when the watch ends
	// otherwise.
	w.stop = context.AfterFunc(ctx, func() { v.live.end(w, nil) })
	if !v.live.add(w, now) {
		w.finish(ErrClosed)
		return wctx, func() {}
	}
	// Registered first, checked second: an event added to the set after
	// this check reaches the watch through the set's listener.
	if v.sub != nil && v.revs.Revoked(w.sid, w.jti, w.sub, w.iat) {
		v.live.end(w, invalid(ErrRevoked, "sid %q, jti %q or sub %q is revoked", clip(w.sid), clip(w.jti), clip(w.sub)))
	}
	return wctx, func() { v.live.end(w, context.Canceled) }
}

// watcher is one watched credential.
type watcher struct {
	sid, jti, sub string
	iat           time.Time
	// expires is when the credential stops being accepted (leeway
	// included), expiry what to report; zero means never.
	expires, expiry time.Time
	// session is true for a cookie session; cookie, if set, allows
	// re-introspecting it.
	session bool
	cookie  *sessionHandle
	cancel  context.CancelCauseFunc
	stop    func() bool

	// Guarded by liveHub.mu.
	at      time.Time // next deadline, in due when index >= 0
	refresh bool      // at is a re-introspection, not the end
	index   int
	ended   bool
}

// finish cancels the watch's context with cause and releases its link to
// the parent context. A nil cause means the parent ended: the context is
// done already, and the link is what called (w.stop may not even be set
// yet when the parent was done before Watch).
func (w *watcher) finish(cause error) {
	if cause == nil {
		return
	}
	w.cancel(cause)
	w.stop()
}

// expiredCause is the cause of a watch that reached its expiry.
func (w *watcher) expiredCause(now time.Time) error {
	if w.session {
		return invalid(ErrSessionInactive, "session expired at %s", w.expiry.UTC().Format(time.RFC3339))
	}
	return &ExpiredError{Expiry: w.expiry, Now: now}
}

// liveHub holds the watches of one Verifier: indexes by sid, jti and sub
// for revocation events, and a heap of deadlines behind one timer.
type liveHub struct {
	now func() time.Time
	log *slog.Logger
	// introspect asks the issuer about a session cookie, as
	// sessionCache.ask; nil means sessions are not re-introspected.
	introspect func(ctx context.Context, value string) (*Principal, error)
	// noTimer leaves calling tick to the caller (tests with a fake
	// clock).
	noTimer bool

	n atomic.Int64

	mu     sync.Mutex
	all    map[*watcher]struct{}
	bySID  map[string]map[*watcher]struct{}
	byJTI  map[string]map[*watcher]struct{}
	bySub  map[string]map[*watcher]struct{}
	due    watchHeap
	timer  *time.Timer
	closed bool

	bg     context.Context
	stopBG context.CancelFunc
	wg     sync.WaitGroup
	sem    chan struct{}
}

func newLiveHub(now func() time.Time, log *slog.Logger) *liveHub {
	bg, stop := context.WithCancel(context.Background())
	return &liveHub{
		now: now, log: log,
		all: map[*watcher]struct{}{}, bySID: map[string]map[*watcher]struct{}{},
		byJTI: map[string]map[*watcher]struct{}{}, bySub: map[string]map[*watcher]struct{}{},
		bg: bg, stopBG: stop, sem: make(chan struct{}, maxRefreshes),
	}
}

// add registers w; it reports false once the hub is closed.
func (h *liveHub) add(w *watcher, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	if w.ended {
		// ctx ended already.
		return true
	}
	h.all[w] = struct{}{}
	indexWatch(h.bySID, w.sid, w)
	indexWatch(h.byJTI, w.jti, w)
	indexWatch(h.bySub, w.sub, w)
	h.n.Store(int64(len(h.all)))
	h.scheduleLocked(w, now)
	return true
}

// end removes w and, if it was still registered, cancels it with cause
// (nil: its context is already done).
func (h *liveHub) end(w *watcher, cause error) {
	h.mu.Lock()
	if w.ended {
		h.mu.Unlock()
		return
	}
	h.removeLocked(w)
	h.mu.Unlock()
	w.finish(cause)
}

func (h *liveHub) removeLocked(w *watcher) {
	w.ended = true
	delete(h.all, w)
	unindexWatch(h.bySID, w.sid, w)
	unindexWatch(h.byJTI, w.jti, w)
	unindexWatch(h.bySub, w.sub, w)
	if w.index >= 0 {
		heap.Remove(&h.due, w.index)
	}
	h.n.Store(int64(len(h.all)))
}

func indexWatch(m map[string]map[*watcher]struct{}, key string, w *watcher) {
	if key == "" {
		return
	}
	set := m[key]
	if set == nil {
		set = map[*watcher]struct{}{}
		m[key] = set
	}
	set[w] = struct{}{}
}

func unindexWatch(m map[string]map[*watcher]struct{}, key string, w *watcher) {
	if set := m[key]; set != nil {
		delete(set, w)
		if len(set) == 0 {
			delete(m, key)
		}
	}
}

// scheduleLocked sets w's next deadline: a re-introspection shortly
// before a session's expiry while there is time for one, else the
// expiry itself, and arms the timer if that deadline is the earliest.
func (h *liveHub) scheduleLocked(w *watcher, now time.Time) {
	if w.expires.IsZero() {
		return
	}
	w.at, w.refresh = w.expires, false
	if w.cookie != nil && h.introspect != nil {
		if left := w.expires.Sub(now); left > 2*minSessionRefresh {
			w.at, w.refresh = w.expires.Add(-min(sessionRefreshMargin, left/2)), true
		}
	}
	heap.Push(&h.due, w)
	if w.index == 0 {
		h.armLocked(now)
	}
}

// armLocked sets the timer for the earliest deadline.
func (h *liveHub) armLocked(now time.Time) {
	if h.closed || h.noTimer || len(h.due) == 0 {
		return
	}
	d := min(max(h.due[0].at.Sub(now), 0), maxTimerWait)
	if h.timer == nil {
		h.timer = time.AfterFunc(d, h.tick)
	} else {
		h.timer.Reset(d)
	}
}

// tick ends the watches whose credential expired and starts the
// re-introspections that are due, then re-arms the timer.
func (h *liveHub) tick() {
	now := h.now()
	var ended []*watcher
	h.mu.Lock()
	for len(h.due) > 0 && !h.due[0].at.After(now) {
		w := heap.Pop(&h.due).(*watcher)
		if w.refresh && !h.closed {
			h.wg.Add(1)
			go h.refresh(w)
			continue
		}
		h.removeLocked(w)
		ended = append(ended, w)
	}
	h.armLocked(now)
	h.mu.Unlock()
	for _, w := range ended {
		w.finish(w.expiredCause(now))
	}
}

// refresh introspects a watched session cookie again: an inactive answer
// ends the watch, an active one moves its expiry; a failure leaves the
// expiry as it was (a later try, or the expiry, follows).
func (h *liveHub) refresh(w *watcher) {
	defer h.wg.Done()
	select {
	case h.sem <- struct{}{}:
		defer func() { <-h.sem }()
	case <-h.bg.Done():
		return
	}
	ctx, cancel := context.WithTimeout(h.bg, fetchTimeout)
	p, err := h.introspect(ctx, w.cookie.value)
	cancel()
	if err != nil && h.bg.Err() == nil {
		h.log.Warn("verifier: re-introspecting a watched session failed", "err", err)
	}
	now := h.now()
	h.mu.Lock()
	if w.ended || h.closed {
		h.mu.Unlock()
		return
	}
	if err == nil && (p == nil || p.Subject != w.sub || p.SessionID != w.sid) {
		h.removeLocked(w)
		h.mu.Unlock()
		w.finish(invalid(ErrSessionInactive, "the issuer reports the session inactive"))
		return
	}
	if err == nil && p.ExpiresAt.After(w.expires) {
		w.expires, w.expiry = p.ExpiresAt, p.ExpiresAt
	}
	h.scheduleLocked(w, now)
	h.mu.Unlock()
}

// revoke ends the watches that events revoke. It is the revocation set's
// listener, called after the events are in the set.
func (h *liveHub) revoke(events []RevocationEvent) {
	if h.n.Load() == 0 {
		return
	}
	type ending struct {
		w     *watcher
		cause error
	}
	var ended []ending
	h.mu.Lock()
	for _, e := range events {
		switch {
		case e.SID != "":
			for w := range h.bySID[e.SID] {
				h.removeLocked(w)
				ended = append(ended, ending{w, invalid(ErrRevoked, "session %q revoked", clip(e.SID))})
			}
		case e.JTI != "":
			for w := range h.byJTI[e.JTI] {
				h.removeLocked(w)
				ended = append(ended, ending{w, invalid(ErrRevoked, "token %q revoked", clip(e.JTI))})
			}
		case e.User != "":
			for w := range h.bySub[e.User] {
				if userRevokes(e.At, w.sid, w.iat) {
					h.removeLocked(w)
					ended = append(ended, ending{w, invalid(ErrRevoked, "credentials of user %q revoked", clip(e.User))})
				}
			}
		}
	}
	h.mu.Unlock()
	for _, x := range ended {
		x.w.finish(x.cause)
	}
}

// close ends every watch with ErrClosed, refuses new ones, and waits for
// running re-introspections.
func (h *liveHub) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	ended := make([]*watcher, 0, len(h.all))
	for w := range h.all {
		ended = append(ended, w)
	}
	for _, w := range ended {
		h.removeLocked(w)
	}
	if h.timer != nil {
		h.timer.Stop()
	}
	h.mu.Unlock()
	h.stopBG()
	for _, w := range ended {
		w.finish(ErrClosed)
	}
	h.wg.Wait()
}

// len returns the number of live watches.
func (h *liveHub) len() int { return int(h.n.Load()) }

// sessionHandle carries a session cookie's value from VerifySession to
// Watch, for re-introspection. It is a pointer in Principal so that
// printing a Principal never prints the cookie.
type sessionHandle struct{ value string }

// watchHeap orders watches by deadline (container/heap).
type watchHeap []*watcher

func (q watchHeap) Len() int           { return len(q) }
func (q watchHeap) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q watchHeap) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *watchHeap) Push(x any) {
	w := x.(*watcher)
	w.index = len(*q)
	*q = append(*q, w)
}
func (q *watchHeap) Pop() any {
	old := *q
	w := old[len(old)-1]
	old[len(old)-1] = nil
	w.index = -1
	*q = old[:len(old)-1]
	return w
}
