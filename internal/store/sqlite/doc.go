// Package sqlite is the SQLite backend of package store, built on the pure
// Go driver modernc.org/sqlite (no cgo).
//
// Open opens a database file with the settings the backend relies on: WAL
// journal, synchronous=FULL so that a crash or power loss loses no
// acknowledged write, foreign keys on, a 5 s busy timeout, and write
// transactions that begin IMMEDIATE so that read-modify-write transactions
// queue for the write lock instead of failing to upgrade a read lock. New
// wraps a ready *sql.DB (opened by Open, or with equivalent settings) in a
// Store, which implements store.UserStore, store.SessionStore,
// store.KeyStore, store.RefreshTokenStore, store.RevocationStore and
// store.ClientStore; Migrate brings its schema up to date.
//
// # Storage format
//
// Times are stored as INTEGER unix milliseconds and read back in UTC: they
// sort and compare as numbers, which the expiry sweeps rely on, and a
// millisecond is finer than any timeout Gatehouse uses. A time that is zero
// until something happens (a key's RetiredAt, a refresh token's RotatedAt)
// is NULL until then. Sub-millisecond digits are truncated, so an expiry
// check in SQL (expires_at <= now) may disagree with Session.Expired within
// that last millisecond. User claims and session data are TEXT holding
// JSON; claims are decoded with encoding/json, so numbers come back as
// float64. A client's lists (grant types, redirect URIs, scopes,
// audiences) are TEXT holding JSON arrays. Hashes, sealed secrets and
// JWKs are BLOBs, returned byte for byte. Tables are STRICT.
//
// RotateKey and RotateRefreshToken each run in one IMMEDIATE transaction:
// of concurrent rotations of one refresh token exactly one marks it
// rotated (UPDATE … WHERE rotated_at IS NULL) and the others find it
// rotated and return store.ErrConflict. The revocation log's seq is an
// AUTOINCREMENT key, so a pruned event's Seq is never assigned again.
// Refresh tokens reference their grant without a foreign key, so the
// session store may live in another backend.
//
// # Migrations
//
// The schema is a list of numbered files embedded from migrations/, named
// NNNN_description.sql and numbered 1, 2, 3… without gaps. Migrate applies
// each file not yet recorded in the schema_migrations table, in order, in
// its own transaction together with its schema_migrations row, so a file is
// either fully applied and recorded or not at all. A later change is a
// new file; applied files are never edited. Migrate refuses, with ErrSchemaNewer, a database that a
// newer Gatehouse has migrated past what this one knows. Because every file
// runs inside a transaction, a migration must not change PRAGMA
// foreign_keys (a no-op in a transaction); table rebuilds use SQLite's
// documented twelve-step procedure with PRAGMA defer_foreign_keys instead.
//
// The runner is dialect-neutral apart from a few statements kept together
// in migrate.go (the schema_migrations DDL, "?" placeholders, and locking
// by BEGIN IMMEDIATE); a PostgreSQL backend follows the same pattern with
// its own migrations directory, $n placeholders and an advisory lock.
package sqlite
