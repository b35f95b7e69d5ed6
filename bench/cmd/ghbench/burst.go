package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse/verifier"
)

// BurstConfig says how the burst-revocation section runs.
type BurstConfig struct {
	Grants  int           // grants of one user revoked by one call
	Workers int           // concurrent refreshes that turn grants into access tokens
	Cap     time.Duration // how long to wait for every token to be refused
}

// BurstResult is one backend's burst revocation: one DELETE /v1/sessions
// revoking Grants grants, and for each grant's access token the time until
// a verifier in stream mode refuses it.
type BurstResult struct {
	Backend string
	Grants  int           // revoked by the call (the seeded grants but the caller's own)
	Call    time.Duration // the call's own duration, from sending to its answer
	// FromStart and FromAnswer are the per-token delays until the
	// verifier refused the token, from sending the call and from its
	// answer (negative when the token was refused before the call
	// answered).
	FromStart, FromAnswer Summary
	Never                 int // tokens still accepted after Cap
	Note                  string
}

// burstBackend is one fresh backend the burst runs on.
type burstBackend struct {
	name    string
	backend Backend
	seedDB  func(srv *Server) string // the seeder's -db
	cleanup func()
}

// burst runs the burst-revocation section on SQLite and, when they
// answer, PostgreSQL and PostgreSQL + Redis, each on a fresh server.
func burst(ctx context.Context, rep *Report, bin, seeder, work string, svc *Services, cfg BurstConfig) {
	rep.BurstOf = cfg
	bs := []burstBackend{{name: "sqlite", backend: Backend{Name: "burst-sqlite", Sessions: "db"},
		seedDB: func(srv *Server) string { return filepath.Join(srv.DataDir, "gatehouse.db") }}}
	if svc.PostgresURL != "" {
		if u, err := svc.NewDatabase(ctx, "burstpg"); err != nil {
			rep.Burst = append(rep.Burst, BurstResult{Backend: "postgres", Note: "not run: " + firstLine(err)})
		} else {
			bs = append(bs, burstBackend{name: "postgres", backend: Backend{Name: "burst-postgres", DB: u, Sessions: "db"},
				seedDB: func(*Server) string { return u }, cleanup: func() { svc.DropDatabase(context.Background(), u) }})
		}
	} else {
		rep.Burst = append(rep.Burst, BurstResult{Backend: "postgres", Note: "not run: " + svc.PostgresSkip})
	}
	if svc.RedisURL != "" && svc.PostgresURL != "" {
		u, err1 := svc.NewDatabase(ctx, "burstredis")
		r, err2 := svc.NewRedisURL("burst")
		if err := cmp.Or(err1, err2); err != nil {
			rep.Burst = append(rep.Burst, BurstResult{Backend: "redis", Note: "not run: " + firstLine(err)})
		} else {
			bs = append(bs, burstBackend{name: "redis", backend: Backend{Name: "burst-redis", DB: u, Sessions: r},
				seedDB:  func(*Server) string { return u },
				cleanup: func() { svc.DeleteRedisPrefix(context.Background(), r); svc.DropDatabase(context.Background(), u) }})
		}
	} else {
		rep.Burst = append(rep.Burst, BurstResult{Backend: "redis", Note: "not run: " + cmp.Or(svc.RedisSkip, svc.PostgresSkip)})
	}
	for _, b := range bs {
		if ctx.Err() != nil {
			return
		}
		logf("burst revocation on %s: %d grants", b.name, cfg.Grants)
		r := burstOne(ctx, bin, seeder, work, b, cfg)
		logf("  call %s ms; refused after the call's start p50 %s p99 %s max %s ms, after its answer p99 %s ms; never refused %d %s",
			ms(r.Call), ms(r.FromStart.P50), ms(r.FromStart.P99), ms(r.FromStart.Max), ms(r.FromAnswer.P99), r.Never, r.Note)
		rep.Burst = append(rep.Burst, r)
		if b.cleanup != nil {
			b.cleanup()
		}
	}
	for _, r := range rep.Burst {
		if r.Note != "" && r.FromStart.N == 0 {
			continue
		}
		rep.Targets = append(rep.Targets, BurstTarget(r))
	}
}

// BurstTarget is the target that every token of a burst of revocations is
// refused by a verifier in stream mode within 1 s of the call, at p99.
func BurstTarget(r BurstResult) Target {
	t := Target{Name: fmt.Sprintf("burst of %s revocations reaches a stream verifier (%s)", thousands(r.Grants), r.Backend),
		Bound: "≤ 1000 ms at p99 from the call's start, none missed", Verdict: "not measured"}
	if r.FromStart.N == 0 {
		return t
	}
	t.Measured = fmt.Sprintf("p99 %s ms, max %s ms (call %s ms)", ms(r.FromStart.P99), ms(r.FromStart.Max), ms(r.Call))
	if r.Never > 0 {
		t.Measured += fmt.Sprintf(", %d never refused", r.Never)
	}
	t.Verdict = metIf(r.FromStart.P99 <= time.Second && r.Never == 0)
	return t
}

// burstOne seeds cfg.Grants+1 token grants of one user with ghseed,
// exchanges each grant's refresh token for an access token, watches every
// access token with a verifier in stream mode (polling once an hour, so
// only the stream can tell it), and revokes all but one grant with one
// DELETE /v1/sessions carrying the remaining grant's token.
func burstOne(ctx context.Context, bin, seeder, work string, b burstBackend, cfg BurstConfig) BurstResult {
	res := BurstResult{Backend: b.name, Grants: cfg.Grants}
	srv, err := StartServer(bin, work, b.backend)
	if err != nil {
		res.Note = "server did not start: " + firstLine(err)
		return res
	}
	defer func() {
		srv.Stop()
		os.RemoveAll(srv.DataDir)
	}()
	sample := filepath.Join(work, "burst-"+b.name+".txt")
	n := cfg.Grants + 1
	t0 := time.Now()
	if _, err := runSeeder(ctx, seeder, "-db", b.seedDB(srv), "-sessions", b.backend.Sessions, "-users", "1",
		"-grants", fmt.Sprint(n), "-grant-sample", fmt.Sprint(n), "-grant-sample-out", sample); err != nil {
		res.Note = "seeding failed: " + firstLine(err)
		return res
	}
	raw, err := os.ReadFile(sample)
	if err != nil {
		res.Note = err.Error()
		return res
	}
	refresh := strings.Fields(string(raw))
	if len(refresh) != n {
		res.Note = fmt.Sprintf("ghseed wrote %d refresh tokens, want %d", len(refresh), n)
		return res
	}
	t1 := time.Now()
	tokens, err := refreshAll(ctx, srv, refresh, cfg.Workers)
	if err != nil {
		res.Note = "refresh: " + firstLine(err)
		return res
	}
	logf("  seeded %d grants in %v, refreshed them in %v", n, t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	bearer, tokens := tokens[0], tokens[1:]

	claims, err := tokenPayload(bearer)
	if err != nil {
		res.Note = err.Error()
		return res
	}
	aud, _ := claims["aud"].(string)
	if list, ok := claims["aud"].([]any); ok && len(list) > 0 {
		aud, _ = list[0].(string)
	}
	v, err := verifier.New(ctx, verifier.Config{Issuer: srv.URL, Audience: aud,
		Revocations: verifier.RevocationConfig{Mode: verifier.RevocationStream, PollInterval: time.Hour}})
	if err != nil {
		res.Note = "verifier.New: " + firstLine(err)
		return res
	}
	defer v.Close()

	// Each token's watch ends right after its revocation is in the
	// verifier's set (the set calls the watches once the events are in),
	// so the time it ends is when Verify starts refusing the token, to
	// within microseconds; Verify checks every token at the end.
	var start time.Time
	started := make(chan struct{})
	refusedAt := make([]atomic.Int64, len(tokens)) // ns after start
	var left atomic.Int64
	left.Store(int64(len(tokens)))
	all := make(chan struct{})
	wctx, stopWatches := context.WithCancel(ctx)
	defer stopWatches()
	for i, tok := range tokens {
		p, err := v.Verify(ctx, tok)
		if err != nil {
			res.Note = "a fresh token refused: " + firstLine(err)
			return res
		}
		c, cancel := v.Watch(wctx, p)
		defer cancel()
		context.AfterFunc(c, func() {
			if !errors.Is(context.Cause(c), verifier.ErrRevoked) {
				return
			}
			<-started
			refusedAt[i].Store(int64(time.Since(start)))
			if left.Add(-1) == 0 {
				close(all)
			}
		})
	}

	client := newClient(1)
	start = time.Now()
	close(started)
	st, body, _, err := do(client, http.MethodDelete, srv.URL+"/v1/sessions", "", map[string]string{"Authorization": "Bearer " + bearer})
	res.Call = time.Since(start)
	if err != nil || st != http.StatusNoContent {
		res.Note = fmt.Sprintf("DELETE /v1/sessions: %d %s %v", st, body, err)
		return res
	}
	select {
	case <-all:
	case <-time.After(cfg.Cap):
	case <-ctx.Done():
		return res
	}
	stopWatches()
	var fromStart, fromAnswer []time.Duration
	for i, tok := range tokens {
		if _, err := v.Verify(ctx, tok); !errors.Is(err, verifier.ErrRevoked) {
			res.Never++
			continue
		}
		d := time.Duration(refusedAt[i].Load())
		if d == 0 || d > cfg.Cap {
			// Refused by Verify, but its watch did not fire within the
			// cap: count it at the cap, as a lower bound.
			d = cfg.Cap
		}
		fromStart = append(fromStart, d)
		fromAnswer = append(fromAnswer, d-res.Call)
	}
	res.FromStart, res.FromAnswer = Summarize(fromStart), Summarize(fromAnswer)
	if _, err := v.Verify(ctx, bearer); err != nil {
		res.Note = "the caller's own grant, which DELETE /v1/sessions keeps, was refused: " + firstLine(err)
	}
	return res
}

// refreshAll exchanges each refresh token for an access token at the
// token endpoint (grant_type=refresh_token, no client: first-party
// grants), with workers requests at a time, and returns the access tokens
// in the same order.
func refreshAll(ctx context.Context, srv *Server, refresh []string, workers int) ([]string, error) {
	out := make([]string, len(refresh))
	client := newClient(workers)
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(refresh) || ctx.Err() != nil {
					return
				}
				form := "grant_type=refresh_token&refresh_token=" + url.QueryEscape(refresh[i])
				st, b, _, err := do(client, http.MethodPost, srv.URL+"/oauth2/token", form, nil)
				tok := ""
				if err == nil && st == http.StatusOK {
					tok = jsonField(b, "access_token")
				}
				if tok == "" {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("refresh %d: %d %s %v", i, st, b, err)
					}
					mu.Unlock()
					return
				}
				out[i] = tok
			}
		})
	}
	wg.Wait()
	return out, cmp.Or(first, ctx.Err())
}
