package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// GrowthConfig says how the growth section runs.
type GrowthConfig struct {
	Sizes       []int         // cumulative live cookie sessions, ascending
	Miss        int           // cookies checked once each (cache misses) per size
	MissWarmup  int           // more of them checked first, not measured
	Warm        int           // cookies checked over and over (cache hits)
	WarmFor     time.Duration // how long the warm pass lasts per size
	C           int           // concurrent requests
	Users       int           // users the sessions are spread over
	Grants      int           // token grants added at the end, for bytes per grant
	MaxSeedStep time.Duration // a step whose seeding would take longer is skipped
	FreshFor    time.Duration // see ghseed -fresh-for
}

// GrowthPoint is what one size measured on one backend.
type GrowthPoint struct {
	Sessions         int           // live cookie sessions
	Seeded           int           // added by this step
	SeedTook         time.Duration // the inserts of this step
	Miss, Warm       Summary       // latencies of GET /v1/me by cookie
	MissRPS, WarmRPS float64
	MissErr, WarmErr int
	FirstErr         string
	RSS              int64 // the server's VmRSS after the checks
	Usage            seedUsage
	BytesPerSession  float64 // storage growth of this step ÷ sessions added
	DBFilePerSession float64 // SQLite: file growth (after a checkpoint) ÷ sessions added
}

// GrowthResult is the growth section of one backend.
type GrowthResult struct {
	Backend, Storage string // name; how session storage is measured
	Points           []GrowthPoint
	Grants           int
	GrantTook        time.Duration
	BytesPerGrant    float64 // session store and refresh tokens together
	GrantRecordBytes float64 // the session store's part of BytesPerGrant
	GrantSplit       string  // the parts of BytesPerGrant
	Notes            []string
}

// seedResult mirrors the JSON that ghseed prints (benchseed.Result).
type seedResult struct {
	Backend string     `json:"backend"`
	Users   int        `json:"users"`
	Cookies int        `json:"cookies"`
	Grants  int        `json:"grants"`
	TookNS  int64      `json:"took_ns"`
	Before  *seedUsage `json:"before"`
	After   *seedUsage `json:"after"`
}

type seedUsage struct {
	Live         int   `json:"live"`
	SessionBytes int64 `json:"session_bytes"`
	RefreshBytes int64 `json:"refresh_bytes"`
	FileBytes    int64 `json:"file_bytes"`
}

// buildSeeder builds ghseed from the main module into dir.
func buildSeeder(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "ghseed")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./internal/benchseed/cmd/ghseed")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./internal/benchseed/cmd/ghseed: %w", err)
	}
	return bin, nil
}

// runSeeder runs ghseed with args and decodes its answer.
func runSeeder(ctx context.Context, bin string, args ...string) (seedResult, error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append(args, "-measure")...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = cleanEnv()
	if err := cmd.Run(); err != nil {
		return seedResult{}, fmt.Errorf("ghseed: %v: %s", err, strings.TrimSpace(errb.String()))
	}
	var r seedResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Before == nil || r.After == nil {
		return seedResult{}, fmt.Errorf("ghseed answered %q (%v)", out.String(), err)
	}
	return r, nil
}

// Apportion splits m into len(weights) whole parts proportional to the
// weights, by largest remainder; the parts add up to m. Zero weights get
// nothing; all zero gives all zeros.
func Apportion(m int, weights []int) []int {
	parts := make([]int, len(weights))
	total := 0
	for _, w := range weights {
		total += max(w, 0)
	}
	if total == 0 || m <= 0 {
		return parts
	}
	type rem struct {
		i int
		r float64
	}
	var rems []rem
	given := 0
	for i, w := range weights {
		exact := float64(m) * float64(max(w, 0)) / float64(total)
		parts[i] = int(math.Floor(exact))
		given += parts[i]
		rems = append(rems, rem{i, exact - float64(parts[i])})
	}
	// Largest remainders first; ties to the earlier part.
	for left := m - given; left > 0; left-- {
		best := -1
		for j, r := range rems {
			if weights[r.i] > 0 && (best < 0 || r.r > rems[best].r) {
				best = j
			}
		}
		parts[rems[best].i]++
		rems[best].r = -1
	}
	return parts
}

// GrowthDraws returns, for each size, how many of its miss cookies come
// from each step's sample: proportional to the sessions each step added,
// so that at every size the cookies checked are spread uniformly over all
// live sessions. draws[j][i] is from step i at size j.
func GrowthDraws(sizes []int, miss int) [][]int {
	added := make([]int, len(sizes))
	prev := 0
	for i, n := range sizes {
		added[i], prev = n-prev, n
	}
	draws := make([][]int, len(sizes))
	for j := range sizes {
		draws[j] = Apportion(miss, added[:j+1])
	}
	return draws
}

// SampleNeeds returns how many sample cookies each step must provide for
// draws, plus warm for the first step (the warm cookies), and never more
// than the step added.
func SampleNeeds(sizes []int, draws [][]int, warm int) []int {
	need := make([]int, len(sizes))
	for _, d := range draws {
		for i, n := range d {
			need[i] += n
		}
	}
	prev := 0
	for i, n := range sizes {
		if i == 0 {
			need[i] += warm
		}
		need[i] = min(need[i], n-prev)
		prev = n
	}
	return need
}

// PerRecord returns the growth of bytes per record added, or NaN.
func PerRecord(before, after int64, added int) float64 {
	if added <= 0 {
		return math.NaN()
	}
	return float64(after-before) / float64(added)
}

// Redis storage targets (issue 18): a cookie session, and a token
// grant's record (its refresh token is in SQL), each at most this many
// bytes of Redis memory with default settings, read at the largest
// growth step.
const maxRedisBytesPerRecord = 700

// RedisBytesTargets are the Redis bytes-per-record target rows: per
// cookie session at the largest growth step, and per token grant's
// record; "not measured" when the growth section has no Redis rows.
func RedisBytesTargets(growth []GrowthResult, skip string) []Target {
	bound := fmt.Sprintf("≤ %d B (Redis `used_memory`, default settings)", maxRedisBytesPerRecord)
	sess := Target{Name: "Redis bytes per cookie session", Bound: bound, Measured: "—", Verdict: "not measured"}
	grant := Target{Name: "Redis bytes per token grant (the record; its refresh token is in SQL)", Bound: bound, Measured: "—", Verdict: "not measured"}
	for _, g := range growth {
		if g.Backend != "redis" {
			continue
		}
		if n := len(g.Points); n > 0 && !math.IsNaN(g.Points[n-1].BytesPerSession) {
			p := g.Points[n-1]
			sess.Measured = fmt.Sprintf("%.0f B (step to %s sessions)", p.BytesPerSession, count(p.Sessions))
			sess.Verdict = metIf(p.BytesPerSession <= maxRedisBytesPerRecord)
		}
		if g.Grants > 0 && !math.IsNaN(g.GrantRecordBytes) {
			grant.Measured = fmt.Sprintf("%.0f B (%s grants of one client; %.0f B with the refresh token)", g.GrantRecordBytes, count(g.Grants), g.BytesPerGrant)
			grant.Verdict = metIf(g.GrantRecordBytes <= maxRedisBytesPerRecord)
		}
	}
	if skip != "" {
		sess.Measured, grant.Measured = skip, skip
	}
	return []Target{sess, grant}
}

// FlatTarget is the target that the cookie check stays flat: the cache-miss
// p50 at the largest size measured is at most bound times that at the
// smallest.
func FlatTarget(g GrowthResult, bound float64) Target {
	t := Target{Bound: fmt.Sprintf("miss p50 at the largest size ≤ %.1f× at the smallest", bound), Verdict: "not measured"}
	var pts []GrowthPoint
	for _, p := range g.Points {
		if p.Miss.N > 0 {
			pts = append(pts, p)
		}
	}
	if len(pts) < 2 {
		t.Name = "cookie check flat as sessions grow (" + g.Backend + ")"
		t.Measured = "fewer than two sizes measured"
		return t
	}
	lo, hi := pts[0], pts[len(pts)-1]
	t.Name = fmt.Sprintf("cookie check flat from %s to %s sessions (%s)", count(lo.Sessions), count(hi.Sessions), g.Backend)
	r := Ratio(float64(hi.Miss.P50), float64(lo.Miss.P50))
	t.Measured = fmt.Sprintf("%s (p50 %s → %s µs)", ratioStr(r), us(lo.Miss.P50), us(hi.Miss.P50))
	t.Verdict = verdictAtMost(r, bound)
	return t
}

// count writes 10000 as 10k and 1000000 as 1M.
func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// growthBackend is one backend the growth section runs on.
type growthBackend struct {
	name, storage string
	backend       Backend
	seedDB        func(srv *Server) string // the seeder's -db
	cleanup       func()
}

// growth seeds each backend to each size and measures the cookie check,
// the server's memory and the storage.
func growth(ctx context.Context, rep *Report, bin, seeder, work string, svc *Services, cfg GrowthConfig) {
	var bs []growthBackend
	bs = append(bs, growthBackend{name: "sqlite", storage: "pages of `sessions` and its indexes (`dbstat`)",
		backend: Backend{Name: "growth-sqlite", Sessions: "db"},
		seedDB:  func(srv *Server) string { return filepath.Join(srv.DataDir, "gatehouse.db") }})
	if svc.PostgresURL != "" {
		if u, err := svc.NewDatabase(ctx, "growthpg"); err != nil {
			rep.Notes = append(rep.Notes, "Growth on PostgreSQL: "+firstLine(err))
		} else {
			bs = append(bs, growthBackend{name: "postgres", storage: "`pg_total_relation_size('sessions')`",
				backend: Backend{Name: "growth-postgres", DB: u, Sessions: "db"},
				seedDB:  func(*Server) string { return u }, cleanup: func() { svc.DropDatabase(context.Background(), u) }})
		}
	}
	if svc.RedisURL != "" {
		u, err1 := svc.NewDatabase(ctx, "growthredis")
		r, err2 := svc.NewRedisURL("growth")
		if err := cmp.Or(err1, err2); err != nil {
			rep.Notes = append(rep.Notes, "Growth on Redis: "+firstLine(err))
		} else {
			bs = append(bs, growthBackend{name: "redis", storage: "Redis `used_memory` (the whole server)",
				backend: Backend{Name: "growth-redis", DB: u, Sessions: r},
				seedDB:  func(*Server) string { return u },
				cleanup: func() { svc.DeleteRedisPrefix(context.Background(), r); svc.DropDatabase(context.Background(), u) }})
		}
	}
	for _, b := range bs {
		if ctx.Err() != nil {
			return
		}
		g := growOne(ctx, bin, seeder, work, b, cfg)
		rep.Growth = append(rep.Growth, g)
		rep.Targets = append(rep.Targets, FlatTarget(g, 1.5))
		if b.cleanup != nil {
			b.cleanup()
		}
	}
}

// growOne runs the growth section on one backend.
func growOne(ctx context.Context, bin, seeder, work string, b growthBackend, cfg GrowthConfig) GrowthResult {
	g := GrowthResult{Backend: b.name, Storage: b.storage}
	logf("growth on %s: sizes %v", b.name, cfg.Sizes)
	srv, err := StartServer(bin, work, b.backend)
	if err != nil {
		g.Notes = append(g.Notes, "server did not start: "+firstLine(err))
		return g
	}
	defer func() {
		srv.Stop()
		os.RemoveAll(srv.DataDir)
	}()
	draws := GrowthDraws(cfg.Sizes, cfg.Miss+cfg.MissWarmup)
	needs := SampleNeeds(cfg.Sizes, draws, cfg.Warm)
	pools := make([][]string, len(cfg.Sizes)) // unused sample cookies of each step
	var warm []string
	client := newClient(cfg.C)
	prev, rate := 0, 0.0
	var prevUsage *seedUsage
	for j, size := range cfg.Sizes {
		added := size - prev
		if rate > 0 {
			if est := time.Duration(float64(added) / rate * float64(time.Second)); est > cfg.MaxSeedStep {
				g.Notes = append(g.Notes, fmt.Sprintf("%s sessions not measured: adding %d at the %.0f/s of the last step would take about %v, over the %v cap",
					count(size), added, rate, est.Round(time.Second), cfg.MaxSeedStep))
				break
			}
		}
		sampleFile := filepath.Join(work, fmt.Sprintf("growth-%s-%d.txt", b.name, j))
		args := []string{"-db", b.seedDB(srv), "-sessions", b.backend.Sessions, "-cookies", fmt.Sprint(added),
			"-users", fmt.Sprint(cfg.Users), "-fresh-for", cfg.FreshFor.String()}
		if needs[j] > 0 {
			args = append(args, "-sample", fmt.Sprint(needs[j]), "-sample-out", sampleFile)
		}
		p := GrowthPoint{Sessions: size, Seeded: added}
		res, err := runSeeder(ctx, seeder, args...)
		if err != nil {
			g.Notes = append(g.Notes, fmt.Sprintf("seeding to %s failed: %s", count(size), firstLine(err)))
			break
		}
		p.SeedTook = time.Duration(res.TookNS)
		if p.SeedTook > 0 {
			rate = float64(added) / p.SeedTook.Seconds()
		}
		p.Usage = *res.After
		p.BytesPerSession = PerRecord(res.Before.SessionBytes, res.After.SessionBytes, added)
		if res.After.FileBytes > 0 {
			p.DBFilePerSession = PerRecord(res.Before.FileBytes, res.After.FileBytes, added)
		}
		if prevUsage == nil && res.Before.Live != 0 {
			g.Notes = append(g.Notes, fmt.Sprintf("%d records were live before seeding", res.Before.Live))
		}
		prevUsage = res.After
		if needs[j] > 0 {
			b, err := os.ReadFile(sampleFile)
			if err != nil {
				g.Notes = append(g.Notes, "sample: "+err.Error())
				break
			}
			pools[j] = strings.Fields(string(b))
		}
		if j == 0 {
			n := min(cfg.Warm, len(pools[0]))
			warm, pools[0] = pools[0][:n], pools[0][n:]
		}
		if len(warm) == 0 {
			g.Notes = append(g.Notes, "no sample cookies")
			break
		}
		var miss []string
		for i, n := range draws[j] {
			n = min(n, len(pools[i]))
			miss, pools[i] = append(miss, pools[i][:n]...), pools[i][n:]
		}
		logf("  %s: %s sessions (+%d in %v, %.0f/s); checking %d cookies once and %d over %v", b.name, count(size), added,
			p.SeedTook.Round(time.Millisecond), rate, len(miss), len(warm), cfg.WarmFor)
		// Open the connections and make the warm cookies warm.
		for i := range 4 * cfg.C {
			_, _, _, _ = do(client, http.MethodGet, srv.URL+"/v1/me", "", map[string]string{"Cookie": cookieHeader(warm[i%len(warm)])})
		}
		// The store path too: the first size would otherwise pay for
		// the server's cold connections and caches.
		mrand.Shuffle(len(miss), func(i, j int) { miss[i], miss[j] = miss[j], miss[i] })
		wu := min(cfg.MissWarmup, len(miss)/2)
		checkOnce(ctx, client, srv.URL+"/v1/me", miss[:wu], cfg.C)
		miss = miss[wu:]
		mr := checkOnce(ctx, client, srv.URL+"/v1/me", miss, cfg.C)
		p.Miss, p.MissRPS, p.MissErr = Summarize(mr.Latencies), mr.Throughput(), mr.Errors
		var next atomic.Uint64
		wr := Load(ctx, client, cfg.C, cfg.WarmFor, 0, http.StatusOK, func() *http.Request {
			i := next.Add(1)
			return getReq(srv.URL+"/v1/me", "Cookie", cookieHeader(warm[int(i)%len(warm)]))()
		})
		p.Warm, p.WarmRPS, p.WarmErr = Summarize(wr.Latencies), wr.Throughput(), wr.Errors
		p.FirstErr = cmp.Or(mr.FirstError, wr.FirstError)
		p.RSS = ProcStatus(srv.PID(), "VmRSS")
		logf("    miss p50 %s µs p99 %s µs %.0f/s (errors %d); warm p50 %s µs %.0f/s; RSS %s; %s stored, %.0f B/session this step",
			us(p.Miss.P50), us(p.Miss.P99), p.MissRPS, p.MissErr, us(p.Warm.P50), p.WarmRPS, mib(p.RSS), mib(p.Usage.SessionBytes), p.BytesPerSession)
		g.Points = append(g.Points, p)
		prev = size
		if ctx.Err() != nil {
			return g
		}
	}
	if cfg.Grants > 0 && len(g.Points) > 0 {
		// The grants belong to one OAuth client, as an authorization code
		// client's do: on Redis that client's index is part of their cost.
		res, err := runSeeder(ctx, seeder, "-db", b.seedDB(srv), "-sessions", b.backend.Sessions, "-grants", fmt.Sprint(cfg.Grants), "-users", fmt.Sprint(cfg.Users),
			"-grant-client", seedGrantClient)
		if err != nil {
			g.Notes = append(g.Notes, "grants: "+firstLine(err))
			return g
		}
		g.Grants, g.GrantTook = cfg.Grants, time.Duration(res.TookNS)
		s := PerRecord(res.Before.SessionBytes, res.After.SessionBytes, cfg.Grants)
		r := PerRecord(res.Before.RefreshBytes, res.After.RefreshBytes, cfg.Grants)
		g.BytesPerGrant, g.GrantRecordBytes = s+r, s
		where := map[string]string{"sqlite": "SQLite", "postgres": "PostgreSQL", "redis": "PostgreSQL"}[b.name]
		g.GrantSplit = fmt.Sprintf("%.0f for the grant record, %.0f for its refresh token (%s)", s, r, where)
		logf("  %s: %d grants in %v, %.0f B per grant (%s)", b.name, cfg.Grants, g.GrantTook.Round(time.Millisecond), g.BytesPerGrant, g.GrantSplit)
	}
	return g
}

// checkOnce sends GET url once with each cookie, from c workers, and
// returns what it measured.
func checkOnce(ctx context.Context, client *http.Client, url string, cookies []string, c int) LoadResult {
	if len(cookies) == 0 {
		return LoadResult{}
	}
	var next atomic.Int64
	return Load(ctx, client, c, 0, len(cookies), http.StatusOK, func() *http.Request {
		return getReq(url, "Cookie", cookieHeader(cookies[next.Add(1)-1]))()
	})
}

// seedGrantClient is the OAuth client of the seeded token grants.
const seedGrantClient = "ghbench-client"

// seedUserAgent is benchseed.UserAgent, which the bench module cannot
// import: the User-Agent of the seeded records.
const seedUserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36"
