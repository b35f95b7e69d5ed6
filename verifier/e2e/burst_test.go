package e2e_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/benchseed"
	"github.com/gatehouse-auth/gatehouse/internal/race"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/redisstore/redistest"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
	"github.com/gatehouse-auth/gatehouse/internal/token"
	"github.com/gatehouse-auth/gatehouse/verifier"
)

// burst is how many grants of one user one call revokes.
const burst = 10_000

// burstBound is the delay the docs give for a burst of that size, from
// the revoking call to every token refused by a verifier in stream mode,
// as the docs give it. The tests log the delay they measure and fail
// above burstCeiling, which leaves room for a loaded CI machine: on a
// shared 2-core machine the single-instance case measured 1.2-1.3s (most
// of it reading and inserting 10,000 rows with SQLite) and the
// three-instance case 2.6s alone, 5.2s next to other test packages. The
// property they enforce exactly is that no event is lost: the verifier
// polls only once an hour, so a lost event is never made up. The race
// detector slows this path about twentyfold (10,000 revocations and their
// 10,000 audit events in one transaction: 0.5s plain, 10-15s with -race
// on an idle 2-core machine), so its builds get three times the room.
const burstBound = time.Second

var burstCeiling = 20 * burstBound * raceSlowdown()

// raceSlowdown scales the burst tests' ceiling: 3 in builds with the
// race detector, which slows the server's hot loops many times over.
func raceSlowdown() time.Duration {
	if race.Enabled {
		return 3
	}
	return 1
}

// grants are token grants seeded straight into a store, with an access
// token each: logging in 10,000 times would cost 10,000 password hashes.
type grants struct {
	sids   []string
	tokens map[string]string // sid → access token
}

// seedGrants stores n token grants of userID through target's bulk insert
// and mints an access token for each with srv's keys.
func seedGrants(t *testing.T, srv *apptest.Server, target benchseed.Target, userID string, n int) grants {
	t.Helper()
	st, err := benchseed.Open(t.Context(), target)
	if err != nil {
		t.Fatalf("benchseed.Open: %v", err)
	}
	defer st.Close()
	now := srv.Clock.Now().UTC().Truncate(time.Millisecond)
	// A routing store (Redis) keeps a user's records under the user's
	// route, which prefixes their ids, as session.Manager makes them.
	route := ""
	if r, ok := st.Sessions.(session.Router); ok {
		route = r.SessionRoute(userID) + "."
	}
	g := grants{tokens: make(map[string]string, n)}
	batch := make([]store.Session, 0, 1000)
	for i := range n {
		var b [16]byte
		_, _ = rand.Read(b[:])
		s := store.Session{
			ID: route + hex.EncodeToString(b[:]), Kind: store.KindToken, UserID: userID,
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(session.DefaultGrantLifetime),
			IdleExpiresAt: now.Add(session.DefaultGrantIdleTimeout), Data: []byte("{}"),
		}
		batch = append(batch, s)
		if len(batch) == cap(batch) || i == n-1 {
			if err := st.Sessions.CreateSessions(t.Context(), batch); err != nil {
				t.Fatalf("CreateSessions: %v", err)
			}
			batch = batch[:0]
		}
		tok, _, err := srv.App.Tokens.Mint(token.MintSpec{Subject: userID, SessionID: s.ID})
		if err != nil {
			t.Fatal(err)
		}
		g.sids = append(g.sids, s.ID)
		g.tokens[s.ID] = tok
	}
	return g
}

// streamEvent is one event of the raw revocation stream.
type streamEvent struct {
	Cursor int64  `json:"cursor"`
	Prev   int64  `json:"prev"`
	SID    string `json:"sid"`
	User   string `json:"user"`
	JTI    string `json:"jti"`
}

// rawStream reads /v1/revocations/stream of base from cursor 0 as any
// client would, checking that each event follows the one before it
// ("prev" is the previous cursor, and cursors increase).
type rawStream struct {
	mu     sync.Mutex
	events []streamEvent
	err    error
	more   chan struct{} // signalled on every event
}

func openRawStream(t *testing.T, base string) *rawStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/revocations/stream?since=0", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("stream answered %d", resp.StatusCode)
	}
	rs := &rawStream{more: make(chan struct{}, 1)}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var last int64
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var e streamEvent
			err := json.Unmarshal([]byte(data), &e)
			if err == nil && (e.Prev != last || e.Cursor <= last) {
				err = fmt.Errorf("event %+v after cursor %d: a gap or a repeat", e, last)
			}
			rs.mu.Lock()
			if err != nil && rs.err == nil {
				rs.err = err
			}
			rs.events = append(rs.events, e)
			rs.mu.Unlock()
			last = e.Cursor
			select {
			case rs.more <- struct{}{}:
			default:
			}
		}
	}()
	return rs
}

// waitFor waits until the stream has delivered n events, or fails t after
// bound.
func (rs *rawStream) waitFor(t *testing.T, n int, bound time.Duration) []streamEvent {
	t.Helper()
	deadline := time.After(bound)
	for {
		rs.mu.Lock()
		evs, err := rs.events, rs.err
		rs.mu.Unlock()
		if err != nil {
			t.Fatalf("revocation stream: %v", err)
		}
		if len(evs) >= n {
			return evs
		}
		select {
		case <-rs.more:
		case <-deadline:
			t.Fatalf("the stream delivered %d events within %s, want %d", len(evs), bound, n)
		}
	}
}

// checkBurst checks that the stream delivered the revocation of every
// grant exactly once, and that the verifier refuses every token.
func checkBurst(t *testing.T, v *verifier.Verifier, evs []streamEvent, all ...grants) {
	t.Helper()
	seen := map[string]int{}
	for _, e := range evs {
		if e.SID != "" {
			seen[e.SID]++
		}
	}
	missing, refusedNot := 0, 0
	for _, g := range all {
		for _, sid := range g.sids {
			if seen[sid] != 1 {
				missing++
			}
			if _, err := v.Verify(context.Background(), g.tokens[sid]); !errors.Is(err, verifier.ErrRevoked) {
				refusedNot++
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d revoked grants are not in the stream exactly once", missing)
	}
	if refusedNot > 0 {
		t.Errorf("the verifier still accepts %d tokens of revoked grants", refusedNot)
	}
}

// waitLastRefused waits until v refuses the token of the last grant the
// stream delivered and returns when, relative to start. The verifier
// applies stream events in order and reads the feed at any gap, so the
// last one refused means every earlier one is too (checkBurst then checks
// them all).
func waitLastRefused(t *testing.T, v *verifier.Verifier, start time.Time, evs []streamEvent, all ...grants) time.Duration {
	t.Helper()
	var tok string
	for i := len(evs) - 1; i >= 0 && tok == ""; i-- {
		for _, g := range all {
			if tk, ok := g.tokens[evs[i].SID]; ok {
				tok = tk
				break
			}
		}
	}
	if tok == "" {
		t.Fatal("no seeded grant in the stream")
	}
	for {
		_, err := v.Verify(context.Background(), tok)
		if errors.Is(err, verifier.ErrRevoked) {
			return time.Since(start)
		}
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if time.Since(start) > burstCeiling {
			t.Fatalf("the verifier still accepts the last token %s after the revocation", time.Since(start))
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBurstRevocationReachesVerifier revokes 10,000 grants of one user in
// one call (DELETE /v1/sessions: every grant but the current one, one
// "sid" event each) through a real server, with a verifier in stream mode
// that can only learn of them through the stream (its poll interval is an
// hour). Every event must arrive exactly once and in order, and every
// token must be refused within burstBound. The old server dropped what did
// not fit a 256-event buffer, and the old verifier skipped past it.
func TestBurstRevocationReachesVerifier(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	cur, _ := tokenLogin(t, srv, u)
	g := seedGrants(t, srv, benchseed.Target{DB: srv.App.DatabasePath}, u.ID, burst)
	v := newVerifier(t, srv, func(c *verifier.Config) {
		c.Revocations = verifier.RevocationConfig{Mode: verifier.RevocationStream, PollInterval: time.Hour}
	})
	rs := openRawStream(t, srv.URL)
	if _, err := v.Verify(context.Background(), g.tokens[g.sids[0]]); err != nil {
		t.Fatalf("a seeded grant's token before the revocation: %v", err)
	}
	start := time.Now()
	var acked time.Duration
	ackErr := make(chan error, 1)
	go func() {
		err := revokeOthers(srv, cur)
		acked = time.Since(start)
		ackErr <- err
	}()
	evs := rs.waitFor(t, burst, burstCeiling)
	took := waitLastRefused(t, v, start, evs, g)
	if err := <-ackErr; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d revocations in one call: all refused by the verifier after %s (bound %s); the call answered after %s",
		burst, took.Round(time.Millisecond), burstBound, acked.Round(time.Millisecond))
	if took > burstCeiling {
		t.Errorf("the last token was refused %s after the call, want within %s", took, burstCeiling)
	}
	checkBurst(t, v, evs, g)
	if len(evs) != burst {
		t.Errorf("the stream delivered %d events, want %d", len(evs), burst)
	}
	if _, err := v.Verify(context.Background(), cur); err != nil {
		t.Errorf("the current grant, which DELETE /v1/sessions keeps: %v", err)
	}
}

// revokeOthers calls DELETE /v1/sessions on srv with a bearer token: every
// grant of its user but the token's own is revoked.
func revokeOthers(srv *apptest.Server, bearer string) error {
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/v1/sessions", nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		return fmt.Errorf("DELETE /v1/sessions on %s answered %d", srv.URL, res.StatusCode)
	}
	return nil
}

// redisSessionsURL returns the test Redis URL with a key prefix of the
// test's own, deleted when the test ends.
func redisSessionsURL(t *testing.T) string {
	t.Helper()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	u, err := url.Parse(redistest.URL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("key_prefix", prefix)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestBurstRevocationAcrossInstances is TestBurstRevocationReachesVerifier
// on three instances sharing PostgreSQL (revocation log) and Redis
// (sessions): 10,000 grants of one user revoked through instance A while
// 2,000 of another user are revoked through instance B, and a verifier
// following instance C's stream. C publishes the events of both in one
// order without holes, whichever instance appended them.
func TestBurstRevocationAcrossInstances(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	sessionsURL := redisSessionsURL(t)
	args := []string{"--db", dbURL, "--sessions", sessionsURL}
	a := apptest.Start(t, apptest.Options{Args: args})
	// One issuer (A's URL), and the data dir holding the key-encryption
	// key and admin token.
	shared := append(args, "--data-dir", a.DataDir, "--issuer", a.URL)
	b := apptest.Start(t, apptest.Options{Args: shared, Clock: a.Clock})
	c := apptest.Start(t, apptest.Options{Args: shared, Clock: a.Clock})
	// apptest serves HTTP only; run each instance's revocation log as
	// Serve does, so that it learns of the others' events.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { stop(); wg.Wait() })
	for _, srv := range []*apptest.Server{a, b, c} {
		wg.Go(func() { srv.App.Revocations.Run(ctx, srv.App.Config.RevocationPollInterval) })
	}

	target := benchseed.Target{DB: dbURL, Sessions: sessionsURL}
	u1, u2 := a.NewUser(t), a.NewUser(t)
	cur1, _ := tokenLogin(t, a, u1)
	cur2, _ := tokenLogin(t, b, u2)
	g1 := seedGrants(t, a, target, u1.ID, burst)
	g2 := seedGrants(t, b, target, u2.ID, burst/5)
	v := newVerifier(t, a, func(cfg *verifier.Config) {
		cfg.JWKSURL = c.URL + "/.well-known/jwks.json"
		cfg.Revocations = verifier.RevocationConfig{Mode: verifier.RevocationStream, PollInterval: time.Hour,
			FeedURL: c.URL + "/v1/revocations", StreamURL: c.URL + "/v1/revocations/stream"}
	})
	rs := openRawStream(t, c.URL)

	start := time.Now()
	errs := make([]error, 2)
	var calls sync.WaitGroup
	calls.Go(func() { errs[0] = revokeOthers(a, cur1) })
	calls.Go(func() { errs[1] = revokeOthers(b, cur2) })
	total := len(g1.sids) + len(g2.sids)
	evs := rs.waitFor(t, total, burstCeiling)
	took := waitLastRefused(t, v, start, evs, g1, g2)
	calls.Wait()
	acked := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d revocations on two instances at once: all refused by a verifier of a third after %s (bound %s); both calls answered after %s",
		total, took.Round(time.Millisecond), burstBound, acked.Round(time.Millisecond))
	if took > burstCeiling {
		t.Errorf("the last token was refused %s after the calls, want within %s", took, burstCeiling)
	}
	checkBurst(t, v, evs, g1, g2)
	if len(evs) != total {
		t.Errorf("the stream delivered %d events, want %d", len(evs), total)
	}
}
