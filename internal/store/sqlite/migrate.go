package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store/migration"
)

// migrationFiles holds the schema, one numbered file per migration.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrSchemaNewer reports that the database has migrations applied that this
// program does not know: a newer Gatehouse migrated it.
var ErrSchemaNewer = errors.New("sqlite: database schema is newer than this program")

// The dialect-specific statements of the migration runner.
const (
	createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL -- unix milliseconds
	) STRICT`
	migrationsTableExists = `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	selectAppliedVersions = `SELECT version FROM schema_migrations ORDER BY version`
	selectMigrationExists = `SELECT count(*) FROM schema_migrations WHERE version = ?`
	insertMigration       = `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`
)

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
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return ms, nil
}

// Migrate applies, in order, every built-in migration that the database
// has not recorded yet, each in its own transaction together with its
// schema_migrations row. It is idempotent and safe to run from several
// processes at once: the IMMEDIATE transactions of Open make them take
// turns, and each re-checks what is applied. It returns an error wrapping
// ErrSchemaNewer, and changes nothing, if the database records a version
// this program does not know.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	return migrate(ctx, s.db, ms, time.Now)
}

// SchemaVersion returns the highest migration version recorded in the
// database: 0 for a database never migrated.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	applied, err := appliedVersions(ctx, s.db)
	if err != nil {
		return 0, err
	}
	if len(applied) == 0 {
		return 0, nil
	}
	return applied[len(applied)-1], nil
}

// migrate applies the migrations ms, which parseMigrations has checked,
// stamping each with now.
func migrate(ctx context.Context, db *sql.DB, ms []Migration, now func() time.Time) error {
	if _, err := db.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("sqlite: migrate: create schema_migrations: %w", err)
	}
	applied, err := appliedVersions(ctx, db)
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
		if err := applyMigration(ctx, db, m, now); err != nil {
			return err
		}
	}
	return nil
}

// appliedVersions returns the versions recorded in schema_migrations, in
// ascending order; none if the table does not exist.
func appliedVersions(ctx context.Context, db *sql.DB) ([]int, error) {
	var exists int
	if err := db.QueryRowContext(ctx, migrationsTableExists).Scan(&exists); err != nil {
		return nil, fmt.Errorf("sqlite: read schema version: %w", err)
	}
	if exists == 0 {
		return nil, nil
	}
	rows, err := db.QueryContext(ctx, selectAppliedVersions)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read schema version: %w", err)
	}
	defer rows.Close()
	var versions []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("sqlite: read schema version: %w", err)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read schema version: %w", err)
	}
	return versions, nil
}

// applyMigration runs m and records it in one transaction, unless another
// process recorded it first.
func applyMigration(ctx context.Context, db *sql.DB, m Migration, now func() time.Time) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migration %s: begin: %w", m, err)
	}
	defer rollback(tx)

	var n int
	if err := tx.QueryRowContext(ctx, selectMigrationExists, m.Version).Scan(&n); err != nil {
		return fmt.Errorf("sqlite: migration %s: %w", m, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("sqlite: migration %s: %w", m, err)
	}
	if _, err := tx.ExecContext(ctx, insertMigration, m.Version, m.Name, millis(now())); err != nil {
		return fmt.Errorf("sqlite: migration %s: record: %w", m, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migration %s: commit: %w", m, err)
	}
	return nil
}
