// Package config defines the settings of "gatehouse serve" and reads them
// from command-line flags and GATEHOUSE_* environment variables. Every
// flag has a variable: --data-dir is GATEHOUSE_DATA_DIR. A flag given on
// the command line wins over its variable.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	netmail "net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

// Config holds everything "gatehouse serve" can be told. The comments
// give each field's flag and default.
type Config struct {
	// Addr (--addr, default 127.0.0.1:8080) is the listen address.
	Addr string
	// DataDir (--data-dir, default ./gatehouse-data) holds the SQLite
	// database, generated keys and the admin token.
	DataDir string
	// DB (--db, default SQLite in DataDir) is "sqlite", a SQLite file
	// path, or a postgres:// URL.
	DB string
	// Sessions (--sessions, default "db") stores sessions in the database
	// above, or in Redis given a redis:// URL.
	Sessions string
	// Issuer (--issuer, default "http://" + Addr) is the public base URL.
	// An https issuer turns on Secure, __Host- cookies and HSTS.
	Issuer string
	// TrustedOrigins (--trusted-origins) are extra origins allowed for
	// CSRF checks and CORS, besides the issuer's.
	TrustedOrigins []string
	// TrustedProxies (--trusted-proxies) are the CIDR ranges of reverse
	// proxies whose X-Forwarded-For header names the client address.
	// Default none: the connection's address is the client's.
	TrustedProxies []netip.Prefix
	// Signup (--signup, default true) opens POST /v1/signup.
	Signup bool
	// AccessTokenTTL (--access-token-ttl, default 5m) is the lifetime of
	// access tokens.
	AccessTokenTTL time.Duration
	// SessionIdleTimeout (--session-idle-timeout, default 30m) ends a
	// cookie session unused this long.
	SessionIdleTimeout time.Duration
	// SessionLifetime (--session-lifetime, default 12h) ends a cookie
	// session this long after login, used or not.
	SessionLifetime time.Duration
	// GrantIdleTimeout (--grant-idle-timeout, default 720h) ends a token
	// grant whose refresh token is unused this long.
	GrantIdleTimeout time.Duration
	// GrantLifetime (--grant-lifetime, default 2160h) ends a token grant
	// this long after login.
	GrantLifetime time.Duration
	// SigningAlgorithm (--signing-algorithm, default EdDSA) signs access
	// tokens: EdDSA, ES256 or RS256. An RS256 key is kept as well, for
	// OpenID Connect ID tokens.
	SigningAlgorithm string
	// KeyRotationInterval (--key-rotation-interval, default 720h) rotates
	// signing keys once they are this old; 0 turns scheduled rotation off.
	KeyRotationInterval time.Duration
	// KeyPublishDelay (--key-publish-delay, default 20m) is how long a
	// rotated key is listed in the JWKS before it signs, so verifiers'
	// cached key sets have it by then; 0 makes rotations sign at once.
	KeyPublishDelay time.Duration
	// TokenLeeway (--token-leeway, default 5s) is the clock skew the
	// server allows when it checks its own tokens (exp, nbf, iat) at
	// /v1/me, userinfo, introspection and the admin API; 0 to 60s.
	TokenLeeway time.Duration
	// RefreshReuseGrace (--refresh-reuse-grace, default 10s) is how long a
	// rotated refresh token still returns the same new pair; after it, a
	// reuse revokes the whole grant.
	RefreshReuseGrace time.Duration
	// RevocationPollInterval (--revocation-poll-interval, default 1s) is
	// how often the revocation log is read for events other instances
	// appended.
	RevocationPollInterval time.Duration
	// LoginLimitAccount (--login-limit-account, default 10/15m) is how
	// many failed logins one account may see in a window.
	LoginLimitAccount RateLimit
	// LoginLimitIP (--login-limit-ip, default 100/15m) is how many failed
	// logins (and signups) one client address may make in a window.
	LoginLimitIP RateLimit
	// MailLimitAddress (--mail-limit-address, default 5/1h) is how many
	// lifecycle mails (recovery, verification, address changes) one email
	// address may be sent in a window, whether or not it has an account.
	MailLimitAddress RateLimit
	// MailLimitIP (--mail-limit-ip, default 30/1h) is how many such
	// requests one client address may make in a window.
	MailLimitIP RateLimit
	// RequireVerifiedEmail (--require-verified-email, default false)
	// refuses the login of an account whose address is not verified,
	// with 403 email_not_verified once the password is right.
	RequireVerifiedEmail bool
	// VerificationTTL (--verification-ttl, default 24h) and RecoveryTTL
	// (--recovery-ttl, default 1h) are the lifetimes of the links mailed
	// to verify an address and to recover a password.
	VerificationTTL time.Duration
	RecoveryTTL     time.Duration
	// HashConcurrency (--hash-concurrency, default GOMAXPROCS, one per CPU) bounds the
	// Argon2id computations running at once (19 MiB each).
	HashConcurrency int
	// UserCacheTTL (--user-cache-ttl, default 5s) is how long GET /v1/me
	// may answer with an account read from memory; 0 turns the cache off.
	// Disables, deletes and password changes show at once on every
	// instance; other changes made on another instance show within it.
	UserCacheTTL time.Duration
	// SweepInterval (--sweep-interval, default 1m) is how often expired
	// sessions are deleted.
	SweepInterval time.Duration
	// AuditRetention (--audit-retention, default 2160h, 90 days) is how
	// long audit events are kept; the sweep deletes older ones. 0 keeps
	// them forever.
	AuditRetention time.Duration
	// ReauthWindow (--reauth-window, default 10m) is how recent the
	// login of a session or grant must be for a sensitive action
	// (removing a second factor); older ones answer 403
	// reauthentication_required.
	ReauthWindow time.Duration
	// LogLevel (--log-level, default info) is debug, info, warn or error.
	LogLevel string
	// LogFormat (--log-format, default json) is json or text.
	LogFormat string
	// ShutdownTimeout (--shutdown-timeout, default 30s) is how long SIGTERM
	// waits for in-flight requests.
	ShutdownTimeout time.Duration
	// MetricsAddr (--metrics-addr, default 127.0.0.1:9464) is a second
	// listener that serves GET /metrics, and nothing else, without
	// authentication; "off" (or empty) turns it off. On the main listener
	// /metrics needs the admin credentials either way.
	MetricsAddr string
	// MetricsInterval (--metrics-interval, default 1m) is how often the
	// live sessions are counted for gatehouse_active_sessions; scrapes
	// never count.
	MetricsInterval time.Duration
	// MaxStreams (--max-streams, default 1000) bounds the open
	// GET /v1/revocations/stream connections of this instance; 0 means no
	// limit.
	MaxStreams int
	// MaxStreamsPerClient (--max-streams-per-client, default 10) bounds
	// them per client address (after --trusted-proxies); 0 means no limit.
	MaxStreamsPerClient int
	// SMTPURL (--smtp-url, default none) is the SMTP server mails leave
	// through: smtp://[user:pass@]host[:port][?starttls=required] (STARTTLS
	// when offered) or smtps://… (implicit TLS). Without it, mails go to
	// the log and to MailDir, the development mailbox.
	SMTPURL string
	// MailFrom (--mail-from) is the sender address of every mail, as
	// "Name <address>" or a bare address. Required with --smtp-url;
	// otherwise it defaults to ProductName <no-reply@issuer-host>.
	MailFrom string
	// MailTemplates (--mail-templates, default none) is a directory of
	// template overrides: a file there named as a built-in template
	// (verify_email.txt.tmpl…) replaces it. Checked at start-up.
	MailTemplates string
	// ProductName (--product-name, default "Gatehouse") names the service
	// in mails.
	ProductName string
}

// Defaults of the token and key settings. The packages that use them
// (token, keys) take the values as given, zero meaning none, so these
// are the one source of the server's defaults.
const (
	// DefaultKeyPublishDelay is --key-publish-delay's default: how long a
	// new key is listed in the JWKS before it signs anything. Verifiers
	// cache the JWKS: Gatehouse serves it with max-age=300, and common
	// caches refresh it no more often than every 15 minutes whatever
	// max-age says (lestrrat-go/jwx's default), or refetch on an unknown
	// key id at most once every 5 minutes (MicahParks/keyfunc's default).
	// Twenty minutes covers them all with a margin, so a token signed with
	// a new key verifies at once everywhere.
	DefaultKeyPublishDelay = 20 * time.Minute
	// DefaultTokenLeeway is --token-leeway's default: the clock skew the
	// server allows when it checks its own tokens (exp, nbf and iat), a
	// few seconds, so that a token is refused everywhere the server
	// checks it once it is 5 s past its exp.
	DefaultTokenLeeway = 5 * time.Second
	// DefaultRefreshReuseGrace is --refresh-reuse-grace's default: how
	// long a rotated refresh token still returns the same new pair, so two
	// tabs refreshing at once both succeed.
	DefaultRefreshReuseGrace = 10 * time.Second
)

// MailDir returns the development mailbox, <data-dir>/mail, where mails
// are written when no --smtp-url is given.
func (c Config) MailDir() string { return filepath.Join(c.DataDir, "mail") }

// DefaultMetricsAddr is --metrics-addr's default. When that address is
// taken (another Gatehouse or an OpenTelemetry exporter on the same host)
// the server warns and runs without the metrics listener; an address
// given explicitly must be bound.
const DefaultMetricsAddr = "127.0.0.1:9464"

// DefaultAuditRetention is how long audit events are kept by default: 90
// days, a common minimum for security logs.
const DefaultAuditRetention = 90 * 24 * time.Hour

// MetricsListener returns the address of the separate metrics listener,
// or "" when it is off.
func (c Config) MetricsListener() string {
	if c.MetricsAddr == "off" {
		return ""
	}
	return c.MetricsAddr
}

// RateLimit is a number of events allowed per window, written "10/15m".
type RateLimit struct {
	Max    int
	Window time.Duration
}

// String formats the limit as it is parsed.
func (r RateLimit) String() string { return fmt.Sprintf("%d/%s", r.Max, r.Window) }

// ParseRateLimit parses "N/duration"; N = 0 turns the limit off.
func ParseRateLimit(s string) (RateLimit, error) {
	n, w, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return RateLimit{}, fmt.Errorf("rate limit %q: want N/duration, as in 10/15m", s)
	}
	max, err := strconv.Atoi(n)
	if err != nil || max < 0 {
		return RateLimit{}, fmt.Errorf("rate limit %q: bad count", s)
	}
	window, err := time.ParseDuration(w)
	if err != nil || window <= 0 {
		return RateLimit{}, fmt.Errorf("rate limit %q: bad window", s)
	}
	return RateLimit{Max: max, Window: window}, nil
}

// EnvPrefix starts the name of every environment variable.
const EnvPrefix = "GATEHOUSE_"

// EnvName returns the environment variable of a flag: "data-dir" is
// GATEHOUSE_DATA_DIR.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse reads the serve flags from args and, for flags not given there,
// from the environment through getenv (os.Getenv when nil).
func Parse(args []string, getenv func(string) string) (Config, error) {
	return ParseCommand(Command{Name: "serve"}, args, getenv, io.Discard)
}

// A Command describes one gatehouse command for ParseCommand.
type Command struct {
	// Name is the command as typed: "serve", "user create".
	Name string
	// Usage is printed by -h before the flags: what the command does.
	Usage string
	// Settings names the Config flags (without dashes) the command takes
	// on its command line; nil means all of them. Every setting is still
	// read from its environment variable.
	Settings []string
	// Flags registers the command's own flags, which have no environment
	// variable.
	Flags func(fs *flag.FlagSet)
}

// ParseCommand reads the command line of cmd: its own flags and the
// settings it takes from args, and every setting not given there from
// the environment through getenv (os.Getenv when nil). Given -h or
// --help it writes the command's usage to help and returns flag.ErrHelp.
// A bad value is one error naming the flag or variable, without the
// usage.
func ParseCommand(cmd Command, args []string, getenv func(string) string, help io.Writer) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	fs := flag.NewFlagSet(cmd.Name, flag.ContinueOnError)
	var c Config
	var trustedOrigins, trustedProxies, limitAccount, limitIP string
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&c.DataDir, "data-dir", "./gatehouse-data", "directory for the SQLite database, keys and the admin token")
	fs.StringVar(&c.DB, "db", "", "database: empty for SQLite in the data dir, a SQLite file path, or a postgres:// URL")
	fs.StringVar(&c.Sessions, "sessions", "db", `session store: "db" (the database) or a redis:// URL`)
	fs.StringVar(&c.Issuer, "issuer", "", `public base URL (default "http://" + addr); https turns on Secure cookies`)
	fs.StringVar(&trustedOrigins, "trusted-origins", "", "extra origins allowed for CSRF and CORS, comma-separated")
	fs.StringVar(&trustedProxies, "trusted-proxies", "", "CIDR ranges of proxies whose X-Forwarded-For is believed, comma-separated")
	fs.BoolVar(&c.Signup, "signup", true, "open POST /v1/signup")
	durationVar(fs, &c.AccessTokenTTL, "access-token-ttl", 5*time.Minute, "access-token lifetime")
	durationVar(fs, &c.SessionIdleTimeout, "session-idle-timeout", 30*time.Minute, "a cookie session unused this long is dead")
	durationVar(fs, &c.SessionLifetime, "session-lifetime", 12*time.Hour, "absolute cookie-session lifetime")
	durationVar(fs, &c.GrantIdleTimeout, "grant-idle-timeout", 30*24*time.Hour, "a token grant whose refresh token is unused this long is dead")
	durationVar(fs, &c.GrantLifetime, "grant-lifetime", 90*24*time.Hour, "absolute token-grant lifetime")
	fs.StringVar(&c.SigningAlgorithm, "signing-algorithm", "EdDSA", "access-token signing algorithm: EdDSA, ES256 or RS256")
	durationVar(fs, &c.KeyRotationInterval, "key-rotation-interval", 720*time.Hour, "rotate signing keys this old (0 turns it off)")
	durationVar(fs, &c.KeyPublishDelay, "key-publish-delay", DefaultKeyPublishDelay, "how long a rotated key is published in the JWKS before it signs (0 signs at once)")
	durationVar(fs, &c.TokenLeeway, "token-leeway", DefaultTokenLeeway, "clock skew allowed when the server checks its own tokens (0 to 60s)")
	durationVar(fs, &c.RefreshReuseGrace, "refresh-reuse-grace", DefaultRefreshReuseGrace, "how long a rotated refresh token returns the same new pair")
	durationVar(fs, &c.RevocationPollInterval, "revocation-poll-interval", time.Second, "how often the revocation log is read for other instances' events")
	fs.StringVar(&limitAccount, "login-limit-account", "10/15m", "failed logins allowed per account per window (0/1m turns it off)")
	fs.StringVar(&limitIP, "login-limit-ip", "100/15m", "failed logins and signups allowed per client address per window")
	var mailLimitAddress, mailLimitIP string
	fs.StringVar(&mailLimitAddress, "mail-limit-address", "5/1h", "recovery and verification mails allowed per email address per window")
	fs.StringVar(&mailLimitIP, "mail-limit-ip", "30/1h", "recovery and verification requests allowed per client address per window")
	fs.BoolVar(&c.RequireVerifiedEmail, "require-verified-email", false, "refuse logins of accounts whose address is not verified (403 email_not_verified)")
	durationVar(fs, &c.VerificationTTL, "verification-ttl", 24*time.Hour, "lifetime of an email verification link")
	durationVar(fs, &c.RecoveryTTL, "recovery-ttl", time.Hour, "lifetime of a password recovery link")
	fs.IntVar(&c.HashConcurrency, "hash-concurrency", 0, "Argon2id computations at once (default: one per CPU)")
	durationVar(fs, &c.UserCacheTTL, "user-cache-ttl", 5*time.Second, "how long GET /v1/me may show an account from memory (0 turns the cache off)")
	durationVar(fs, &c.SweepInterval, "sweep-interval", time.Minute, "how often expired sessions are deleted")
	durationVar(fs, &c.AuditRetention, "audit-retention", DefaultAuditRetention, "how long audit events are kept (0 keeps them forever)")
	durationVar(fs, &c.ReauthWindow, "reauth-window", authcontext.DefaultStepUpWindow, "how recent a login must be for a sensitive action (removing a second factor)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "json", "json or text")
	durationVar(fs, &c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long SIGTERM waits for in-flight requests")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", DefaultMetricsAddr, `listener serving only GET /metrics, unauthenticated ("off" turns it off)`)
	durationVar(fs, &c.MetricsInterval, "metrics-interval", time.Minute, "how often live sessions are counted for gatehouse_active_sessions")
	fs.IntVar(&c.MaxStreams, "max-streams", 1000, "open revocation streams allowed on this instance (0: no limit)")
	fs.IntVar(&c.MaxStreamsPerClient, "max-streams-per-client", 10, "open revocation streams allowed per client address (0: no limit)")
	fs.StringVar(&c.SMTPURL, "smtp-url", "", "SMTP server for mails: smtp://[user:pass@]host:port or smtps://… (default: log and <data-dir>/mail)")
	fs.StringVar(&c.MailFrom, "mail-from", "", `sender of mails, "Name <address>" (required with --smtp-url; default product-name <no-reply@issuer-host>)`)
	fs.StringVar(&c.MailTemplates, "mail-templates", "", "directory of mail template overrides, checked at start-up")
	fs.StringVar(&c.ProductName, "product-name", "Gatehouse", "name of the service in mails")

	cl := flag.NewFlagSet(cmd.Name, flag.ContinueOnError)
	cl.SetOutput(io.Discard)
	cl.Usage = func() {}
	if cmd.Flags != nil {
		cmd.Flags(cl)
	}
	own := map[string]bool{}
	cl.VisitAll(func(f *flag.Flag) { own[f.Name] = true })
	takes := map[string]bool{}
	for _, n := range cmd.Settings {
		takes[n] = true
	}
	fs.VisitAll(func(f *flag.Flag) {
		if cmd.Settings == nil || takes[f.Name] {
			cl.Var(f.Value, f.Name, f.Usage)
			cl.Lookup(f.Name).DefValue = f.DefValue
		}
	})
	var flagErr error
	cl.VisitAll(func(f *flag.Flag) {
		f.Value = &checkedValue{Value: f.Value, name: f.Name, err: &flagErr}
	})
	if err := cl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(help, cmd, cl, own)
			return Config{}, err
		}
		if flagErr != nil {
			return Config{}, flagErr
		}
		msg := err.Error()
		if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
			msg = "unknown flag --" + strings.TrimLeft(name, "-")
		} else if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
			msg = "--" + strings.TrimLeft(name, "-") + " needs a value"
		}
		return Config{}, fmt.Errorf("%s (\"gatehouse %s -h\" lists the flags)", msg, cmd.Name)
	}
	if cl.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %q", cl.Args())
	}
	given := map[string]bool{}
	cl.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		if v := getenv(EnvName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = errors.Join(envErr, fmt.Errorf("%s=%q: %s", EnvName(f.Name), v, describe(f.Value, err)))
			}
		}
	})
	if envErr != nil {
		return Config{}, envErr
	}

	var err error
	if c.TrustedOrigins, err = parseOrigins(trustedOrigins); err != nil {
		return Config{}, err
	}
	if c.TrustedProxies, err = parsePrefixes(trustedProxies); err != nil {
		return Config{}, err
	}
	if c.LoginLimitAccount, err = ParseRateLimit(limitAccount); err != nil {
		return Config{}, fmt.Errorf("--login-limit-account: %w", err)
	}
	if c.LoginLimitIP, err = ParseRateLimit(limitIP); err != nil {
		return Config{}, fmt.Errorf("--login-limit-ip: %w", err)
	}
	if c.MailLimitAddress, err = ParseRateLimit(mailLimitAddress); err != nil {
		return Config{}, fmt.Errorf("--mail-limit-address: %w", err)
	}
	if c.MailLimitIP, err = ParseRateLimit(mailLimitIP); err != nil {
		return Config{}, fmt.Errorf("--mail-limit-ip: %w", err)
	}
	if c.Issuer == "" {
		c.Issuer = "http://" + c.Addr
	}
	if c.MailFrom == "" && c.SMTPURL == "" {
		c.MailFrom = defaultMailFrom(c.ProductName, c.Issuer)
	}
	return c, c.Validate()
}

// Validate checks values that flags alone cannot.
func (c Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("--issuer %q: want an http(s) URL without query or fragment", c.Issuer))
	}
	for name, d := range map[string]time.Duration{
		"--access-token-ttl": c.AccessTokenTTL, "--session-idle-timeout": c.SessionIdleTimeout,
		"--session-lifetime": c.SessionLifetime, "--grant-idle-timeout": c.GrantIdleTimeout,
		"--grant-lifetime": c.GrantLifetime, "--sweep-interval": c.SweepInterval,
		"--shutdown-timeout": c.ShutdownTimeout, "--revocation-poll-interval": c.RevocationPollInterval,
		"--metrics-interval": c.MetricsInterval, "--reauth-window": c.ReauthWindow,
		"--verification-ttl": c.VerificationTTL, "--recovery-ttl": c.RecoveryTTL,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", name, d))
		}
	}
	switch c.SigningAlgorithm {
	case "EdDSA", "ES256", "RS256":
	default:
		errs = append(errs, fmt.Errorf("--signing-algorithm %q: want EdDSA, ES256 or RS256", c.SigningAlgorithm))
	}
	if c.KeyRotationInterval < 0 || c.RefreshReuseGrace < 0 {
		errs = append(errs, errors.New("--key-rotation-interval and --refresh-reuse-grace must not be negative"))
	}
	if c.AuditRetention < 0 {
		errs = append(errs, errors.New("--audit-retention must not be negative (0 keeps events forever)"))
	}
	if c.KeyPublishDelay < 0 {
		errs = append(errs, errors.New("--key-publish-delay must not be negative"))
	}
	if c.TokenLeeway < 0 || c.TokenLeeway > time.Minute {
		errs = append(errs, fmt.Errorf("--token-leeway must be between 0 and 60s, got %s", c.TokenLeeway))
	}
	if c.UserCacheTTL < 0 {
		errs = append(errs, errors.New("--user-cache-ttl must not be negative"))
	}
	if c.MaxStreams < 0 || c.MaxStreamsPerClient < 0 {
		errs = append(errs, errors.New("--max-streams and --max-streams-per-client must not be negative"))
	}
	if a := c.MetricsListener(); a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf(`--metrics-addr %q: want host:port or "off"`, a))
		}
	}
	if c.HashConcurrency < 0 {
		errs = append(errs, errors.New("--hash-concurrency must not be negative"))
	}
	if c.Sessions != "db" && !strings.HasPrefix(c.Sessions, "redis://") && !strings.HasPrefix(c.Sessions, "rediss://") {
		errs = append(errs, fmt.Errorf(`--sessions %q: want "db" or a redis:// URL`, c.Sessions))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("--log-format %q: want json or text", c.LogFormat))
	}
	return errors.Join(append(errs, c.validateMail())...)
}

// validateMail checks the mail settings, loading the template overrides
// so that a bad one stops the server at start-up.
func (c Config) validateMail() error {
	var errs []error
	if c.SMTPURL != "" {
		if _, err := mail.ParseSMTPURL(c.SMTPURL); err != nil {
			errs = append(errs, fmt.Errorf("--smtp-url: %w", err))
		}
		if c.MailFrom == "" {
			errs = append(errs, errors.New("--mail-from is required with --smtp-url"))
		}
	}
	if c.MailFrom != "" {
		if _, err := mail.ParseFrom(c.MailFrom); err != nil {
			errs = append(errs, fmt.Errorf("--mail-from: %w", err))
		}
	}
	if strings.TrimSpace(c.ProductName) == "" || len(c.ProductName) > 100 || strings.ContainsFunc(c.ProductName, unicode.IsControl) {
		errs = append(errs, fmt.Errorf("--product-name %q: want 1 to 100 printable characters", c.ProductName))
	}
	if c.MailTemplates != "" && len(errs) == 0 {
		if _, err := mail.LoadTemplates(c.MailTemplateConfig()); err != nil {
			errs = append(errs, fmt.Errorf("--mail-templates: %w", err))
		}
	}
	return errors.Join(errs...)
}

// defaultMailFrom is the dev mailbox's sender: the product name at
// no-reply@ the issuer's host, or at localhost when that host makes no
// address (an IPv6 literal).
func defaultMailFrom(product, issuer string) string {
	host := "localhost"
	if u, err := url.Parse(issuer); err == nil && u.Hostname() != "" {
		if _, err := netmail.ParseAddress("no-reply@" + u.Hostname()); err == nil {
			host = u.Hostname()
		}
	}
	return (&netmail.Address{Name: product, Address: "no-reply@" + host}).String()
}

// MailTemplateConfig returns the settings mail.LoadTemplates takes.
func (c Config) MailTemplateConfig() mail.TemplateConfig {
	return mail.TemplateConfig{Dir: c.MailTemplates, ProductName: c.ProductName, Issuer: c.Issuer}
}

// SecureCookies reports whether the issuer is https, which makes cookies
// Secure and __Host- prefixed.
func (c Config) SecureCookies() bool {
	// url.Parse lower-cases the scheme: HTTPS://… is https too.
	u, err := url.Parse(c.Issuer)
	return err == nil && u.Scheme == "https"
}

// IssuerOrigin returns the origin of the issuer as browsers send it in
// an Origin header: scheme://host[:port], see SerializeOrigin.
func (c Config) IssuerOrigin() string {
	u, err := url.Parse(c.Issuer)
	if err != nil {
		return ""
	}
	return SerializeOrigin(u)
}

// SerializeOrigin returns the origin of u in the form browsers send in an
// Origin header (RFC 6454 section 6.1): lower-case scheme and host, and no
// port when it is the scheme's default. Origins are compared as strings,
// so "https://App.Example.com:443" must become "https://app.example.com".
func SerializeOrigin(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	scheme := strings.ToLower(u.Scheme)
	if port := u.Port(); port != "" && !(scheme == "https" && port == "443") && !(scheme == "http" && port == "80") {
		host += ":" + port
	}
	return scheme + "://" + host
}

func parseOrigins(s string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(s, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("--trusted-origins: %q is not an origin like https://app.example.com", o)
		}
		out = append(out, SerializeOrigin(u))
	}
	return out, nil
}

func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			a, err := netip.ParseAddr(p)
			if err != nil {
				return nil, fmt.Errorf("--trusted-proxies: %q: %w", p, err)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		pr, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q: %w", p, err)
		}
		out = append(out, pr.Masked())
	}
	return out, nil
}

// durationValue is a time.Duration flag whose errors say what is wrong
// and show an example, where the flag package says only "parse error".
type durationValue time.Duration

func durationVar(fs *flag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var((*durationValue)(p), name, usage)
}

func (d *durationValue) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		why := "not a duration"
		switch msg := err.Error(); {
		case strings.Contains(msg, "missing unit"):
			why = "the number has no unit"
		case strings.Contains(msg, "unknown unit"):
			unit, _, _ := strings.Cut(strings.TrimPrefix(msg, "time: unknown unit "), " in duration")
			why = "unknown unit " + unit
		}
		return fmt.Errorf("%s; write a duration such as 720h, 30m or 90s (units h, m, s, ms; there is no d)", why)
	}
	*d = durationValue(v)
	return nil
}

func (d *durationValue) String() string { return FormatDuration(time.Duration(*d)) }

// FormatDuration writes d as a flag would take it, without zero minutes
// and seconds: 720h rather than 720h0m0s.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// checkedValue remembers the first error of a flag's Set, named after the
// flag, so that ParseCommand reports it once and in its own words.
type checkedValue struct {
	flag.Value
	name string
	err  *error
}

func (v *checkedValue) Set(s string) error {
	err := v.Value.Set(s)
	if err != nil && *v.err == nil {
		*v.err = fmt.Errorf("--%s %q: %s", v.name, s, describe(v.Value, err))
	}
	return err
}

// IsBoolFlag lets a boolean flag be given without a value.
func (v *checkedValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// describe words a flag value's error; the flag package's own values say
// only "parse error".
func describe(v flag.Value, err error) string {
	if err.Error() != "parse error" {
		return err.Error()
	}
	if b, ok := v.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return "want true or false"
	}
	return "want a whole number, such as 4"
}

// placeholders name the value of a string flag in the usage.
var placeholders = map[string]string{
	"addr": "HOST:PORT", "data-dir": "DIR", "db": "URL", "sessions": "URL", "issuer": "URL",
	"trusted-origins": "ORIGINS", "trusted-proxies": "CIDRS", "signing-algorithm": "ALG",
	"mail-limit-address": "N/DURATION", "mail-limit-ip": "N/DURATION",
	"login-limit-account": "N/DURATION", "login-limit-ip": "N/DURATION", "log-level": "LEVEL",
	"log-format": "FORMAT", "hash-concurrency": "N", "metrics-addr": "HOST:PORT",
	"smtp-url": "URL", "mail-from": "ADDRESS", "mail-templates": "DIR", "product-name": "NAME",
}

// printUsage writes the -h text of cmd: its usage, then every flag with
// its placeholder, default and, for settings, its environment variable.
func printUsage(w io.Writer, cmd Command, fs *flag.FlagSet, own map[string]bool) {
	fmt.Fprintf(w, "usage: gatehouse %s [flags]\n", cmd.Name)
	if cmd.Usage != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(cmd.Usage, "\n"))
	}
	fmt.Fprintln(w, "\nflags:")
	fs.VisitAll(func(f *flag.Flag) {
		v := f.Value.(*checkedValue).Value
		name, usage := flag.UnquoteUsage(f)
		arg := ""
		switch x := v.(type) {
		case *durationValue:
			arg = " DURATION"
		case interface{ IsBoolFlag() bool }:
			if !x.IsBoolFlag() {
				arg = " " + strings.ToUpper(name)
			}
		default:
			arg = " " + strings.ToUpper(name)
		}
		if p, ok := placeholders[f.Name]; ok {
			arg = " " + p
		}
		var notes []string
		if !own[f.Name] {
			notes = append(notes, "env "+EnvName(f.Name))
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" {
			notes = append(notes, "default "+f.DefValue)
		}
		line := "  --" + f.Name + arg
		if len(notes) > 0 {
			line += "   (" + strings.Join(notes, ", ") + ")"
		}
		fmt.Fprintf(w, "%s\n      %s\n", line, usage)
	})
	fmt.Fprintln(w, "\nA flag given on the command line wins over its environment variable.")
}
