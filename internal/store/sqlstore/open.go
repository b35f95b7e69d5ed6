package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// busyTimeoutMillis is how long a connection waits for a lock that another
// connection holds before it fails with SQLITE_BUSY.
const busyTimeoutMillis = 5000

// OpenSQLite opens, creating it if need be, the SQLite database file at
// path and returns a Store on a connection pool with: WAL journal,
// synchronous=FULL (a crash or power loss loses no acknowledged write),
// foreign keys on, a 5 s busy timeout, and write transactions that begin
// IMMEDIATE, so that concurrent read-modify-write transactions wait for
// each other instead of deadlocking. The pool keeps at most
// max(4, GOMAXPROCS) connections open, all of them reusable when idle.
//
// A missing database file is created with mode 0600 (owner read and
// write only, whatever the umask) before SQLite opens it: the database
// holds password hashes and sealed keys, and SQLite creates its -wal and
// -shm files with the mode of the database file. An existing file keeps
// its mode.
//
// Open checks that the database answers and that WAL is in effect, so it
// fails for ":memory:" and on file systems without shared memory. It does
// not create the parent directory or run migrations (see Store.Migrate).
// The caller closes the Store.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	if path == ":memory:" {
		// Refused before createPrivate, which would make a file of
		// that name: the store needs WAL, which memory cannot give.
		return nil, errors.New("sqlite: open: an in-memory database has no WAL; give a file path")
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	sqlDB, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)

	var mode string
	if err := sqlDB.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		sqlDB.Close()
		return nil, fmt.Errorf("sqlite: open %s: journal_mode is %q, want wal", path, mode)
	}
	return newStore(sqlDB, sqliteFlavor()), nil
}

// OpenPostgres opens the PostgreSQL database at the postgres:// URL and
// returns a Store on it. The stores' statements run natively through pgx
// on a pgxpool pool configured from the URL (pool settings such as
// pool_max_conns may be set in it), which PgxPool also hands to
// LISTEN/NOTIFY. The migration runner and DB use pgx's database/sql
// driver on a pool of its own, sized alike, which opens connections only
// when used. Tables are found through the connections' search_path (by
// default the "public" schema). OpenPostgres does not connect or run
// migrations (see Store.Migrate). The caller closes the Store.
//
// Statements run on pgx rather than database/sql because the latter
// measured 6–8 µs slower per read on the cookie check; see
// docs/benchmark-notes.md.
func OpenPostgres(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	sqlDB := stdlib.OpenDB(*cfg.ConnConfig)
	n := int(cfg.MaxConns)
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	sqlDB.SetConnMaxLifetime(cfg.MaxConnLifetime)
	sqlDB.SetConnMaxIdleTime(cfg.MaxConnIdleTime)
	s := newStore(sqlDB, postgresFlavor())
	s.pool = pool
	s.db = pgxDB{pool, s.f}
	return s, nil
}

// createPrivate creates an empty file at path with mode 0600 unless a
// file is there already.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// The umask can only have removed bits; Chmod makes the mode exact.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// dsn returns the modernc.org/sqlite data source name for the file at path:
// a "file:" URI, in which '%', '?' and '#' in the path are escaped.
//
// modernc.org/sqlite runs the _pragma values on every new connection, the
// busy timeout first, since most of these settings are per connection;
// _txlock=immediate makes database/sql's BeginTx issue BEGIN IMMEDIATE.
func dsn(path string) string {
	path = filepath.ToSlash(filepath.Clean(path))
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return fmt.Sprintf("file:%s?_pragma=busy_timeout(%d)"+
		"&_pragma=foreign_keys(1)"+
		"&_pragma=journal_mode(WAL)"+
		"&_pragma=synchronous(FULL)"+
		"&_txlock=immediate", escaped, busyTimeoutMillis)
}
