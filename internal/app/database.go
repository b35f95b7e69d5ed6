package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/oauth"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// Database is the database of a configuration, open and migrated. The
// commands that need only the database ("gatehouse migrate", "user
// create", "client create") open this and nothing else: no Redis, no
// signing keys, no key-encryption key, no admin token.
type Database struct {
	// Stores are every store on the database (sessions too; New moves
	// them to Redis when --sessions says so).
	Stores Stores
	// Path is the SQLite file, or "" on PostgreSQL.
	Path string

	sql     *sqlstore.Store // SQLite or PostgreSQL
	pgPool  *pgxpool.Pool   // its pgx pool on PostgreSQL, for LISTEN/NOTIFY
	closers []func() error
}

// OpenDatabase creates the data dir, opens the database cfg names and
// migrates it. The caller closes it.
func OpenDatabase(ctx context.Context, cfg config.Config) (_ *Database, err error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	d := &Database{}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if d.Stores, err = d.openStores(ctx, cfg); err != nil {
		return nil, err
	}
	return d, nil
}

// Close closes the database.
func (d *Database) Close() error {
	var errs []error
	for _, c := range slices.Backward(d.closers) {
		errs = append(errs, c())
	}
	d.closers = nil
	return errors.Join(errs...)
}

// SchemaVersion returns the database's migration version.
func (d *Database) SchemaVersion(ctx context.Context) (int, error) {
	if d.sql == nil {
		return 0, errors.New("no SQL database")
	}
	return d.sql.SchemaVersion(ctx)
}

// Accounts returns the accounts service for creating users on the
// database ("gatehouse user create"): only CreateUser and Signup work on
// it, since it has no sessions.
func (d *Database) Accounts(cfg config.Config, opts Options) (*accounts.Service, error) {
	hasher, err := newHasher(cfg, opts)
	if err != nil {
		return nil, err
	}
	users := identity.NewService(d.Stores.Users, hasher, identity.Config{SignupOpen: cfg.Signup}, opts.Log, opts.Now)
	return accounts.New(accounts.Deps{Users: users, Log: opts.Log}), nil
}

// Clients returns the client registry on the database, for registering
// clients ("gatehouse client create"); deleting clients needs the wired
// server (App.Clients), which revokes their grants.
func (d *Database) Clients(cfg config.Config, opts Options) *oauth.Clients {
	algs := idTokenAlgorithms(cfg)
	return oauth.NewClients(d.Stores.Clients, oauth.ClientsConfig{IDTokenAlgorithms: algs}, opts.Now)
}

// newHasher returns the password hasher cfg and opts describe.
func newHasher(cfg config.Config, opts Options) (*password.Hasher, error) {
	h, err := password.NewHasher(password.Config{Params: opts.PasswordParams, MaxConcurrent: cfg.HashConcurrency})
	if err != nil {
		return nil, fmt.Errorf("password hasher: %w", err)
	}
	return h, nil
}

// signingAlgorithms are the algorithms of the signing keys: the
// configured one, and RS256, which OpenID Connect requires.
func signingAlgorithms(cfg config.Config) []jose.Algorithm {
	algs := []jose.Algorithm{jose.Algorithm(cfg.SigningAlgorithm)}
	if algs[0] != jose.RS256 {
		algs = append(algs, jose.RS256)
	}
	return algs
}

// idTokenAlgorithms are the algorithms ID tokens may be signed with on
// cfg, as oauth.IDTokens.Algorithms lists them once the keys exist.
func idTokenAlgorithms(cfg config.Config) []jose.Algorithm {
	out := []jose.Algorithm{oauth.DefaultIDTokenAlgorithm}
	for _, a := range signingAlgorithms(cfg) {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}
