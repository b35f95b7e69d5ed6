// Package pgtest gives tests a PostgreSQL database of their own.
//
// It connects to the server named by the environment variable
// GATEHOUSE_TEST_POSTGRES, or to DefaultURL, and never touches the
// database named there beyond creating and dropping others next to it.
// Every database it creates is named gh_test_<random> and is dropped
// (WITH (FORCE)) when its test, or its test package, ends.
//
// Creating a PostgreSQL database costs about a second, so there are two
// levels of isolation. NewDatabase creates a database for one test: use it
// for a test that needs a database to itself (a whole server, several
// instances sharing one database) in a package without TestMain. URL and
// NewPool give a test a fresh schema in a database that the whole test
// package shares: the returned URL sets search_path, so everything a store
// creates lands in that schema, and the schema is dropped when the test
// ends. Such a package runs its tests through Main, which drops the shared
// database at the end:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// When the server cannot be reached, every helper skips the test with a
// message saying so, or fails it when the environment variable CI is
// "true": a CI job that is meant to test PostgreSQL must not pass by
// skipping.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvURL is the environment variable that names the PostgreSQL server
// the tests use: a postgres:// URL of a role allowed to create
// databases, and of a database to connect to while doing so.
const EnvURL = "GATEHOUSE_TEST_POSTGRES"

// DefaultURL is the server used when EnvURL is unset: the local server
// that development machines and CI run, with trust authentication.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// connectTimeout bounds each connection attempt to the server, so that a
// machine without PostgreSQL skips quickly instead of hanging.
const connectTimeout = 5 * time.Second

// AdminURL returns the URL of the server tests use: GATEHOUSE_TEST_POSTGRES,
// or DefaultURL when it is unset or empty.
func AdminURL() string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return DefaultURL
}

// InCI reports whether the environment variable CI is "true", in which
// case an unreachable server fails tests instead of skipping them.
func InCI() bool {
	return os.Getenv("CI") == "true"
}

// explained records that unavailable has given the full explanation once;
// later tests get a one-line reminder.
var explained sync.Once

// unavailable skips t, or fails it under CI=true, because the server at
// AdminURL could not be used.
func unavailable(t testing.TB, err error) {
	t.Helper()
	msg := fmt.Sprintf("pgtest: PostgreSQL is not available at %s (%v)", redact(AdminURL()), err)
	explained.Do(func() {
		msg = fmt.Sprintf("pgtest: PostgreSQL is not available at %s: %v\n"+
			"\tSet %s to the URL of a server whose role may CREATE DATABASE.", redact(AdminURL()), err, EnvURL)
	})
	if InCI() {
		t.Fatalf("%s\n\tCI=true, so this is a failure, not a skip.", msg)
	}
	t.Skipf("%s\n\tSKIPPING this PostgreSQL test (under CI=true it would fail).", msg)
}

// redact returns u with any password replaced by "xxxxx", for messages.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}

// admin opens a single connection to the server at AdminURL.
func admin(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(AdminURL())
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > connectTimeout {
		cfg.ConnectTimeout = connectTimeout
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// randomName returns prefix followed by 16 random hex digits: a valid,
// lower-case PostgreSQL identifier that needs no quoting.
func randomName(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// withDatabase returns the admin URL with its database replaced by name
// and the runtime parameters params added.
func withDatabase(name string, params map[string]string) (string, error) {
	u, err := url.Parse(AdminURL())
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("%s is not a postgres:// URL", EnvURL)
	}
	u.Path = "/" + name
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// createDatabase creates a database named gh_test_<random> and returns its
// name and URL.
func createDatabase(ctx context.Context) (name, dbURL string, err error) {
	conn, err := admin(ctx)
	if err != nil {
		return "", "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	name = randomName("gh_test_")
	if dbURL, err = withDatabase(name, nil); err != nil {
		return "", "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", "", fmt.Errorf("create database %s: %w", name, err)
	}
	return name, dbURL, nil
}

// dropDatabase drops the database name, disconnecting any session still
// on it.
func dropDatabase(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := admin(ctx)
	if err != nil {
		return fmt.Errorf("pgtest: drop database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgtest: drop database %s: %w", name, err)
	}
	return nil
}

// NewDatabase creates an empty database for t alone and returns its URL;
// the database is dropped when t ends. It skips t, or fails it under
// CI=true, if the server cannot be reached.
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name, dbURL, err := createDatabase(ctx)
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(func() {
		if err := dropDatabase(name); err != nil {
			t.Errorf("%v", err)
		}
	})
	return dbURL
}

// shared is the database a test package run through Main shares.
var shared struct {
	mu      sync.Mutex
	inMain  bool   // Main is running the tests
	tried   bool   // creation was attempted
	err     error  // why creation failed
	name    string // the database, once created
	baseURL string // its URL
}

// Main runs the package's tests with m and then drops the database that
// URL and NewPool created for them, if any; it returns the exit code for
// os.Exit. Call it from TestMain.
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.name != "" {
		if err := dropDatabase(shared.name); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// sharedURL returns the URL of the package's shared database, creating it
// on first use.
func sharedURL(t testing.TB) string {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		t.Fatal("pgtest: URL and NewPool need the package's TestMain to call pgtest.Main " +
			"(which drops the shared database); use NewDatabase otherwise")
	}
	if !shared.tried {
		shared.tried = true
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		shared.name, shared.baseURL, shared.err = createDatabase(ctx)
	}
	if shared.err != nil {
		unavailable(t, shared.err)
	}
	return shared.baseURL
}

// URL creates a fresh, empty schema in the package's shared database and
// returns a URL whose connections use it: the URL sets search_path to the
// schema alone, so unqualified names (the stores' tables) are created and
// found there. The schema and everything in it is dropped when t ends;
// close pools on it before then (NewPool does). The package's TestMain
// must call Main. It skips t, or fails it under CI=true, if the server
// cannot be reached.
func URL(t testing.TB) string {
	t.Helper()
	base := sharedURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to the test database: %v", err)
	}
	defer conn.Close(ctx)
	schema := randomName("gh_schema_")
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// NewPool returns a connection pool on a fresh schema (see URL), closed
// when t ends, before the schema is dropped.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return Pool(t, URL(t))
}

// Pool opens a connection pool on dbURL, checks that it answers, and
// closes it when t ends. Tests that need several pools on one database
// (several server instances, concurrent migrations) call it once per
// pool with the same URL.
func Pool(t testing.TB, dbURL string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		t.Fatalf("pgtest: ping: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}
