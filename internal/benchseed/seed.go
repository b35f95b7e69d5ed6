// Package benchseed fills Gatehouse's stores with live cookie sessions and
// token grants for the growth benchmarks: a million sessions through the
// API would cost a million Argon2id logins (hours), while the stores' bulk
// inserts take seconds.
//
// The records are what the server itself writes (see package session and
// package token): a cookie session holds the SHA-256 of a random 32-byte
// secret, and Seed returns a uniform sample of those secrets, which are
// valid cookie values; a grant is a token record with one current refresh
// token. The program ghseed (cmd/ghseed) runs Seed against a server's
// database; it is not part of the server binary.
package benchseed

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// UserAgent is the User-Agent of the seeded records: a desktop browser's,
// so that a record is as large as a real one.
const UserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36"

// Options say what Seed adds.
type Options struct {
	// Cookies and Grants are how many cookie sessions and token grants to
	// add.
	Cookies, Grants int
	// Users is how many users the records are spread over, round robin.
	// They are found by email (seed-000000@bench.invalid, ...) or created,
	// so seeding the same database again reuses them. Default 100.
	Users int
	// GrantClient is the OAuth client id of the new token grants; empty
	// (the default) makes first-party grants, as a "mode": "token" login
	// does. The client need not exist: the stores do not check it.
	GrantClient string
	// Sample is how many of the new cookie sessions' secrets to return,
	// drawn uniformly without replacement; GrantSample likewise of the
	// new grants' refresh tokens.
	Sample, GrantSample int
	// FreshFor dates the records' last use this far in the future (their
	// idle expiry moves with it): the server then writes no touch when it
	// checks them within FreshFor of seeding, so that a check measures the
	// lookup alone. Zero dates last use at creation, as a login does.
	FreshFor time.Duration
	// IdleTimeout and Lifetime of cookie sessions; default the server's
	// (session.DefaultIdleTimeout and session.DefaultLifetime). Grants
	// take session.DefaultGrantIdleTimeout and DefaultGrantLifetime.
	IdleTimeout, Lifetime time.Duration
	// Batch and Workers override the backend's records per bulk call and
	// bulk calls at once.
	Batch, Workers int
	// Measure reads the stores' usage before and after (see Usage).
	Measure bool
}

// Result is what Seed did.
type Result struct {
	Backend string `json:"backend"`
	Users   int    `json:"users"`
	Cookies int    `json:"cookies"`
	Grants  int    `json:"grants"`
	// Took is the time the inserts took (not the users, nor measuring).
	Took time.Duration `json:"took_ns"`
	// Sample holds cookie secrets of new sessions, in random order;
	// GrantSample refresh tokens of new grants.
	Sample      []string `json:"-"`
	GrantSample []string `json:"-"`
	// Before and After are the usage around the inserts, with
	// Options.Measure.
	Before *Usage `json:"before,omitempty"`
	After  *Usage `json:"after,omitempty"`
}

// Seed adds o.Cookies cookie sessions and o.Grants token grants to st.
func Seed(ctx context.Context, st *Stores, o Options) (Result, error) {
	res := Result{Backend: st.Backend}
	if o.Cookies < 0 || o.Grants < 0 || o.Sample < 0 || o.GrantSample < 0 {
		return res, errors.New("benchseed: negative count")
	}
	if o.Sample > o.Cookies || o.GrantSample > o.Grants {
		return res, fmt.Errorf("benchseed: a sample of %d cookies and %d grants out of %d and %d", o.Sample, o.GrantSample, o.Cookies, o.Grants)
	}
	if o.Users <= 0 {
		o.Users = 100
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = session.DefaultIdleTimeout
	}
	if o.Lifetime <= 0 {
		o.Lifetime = session.DefaultLifetime
	}
	if o.Batch <= 0 {
		o.Batch = st.Batch
	}
	if o.Workers <= 0 {
		o.Workers = st.Workers
	}
	users, err := ensureUsers(ctx, st.Users, o.Users)
	if err != nil {
		return res, err
	}
	res.Users = len(users)
	if o.Measure {
		u, err := st.Measure(ctx)
		if err != nil {
			return res, err
		}
		res.Before = &u
	}
	t0 := time.Now()
	g := &generator{users: users, o: o}
	g.router, _ = st.Sessions.(session.Router)
	res.Sample, err = g.run(ctx, o.Cookies, o.Sample, store.KindCookie, o.Batch, o.Workers, func(ctx context.Context, b batch) error {
		return st.Sessions.CreateSessions(ctx, b.sessions)
	})
	if err != nil {
		return res, err
	}
	res.Cookies = o.Cookies
	res.GrantSample, err = g.run(ctx, o.Grants, o.GrantSample, store.KindToken, o.Batch, o.Workers, func(ctx context.Context, b batch) error {
		if err := st.Sessions.CreateSessions(ctx, b.sessions); err != nil {
			return err
		}
		return st.Refresh.CreateRefreshTokens(ctx, b.refresh)
	})
	if err != nil {
		return res, err
	}
	res.Grants = o.Grants
	res.Took = time.Since(t0)
	if err := st.Settle(ctx); err != nil {
		return res, err
	}
	if o.Measure {
		u, err := st.Measure(ctx)
		if err != nil {
			return res, err
		}
		res.After = &u
	}
	return res, nil
}

// UserEmail is the email of the i-th seeded user.
func UserEmail(i int) string { return fmt.Sprintf("seed-%06d@bench.invalid", i) }

// ensureUsers finds or creates the n seeded users and returns their ids.
// They share one Argon2id hash of a random password: nobody logs in as
// them.
func ensureUsers(ctx context.Context, us store.UserStore, n int) ([]string, error) {
	ids := make([]string, n)
	var hash string
	for i := range n {
		u, err := us.GetUserByEmail(ctx, UserEmail(i))
		if err == nil {
			ids[i] = u.ID
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("benchseed: find user: %w", err)
		}
		if hash == "" {
			h, err := password.NewHasher(password.Config{})
			if err != nil {
				return nil, err
			}
			if hash, err = h.Hash(ctx, randomString(32)); err != nil {
				return nil, fmt.Errorf("benchseed: hash: %w", err)
			}
		}
		now := time.Now().UTC().Truncate(time.Millisecond)
		u = store.User{ID: randomHex(16), Email: UserEmail(i), PasswordHash: hash, Claims: map[string]any{}, CreatedAt: now, UpdatedAt: now}
		if err := us.CreateUser(ctx, u); err != nil {
			return nil, fmt.Errorf("benchseed: create user: %w", err)
		}
		ids[i] = u.ID
	}
	return ids, nil
}

// batch is one bulk call's records.
type batch struct {
	sessions []store.Session
	refresh  []store.RefreshToken
}

// generator makes records as the server would.
type generator struct {
	users []string
	o     Options
	next  int // round-robin position in users
	// router is the session store as a session.Router, or nil: records
	// then get routed ids and cookie values, as session.Manager makes them.
	router session.Router
}

// run makes n records of kind in batches of size, hands them to insert
// from workers goroutines, and returns the secrets (cookie sessions) or
// refresh tokens (grants) of sample of them, chosen uniformly.
func (g *generator) run(ctx context.Context, n, sample int, kind store.SessionKind, size, workers int, insert func(context.Context, batch) error) ([]string, error) {
	if n == 0 {
		return []string{}, nil
	}
	pick := SampleIndexes(n, sample)
	picked := make([]string, 0, sample)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan batch, workers)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	fail := func(err error) {
		once.Do(func() { first = err; cancel() })
	}
	for range workers {
		wg.Go(func() {
			for b := range batches {
				if err := insert(ctx, b); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	func() {
		defer close(batches)
		for start := 0; start < n; start += size {
			m := min(size, n-start)
			b := batch{sessions: make([]store.Session, m)}
			if kind == store.KindToken {
				b.refresh = make([]store.RefreshToken, m)
			}
			now := time.Now().UTC().Truncate(time.Millisecond)
			for i := range m {
				secret := g.record(&b, i, kind, now)
				if pick[start+i] {
					picked = append(picked, secret)
				}
			}
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	if first != nil {
		return nil, fmt.Errorf("benchseed: insert: %w", first)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mrand.Shuffle(len(picked), func(i, j int) { picked[i], picked[j] = picked[j], picked[i] })
	return picked, nil
}

// record fills b's i-th record of kind, created at now, and returns its
// cookie secret or refresh token.
func (g *generator) record(b *batch, i int, kind store.SessionKind, now time.Time) string {
	idle, life := g.o.IdleTimeout, g.o.Lifetime
	if kind == store.KindToken {
		idle, life = session.DefaultGrantIdleTimeout, session.DefaultGrantLifetime
	}
	seen := now.Add(g.o.FreshFor)
	id, route := randomHex(16), ""
	if g.router != nil {
		route = g.router.SessionRoute(g.users[g.next]) + "."
		id = route + id
	}
	s := store.Session{
		ID:         id,
		Kind:       kind,
		UserID:     g.users[g.next],
		CreatedAt:  now,
		LastSeenAt: seen,
		ExpiresAt:  now.Add(life),
		UserAgent:  UserAgent,
		IP:         fmt.Sprintf("198.51.100.%d", g.next%250+1),
		Data:       []byte("{}"),
	}
	g.next = (g.next + 1) % len(g.users)
	s.IdleExpiresAt = seen.Add(idle)
	if s.IdleExpiresAt.After(s.ExpiresAt) {
		s.IdleExpiresAt = s.ExpiresAt
	}
	var secret string
	if kind == store.KindCookie {
		secret = route + randomString(32)
		h := session.HashSecret(secret)
		s.SecretHash = h[:]
	} else {
		// As package token issues them: "ghr_" and 32 random bytes, stored
		// as their SHA-256, expiring with the grant's idle timeout.
		s.ClientID = g.o.GrantClient
		secret = "ghr_" + randomString(32)
		h := sha256.Sum256([]byte(secret))
		b.refresh[i] = store.RefreshToken{Hash: h[:], SessionID: s.ID, CreatedAt: now, ExpiresAt: s.IdleExpiresAt}
	}
	b.sessions[i] = s
	return secret
}

// SampleIndexes returns k distinct indexes of [0, n) chosen uniformly
// (Floyd's algorithm), as a set.
func SampleIndexes(n, k int) map[int]bool {
	set := make(map[int]bool, k)
	for j := n - k; j < n; j++ {
		t := mrand.IntN(j + 1)
		if set[t] {
			set[j] = true
		} else {
			set[t] = true
		}
	}
	return set
}

// randomString returns n random bytes in unpadded base64url, the form of
// a cookie secret for n = 32.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// randomHex returns n random bytes in hex, the form of record and user ids.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
