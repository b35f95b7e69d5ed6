package verifier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// testHub is a hub on the clock c whose timer the test drives.
func testHub(t *testing.T, c *clocktest.Clock) *liveHub {
	h := newLiveHub(c.Now, slog.New(slog.DiscardHandler))
	h.noTimer = true
	t.Cleanup(h.close)
	return h
}

// hubVerifier is a Verifier without an issuer around h, for tests of
// Watch alone.
func hubVerifier(h *liveHub, c *clocktest.Clock, leeway time.Duration) *Verifier {
	return &Verifier{cfg: Config{Now: c.Now, Leeway: leeway}, revs: NewRevocationSet(leeway), live: h}
}

// waitDone waits for ctx to end (the bound only guards against a hang)
// and returns its cause.
func waitDone(t *testing.T, ctx context.Context, within time.Duration) error {
	t.Helper()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-time.After(within):
		t.Fatalf("watch still live after %s", within)
		return nil
	}
}

func tokenPrincipal(sub, sid, jti string, iat, exp time.Time) *Principal {
	return &Principal{Method: MethodJWT, Subject: sub, SessionID: sid, TokenID: jti, IssuedAt: iat, ExpiresAt: exp}
}

// TestWatchRevocationEvents checks which events end which watches, and
// that the others stay live.
func TestWatchRevocationEvents(t *testing.T) {
	exp := t0.Add(5 * time.Minute)
	tests := []struct {
		name  string
		event RevocationEvent
		ends  bool
	}{
		{"session", RevocationEvent{SID: "sid-1"}, true},
		{"token", RevocationEvent{JTI: "jti-1"}, true},
		{"user after issue", RevocationEvent{User: "user-1", At: t0.Add(time.Second)}, true},
		// As Verify judges it (userRevokes): a token with a sid issued in
		// the event's own second is left to its session's event.
		{"user in the issue second", RevocationEvent{User: "user-1", At: t0}, false},
		{"user before issue", RevocationEvent{User: "user-1", At: t0.Add(-time.Second)}, false},
		{"other session", RevocationEvent{SID: "sid-2"}, false},
		{"other token", RevocationEvent{JTI: "jti-2"}, false},
		{"other user", RevocationEvent{User: "user-2", At: t0}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clocktest.New(t0)
			h := testHub(t, c)
			v := hubVerifier(h, c, 0)
			ctx, cancel := v.Watch(context.Background(), tokenPrincipal("user-1", "sid-1", "jti-1", t0, exp))
			defer cancel()
			h.revoke([]RevocationEvent{tt.event})
			if got := ctx.Err() != nil; got != tt.ends {
				t.Fatalf("ended %v, want %v", got, tt.ends)
			}
			if !tt.ends {
				if h.len() != 1 {
					t.Errorf("%d watches, want 1", h.len())
				}
				return
			}
			if err := context.Cause(ctx); !errors.Is(err, ErrRevoked) || !errors.Is(err, ErrInvalidToken) {
				t.Errorf("cause %v, want ErrRevoked", err)
			}
			if h.len() != 0 || len(h.due) != 0 || len(h.bySID)+len(h.byJTI)+len(h.bySub) != 0 {
				t.Errorf("hub keeps the ended watch: %d watches, %d deadlines", h.len(), len(h.due))
			}
		})
	}
}

// TestWatchTokenExpiry ends a token's watch exactly when Verify would
// refuse it: at exp plus the leeway.
func TestWatchTokenExpiry(t *testing.T) {
	c := clocktest.New(t0)
	h := testHub(t, c)
	v := hubVerifier(h, c, 30*time.Second)
	exp := t0.Add(5 * time.Minute)
	ctx, cancel := v.Watch(context.Background(), tokenPrincipal("user-1", "sid-1", "jti-1", t0, exp))
	defer cancel()
	// An earlier deadline on the heap does not confuse the order.
	ctx2, cancel2 := v.Watch(context.Background(), tokenPrincipal("user-2", "sid-2", "jti-2", t0, t0.Add(time.Minute)))
	defer cancel2()

	c.Set(exp.Add(29 * time.Second))
	h.tick()
	if ctx.Err() != nil {
		t.Fatalf("ended within the leeway: %v", context.Cause(ctx))
	}
	if ctx2.Err() == nil {
		t.Fatal("the earlier token's watch is still live")
	}
	c.Set(exp.Add(30 * time.Second))
	h.tick()
	var ee *ExpiredError
	if err := context.Cause(ctx); !errors.As(err, &ee) || !errors.Is(err, ErrExpired) || !ee.Expiry.Equal(exp) {
		t.Fatalf("cause %v, want an *ExpiredError for %s", err, exp)
	}
	if h.len() != 0 {
		t.Errorf("%d watches left", h.len())
	}

	// Already expired: cancelled at once, nothing registered.
	ctx3, cancel3 := v.Watch(context.Background(), tokenPrincipal("user-1", "sid-1", "jti-3", t0, exp))
	defer cancel3()
	if !errors.Is(context.Cause(ctx3), ErrExpired) || h.len() != 0 {
		t.Errorf("expired token: cause %v, %d watches", context.Cause(ctx3), h.len())
	}
}

// TestWatchSessionReintrospection keeps a cookie session's watch alive
// while the issuer renews the session, and ends it when the issuer says
// it is inactive, or at its expiry when the issuer cannot be reached.
func TestWatchSessionReintrospection(t *testing.T) {
	exp := t0.Add(30 * time.Minute)
	type answer struct {
		p   *Principal
		err error
	}
	live := func(e time.Time) answer {
		return answer{p: &Principal{Method: MethodSession, Subject: "user-1", SessionID: "sid-1", ExpiresAt: e}}
	}
	tests := []struct {
		name    string
		answers []answer // one per re-introspection
		// checks[i] is the time of the i-th tick, with whether the watch
		// is live after it.
		ticks []time.Time
		live  []bool
		cause error
	}{
		{
			name:    "renewed then inactive",
			answers: []answer{live(exp.Add(30 * time.Minute)), {}},
			ticks:   []time.Time{exp.Add(-time.Minute), exp.Add(29 * time.Minute)},
			live:    []bool{true, false},
			cause:   ErrSessionInactive,
		},
		{
			name:    "another session's answer",
			answers: []answer{{p: &Principal{Subject: "user-2", SessionID: "sid-1", ExpiresAt: exp}}},
			ticks:   []time.Time{exp.Add(-time.Minute)},
			live:    []bool{false},
			cause:   ErrSessionInactive,
		},
		{
			name: "issuer down until the expiry",
			answers: []answer{
				{err: ErrUnavailable}, {err: ErrUnavailable}, {err: ErrUnavailable},
				{err: ErrUnavailable}, {err: ErrUnavailable}, {err: ErrUnavailable},
			},
			// 60s before, then half the time left each try: 30s, 15s,
			// 7.5s, 3.75s, 1.875s; then only the expiry.
			ticks: []time.Time{exp.Add(-time.Minute), exp.Add(-30 * time.Second), exp.Add(-15 * time.Second),
				exp.Add(-7500 * time.Millisecond), exp.Add(-3750 * time.Millisecond), exp.Add(-1875 * time.Millisecond),
				exp.Add(-time.Millisecond), exp},
			live:  []bool{true, true, true, true, true, true, true, false},
			cause: ErrSessionInactive,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clocktest.New(t0)
			h := testHub(t, c)
			var calls atomic.Int64
			h.introspect = func(ctx context.Context, value string) (*Principal, error) {
				i := int(calls.Add(1)) - 1
				if value != testCookie {
					return nil, fmt.Errorf("asked about %q", value)
				}
				if i >= len(tt.answers) {
					t.Errorf("introspection %d: not expected", i+1)
					return nil, ErrUnavailable
				}
				return tt.answers[i].p, tt.answers[i].err
			}
			v := hubVerifier(h, c, 30*time.Second)
			p := &Principal{Method: MethodSession, Subject: "user-1", SessionID: "sid-1", IssuedAt: t0, ExpiresAt: exp,
				session: &sessionHandle{value: testCookie}}
			ctx, cancel := v.Watch(context.Background(), p)
			defer cancel()
			h.tick()
			h.wg.Wait()
			if ctx.Err() != nil || calls.Load() != 0 {
				t.Fatalf("at start: ended %v, %d introspections", context.Cause(ctx), calls.Load())
			}
			for i, at := range tt.ticks {
				c.Set(at)
				h.tick()
				h.wg.Wait()
				if got := ctx.Err() == nil; got != tt.live[i] {
					t.Fatalf("tick %d at exp%+v: live %v, want %v (cause %v)", i, at.Sub(exp), got, tt.live[i], context.Cause(ctx))
				}
			}
			if err := context.Cause(ctx); !errors.Is(err, tt.cause) {
				t.Errorf("cause %v, want %v", err, tt.cause)
			}
			if n := calls.Load(); int(n) != len(tt.answers) {
				t.Errorf("%d introspections, want %d", n, len(tt.answers))
			}
			if h.len() != 0 {
				t.Errorf("%d watches left", h.len())
			}
		})
	}
}

// TestWatchManyAndCancel registers many watches, ends some by events,
// some by expiry, some by cancel and some by their parent, and checks
// that none is left behind: no index entry, no deadline, no goroutine.
func TestWatchManyAndCancel(t *testing.T) {
	const n = 8000
	c := clocktest.New(t0)
	h := testHub(t, c)
	v := hubVerifier(h, c, 0)
	before := runtime.NumGoroutine()
	parent, cancelParent := context.WithCancel(context.Background())
	ctxs := make([]context.Context, n)
	cancels := make([]context.CancelFunc, n)
	for i := range n {
		// Four groups: i%4 == 0 revoked by session, 1 by user, 2
		// expire, 3 cancelled (half directly, half by their parent).
		p := tokenPrincipal(fmt.Sprintf("user-%d", i%4), fmt.Sprintf("sid-%d", i), fmt.Sprintf("jti-%d", i),
			t0, t0.Add(time.Duration(10+i%4)*time.Minute))
		parentCtx := context.Background()
		if i%8 == 7 {
			parentCtx = parent
		}
		ctxs[i], cancels[i] = v.Watch(parentCtx, p)
	}
	if h.len() != n || len(h.due) != n {
		t.Fatalf("%d watches, %d deadlines, want %d", h.len(), len(h.due), n)
	}
	var events []RevocationEvent
	for i := 0; i < n; i += 4 {
		events = append(events, RevocationEvent{SID: fmt.Sprintf("sid-%d", i)})
	}
	events = append(events, RevocationEvent{User: "user-1", At: t0.Add(time.Second)})
	h.revoke(events)
	c.Set(t0.Add(12 * time.Minute))
	h.tick()
	for i := 3; i < n; i += 8 {
		cancels[i]()
	}
	cancelParent()
	eventually(t, 5*time.Second, "parent cancellations", func() bool { return h.len() == 0 })
	for i, ctx := range ctxs {
		cause := context.Cause(ctx)
		var want error
		switch i % 4 {
		case 0, 1:
			want = ErrRevoked
		case 2:
			want = ErrExpired
		case 3:
			want = context.Canceled
		}
		if !errors.Is(cause, want) {
			t.Fatalf("watch %d: cause %v, want %v", i, cause, want)
		}
	}
	if len(h.due) != 0 || len(h.all)+len(h.bySID)+len(h.byJTI)+len(h.bySub) != 0 {
		t.Errorf("left behind: %d deadlines, %d/%d/%d/%d index entries", len(h.due), len(h.all), len(h.bySID), len(h.byJTI), len(h.bySub))
	}
	for i := range cancels {
		cancels[i]() // idempotent, and harmless after the end
	}
	eventually(t, 5*time.Second, "goroutines back to the start", func() bool { return runtime.NumGoroutine() <= before })
}

// TestWatchFollowsTheFeed ends watches through a real subscription: a
// revocation that arrives on the stream after Watch, and one that the
// verifier had seen before Watch was called.
func TestWatchFollowsTheFeed(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, func(cfg *Config) { cfg.Revocations.PollInterval = 2 * time.Second })
	eventually(t, 5*time.Second, "stream open", func() bool { return v.sub.streaming.Load() })
	p, err := v.Verify(context.Background(), f.mint(f.claims(c.Now())))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := v.Watch(context.Background(), p)
	defer cancel()
	start := time.Now()
	f.revoke("sid", p.SessionID, t0, t0.Add(time.Hour))
	if err := waitDone(t, ctx, 5*time.Second); !errors.Is(err, ErrRevoked) {
		t.Fatalf("cause %v, want ErrRevoked", err)
	}
	t.Logf("watch ended %s after the revocation", time.Since(start))

	// A user-wide revocation ends a watch of another of the user's
	// sessions.
	cl := f.claims(c.Now())
	cl["sid"], cl["jti"] = "sid-2", "jti-2"
	p2, err := v.Verify(context.Background(), f.mint(cl))
	if err != nil {
		t.Fatal(err)
	}
	ctxUser, cancelUser := v.Watch(context.Background(), p2)
	defer cancelUser()
	f.revoke("user", p2.Subject, t0.Add(time.Second), t0.Add(time.Hour))
	if err := waitDone(t, ctxUser, 5*time.Second); !errors.Is(err, ErrRevoked) {
		t.Fatalf("user revocation: cause %v, want ErrRevoked", err)
	}

	// Revoked before Watch: ended at once.
	eventually(t, 5*time.Second, "events in the set", func() bool { return v.revs.Len() == 2 })
	ctx2, cancel2 := v.Watch(context.Background(), p)
	defer cancel2()
	if !errors.Is(context.Cause(ctx2), ErrRevoked) {
		t.Fatalf("already revoked: cause %v", context.Cause(ctx2))
	}
	if v.live.len() != 0 {
		t.Errorf("%d watches left", v.live.len())
	}
}

// TestWatchSessionThroughIssuer re-introspects a watched cookie session
// at the (fake) issuer.
func TestWatchSessionThroughIssuer(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	exp := t0.Add(30 * time.Minute)
	f.addSession(testCookie, "user-1", "sid-1", t0, exp)
	v := cookieVerifier(t, f, c, nil)
	v.live.noTimer = true
	p, err := v.VerifySession(context.Background(), testCookie)
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%+v", *p); strings.Contains(s, testCookie) {
		t.Fatalf("a printed Principal shows the cookie: %s", s)
	}
	ctx, cancel := v.Watch(context.Background(), p)
	defer cancel()
	// The issuer renews the session (as its introspection does).
	f.addSession(testCookie, "user-1", "sid-1", t0, exp.Add(time.Hour))
	c.Set(exp.Add(-time.Minute))
	v.live.tick()
	v.live.wg.Wait()
	if ctx.Err() != nil || f.introspections.Load() != 2 {
		t.Fatalf("after renewal: cause %v, %d introspections", context.Cause(ctx), f.introspections.Load())
	}
	// Past the old expiry: still live.
	c.Set(exp.Add(time.Minute))
	v.live.tick()
	if ctx.Err() != nil {
		t.Fatalf("past the old expiry: %v", context.Cause(ctx))
	}
	f.endSession(testCookie)
	c.Set(exp.Add(59 * time.Minute))
	v.live.tick()
	v.live.wg.Wait()
	if err := context.Cause(ctx); !errors.Is(err, ErrSessionInactive) {
		t.Fatalf("cause %v, want ErrSessionInactive", err)
	}
}

// TestWatchClose ends every watch when the Verifier closes, and refuses
// new ones.
func TestWatchClose(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, nil)
	ctx, cancel := v.Watch(context.Background(), tokenPrincipal("user-1", "sid-1", "jti-1", t0, t0.Add(time.Minute)))
	defer cancel()
	v.Close()
	if !errors.Is(context.Cause(ctx), ErrClosed) {
		t.Errorf("cause %v, want ErrClosed", context.Cause(ctx))
	}
	ctx2, cancel2 := v.Watch(context.Background(), tokenPrincipal("user-1", "sid-1", "jti-1", t0, t0.Add(time.Minute)))
	defer cancel2()
	if !errors.Is(context.Cause(ctx2), ErrClosed) || v.live.len() != 0 {
		t.Errorf("after Close: cause %v, %d watches", context.Cause(ctx2), v.live.len())
	}
	ctx3, cancel3 := v.Watch(context.Background(), nil)
	defer cancel3()
	if !errors.Is(context.Cause(ctx3), ErrNoCredentials) {
		t.Errorf("nil principal: cause %v", context.Cause(ctx3))
	}
}

// TestWatchParentAlreadyDone watches with a parent context that ended
// before Watch: nothing stays registered.
func TestWatchParentAlreadyDone(t *testing.T) {
	c := clocktest.New(t0)
	h := testHub(t, c)
	v := hubVerifier(h, c, 0)
	parent, cancelParent := context.WithCancelCause(context.Background())
	why := errors.New("client went away")
	cancelParent(why)
	for range 100 {
		ctx, cancel := v.Watch(parent, tokenPrincipal("user-1", "sid-1", "jti-1", t0, t0.Add(time.Minute)))
		if !errors.Is(context.Cause(ctx), why) {
			t.Fatalf("cause %v, want the parent's", context.Cause(ctx))
		}
		defer cancel()
	}
	eventually(t, 5*time.Second, "no watch left", func() bool { return h.len() == 0 })
}

// BenchmarkWatchRevoke measures one revocation event that ends one
// watch, among n open ones: the cost must not grow with n.
func BenchmarkWatchRevoke(b *testing.B) {
	for _, n := range []int{100, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := clocktest.New(t0)
			h := newLiveHub(c.Now, slog.New(slog.DiscardHandler))
			h.noTimer = true
			defer h.close()
			v := hubVerifier(h, c, 0)
			for i := range n {
				_, cancel := v.Watch(context.Background(), tokenPrincipal(fmt.Sprintf("user-%d", i), fmt.Sprintf("sid-%d", i), "", t0, t0.Add(time.Hour)))
				defer cancel()
			}
			p := tokenPrincipal("user-x", "sid-x", "", t0, t0.Add(time.Hour))
			ev := []RevocationEvent{{SID: "sid-x"}}
			for b.Loop() {
				ctx, cancel := v.Watch(context.Background(), p)
				h.revoke(ev)
				if ctx.Err() == nil {
					b.Fatal("not ended")
				}
				cancel()
			}
		})
	}
}
