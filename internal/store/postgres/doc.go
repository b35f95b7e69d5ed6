// Package postgres is the PostgreSQL backend of package store, built on
// github.com/jackc/pgx/v5 and its connection pool, pgxpool.
//
// New wraps a ready *pgxpool.Pool (opened by the command that wires the
// server, with pgxpool.New and a postgres:// URL) in a Store, which
// implements store.UserStore, store.SessionStore, store.KeyStore,
// store.RefreshTokenStore, store.RevocationStore, store.ClientStore,
// store.AuthCodeStore and store.ConsentStore; Migrate brings its schema
// up to date. Any number of Gatehouse instances may share one database.
//
// # Storage format
//
// The schema mirrors the SQLite backend's, version for version. Times are
// bigint unix milliseconds, read back in UTC, as in SQLite: both backends
// truncate to the millisecond and compare expiry the same way, and a
// millisecond is finer than any timeout Gatehouse uses (timestamptz would
// keep microseconds, which the contract does not need and SQLite does not
// have). A time that is zero until something happens (a key's RetiredAt,
// a refresh token's RotatedAt) is NULL until then. User claims and
// session data are jsonb: PostgreSQL validates them and may reorder keys
// and drop spaces, so session data round-trips as the same JSON value,
// not the same bytes, and jsonb refuses a string holding \u0000, which
// SQLite would keep. List fields (a client's lists, a grant's or a code's
// audiences, a consent's scopes) are text[]. Hashes, sealed secrets and
// JWKs are bytea, returned byte for byte. Identifiers and emails use
// the "C" collation, so they compare and sort byte by byte whatever the
// database's locale.
//
// # Concurrency
//
// Statements run at READ COMMITTED, PostgreSQL's default. The atomic
// closures (UpdateUser, UpdateSessionData) read their row with SELECT …
// FOR UPDATE and write it back in the same transaction, so concurrent
// updates of one row queue on its lock and none is lost; the session
// data's version (its ETag) is raised in the same UPDATE. Of concurrent
// rotations of one refresh token exactly one wins the conditional UPDATE
// (… WHERE rotated_at IS NULL); the others see it rotated and return
// store.ErrConflict; authorization codes are redeemed the same way (…
// WHERE used_at IS NULL). RotateKey locks signing_keys against other
// rotations.
//
// The revocation log's seq is an identity column, so a pruned event's Seq
// is never assigned again. A sequence hands out numbers in insert order,
// not commit order, which would let a reader polling "seq > cursor" skip
// an event committed after a later one; AppendRevocations therefore locks
// the table against other appends (not against readers) so that Seq order
// is commit order. Refresh tokens reference their grant without a foreign
// key, so the session store may live in another backend.
//
// Unique violations (SQLSTATE 23505) are store.ErrConflict and a missing
// row is store.ErrNotFound; other errors are wrapped with the operation,
// keeping the *pgconn.PgError in the chain.
//
// # Migrations
//
// The schema is a list of numbered files embedded from migrations/, named
// NNNN_description.sql and numbered 1, 2, 3… without gaps, as in the
// SQLite backend. Migrate applies each file not yet recorded in the
// schema_migrations table, in order, each in its own transaction together
// with its schema_migrations row. It holds a session-level advisory lock
// (pg_advisory_lock(MigrationLockKey)) from before it creates
// schema_migrations until it is done, so instances starting at once take
// turns, and the later ones find nothing left to do. A later change is a
// new file; applied files are never edited. Migrate refuses, with
// ErrSchemaNewer, a database that a newer Gatehouse has migrated past
// what this one knows.
//
// Tables are created and found through the connections' search_path:
// "public" unless the URL or the role sets another schema (the tests give
// each test a schema of its own this way; see package pgtest).
package postgres
