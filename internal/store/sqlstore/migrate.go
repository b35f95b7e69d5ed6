package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-auth/gatehouse/internal/store/migration"
)

// migrationFiles holds the schema of each flavor, one numbered file per
// migration, in migrations/<flavor>/.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// ErrSchemaNewer reports that the database has migrations applied that this
// program does not know: a newer Gatehouse migrated it.
var ErrSchemaNewer = errors.New("database schema is newer than this program")

// MigrationLockKey is the key of the session-level advisory lock
// (pg_advisory_lock) that Migrate holds on PostgreSQL while it reads and
// applies migrations, so that instances starting at once take turns. It
// is the ASCII of "gatehous" read as a big-endian integer; advisory locks
// are scoped to one database, so only Gatehouse instances on the same
// database contend for it.
const MigrationLockKey int64 = 0x67617465686f7573

// unlockTimeout bounds the release of the migration lock, which runs even
// when the caller's context has ended.
const unlockTimeout = 10 * time.Second

// Migration is one numbered step of the schema.
type Migration = migration.Migration

// Migrations returns the migrations built into this program for the
// database named db, "sqlite" or "postgres", in order. The last one's
// Version is the schema version Migrate brings a database to.
func Migrations(db string) ([]Migration, error) {
	if db != "sqlite" && db != "postgres" {
		return nil, fmt.Errorf("migrations: unknown database %q", db)
	}
	return parseMigrations(db, migrationFiles, "migrations/"+db)
}

// parseMigrations reads the migrations of dir in fsys (see
// migration.Parse), prefixing errors with db.
func parseMigrations(db string, fsys fs.FS, dir string) ([]Migration, error) {
	ms, err := migration.Parse(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", db, err)
	}
	return ms, nil
}

// Migrate applies, in order, every built-in migration that the database
// has not recorded yet, each in its own transaction together with its
// schema_migrations row, so a migration is either fully applied and
// recorded or not at all. It is idempotent and safe to run from several
// processes at once: on SQLite the IMMEDIATE transactions make them take
// turns, and each re-checks what is applied; on PostgreSQL Migrate holds
// the advisory lock MigrationLockKey from before it creates
// schema_migrations until it is done, so concurrent callers wait (for as
// long as ctx allows) and then find the work done. It returns an error
// wrapping ErrSchemaNewer, and changes nothing, if the database records a
// version this program does not know.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := Migrations(s.f.name)
	if err != nil {
		return err
	}
	return s.migrate(ctx, ms, time.Now)
}

// SchemaVersion returns the highest migration version recorded in the
// database: 0 for a database never migrated.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	applied, err := s.appliedVersions(ctx, s.db)
	if err != nil {
		return 0, err
	}
	if len(applied) == 0 {
		return 0, nil
	}
	return applied[len(applied)-1], nil
}

// migrate applies the migrations ms, which parseMigrations has checked,
// stamping each with now, on one connection that holds the flavor's
// migration lock (if it has one) throughout.
func (s *Store) migrate(ctx context.Context, ms []Migration, now func() time.Time) (err error) {
	conn, err := s.sqlDB.Conn(ctx)
	if err != nil {
		return s.errorf("migrate", err)
	}
	defer conn.Close()
	if s.f.lockMigrations != nil {
		unlock, err := s.f.lockMigrations(ctx, conn)
		if err != nil {
			return s.errorf("migrate: take the migration lock", err)
		}
		defer func() {
			if uerr := unlock(); uerr != nil {
				err = errors.Join(err, s.errorf("migrate: release the migration lock", uerr))
			}
		}()
	}
	c := stdDB{conn, s.f}
	if _, err := c.ExecContext(ctx, s.f.migrationsDDL); err != nil {
		return s.errorf("migrate: create schema_migrations", err)
	}
	applied, err := s.appliedVersions(ctx, c)
	if err != nil {
		return err
	}
	if n := len(applied); n > 0 && applied[n-1] > len(ms) {
		return fmt.Errorf("%s: %w: database is at version %d, this program knows up to %d",
			s.f.name, ErrSchemaNewer, applied[n-1], len(ms))
	}
	for _, m := range ms {
		if _, done := slices.BinarySearch(applied, m.Version); done {
			continue
		}
		if err := s.applyMigration(ctx, conn, m, now); err != nil {
			return err
		}
	}
	return nil
}

// appliedVersions returns the versions recorded in schema_migrations, in
// ascending order; none if the table does not exist.
func (s *Store) appliedVersions(ctx context.Context, q db) ([]int, error) {
	var exists int
	if err := q.QueryRowContext(ctx, s.f.migrationsExists).Scan(&exists); err != nil {
		return nil, s.errorf("read schema version", err)
	}
	if exists == 0 {
		return nil, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, s.errorf("read schema version", err)
	}
	versions, err := collect(rows, func(r scanner) (v int, err error) { return v, r.Scan(&v) })
	if err != nil {
		return nil, s.errorf("read schema version", err)
	}
	return versions, nil
}

// applyMigration runs m and records it in one transaction on conn, unless
// another process recorded it first. A file without arguments runs as one
// simple query, so it may hold several statements.
func (s *Store) applyMigration(ctx context.Context, conn *sql.Conn, m Migration, now func() time.Time) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: migration %s: begin: %w", s.f.name, m, err)
	}
	defer func() { _ = tx.Rollback() }()
	q := stdDB{tx, s.f}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return fmt.Errorf("%s: migration %s: %w", s.f.name, m, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("%s: migration %s: %w", s.f.name, m, err)
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, millis(now())); err != nil {
		return fmt.Errorf("%s: migration %s: record: %w", s.f.name, m, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: migration %s: commit: %w", s.f.name, m, err)
	}
	return nil
}

// advisoryLock takes PostgreSQL's session-level advisory lock
// MigrationLockKey on conn and returns its release. If taking or releasing
// it fails (ctx ended, say), the server may still hold it for the
// session: the connection is then discarded, which ends the session and
// releases the lock, rather than returned to the pool.
func advisoryLock(ctx context.Context, conn *sql.Conn) (func() error, error) {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, MigrationLockKey); err != nil {
		discard(conn)
		return nil, err
	}
	return func() error {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
		defer cancel()
		if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, MigrationLockKey); err != nil {
			discard(conn)
			return err
		}
		return nil
	}, nil
}

// discard closes conn's PostgreSQL session, so that neither database/sql
// nor the pgx pool reuses it.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(dc any) error {
		if c, ok := dc.(*stdlib.Conn); ok {
			ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
			defer cancel()
			_ = c.Conn().Close(ctx)
		}
		return driver.ErrBadConn
	})
}
