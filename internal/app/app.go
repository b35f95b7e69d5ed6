// Package app wires a Gatehouse server from its configuration: it opens
// the stores, builds the domain services and the HTTP API, writes the
// admin token, and runs the HTTP server and the background jobs until it
// is told to stop. The command line and the end-to-end tests share it.
package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/keys"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/oauth"
	"github.com/gatehouse-auth/gatehouse/internal/passkey"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/revocation"
	"github.com/gatehouse-auth/gatehouse/internal/revocation/pgnotify"
	"github.com/gatehouse-auth/gatehouse/internal/revocation/redisnotify"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-auth/gatehouse/internal/token"
	"github.com/gatehouse-auth/gatehouse/internal/webhook"
)

// Options are what tests and the command may set beyond the Config.
type Options struct {
	// Log receives the server's logs; nil discards them.
	Log *slog.Logger
	// Now is the clock; nil for time.Now.
	Now func() time.Time
	// PasswordParams override the Argon2id parameters (tests use cheap
	// ones); the zero value is the OWASP default.
	PasswordParams password.Params
	// WebhookTimeout bounds one webhook or logout token delivery
	// (default webhook.DeliveryTimeout, 10s; tests use less).
	WebhookTimeout time.Duration
	// InsecureNoAuditTrail turns the audit trail off: no event is
	// recorded. Only benchmarks set it, to measure the trail's cost; a
	// server MUST NOT run without its trail.
	InsecureNoAuditTrail bool
}

// App is a wired Gatehouse server.
type App struct {
	Config config.Config
	// AdminTokenPath is the file holding the admin token, or
	// "$GATEHOUSE_ADMIN_TOKEN" when the token comes from that variable.
	AdminTokenPath string
	// DatabasePath is the SQLite file, when SQLite is the database.
	DatabasePath string

	// Accounts owns the account rules; handlers and the CLI call it.
	Accounts *accounts.Service
	Users    *identity.Service
	Sessions *session.Manager
	Keys     *keys.Manager
	Tokens   *token.Service
	Clients  *oauth.Clients
	OAuth    *oauth.TokenEndpoint
	// Authorizer and IDTokens serve the authorization code flow; nil when
	// the database has no code and consent stores.
	Authorizer  *oauth.Authorizer
	IDTokens    *oauth.IDTokens
	Revocations *revocation.Log
	// Audit records the audit trail's events and Events keeps them; nil
	// when the stores keep no events.
	Audit  *audit.Recorder
	Events store.EventStore
	API    *httpapi.Server
	// Metrics are the server's Prometheus collectors; Serve also serves
	// them on the --metrics-addr listener.
	Metrics *metrics.Metrics
	// MailTemplates render the account mails and MailQueue puts them in
	// the durable outbox, which a worker started by Serve delivers; both
	// nil when the stores have no outbox.
	MailTemplates *mail.Templates
	MailQueue     *mail.Queue
	mailWorker    *mail.Worker
	// Webhooks manages the webhook endpoints of the admin API; nil when
	// the stores keep none. The dispatcher and delivery worker of
	// webhooks and back-channel logout run in Serve.
	Webhooks *webhook.Endpoints
	hooks    *hooks

	log      *slog.Logger
	database *Database
	redis    *redisBackend // nil unless --sessions names a Redis server
	closers  []func() error

	// leases and instanceID make background jobs run on one instance of a
	// cluster at a time; now is the clock.
	leases     store.LeaseStore
	instanceID string
	now        func() time.Time
}

// Stores are the backends a server runs on.
type Stores struct {
	Users       store.UserStore
	Sessions    store.SessionStore
	Keys        store.KeyStore
	Refresh     store.RefreshTokenStore
	Revocations store.RevocationStore
	Clients     store.ClientStore
	// AuthCodes and Consents serve the authorization code flow, which is
	// off when either is nil.
	AuthCodes store.AuthCodeStore
	Consents  store.ConsentStore
	// Leases let one instance at a time run the background jobs.
	Leases store.LeaseStore
	// Mail is the durable mail outbox; nil turns mail off.
	Mail store.MailOutbox
	// MFA keeps second factors and WebAuthn ceremonies; nil turns second
	// factors off.
	MFA store.MFAStore
	// OneTimeTokens keeps the links of the account lifecycle, each
	// written with its mail in one transaction; nil (with Mail) turns the
	// lifecycle off.
	OneTimeTokens store.OneTimeTokenMailStore
	// Events keeps the audit trail, always in the SQL database; nil turns
	// the trail off (benchmarks of the cost).
	Events store.EventStore
	// Hooks keeps webhook endpoints, deliveries and back-channel
	// sessions, and reads the audit trail; nil turns webhooks and
	// back-channel logout off.
	Hooks HooksStore
	// Ping reports whether every backend answers.
	Ping func(ctx context.Context) error
}

// New opens the stores named by cfg and builds the server. On an error
// everything opened so far is closed.
func New(ctx context.Context, cfg config.Config, opts Options) (_ *App, err error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &App{Config: cfg, log: log}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	warnOpenModes(ctx, log, cfg.DataDir)
	warnKeyTimings(ctx, log, cfg)
	db, err := OpenDatabase(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.database, a.DatabasePath = db, db.Path
	a.closers = append(a.closers, db.Close)
	stores := db.Stores
	if err := a.useRedis(ctx, &stores); err != nil {
		return nil, err
	}
	if err := a.wire(ctx, stores, opts); err != nil {
		return nil, err
	}
	return a, nil
}

// wire builds the domain services and the HTTP API on stores.
func (a *App) wire(ctx context.Context, stores Stores, opts Options) error {
	cfg, log := a.Config, a.log
	a.leases, a.instanceID, a.now = stores.Leases, randomInstanceID(), opts.Now
	if a.now == nil {
		a.now = time.Now
	}
	adminToken, path, err := adminTokenFromEnv()
	if err == nil && adminToken == "" {
		adminToken, path, err = EnsureAdminToken(cfg.DataDir)
	}
	if err != nil {
		return err
	}
	a.AdminTokenPath = path

	hasher, err := newHasher(cfg, opts)
	if err != nil {
		return err
	}
	accountLimiter, err := a.newLimiter(cfg.LoginLimitAccount, opts.Now)
	if err != nil {
		return fmt.Errorf("--login-limit-account: %w", err)
	}
	ipLimiter, err := a.newLimiter(cfg.LoginLimitIP, opts.Now)
	if err != nil {
		return fmt.Errorf("--login-limit-ip: %w", err)
	}
	if stores.Events != nil && !opts.InsecureNoAuditTrail {
		a.Audit, a.Events = audit.NewRecorder(stores.Events, log, opts.Now), stores.Events
	}
	a.Users = identity.NewService(stores.Users, hasher, identity.Config{
		SignupOpen:     cfg.Signup,
		AccountLimiter: accountLimiter,
		AddressLimiter: ipLimiter,
		UserCacheTTL:   cfg.UserCacheTTL,
		Audit:          a.Audit,
	}, log, opts.Now)
	a.Revocations = revocation.NewLog(stores.Revocations, revocation.Config{MaxTokenLifetime: cfg.AccessTokenTTL, Notifier: a.notifier()}, log, opts.Now)
	if err := a.Revocations.Sync(ctx); err != nil {
		return err
	}
	a.Sessions = session.NewManager(stores.Sessions, session.Config{
		IdleTimeout:      cfg.SessionIdleTimeout,
		Lifetime:         cfg.SessionLifetime,
		GrantIdleTimeout: cfg.GrantIdleTimeout,
		GrantLifetime:    cfg.GrantLifetime,
		// The token service is built below; the hooks run only later.
		Record: func(ctx context.Context, revoked []store.Session, events []audit.Event) error {
			return a.Tokens.RecordRevoked(ctx, revoked, events)
		},
		OnRevoke:     func(ctx context.Context, revoked []store.Session) { a.Tokens.OnSessionsRevoked(ctx, revoked) },
		OnRevokeUser: func(ctx context.Context, userID string) error { return a.Revocations.RevokeUser(ctx, userID) },
		Audit:        a.Audit,
	}, log, opts.Now)
	if err := checkKEKPresent(ctx, stores.Keys, cfg.DataDir); err != nil {
		return err
	}
	kek, err := keys.LoadKEK(os.Getenv(keys.KEKEnv), cfg.DataDir)
	if err != nil {
		return err
	}
	// A retired key stays listed while the longest token it signed (an
	// access token or an ID token) may be valid.
	a.Keys, err = keys.NewManager(ctx, stores.Keys, kek, keys.Config{
		Algorithms:       signingAlgorithms(cfg),
		RetireAfter:      max(cfg.AccessTokenTTL, oauth.DefaultIDTokenTTL) + revocation.DefaultLeeway,
		RotationInterval: cfg.KeyRotationInterval,
		PublishDelay:     cfg.KeyPublishDelay,
		Audit:            a.Audit,
	}, log, opts.Now)
	if err != nil {
		return err
	}
	if err := a.wireMail(ctx, stores.Mail, kek, log, a.now); err != nil {
		return err
	}
	a.Tokens = token.NewService(token.Config{
		Issuer:         cfg.Issuer,
		AccessTokenTTL: cfg.AccessTokenTTL,
		RefreshGrace:   cfg.RefreshReuseGrace,
		Leeway:         cfg.TokenLeeway,
	}, a.Keys, a.Sessions, stores.Refresh, stores.Users, a.Revocations, log, opts.Now)
	a.IDTokens = oauth.NewIDTokens(cfg.Issuer, 0, a.Keys, opts.Now)
	if stores.Hooks != nil {
		a.IDTokens.WithBackchannel(stores.Hooks)
	}
	if err := a.wireHooks(stores.Hooks, kek, log, a.now, opts.WebhookTimeout); err != nil {
		return err
	}
	lifecycle, err := a.lifecycleConfig(cfg, stores, opts)
	if err != nil {
		return err
	}
	deps := accounts.Deps{Users: a.Users, Sessions: a.Sessions, Tokens: a.Tokens, Revocations: a.Revocations, Log: log, Now: opts.Now, ReauthWindow: cfg.ReauthWindow, RequireMFA: cfg.RequireMFA, Lifecycle: lifecycle, Audit: a.Audit}
	if stores.MFA != nil {
		deps.Ceremonies = stores.MFA
		deps.MFA, err = mfa.New(mfa.Config{KEK: kek, Now: opts.Now}, stores.MFA, stores.MFA)
		if err != nil {
			return err
		}
		deps.Passkeys, err = newPasskeys(ctx, cfg, stores.MFA, log, opts.Now)
		if err != nil {
			return err
		}
	}
	a.Accounts = accounts.New(deps)
	a.Clients = oauth.NewClients(stores.Clients, oauth.ClientsConfig{OnDelete: a.Accounts.RevokeClient, CurrentIDTokenAlgorithms: a.IDTokens.Algorithms, Audit: a.Audit}, opts.Now)
	grants := []oauth.Grant{}
	if stores.AuthCodes != nil && stores.Consents != nil {
		a.Authorizer = oauth.NewAuthorizer(oauth.AuthorizerConfig{Issuer: cfg.Issuer, OnConsentRevoked: a.Accounts.RevokeUserClient, Audit: a.Audit},
			a.Clients, stores.AuthCodes, stores.Consents, opts.Now)
		grants = append(grants, oauth.NewAuthorizationCodeGrant(stores.AuthCodes, a.Sessions, a.Tokens, stores.Users, a.IDTokens, opts.Now))
	}
	grants = append(grants, oauth.NewClientCredentialsGrant(a.Tokens, opts.Now), oauth.NewRefreshGrant(a.Tokens))
	a.OAuth, err = oauth.NewTokenEndpoint(cfg.Issuer, a.Clients, grants...)
	if err != nil {
		return err
	}
	m := metrics.New(a.Sessions.Count)
	a.Metrics = m
	if err := m.RefreshSessions(ctx, a.now()); err != nil {
		log.WarnContext(ctx, "could not count sessions for metrics", "err", err)
	}
	a.API = httpapi.New(httpapi.Config{
		Issuer:         cfg.Issuer,
		TrustedOrigins: cfg.TrustedOrigins,
		TrustedProxies: cfg.TrustedProxies,
		SecureCookies:  cfg.SecureCookies(),
		AdminTokenHash: sha256.Sum256([]byte(adminToken)),

		MaxStreams:          cfg.MaxStreams,
		MaxStreamsPerClient: cfg.MaxStreamsPerClient,
	}, httpapi.Deps{
		Accounts:     a.Accounts,
		Users:        a.Users,
		Sessions:     a.Sessions,
		Bearer:       a.Tokens,
		TokenService: a.Tokens,
		OAuth:        a.OAuth,
		Authorize:    a.Authorizer,
		IDTokens:     a.IDTokens,
		Webhooks:     a.Webhooks,
		Keys:         a.Keys,
		Revocations:  a.Revocations,
		Events:       a.Events,
		Metrics:      m,
		Log:          log,
		Ready:        stores.Ping,
		Now:          opts.Now,
	})
	return nil
}

// newLimiter returns a limiter shared through Redis when --sessions names
// a Redis server, an in-process one otherwise, or nil (no limit) for Max 0.
func (a *App) newLimiter(l config.RateLimit, now func() time.Time) (ratelimit.Limiter, error) {
	if l.Max == 0 {
		return nil, nil
	}
	limit := ratelimit.Limit{Max: l.Max, Window: l.Window}
	if a.redis != nil {
		return a.redis.limiter(limit, now)
	}
	m, err := ratelimit.NewMemory(limit, ratelimit.MemoryConfig{Now: now})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// openStores opens the database the configuration names.
func (d *Database) openStores(ctx context.Context, cfg config.Config) (Stores, error) {
	switch {
	case strings.HasPrefix(cfg.DB, "postgres://"), strings.HasPrefix(cfg.DB, "postgresql://"):
		return d.openPostgres(ctx, cfg.DB)
	}
	path := cfg.DB
	if path == "" || path == "sqlite" {
		path = filepath.Join(cfg.DataDir, "gatehouse.db")
	}
	path = strings.TrimPrefix(path, "sqlite://")
	st, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		return Stores{}, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	d.sql = st
	d.Path = path
	d.closers = append(d.closers, st.Close)
	if err := st.Migrate(ctx); err != nil {
		return Stores{}, fmt.Errorf("migrate SQLite database: %w", err)
	}
	return Stores{Users: st, Sessions: st, Keys: st, Refresh: st, Revocations: st, Clients: st, AuthCodes: st, Consents: st, Leases: st, Mail: st, MFA: st, OneTimeTokens: st, Events: st, Hooks: st, Ping: st.Ping}, nil
}

// openPostgres opens a connection pool on the PostgreSQL database whose
// URL is --db (pool settings such as pool_max_conns may be set in it),
// migrates it, and returns every store on it.
func (d *Database) openPostgres(ctx context.Context, url string) (Stores, error) {
	st, err := sqlstore.OpenPostgres(ctx, url)
	if err != nil {
		return Stores{}, fmt.Errorf("open PostgreSQL database: %w", err)
	}
	d.closers = append(d.closers, st.Close)
	d.sql = st
	d.pgPool = st.PgxPool()
	if err := st.Migrate(ctx); err != nil {
		return Stores{}, fmt.Errorf("migrate PostgreSQL database: %w", err)
	}
	return Stores{Users: st, Sessions: st, Keys: st, Refresh: st, Revocations: st, Clients: st, AuthCodes: st, Consents: st, Leases: st, Mail: st, MFA: st, OneTimeTokens: st, Events: st, Hooks: st, Ping: st.Ping}, nil
}

// checkKEKPresent refuses to start when no key-encryption key is
// configured (neither the variable nor the file) while the database already
// holds signing keys: generating a new KEK then would only leave a wrong
// one behind. The operator restores the KEK instead.
func checkKEKPresent(ctx context.Context, ks store.KeyStore, dataDir string) error {
	if os.Getenv(keys.KEKEnv) != "" {
		return nil
	}
	path := filepath.Join(dataDir, keys.KEKFile)
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	stored, err := ks.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("list signing keys: %w", err)
	}
	if len(stored) > 0 {
		return fmt.Errorf("the database holds %d signing keys but there is no key-encryption key: set %s or restore %s (see docs/deploy.md)", len(stored), keys.KEKEnv, path)
	}
	return nil
}

// notifier picks how revocations fan out to other instances: Redis
// pub/sub when Redis is configured, else PostgreSQL LISTEN/NOTIFY, else
// none (SQLite serves one instance).
func (a *App) notifier() revocation.Notifier {
	switch {
	case a.redis != nil:
		return redisnotify.New(a.redis.client, a.redis.prefix+"revocations")
	case a.database.pgPool != nil:
		return pgnotify.New(a.database.pgPool)
	}
	return nil
}

// Close releases the stores.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// Serve answers HTTP on ln and runs the background jobs until ctx ends,
// then stops accepting connections, lets in-flight requests finish (up to
// the shutdown timeout) and returns.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.API,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	srv.RegisterOnShutdown(a.API.CloseStreams)
	metricsSrv, err := a.serveMetrics(ctx)
	if err != nil {
		return err
	}
	jobs, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	var wg sync.WaitGroup
	wg.Go(func() { a.countSessions(jobs, a.Config.MetricsInterval) })
	wg.Go(func() { a.Revocations.Run(jobs, a.Config.RevocationPollInterval) })
	wg.Go(func() { a.forgetRevoked(jobs) })
	wg.Go(func() { a.Keys.RunReload(jobs, time.Minute) })
	wg.Go(func() { a.singleton(jobs, "sweep", a.Config.SweepInterval, a.Sweep) })
	wg.Go(func() { a.singleton(jobs, "keys", time.Minute, a.Keys.Maintain) })
	if a.mailWorker != nil {
		wg.Go(func() { _ = a.mailWorker.Run(jobs) })
	}
	if a.hooks != nil {
		a.hooks.run(jobs, wg.Go)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		stopJobs()
		wg.Wait()
		if metricsSrv != nil {
			metricsSrv.Close()
		}
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down", "timeout", a.Config.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(sctx)
	}
	stopJobs()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// serveMetrics starts the --metrics-addr listener, which serves
// GET /metrics without authentication and nothing else; it returns nil
// when that listener is off. Failing to listen on an address given
// explicitly is an error: a server that silently lost its metrics would
// look healthy and be blind. The default address, when taken, is only a
// warning, so that "gatehouse serve" runs with no setup next to another.
func (a *App) serveMetrics(ctx context.Context) (*http.Server, error) {
	addr := a.Config.MetricsListener()
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && addr == config.DefaultMetricsAddr && errors.Is(err, syscall.EADDRINUSE) {
		// The default is a convenience, and two servers on one host
		// (or an OpenTelemetry exporter) share it: run, but say so.
		a.log.Warn("metrics listener off: its default address is taken; set --metrics-addr", "addr", addr, "err", err)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("metrics listener (--metrics-addr %s; \"off\" turns it off): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Metrics.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	a.log.Info("metrics listening", "addr", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics listener stopped", "err", err)
		}
	}()
	return srv, nil
}

// countSessions refreshes the live-session gauge every interval until ctx
// ends, so that scrapes never touch the store.
func (a *App) countSessions(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := a.Metrics.RefreshSessions(cctx, a.now()); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "could not count sessions for metrics", "err", err)
		}
		cancel()
	}
}

// Sweep deletes what has expired: sessions and grants, refresh tokens,
// authorization codes, revocation events, and pending two-step logins
// and WebAuthn ceremonies. In a cluster one instance at
// a time runs it (see singleton).
func (a *App) Sweep(ctx context.Context) error {
	var errs []error
	count := func(what string, n int, err error) {
		if err != nil {
			errs = append(errs, err)
		} else if n > 0 {
			a.log.InfoContext(ctx, "expired records swept", "what", what, "count", n)
		}
	}
	n, err := a.Sessions.Sweep(ctx)
	count("sessions", n, err)
	n, err = a.Tokens.Sweep(ctx)
	count("refresh tokens", n, err)
	n, err = a.Revocations.PruneStore(ctx)
	count("revocation events", n, err)
	if a.Authorizer != nil {
		n, err = a.Authorizer.Sweep(ctx)
		count("authorization codes", n, err)
	}
	n, err = a.Accounts.SweepCeremonies(ctx)
	count("mfa tokens and WebAuthn ceremonies", n, err)
	n, err = a.Accounts.SweepTokens(ctx)
	count("one-time tokens", n, err)
	n, err = a.SweepEvents(ctx)
	count("audit events", n, err)
	return errors.Join(errs...)
}

// SweepEvents deletes the audit events older than --audit-retention (none
// when it is 0) and returns how many. It runs in Sweep, on one instance
// at a time.
func (a *App) SweepEvents(ctx context.Context) (int, error) {
	if a.Events == nil || a.Config.AuditRetention <= 0 {
		return 0, nil
	}
	n, err := a.Events.DeleteEventsBefore(ctx, a.now().Add(-a.Config.AuditRetention))
	if err != nil {
		return 0, fmt.Errorf("sweep audit events: %w", err)
	}
	return n, nil
}

// lifecycleConfig is the accounts lifecycle's configuration: its mailer
// (on the mail wiring, so it comes after wireMail), limits, lifetimes
// and login rule.
func (a *App) lifecycleConfig(cfg config.Config, stores Stores, opts Options) (accounts.LifecycleConfig, error) {
	mailLimiter, err := a.newLimiter(cfg.MailLimitAddress, opts.Now)
	if err != nil {
		return accounts.LifecycleConfig{}, fmt.Errorf("--mail-limit-address: %w", err)
	}
	mailIPLimiter, err := a.newLimiter(cfg.MailLimitIP, opts.Now)
	if err != nil {
		return accounts.LifecycleConfig{}, fmt.Errorf("--mail-limit-ip: %w", err)
	}
	var mailer accounts.Mailer
	if stores.OneTimeTokens != nil && a.MailQueue != nil {
		mailer = accounts.NewOutboxMailer(a.MailTemplates, a.MailQueue, stores.OneTimeTokens, opts.Now)
	}
	return accounts.LifecycleConfig{
		Mailer:               mailer,
		Tokens:               stores.OneTimeTokens,
		VerificationTTL:      cfg.VerificationTTL,
		RecoveryTTL:          cfg.RecoveryTTL,
		MailLimiter:          mailLimiter,
		MailIPLimiter:        mailIPLimiter,
		RequireVerifiedEmail: cfg.RequireVerifiedEmail,
		Now:                  opts.Now,
	}, nil
}

// randomInstanceID names this process among the cluster's lease holders.
func randomInstanceID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	host, _ := os.Hostname()
	return host + "-" + base64.RawURLEncoding.EncodeToString(b[:])
}

// singleton runs job every interval until ctx ends, on the one instance
// of the cluster that holds the job's lease: whoever runs it renews the
// lease (for two intervals) each round, and another instance takes over
// once a holder stops renewing.
func (a *App) singleton(ctx context.Context, name string, interval time.Duration, job func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		held, err := a.leases.AcquireLease(ctx, name, a.instanceID, a.now(), 2*interval)
		if err != nil {
			if ctx.Err() == nil {
				a.log.WarnContext(ctx, "could not acquire a job lease", "job", name, "err", err)
			}
			continue
		}
		if !held {
			continue
		}
		if err := job(ctx); err != nil && ctx.Err() == nil {
			a.log.ErrorContext(ctx, "background job failed", "job", name, "err", err)
		}
	}
}

// forgetRevoked drops sessions that the revocation log reports revoked
// (by this instance or, through Sync, by another) from the in-process
// cookie cache, until ctx ends. Should an event be missed, the cache still
// notices the deleted record at the session's next touch, within the
// touch interval.
func (a *App) forgetRevoked(ctx context.Context) {
	sub := a.Revocations.Subscribe(a.Revocations.Published())
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.Ready():
		}
		for {
			evs, err := sub.Next(ctx, 1000)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				// Retry after a pause rather than wait for the next
				// doorbell, which may not ring for a long time: the
				// unread events' sessions would stay cached meanwhile.
				a.log.WarnContext(ctx, "could not read revocations for the session cache; retrying", "err", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				continue
			}
			if len(evs) == 0 {
				break
			}
			for _, e := range evs {
				a.forget(e)
			}
		}
	}
}

// forget drops what one revocation event revokes from the caches.
func (a *App) forget(e store.Revocation) {
	if e.SessionID != "" {
		a.Sessions.Forget(e.SessionID)
	}
	if e.UserID != "" {
		a.Sessions.ForgetUser(e.UserID)
		a.Users.Forget(e.UserID)
		// A deleted client's revocation is keyed on its id.
		if a.Clients != nil {
			a.Clients.Forget(e.UserID)
		}
	}
}

// AdminTokenEnv holds the admin token when set, instead of the file in
// the data dir: instances of a cluster share one token this way.
const AdminTokenEnv = "GATEHOUSE_ADMIN_TOKEN"

// minAdminTokenLen is the shortest admin token accepted from the
// environment (the generated ones are 47 characters, 256 bits).
const minAdminTokenLen = 32

// adminTokenFromEnv returns the token in AdminTokenEnv, if set, with a
// description of where it came from in place of a path.
func adminTokenFromEnv() (token, source string, err error) {
	t := strings.TrimSpace(os.Getenv(AdminTokenEnv))
	if t == "" {
		return "", "", nil
	}
	if len(t) < minAdminTokenLen {
		return "", "", fmt.Errorf("%s must be at least %d characters (generate one with: head -c 32 /dev/urandom | base64)", AdminTokenEnv, minAdminTokenLen)
	}
	return t, "$" + AdminTokenEnv, nil
}

// EnsureAdminToken returns the admin token stored in dataDir, creating it
// (256 random bits, file mode 0600) on first start.
func EnsureAdminToken(dataDir string) (token, path string, err error) {
	path = filepath.Join(dataDir, "admin-token")
	b, err := os.ReadFile(path)
	if err == nil {
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", "", fmt.Errorf("admin token file %s is empty", path)
		}
		return t, path, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("read admin token: %w", err)
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	token = "gha_" + base64.RawURLEncoding.EncodeToString(raw[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", "", fmt.Errorf("create admin token: %w", err)
	}
	if _, err := f.WriteString(token + "\n"); err != nil {
		f.Close()
		return "", "", fmt.Errorf("write admin token: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", "", fmt.Errorf("write admin token: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", "", fmt.Errorf("write admin token: %w", err)
	}
	return token, path, nil
}

// SchemaVersion returns the database's migration version.
func (a *App) SchemaVersion(ctx context.Context) (int, error) {
	return a.database.SchemaVersion(ctx)
}

// jwksCacheLifetime is how long the JWKS answer may be cached
// (Cache-Control max-age in internal/httpapi); verifiers that honour it
// see a new key at most this late.
const jwksCacheLifetime = 5 * time.Minute

// warnKeyTimings warns about key settings that work but undo the
// publish-before-sign rollover: a publish delay shorter than the JWKS
// cache lifetime (verifiers with a cached JWKS refuse the first tokens of
// a new key), and a rotation interval shorter than the publish delay
// (keys rotate back to back, each signing only briefly).
func warnKeyTimings(ctx context.Context, log *slog.Logger, cfg config.Config) {
	if d := cfg.KeyPublishDelay; d > 0 && d < jwksCacheLifetime {
		log.WarnContext(ctx, "--key-publish-delay is shorter than the JWKS cache lifetime: verifiers may refuse tokens of a new key until their cache expires",
			"key_publish_delay", d.String(), "jwks_max_age", jwksCacheLifetime.String())
	}
	if r := cfg.KeyRotationInterval; r > 0 && r < cfg.KeyPublishDelay {
		log.WarnContext(ctx, "--key-rotation-interval is shorter than --key-publish-delay: keys rotate back to back",
			"key_rotation_interval", r.String(), "key_publish_delay", cfg.KeyPublishDelay.String())
	}
}

// newPasskeys returns the WebAuthn relying party of the issuer and the
// trusted origins, or nil, with a warning, when the issuer's host is an
// IP address: WebAuthn needs a domain name (localhost works), so passkeys
// are off rather than failing at the first ceremony.
func newPasskeys(ctx context.Context, cfg config.Config, st store.MFAStore, log *slog.Logger, now func() time.Time) (*passkey.Service, error) {
	svc, err := passkey.New(passkey.Config{Issuer: cfg.Issuer, TrustedOrigins: cfg.TrustedOrigins, Now: now, Logger: log}, st, st)
	if errors.Is(err, passkey.ErrNoDomain) {
		log.WarnContext(ctx, "passkeys are off: WebAuthn needs a domain name, and the issuer's host is an IP address; use --issuer http://localhost:PORT for development or a real domain",
			"issuer", cfg.Issuer)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return svc, nil
}
