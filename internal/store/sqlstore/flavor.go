package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// flavor is what differs between the SQL databases the store runs on:
// placeholders, list columns, error codes, locking and the migration
// runner's few statements. Everything else is one implementation.
type flavor struct {
	// name prefixes the store's errors ("sqlite", "postgres").
	name string
	// dollar numbers placeholders ($1, $2…) instead of "?".
	dollar bool
	// forUpdate ends a SELECT that reads a row to write it back in the
	// same transaction: " FOR UPDATE" on PostgreSQL, nothing on SQLite,
	// whose IMMEDIATE transactions hold the database's write lock already.
	forUpdate string
	// lockTables locks a table for the rest of the transaction in the
	// given PostgreSQL lock mode; false on SQLite, where an IMMEDIATE
	// transaction excludes every other writer anyway.
	lockTables bool
	// copy makes bulk inserts one COPY (PostgreSQL) instead of a prepared
	// INSERT per row in one transaction (SQLite).
	copy bool
	// arrayBatches makes insertBatch one INSERT ... SELECT FROM unnest() of
	// array parameters (PostgreSQL) instead of a prepared INSERT per row
	// (SQLite, which has no array parameters and no round trips to save).
	arrayBatches bool
	// isUnique reports a violated UNIQUE or PRIMARY KEY constraint.
	isUnique func(error) bool
	// listArg binds a list field; listDest scans one.
	listArg  func([]string) (any, error)
	listDest func(*[]string) any
	// migrationsDDL creates schema_migrations; migrationsExists counts
	// it (0 or 1).
	migrationsDDL    string
	migrationsExists string
	// lockMigrations takes a lock that serialises migration runs on conn
	// and returns its release; nil when transactions serialise them.
	lockMigrations func(ctx context.Context, conn *sql.Conn) (func() error, error)
}

// sqliteFlavor is SQLite through modernc.org/sqlite: "?" placeholders,
// lists as JSON text, IMMEDIATE transactions instead of row and table locks.
func sqliteFlavor() *flavor {
	return &flavor{
		name: "sqlite",
		isUnique: func(err error) bool {
			var e *sqlite.Error
			if !errors.As(err, &e) {
				return false
			}
			switch e.Code() {
			case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
				return true
			}
			return false
		},
		listArg:  encodeList,
		listDest: func(dst *[]string) any { return jsonList{dst} },
		migrationsDDL: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL -- unix milliseconds
		) STRICT`,
		migrationsExists: `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`,
	}
}

// uniqueViolation is PostgreSQL's SQLSTATE of a violated UNIQUE or
// PRIMARY KEY constraint.
const uniqueViolation = "23505"

// postgresFlavor is PostgreSQL through pgx: $n placeholders, lists as
// text[] (pgx scans them into []string), SELECT … FOR UPDATE, table locks,
// COPY and a session-level advisory lock around migrations.
func postgresFlavor() *flavor {
	return &flavor{
		name:         "postgres",
		dollar:       true,
		forUpdate:    " FOR UPDATE",
		lockTables:   true,
		copy:         true,
		arrayBatches: true,
		isUnique: func(err error) bool {
			var e *pgconn.PgError
			return errors.As(err, &e) && e.Code == uniqueViolation
		},
		listArg: func(l []string) (any, error) {
			if l == nil { // a nil slice binds as NULL; the columns are NOT NULL
				return []string{}, nil
			}
			return l, nil
		},
		listDest: func(dst *[]string) any { return dst },
		migrationsDDL: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer NOT NULL PRIMARY KEY,
			name       text    NOT NULL,
			applied_at bigint  NOT NULL -- unix milliseconds
		)`,
		// to_regclass resolves the name through search_path, as the
		// store's statements do, and is NULL when there is no such table.
		migrationsExists: `SELECT count(*) FROM (SELECT to_regclass('schema_migrations') AS t) r WHERE t IS NOT NULL`,
		lockMigrations:   advisoryLock,
	}
}

// rebind returns query with its "?" placeholders numbered $1, $2… for
// PostgreSQL; on SQLite it returns query unchanged. Queries hold no "?"
// inside string literals.
func (f *flavor) rebind(query string) string {
	if !f.dollar || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// lockTable locks table in the PostgreSQL lock mode for the rest of tx;
// a no-op on SQLite.
func (f *flavor) lockTable(ctx context.Context, tx db, table, mode string) error {
	if !f.lockTables {
		return nil
	}
	_, err := tx.ExecContext(ctx, `LOCK TABLE `+table+` IN `+mode+` MODE`)
	return err
}

// encodeList returns a list field as SQLite stores it: a JSON array, "[]"
// for nil.
func encodeList(list []string) (any, error) {
	if list == nil {
		return "[]", nil
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// jsonList scans a JSON array of strings (SQLite's list columns).
type jsonList struct{ dst *[]string }

// Scan implements sql.Scanner.
func (l jsonList) Scan(src any) error {
	var raw []byte
	switch v := src.(type) {
	case string:
		raw = []byte(v)
	case []byte:
		raw = v
	default:
		return fmt.Errorf("list column: unexpected %T", src)
	}
	if err := json.Unmarshal(raw, l.dst); err != nil {
		return fmt.Errorf("decode list: %w", err)
	}
	return nil
}
