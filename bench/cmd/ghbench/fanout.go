package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse/verifier"
)

// FanoutConfig says how the fan-out section runs.
type FanoutConfig struct {
	Streams int           // raw SSE subscribers of GET /v1/revocations/stream on one server
	Singles int           // single revocations, one after the other, Spacing apart
	Spacing time.Duration // pause between single revocations
	Burst   int           // grants revoked by one DELETE /v1/sessions while Streams listen
	Batch   int           // rate: events stored by one DELETE /v1/sessions
	Each    int           // rate: single-session DELETEs, Workers at a time
	Workers int
	Cap     time.Duration // how long to wait for every subscriber to get every event
}

// fanoutServerFlags raise the server's stream limits (default 1000 in all
// and 10 per client address) so that every subscriber, all on loopback,
// is let in.
var fanoutServerFlags = []string{"--max-streams", "4000", "--max-streams-per-client", "4000"}

// sseEvent is one event a subscriber read, with when it read it.
type sseEvent struct {
	ID  int64
	SID string
	At  time.Time
}

// readSSE reads Server-Sent Events from r and calls fn with each event's
// id and data once its blank line ends it; comments and other fields are
// skipped. It returns r's error (nil at EOF).
func readSSE(r io.Reader, fn func(id int64, data string)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var id int64
	var data strings.Builder
	has := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if has {
				fn(id, data.String())
			}
			data.Reset()
			has = false
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id:"):
			id, _ = strconv.ParseInt(strings.TrimSpace(line[3:]), 10, 64)
		case strings.HasPrefix(line, "data:"):
			if has {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(line[5:], " "))
			has = true
		}
	}
	return sc.Err()
}

// perSecond is n events over d, or 0 for no time.
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// subscriber is one raw SSE reader of the revocation stream.
type subscriber struct {
	mu     sync.Mutex
	events []sseEvent
}

func (s *subscriber) snapshot() []sseEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sseEvent(nil), s.events...)
}

// openStreams connects n subscribers to srv's stream (since=0 would replay
// the log: they start from since, the current cursor) and returns once all
// have their answer's headers; total counts the events all of them read.
func openStreams(ctx context.Context, srv *Server, n int, since int64, total *atomic.Int64) ([]*subscriber, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: -1, DisableCompression: true}
	client := &http.Client{Transport: tr}
	subs := make([]*subscriber, n)
	errc := make(chan error, n)
	for i := range subs {
		s := &subscriber{}
		subs[i] = s
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/v1/revocations/stream?since=%d", srv.URL, since), nil)
			res, err := client.Do(req)
			if err == nil && res.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				err = fmt.Errorf("stream: %d %s", res.StatusCode, b)
			}
			errc <- err
			if err != nil {
				return
			}
			defer res.Body.Close()
			_ = readSSE(res.Body, func(id int64, data string) {
				e := sseEvent{ID: id, SID: jsonField([]byte(data), "sid"), At: time.Now()}
				s.mu.Lock()
				s.events = append(s.events, e)
				s.mu.Unlock()
				total.Add(1)
			})
		}()
	}
	var first error
	for range n {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return subs, first
}

// waitCount waits until c reaches want, the cap passes or ctx ends.
func waitCount(ctx context.Context, c *atomic.Int64, want int64, capd time.Duration) bool {
	deadline := time.Now().Add(capd)
	for c.Load() < want {
		if ctx.Err() != nil || time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// currentCursor returns the revocation log's newest cursor.
func currentCursor(srv *Server) (int64, error) {
	var cur int64
	for {
		st, b, _, err := do(http.DefaultClient, http.MethodGet, fmt.Sprintf("%s/v1/revocations?since=%d", srv.URL, cur), "", nil)
		if err != nil || st != http.StatusOK {
			return 0, fmt.Errorf("GET /v1/revocations: %d %s %v", st, b, err)
		}
		_, after, _ := strings.Cut(string(b), `"cursor":`)
		end := strings.IndexAny(after, ",}")
		if end < 0 {
			return 0, fmt.Errorf("GET /v1/revocations answered %s", b)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(after[:end]), 10, 64)
		if err != nil {
			return 0, err
		}
		if !strings.Contains(string(b), `"more":true`) {
			return n, nil
		}
		cur = n
	}
}

// seedGrants seeds one user with n grants on a fresh server, refreshes
// the first refreshN of them, and returns their access tokens.
func seedGrants(ctx context.Context, srv *Server, seeder, work, name, seedDB, sessions string, n, refreshN, workers int) ([]string, error) {
	sample := filepath.Join(work, "fanout-"+name+".txt")
	if _, err := runSeeder(ctx, seeder, "-db", seedDB, "-sessions", sessions, "-users", "1",
		"-grants", fmt.Sprint(n), "-grant-sample", fmt.Sprint(refreshN), "-grant-sample-out", sample); err != nil {
		return nil, fmt.Errorf("seeding: %w", err)
	}
	raw, err := os.ReadFile(sample)
	if err != nil {
		return nil, err
	}
	refresh := strings.Fields(string(raw))
	if len(refresh) != refreshN {
		return nil, fmt.Errorf("ghseed wrote %d refresh tokens, want %d", len(refresh), refreshN)
	}
	return refreshAll(ctx, srv, refresh, workers)
}

func tokenSID(tok string) (string, error) {
	c, err := tokenPayload(tok)
	if err != nil {
		return "", err
	}
	sid, _ := c["sid"].(string)
	if sid == "" {
		return "", errors.New("access token without sid")
	}
	return sid, nil
}

func revokeOne(client *http.Client, srv *Server, bearer, sid string) error {
	st, b, _, err := do(client, http.MethodDelete, srv.URL+"/v1/sessions/"+sid, "", map[string]string{"Authorization": "Bearer " + bearer})
	if err != nil || st != http.StatusNoContent {
		return fmt.Errorf("DELETE /v1/sessions/{id}: %d %s %v", st, b, err)
	}
	return nil
}

// fanout runs both parts of the fan-out section: the delivery delay to
// cfg.Streams subscribers on one SQLite server, and the sustained
// revocation rate on SQLite and, when it answers, PostgreSQL.
func fanout(ctx context.Context, rep *Report, bin, seeder, work string, svc *Services, cfg FanoutConfig) {
	rep.FanoutOf = cfg
	logf("fan-out: %d streams on one server (sqlite)", cfg.Streams)
	t0 := time.Now()
	rep.Fanout = append(rep.Fanout, fanoutDelay(ctx, bin, seeder, work, cfg)...)
	logf("  took %v", time.Since(t0).Round(time.Millisecond))
	type be struct {
		name    string
		backend Backend
		seedDB  func(*Server) string
		cleanup func()
	}
	bs := []be{{name: "sqlite", backend: Backend{Name: "rate-sqlite", Sessions: "db"}, seedDB: func(s *Server) string { return filepath.Join(s.DataDir, "gatehouse.db") }}}
	if svc.PostgresURL != "" {
		if u, err := svc.NewDatabase(ctx, "ratepg"); err == nil {
			bs = append(bs, be{name: "postgres", backend: Backend{Name: "rate-postgres", DB: u, Sessions: "db"}, seedDB: func(*Server) string { return u },
				cleanup: func() { svc.DropDatabase(context.Background(), u) }})
		} else {
			rep.FanoutRate = append(rep.FanoutRate, "| postgres | — | — | — | — | — | — | not run: "+firstLine(err)+" |")
		}
	}
	for _, b := range bs {
		if ctx.Err() != nil {
			return
		}
		t0 := time.Now()
		logf("revocation rate on %s", b.name)
		rep.FanoutRate = append(rep.FanoutRate, revocationRate(ctx, bin, seeder, work, b.name, b.backend, b.seedDB, cfg)...)
		logf("  took %v", time.Since(t0).Round(time.Millisecond))
		if b.cleanup != nil {
			b.cleanup()
		}
	}
}

// fanoutDelay measures, on one fresh SQLite server with cfg.Streams raw
// SSE subscribers and one verifier in stream mode, the delay from sending
// a revocation to each subscriber reading its event: cfg.Singles single
// revocations cfg.Spacing apart, then one burst of cfg.Burst. It returns
// markdown table rows.
func fanoutDelay(ctx context.Context, bin, seeder, work string, cfg FanoutConfig) []string {
	row := func(what string, s Summary, extra string) string {
		return fmt.Sprintf("| %s | %d | %s | %s | %s | %s | %s |", what, s.N, ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max), extra)
	}
	fail := func(msg string) []string {
		logf("  fan-out: %s", msg)
		return []string{"| — | — | — | — | — | — | not run: " + msg + " |"}
	}
	srv, err := StartServer(bin, work, Backend{Name: "fanout-sqlite", Sessions: "db"}, fanoutServerFlags...)
	if err != nil {
		return fail("server did not start: " + firstLine(err))
	}
	defer func() { srv.Stop(); os.RemoveAll(srv.DataDir) }()
	tokens, err := seedGrants(ctx, srv, seeder, work, "delay", filepath.Join(srv.DataDir, "gatehouse.db"), "db", 1+cfg.Singles+cfg.Burst, 1+cfg.Singles, 4)
	if err != nil {
		return fail(firstLine(err))
	}
	bearer, singles := tokens[0], tokens[1:]
	sids := make([]string, len(singles))
	for i, t := range singles {
		if sids[i], err = tokenSID(t); err != nil {
			return fail(err.Error())
		}
	}
	since, err := currentCursor(srv)
	if err != nil {
		return fail(err.Error())
	}
	claims, _ := tokenPayload(bearer)
	aud, _ := claims["aud"].(string)
	if list, ok := claims["aud"].([]any); ok && len(list) > 0 {
		aud, _ = list[0].(string)
	}
	v, err := verifier.New(ctx, verifier.Config{Issuer: srv.URL, Audience: aud,
		Revocations: verifier.RevocationConfig{Mode: verifier.RevocationStream, PollInterval: time.Hour}})
	if err != nil {
		return fail("verifier.New: " + firstLine(err))
	}
	defer v.Close()
	rssBefore := ProcStatus(srv.PID(), "VmRSS")
	sctx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	var total atomic.Int64
	t0 := time.Now()
	subs, err := openStreams(sctx, srv, cfg.Streams, since, &total)
	if err != nil {
		return fail(fmt.Sprintf("opening %d streams: %s", cfg.Streams, firstLine(err)))
	}
	connect := time.Since(t0)
	rssStreams := ProcStatus(srv.PID(), "VmRSS")

	// The verifier watches each single's token: its watch ends when the
	// event is in its revocation set.
	refused := make([]atomic.Int64, len(singles)) // UnixNano
	wctx, stopWatches := context.WithCancel(ctx)
	defer stopWatches()
	for i, tok := range singles {
		p, err := v.Verify(ctx, tok)
		if err != nil {
			return fail("a fresh token refused: " + firstLine(err))
		}
		c, cancel := v.Watch(wctx, p)
		defer cancel()
		context.AfterFunc(c, func() {
			if errors.Is(context.Cause(c), verifier.ErrRevoked) {
				refused[i].Store(time.Now().UnixNano())
			}
		})
	}

	client := newClient(1)
	sent := map[string]time.Time{}
	me := os.Getpid()
	cpuS0, meS0 := cpuTicks(srv.PID()), cpuTicks(me)
	s0 := time.Now()
	for i, sid := range sids {
		if i > 0 {
			time.Sleep(cfg.Spacing)
		}
		sent[sid] = time.Now()
		if err := revokeOne(client, srv, bearer, sid); err != nil {
			return fail(firstLine(err))
		}
	}
	waitCount(ctx, &total, int64(cfg.Streams*cfg.Singles), cfg.Cap)
	singleWall, cpuS1, meS1 := time.Since(s0), cpuTicks(srv.PID()), cpuTicks(me)
	var single []time.Duration
	for _, s := range subs {
		for _, e := range s.snapshot() {
			if t, ok := sent[e.SID]; ok {
				single = append(single, e.At.Sub(t))
			}
		}
	}
	missedSingle := cfg.Streams*cfg.Singles - len(single)
	var ver []time.Duration
	for i, sid := range sids {
		if at := refused[i].Load(); at != 0 {
			ver = append(ver, time.Unix(0, at).Sub(sent[sid]))
		}
	}

	// The burst: every remaining grant but the caller's.
	before := total.Load()
	cpuB0, meB0 := cpuTicks(srv.PID()), cpuTicks(me)
	b0 := time.Now()
	st, body, _, err := do(client, http.MethodDelete, srv.URL+"/v1/sessions", "", map[string]string{"Authorization": "Bearer " + bearer})
	call := time.Since(b0)
	if err != nil || st != http.StatusNoContent {
		return fail(fmt.Sprintf("DELETE /v1/sessions: %d %s %v", st, body, err))
	}
	waitCount(ctx, &total, before+int64(cfg.Streams*cfg.Burst), cfg.Cap)
	burstWall, cpuB1, meB1 := time.Since(b0), cpuTicks(srv.PID()), cpuTicks(me)
	var burst, first, last []time.Duration
	for _, s := range subs {
		var firstAt, lastAt time.Time
		for _, e := range s.snapshot() {
			if _, ok := sent[e.SID]; !ok && !e.At.Before(b0) {
				burst = append(burst, e.At.Sub(b0))
				if firstAt.IsZero() {
					firstAt = e.At
				}
				lastAt = e.At
			}
		}
		if !lastAt.IsZero() {
			first, last = append(first, firstAt.Sub(b0)), append(last, lastAt.Sub(b0))
		}
	}
	missedBurst := cfg.Streams*cfg.Burst - len(burst)
	hwm := ProcStatus(srv.PID(), "VmHWM")
	stopStreams()
	cores := func(a, b int64, d time.Duration) string {
		if a < 0 || b < 0 || d <= 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f", float64(b-a)/100/d.Seconds())
	}
	rows := []string{
		row(fmt.Sprintf("%d single revocations, %v apart, × %d raw SSE subscribers", cfg.Singles, cfg.Spacing, cfg.Streams), Summarize(single),
			fmt.Sprintf("missed %d; server CPU %s cores, this bench's readers %s cores, over %v", missedSingle, cores(cpuS0, cpuS1, singleWall), cores(meS0, meS1, singleWall), singleWall.Round(time.Millisecond))),
		row(fmt.Sprintf("same %d revocations, one `verifier` (stream mode) refusing the token", cfg.Singles), Summarize(ver),
			fmt.Sprintf("never refused %d", cfg.Singles-len(ver))),
		row(fmt.Sprintf("burst: one `DELETE /v1/sessions` of %s grants × %d subscribers, from the call's start", thousands(cfg.Burst), cfg.Streams), Summarize(burst),
			fmt.Sprintf("call %s ms; missed %d; server CPU %s cores, this bench's readers %s cores, over %v", ms(call), missedBurst, cores(cpuB0, cpuB1, burstWall), cores(meB0, meB1, burstWall), burstWall.Round(time.Millisecond))),
		row("burst: each subscriber's first event, from the call's start", Summarize(first), ""),
		row("burst: each subscriber's last event, from the call's start", Summarize(last), ""),
		fmt.Sprintf("| server RSS: %s before the streams, %s with %d streams open, peak %s; %d streams connected in %v | | | | | | |",
			mib(rssBefore), mib(rssStreams), cfg.Streams, mib(hwm), cfg.Streams, connect.Round(time.Millisecond)),
	}
	for _, r := range rows {
		logf("  %s", r)
	}
	return rows
}

// revocationRate measures, on one fresh server, how many revocation
// events per second are stored and delivered to one stream subscriber:
// cfg.Each single-session DELETEs at cfg.Workers concurrency, then one
// DELETE /v1/sessions storing cfg.Batch events. It returns table rows.
func revocationRate(ctx context.Context, bin, seeder, work, name string, b Backend, seedDB func(*Server) string, cfg FanoutConfig) []string {
	fail := func(msg string) []string {
		logf("  rate on %s: %s", name, msg)
		return []string{fmt.Sprintf("| %s | — | — | — | — | — | — | not run: %s |", name, msg)}
	}
	srv, err := StartServer(bin, work, b, fanoutServerFlags...)
	if err != nil {
		return fail("server did not start: " + firstLine(err))
	}
	defer func() { srv.Stop(); os.RemoveAll(srv.DataDir) }()
	tokens, err := seedGrants(ctx, srv, seeder, work, "rate-"+name, seedDB(srv), b.Sessions, 1+cfg.Each+cfg.Batch, 1+cfg.Each, 4)
	if err != nil {
		return fail(firstLine(err))
	}
	bearer := tokens[0]
	sids := make([]string, cfg.Each)
	for i, t := range tokens[1:] {
		if sids[i], err = tokenSID(t); err != nil {
			return fail(err.Error())
		}
	}
	since, err := currentCursor(srv)
	if err != nil {
		return fail(err.Error())
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var total atomic.Int64
	subs, err := openStreams(sctx, srv, 1, since, &total)
	if err != nil {
		return fail(firstLine(err))
	}
	// lastRead is when the subscriber read its newest event.
	lastRead := func() time.Time {
		evs := subs[0].snapshot()
		if len(evs) == 0 {
			return time.Time{}
		}
		return evs[len(evs)-1].At
	}
	row := func(what string, n int, stored, delivered time.Duration, cpu string) string {
		st, rate := "—", "—"
		if stored > 0 {
			st, rate = ms(stored), fmt.Sprintf("%.0f", perSecond(n, stored))
		}
		return fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %.0f | %s |", name, what, thousands(n), st, rate, ms(delivered), perSecond(n, delivered), cpu)
	}
	cores := func(a, b int64, d time.Duration) string {
		if a < 0 || b < 0 || d <= 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f", float64(b-a)/100/d.Seconds())
	}
	var rows []string

	// Single-session DELETEs, cfg.Workers at a time.
	client := newClient(cfg.Workers)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	c0, t0 := cpuTicks(srv.PID()), time.Now()
	for range cfg.Workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(sids) || ctx.Err() != nil {
					return
				}
				if err := revokeOne(client, srv, bearer, sids[i]); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	stored := time.Since(t0)
	if e := firstErr.Load(); e != nil {
		return fail(firstLine(e.(error)))
	}
	ok := waitCount(ctx, &total, int64(cfg.Each), cfg.Cap)
	delivered := lastRead().Sub(t0)
	r := row(fmt.Sprintf("single `DELETE /v1/sessions/{id}`, c=%d", cfg.Workers), cfg.Each, stored, delivered, cores(c0, cpuTicks(srv.PID()), delivered))
	if !ok {
		r += fmt.Sprintf(" only %d delivered", total.Load())
	}
	rows = append(rows, r)

	// One DELETE /v1/sessions storing cfg.Batch events. The call appends
	// the events, then deletes each grant's refresh tokens one query at a
	// time, which on PostgreSQL outlasts any sensible client timeout: it
	// runs in the background, the rate is the subscriber's, and the call's
	// own duration is reported when it answers within cfg.Cap more.
	before := total.Load()
	c0, t0 = cpuTicks(srv.PID()), time.Now()
	answered := make(chan string, 1)
	go func() {
		long := &http.Client{Timeout: 10 * time.Minute}
		st, body, _, err := do(long, http.MethodDelete, srv.URL+"/v1/sessions", "", map[string]string{"Authorization": "Bearer " + bearer})
		if err != nil || st != http.StatusNoContent {
			answered <- fmt.Sprintf("DELETE /v1/sessions: %d %s %v", st, body, err)
			return
		}
		answered <- ""
	}()
	ok = waitCount(ctx, &total, before+int64(cfg.Batch), cfg.Cap)
	delivered = lastRead().Sub(t0)
	cpu := cores(c0, cpuTicks(srv.PID()), delivered)
	note := ""
	select {
	case msg := <-answered:
		stored = time.Since(t0)
		note = msg
	case <-time.After(cfg.Cap):
		stored = 0
		note = fmt.Sprintf("the call had not answered %v after the last event", cfg.Cap)
	}
	got := int(total.Load() - before)
	r = row("one `DELETE /v1/sessions` (batch)", got, stored, delivered, cpu)
	if !ok {
		r += fmt.Sprintf(" only %d of %d delivered", got, cfg.Batch)
	}
	if note != "" {
		r += " " + note
	}
	rows = append(rows, r)
	for _, r := range rows {
		logf("  %s", r)
	}
	return rows
}
