// Command ghbench measures the tradeoff between JWT and session
// authentication in Gatehouse, end to end, and writes a Markdown report
// with PNG plots.
//
//	cd bench && go run ./cmd/ghbench            # full run, at most ~15 min on 2 cores
//	cd bench && go run ./cmd/ghbench -quick     # under 2 min, for CI
//	cd bench && go run ./cmd/ghbench -only burst -out DIR   # the burst-revocation rows alone
//	cd bench && go run ./cmd/ghbench -only fanout -out DIR  # fan-out to 1,000 streams, revocation rate
//	cd bench && go run ./cmd/ghbench -only wrk -out DIR     # the target paths under wrk (needs wrk), idle RSS
//	cd bench && go run ./cmd/ghbench -only audit -out DIR   # login with the audit trail on and off
//	cd bench && go run ./cmd/ghbench -only growth -out DIR  # 10k to 1M sessions per backend
//
// It builds the server from the parent module, starts real "gatehouse
// serve" processes on loopback ports (SQLite always; PostgreSQL and
// Redis when they answer, else a note in the report), drives them with
// its own load generator on net/http, and runs the Go benchmarks of the
// main module and of the bench module for per-request costs. The report
// goes to <out>/benchmarks.md and the plots to <out>/img/.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/jose"
)

func main() {
	quick := flag.Bool("quick", false, "short rounds and few trials (under 2 minutes)")
	out := flag.String("out", "../docs", "directory for benchmarks.md and img/")
	root := flag.String("root", "..", "the main module's directory")
	only := flag.String("only", "", `run one section only: "burst" (the burst-revocation rows), "fanout" (fan-out delay to 1,000 streams and the sustained revocation rate) or "wrk" (the issue-18 target paths under wrk, on SQLite, with idle RSS) or "audit" (login with the audit trail on and off, issue 17) or "growth" (the cookie check, memory and storage from 10k to 1M sessions per backend); the report then holds only them`)
	flag.Parse()
	switch *only {
	case "", "burst", "fanout", "wrk", "audit", "growth":
	default:
		fmt.Fprintln(os.Stderr, "ghbench: -only takes \"burst\", \"fanout\", \"wrk\", \"audit\" or \"growth\"")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *quick, *only, *out, *root); err != nil {
		fmt.Fprintln(os.Stderr, "ghbench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func machine(root string) []string {
	var m []string
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	m = append(m, fmt.Sprintf("CPUs: %d (`%s`), GOOS/GOARCH %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version()))
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		l, _, _ := strings.Cut(string(b), "\n")
		m = append(m, "memory: "+strings.Join(strings.Fields(l)[1:], " "))
	}
	if b, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output(); err == nil {
		m = append(m, "commit: `"+strings.TrimSpace(string(b))+"`")
	}
	m = append(m, "server binary: `"+releaseBuildEnv+" go build ./cmd/gatehouse`, as a release is built")
	return m
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

func run(ctx context.Context, quick bool, only, out, root string) error {
	start := time.Now()
	rep := &Report{Started: start, Quick: quick, Command: "cd bench && go run ./cmd/ghbench"}
	if quick {
		rep.Command += " -quick"
	}
	if only != "" {
		rep.Command += " -only " + only
	}
	rep.Machine = machine(root)
	rep.Machine = append(rep.Machine, "load average at start: "+loadavg())
	work, err := os.MkdirTemp("", "ghbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	// The audit-trail rows are in-process Go benchmarks (under a minute;
	// in -quick the cheap hash only, about 15 s with the test binary's link).
	acfg := AuditConfig{Rounds: 6, ArgonN: 60, CheapN: 200}
	if quick {
		acfg = AuditConfig{Rounds: 2, CheapN: 100}
	}
	if only == "audit" {
		auditTrail(ctx, rep, root, work, acfg)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return finish(rep, out, start)
	}
	logf("building gatehouse")
	bin, err := buildGatehouse(ctx, root, work)
	if err != nil {
		return err
	}
	seeder, err := buildSeeder(ctx, root, work)
	if err != nil {
		return err
	}
	svc := OpenServices(ctx)
	defer svc.Close(context.Background())
	if svc.PostgresSkip != "" {
		rep.Notes = append(rep.Notes, "PostgreSQL rows: "+svc.PostgresSkip)
	}
	if svc.RedisSkip != "" {
		rep.Notes = append(rep.Notes, "Redis rows: "+svc.RedisSkip)
	}

	cfg := E2EConfig{Concurrency: []int{1, 8, 32, 128}, Rounds: 3, TargetC: 32, TargetRounds: 7, Round: time.Second, Warmup: 300 * time.Millisecond}
	trials, storm := 200, 500
	if quick {
		cfg = E2EConfig{Concurrency: []int{1, 8, 32, 128}, Rounds: 1, Round: 200 * time.Millisecond, Warmup: 50 * time.Millisecond}
		trials, storm = 10, 40
	}

	bcfg := BurstConfig{Grants: 10_000, Workers: 4, Cap: 30 * time.Second}
	if quick {
		bcfg.Grants = 2000
	}
	if only == "burst" {
		burst(ctx, rep, bin, seeder, work, svc, bcfg)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return finish(rep, out, start)
	}
	if only == "growth" {
		if err := growthSection(ctx, rep, bin, seeder, work, svc, quick); err != nil {
			return err
		}
		return finish(rep, out, start)
	}
	fcfg := FanoutConfig{Streams: 1000, Singles: 50, Spacing: 20 * time.Millisecond, Burst: 1000, Batch: 20_000, Each: 2000, Workers: 8, Cap: 20 * time.Second}
	if only == "fanout" {
		fanout(ctx, rep, bin, seeder, work, svc, fcfg)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return finish(rep, out, start)
	}

	// wrk drives the target paths as an external process; -quick (CI)
	// never needs it, and a full run without it says so in the report.
	wcfg := WrkConfig{Threads: 2, Conns: 50, Round: 3 * time.Second, Rounds: 3}
	wrkBin := ""
	if !quick && (only == "" || only == "wrk") {
		var err error
		if wrkBin, err = wrkPath(); err != nil {
			logf("%v", err)
			rep.Notes = append(rep.Notes, "wrk rows: "+err.Error())
			if only == "wrk" {
				return err
			}
		} else if err := os.MkdirAll(wrkDir(work), 0o755); err != nil {
			return err
		}
		rep.WrkOf = wcfg
	}

	rep.E2EOf = cfg
	if only == "" {
		micro(ctx, rep, root, quick)
		auditTrail(ctx, rep, root, work, acfg)
	}

	const password = "correct horse battery staple"
	servers := map[string]*Server{}
	defer func() {
		for _, s := range servers {
			s.Stop()
		}
	}()
	email := func(b string) string { return "bench-" + b + "@example.com" }
	backends := svc.Backends()
	if only == "wrk" {
		backends = backends[:1] // SQLite
	}
	for _, b := range backends {
		logf("starting gatehouse on %s", b.Name)
		s, err := StartServer(bin, work, b)
		if err != nil {
			return err
		}
		servers[b.Name] = s
		// Idle: started, nothing served yet (a signup's Argon2id would
		// add its 19 MiB until the runtime returns it).
		time.Sleep(500 * time.Millisecond)
		rep.IdleRSS = append(rep.IdleRSS, BackendRSS{Backend: b.Name, RSS: ProcStatus(s.PID(), "VmRSS")})
		if err := s.Signup(email(b.Name), password); err != nil {
			return err
		}
	}

	// End to end.
	logf("end to end (%d rounds of %v per side per level)", cfg.Rounds, cfg.Round)
	for _, b := range backends {
		s := servers[b.Name]
		sess, err := s.LoginSession(http.DefaultClient, email(b.Name), password)
		if err != nil {
			return err
		}
		tok, _, err := s.LoginToken(http.DefaultClient, email(b.Name), password)
		if err != nil {
			return err
		}
		_, meJSON, _, err := do(http.DefaultClient, http.MethodGet, s.URL+"/v1/me", "", map[string]string{"Cookie": cookieHeader(sess.Cookie)})
		if err != nil {
			return err
		}
		_, jwks, _, err := do(http.DefaultClient, http.MethodGet, s.URL+"/.well-known/jwks.json", "", nil)
		if err != nil {
			return err
		}
		keys, err := jose.ParseJWKS(jwks)
		if err != nil {
			return fmt.Errorf("parse JWKS: %w", err)
		}
		id, secret, err := s.CreateClient()
		if err != nil {
			return err
		}
		ccForm := "grant_type=client_credentials&scope=reports%3Aread"
		_, ccBody, _, err := do(http.DefaultClient, http.MethodPost, s.URL+"/oauth2/token", ccForm, map[string]string{"Authorization": basicHeader(id, secret)})
		if err != nil {
			return err
		}
		ccTok := jsonField(ccBody, "access_token")
		ccClaims, err := tokenPayload(ccTok)
		if err != nil {
			return fmt.Errorf("client credentials answered %s", ccBody)
		}
		signKey, _ := jose.GenerateKey(jose.EdDSA, "bare")
		bare, err := StartBare(BareConfig{MeJSON: meJSON, JWKS: jwks, Keys: keys, SignKey: signKey, CCPayload: ccClaims, Password: password})
		if err != nil {
			return err
		}
		loginBody := fmt.Sprintf(`{"email":%q,"password":%q}`, email(b.Name), password)
		flows := []flow{
			{name: "GET /v1/me cookie", bare: "write same JSON", gh: getReq(s.URL+"/v1/me", "Cookie", cookieHeader(sess.Cookie)), bareReq: getReq(bare.URL + "/me-json")},
			{name: "GET /v1/me bearer", bare: "verify token + JSON", gh: getReq(s.URL+"/v1/me", "Authorization", "Bearer "+tok), bareReq: getReq(bare.URL+"/me-bearer", "Authorization", "Bearer "+tok)},
		}
		if b.Name == "sqlite" {
			flows = append(flows,
				flow{name: "POST /oauth2/token cc", bare: "sign token", gh: basicAuth(postReq(s.URL+"/oauth2/token", ccForm, "application/x-www-form-urlencoded"), id, secret), bareReq: postReq(bare.URL+"/sign", ccForm, "application/x-www-form-urlencoded")},
				flow{name: "POST /oauth2/introspect", bare: "verify token", gh: basicAuth(postReq(s.URL+"/oauth2/introspect", "token="+ccTok, "application/x-www-form-urlencoded"), id, secret), bareReq: postReq(bare.URL+"/verify", "token="+ccTok, "application/x-www-form-urlencoded")},
				flow{name: "GET JWKS", bare: "write same JSON", gh: getReq(s.URL + "/.well-known/jwks.json"), bareReq: getReq(bare.URL + "/jwks")},
			)
		}
		flows = append(flows,
			flow{name: "POST /v1/login session", bare: "one Argon2id", gh: postReq(s.URL+"/v1/login", loginBody, "application/json"), bareReq: postReq(bare.URL+"/login", loginBody, "application/json")},
			flow{name: "POST /v1/login token", bare: "one Argon2id", gh: postReq(s.URL+"/v1/login", strings.TrimSuffix(loginBody, "}")+`,"mode":"token"}`, "application/json"), bareReq: postReq(bare.URL+"/login", loginBody, "application/json")},
		)
		for i := range flows {
			flows[i].backend, flows[i].want, flows[i].pid, flows[i].barePID = b.Name, http.StatusOK, s.PID(), bare.PID()
		}
		if wrkBin != "" && b.Name == "sqlite" {
			logf("end to end with wrk (%s)", wcfg.describe())
			picked, conns, targets := wrkFlows(flows, wcfg)
			for i, f := range picked {
				rep.Wrk = append(rep.Wrk, runWrkFlow(ctx, wrkBin, wrkDir(work), wcfg, f, conns[i], targets[i], strings.TrimPrefix(bare.HardenedURL, "http://")))
			}
		}
		if only == "wrk" {
			flows = nil
		}
		for _, f := range flows {
			if strings.HasPrefix(f.name, "POST /v1/login") {
				lc := cfg
				lc.Rounds, lc.TargetRounds, lc.Round = 1, 0, max(cfg.Round, 3*time.Second)
				if quick {
					lc.Round, lc.Concurrency = 500*time.Millisecond, []int{1, 8}
				}
				rep.E2E = append(rep.E2E, runFlow(ctx, lc, f, logf)...)
				continue
			}
			rep.E2E = append(rep.E2E, runFlow(ctx, cfg, f, logf)...)
		}
		bare.Close()
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	for _, w := range rep.Wrk {
		rep.Targets = append(rep.Targets, WrkTarget(w, rep.E2E))
	}
	rep.Targets = append(rep.Targets, IdleRSSTargets(rep.IdleRSS)...)
	if only == "wrk" {
		return finish(rep, out, start)
	}
	rep.Targets = append(rep.Targets,
		// Issue 18's targets (flowTargets), read on ghbench's own generator;
		// the wrk rows above read them on an external one.
		RatioTarget("GET /v1/me by cookie vs bare JSON handler (sqlite)", rep.E2E, "GET /v1/me cookie", "sqlite", 32, flowTargets["GET /v1/me cookie"]),
		RatioTarget("GET /v1/me by bearer vs bare verifying handler (sqlite)", rep.E2E, "GET /v1/me bearer", "sqlite", 32, flowTargets["GET /v1/me bearer"]),
		RatioTarget("client credentials token vs bare signing handler", rep.E2E, "POST /oauth2/token cc", "sqlite", 32, flowTargets["POST /oauth2/token cc"]),
		RatioTarget("introspection vs bare verifying handler", rep.E2E, "POST /oauth2/introspect", "sqlite", 32, flowTargets["POST /oauth2/introspect"]),
		RatioTarget("JWKS vs bare JSON handler", rep.E2E, "GET JWKS", "sqlite", 32, flowTargets["GET JWKS"]),
		RatioTarget("login (session) vs one Argon2id (sqlite)", rep.E2E, "POST /v1/login session", "sqlite", 8, flowTargets["POST /v1/login session"]),
	)
	for _, b := range []string{"postgres", "redis"} {
		if _, ok := servers[b]; ok {
			rep.Targets = append(rep.Targets,
				RatioTarget("GET /v1/me by cookie vs bare JSON handler ("+b+")", rep.E2E, "GET /v1/me cookie", b, 32, 0.5),
				RatioTarget("GET /v1/me by bearer vs bare verifying handler ("+b+")", rep.E2E, "GET /v1/me bearer", b, 32, 0.8))
		}
	}

	// Revocation.
	logf("revocation delay, %d trials per path", trials)
	sq := servers["sqlite"]
	rep.Revoke = append(rep.Revoke, revokeOwn("own endpoints (sqlite)", sq, sq, email("sqlite"), password, trials))
	rep.Revoke = append(rep.Revoke, revokeVerifier(ctx, sq, email("sqlite"), password, trials))
	if r, ok := servers["redis"]; ok {
		logf("starting a second instance on PostgreSQL + Redis")
		other, err := StartServer(bin, work, Backend{Name: "redis", DB: svc.PostgresURL, Sessions: svc.RedisURL})
		if err != nil {
			return err
		}
		servers["redis-2"] = other
		rep.Revoke = append(rep.Revoke, revokeOwn("another instance (PostgreSQL + Redis)", r, other, email("redis"), password, trials))
	} else {
		rep.Revoke = append(rep.Revoke, RevocationResult{Path: "another instance (PostgreSQL + Redis)", Note: "not run: " + svc.RedisSkip})
	}
	for _, v := range rep.Revoke {
		logf("  %-40s n=%d p50 %s ms p99 %s ms max %s ms failed %d %s", v.Path, v.Sum.N, ms(v.Sum.P50), ms(v.Sum.P99), ms(v.Sum.Max), v.Failed, v.Note)
		if strings.HasPrefix(v.Path, "another") {
			got := math.NaN()
			if v.Sum.N > 0 {
				got = float64(v.Sum.Max) / float64(time.Millisecond)
			}
			t := Target{Name: "revocation reaches another instance", Bound: "≤ 1000 ms (max of trials)", Measured: fmt.Sprintf("max %s ms, p99 %s ms (%d trials)", ms(v.Sum.Max), ms(v.Sum.P99), v.Sum.N), Verdict: "not measured"}
			if !math.IsNaN(got) {
				t.Verdict = metIf(got <= 1000 && v.Failed == 0)
			}
			rep.Targets = append(rep.Targets, t)
		}
	}

	// A burst of revocations, each backend on a fresh server.
	burst(ctx, rep, bin, seeder, work, svc, bcfg)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// Fan-out to 1,000 streams and the sustained revocation rate (about a
	// minute; not in -quick).
	if !quick {
		fanout(ctx, rep, bin, seeder, work, svc, fcfg)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}

	// Login storms on fresh servers: a fifth of the size, then the full
	// size, so that the peak memory of the two shows whether it grows
	// with the number of concurrent logins.
	var storms []StormResult
	for _, n := range []int{storm / 5, storm} {
		logf("login storm: %d concurrent logins", n)
		name := fmt.Sprintf("storm-%d", n)
		st, err := StartServer(bin, work, Backend{Name: name, Sessions: "db"})
		if err != nil {
			return err
		}
		servers[name] = st
		if err := st.Signup(email(name), password); err != nil {
			return err
		}
		sr := loginStorm(st, email(name), password, n)
		logf("  %d logins in %v, ok %d, shed (429) %d, errors %d, p99 %s ms, peak RSS %s -> %s", sr.Logins, sr.Elapsed, sr.OK(), sr.Shed, sr.Errors, ms(sr.Lat.P99), mib(sr.RSSBefore), mib(sr.HWMAfter))
		storms = append(storms, sr)
		st.Stop()
		delete(servers, name)
	}
	rep.Storms = storms
	rep.Targets = append(rep.Targets, StormTarget(storms[0], storms[1]))
	sr := storms[1]

	// Sizes and storage.
	logf("sizes")
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		s, err := StartServer(bin, work, Backend{Name: "size-" + alg, Sessions: "db"}, "--signing-algorithm", alg)
		if err != nil {
			return err
		}
		servers["size-"+alg] = s
		if err := s.Signup(email(alg), password); err != nil {
			return err
		}
		ws, err := wireSizes(s, alg, email(alg), password)
		if err != nil {
			return err
		}
		rep.Sizes = append(rep.Sizes, ws)
	}
	storage(ctx, rep, svc, sr, storm)

	if err := growthSection(ctx, rep, bin, seeder, work, svc, quick); err != nil {
		return err
	}
	return finish(rep, out, start)
}

// growthSection measures the cookie check, memory and storage with many
// live sessions, and adds its target rows.
func growthSection(ctx context.Context, rep *Report, bin, seeder, work string, svc *Services, quick bool) error {
	gcfg := GrowthConfig{Sizes: []int{10_000, 100_000, 1_000_000}, Miss: 2000, MissWarmup: 200, Warm: 32, WarmFor: 1500 * time.Millisecond, C: 4,
		Users: 1000, Grants: 100_000, MaxSeedStep: 4 * time.Minute, FreshFor: 30 * time.Minute}
	if quick {
		gcfg = GrowthConfig{Sizes: []int{1000, 10_000}, Miss: 300, MissWarmup: 60, Warm: 16, WarmFor: 300 * time.Millisecond, C: 4,
			Users: 100, Grants: 5000, MaxSeedStep: 60 * time.Second, FreshFor: 30 * time.Minute}
	}
	rep.GrowthOf = gcfg
	growth(ctx, rep, bin, seeder, work, svc, gcfg)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	rep.Targets = append(rep.Targets, GrowthRSSTargets(rep.Growth)...)
	rep.Targets = append(rep.Targets, RedisBytesTargets(rep.Growth, svc.RedisSkip)...)
	return nil
}

// finish writes the report and its plots into out.
func finish(rep *Report, out string, start time.Time) error {
	if len(rep.E2E) > 0 {
		rep.Verdicts = verdicts(rep)
	}
	rep.Machine = append(rep.Machine, "load average at end: "+loadavg())
	rep.Took = time.Since(start)
	if err := os.MkdirAll(filepath.Join(out, "img"), 0o755); err != nil {
		return err
	}
	plots, err := WritePlots(filepath.Join(out, "img"), rep)
	if err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	rep.Plots = plots
	f, err := os.Create(filepath.Join(out, "benchmarks.md"))
	if err != nil {
		return err
	}
	if err := rep.Write(f); err != nil {
		f.Close()
		return err
	}
	logf("wrote %s and %d plots in %v", f.Name(), len(plots), rep.Took.Round(time.Second))
	return f.Close()
}

func basicHeader(id, secret string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(id, secret)
	return r.Header.Get("Authorization")
}
