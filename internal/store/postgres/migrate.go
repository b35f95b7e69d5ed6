package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-auth/gatehouse/internal/store/migration"
)

// migrationFiles holds the schema, one numbered file per migration.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrSchemaNewer reports that the database has migrations applied that this
// program does not know: a newer Gatehouse migrated it.
var ErrSchemaNewer = errors.New("postgres: database schema is newer than this program")

// MigrationLockKey is the key of the session-level advisory lock
// (pg_advisory_lock) that Migrate holds while it reads and applies
// migrations, so that instances starting at once take turns. It is the
// ASCII of "gatehous" read as a big-endian integer; advisory locks are
// scoped to one database, so only Gatehouse instances on the same database
// contend for it.
const MigrationLockKey int64 = 0x67617465686f7573

// The dialect-specific statements of the migration runner.
const (
	createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer NOT NULL PRIMARY KEY,
		name       text    NOT NULL,
		applied_at bigint  NOT NULL -- unix milliseconds
	)`
	// to_regclass resolves the name through search_path, as the store's
	// statements do, and is NULL when there is no such table.
	migrationsTableExists = `SELECT to_regclass('schema_migrations') IS NOT NULL`
	selectAppliedVersions = `SELECT version FROM schema_migrations ORDER BY version`
	insertMigration       = `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`
	lockMigrations        = `SELECT pg_advisory_lock($1)`
	unlockMigrations      = `SELECT pg_advisory_unlock($1)`
)

// unlockTimeout bounds the release of the migration lock, which runs even
// when the caller's context has ended.
const unlockTimeout = 10 * time.Second

// Migration is one numbered step of the schema.
type Migration = migration.Migration

// Migrations returns the migrations built into this program, in order. The
// last one's Version is the schema version Migrate brings a database to.
func Migrations() ([]Migration, error) {
	return parseMigrations(migrationFiles, "migrations")
}

// parseMigrations reads the migrations of dir in fsys (see
// migration.Parse).
func parseMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	ms, err := migration.Parse(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return ms, nil
}

// Migrate applies, in order, every built-in migration that the database
// has not recorded yet, each in its own transaction together with its
// schema_migrations row, so a migration is either fully applied and
// recorded or not at all. It is idempotent and safe to run from several
// processes at once: it holds the advisory lock MigrationLockKey from
// before it creates schema_migrations until it is done, so concurrent
// callers wait (for as long as ctx allows) and then find the work done.
// It returns an error wrapping ErrSchemaNewer, and changes nothing, if
// the database records a version this program does not know.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	return migrate(ctx, s.pool, ms, time.Now)
}

// SchemaVersion returns the highest migration version recorded in the
// database: 0 for a database never migrated.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	applied, err := appliedVersions(ctx, s.pool)
	if err != nil {
		return 0, err
	}
	if len(applied) == 0 {
		return 0, nil
	}
	return applied[len(applied)-1], nil
}

// migrate applies the migrations ms, which parseMigrations has checked,
// stamping each with now, on one connection of pool that holds the
// migration lock throughout.
func migrate(ctx context.Context, pool *pgxpool.Pool, ms []Migration, now func() time.Time) (err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, lockMigrations, MigrationLockKey); err != nil {
		// Interrupted (ctx ended), the server may still have granted the
		// lock: end the session, which releases it, rather than return the
		// connection to the pool.
		closeConn(conn)
		return fmt.Errorf("postgres: migrate: take the migration lock: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
		defer cancel()
		if _, uerr := conn.Exec(uctx, unlockMigrations, MigrationLockKey); uerr != nil {
			// The lock lives as long as the session: end it rather than
			// return a connection that still holds the lock to the pool.
			closeConn(conn)
			err = errors.Join(err, fmt.Errorf("postgres: migrate: release the migration lock: %w", uerr))
		}
	}()

	if _, err := conn.Exec(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("postgres: migrate: create schema_migrations: %w", err)
	}
	applied, err := appliedVersions(ctx, conn)
	if err != nil {
		return err
	}
	if n := len(applied); n > 0 && applied[n-1] > len(ms) {
		return fmt.Errorf("%w: database is at version %d, this program knows up to %d",
			ErrSchemaNewer, applied[n-1], len(ms))
	}
	for _, m := range ms {
		if _, done := slices.BinarySearch(applied, m.Version); done {
			continue
		}
		if err := applyMigration(ctx, conn, m, now); err != nil {
			return err
		}
	}
	return nil
}

// closeConn ends conn's session, releasing any session-level lock it
// holds; the pool discards the closed connection when it is released.
func closeConn(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
	defer cancel()
	_ = conn.Conn().Close(ctx)
}

// appliedVersions returns the versions recorded in schema_migrations, in
// ascending order; none if the table does not exist.
func appliedVersions(ctx context.Context, q querier) ([]int, error) {
	var exists bool
	if err := q.QueryRow(ctx, migrationsTableExists).Scan(&exists); err != nil {
		return nil, fmt.Errorf("postgres: read schema version: %w", err)
	}
	if !exists {
		return nil, nil
	}
	rows, err := q.Query(ctx, selectAppliedVersions)
	if err != nil {
		return nil, fmt.Errorf("postgres: read schema version: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fmt.Errorf("postgres: read schema version: %w", err)
	}
	return versions, nil
}

// applyMigration runs m and records it in one transaction on conn, which
// holds the migration lock. The file runs through the simple query
// protocol, so it may hold several statements.
func applyMigration(ctx context.Context, conn *pgxpool.Conn, m Migration, now func() time.Time) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migration %s: begin: %w", m, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return fmt.Errorf("postgres: migration %s: %w", m, err)
	}
	if _, err := tx.Exec(ctx, insertMigration, m.Version, m.Name, millis(now())); err != nil {
		return fmt.Errorf("postgres: migration %s: record: %w", m, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: migration %s: commit: %w", m, err)
	}
	return nil
}
