// Package sqlstore is the SQL backend of package store: one implementation
// for two databases, SQLite (the pure Go driver modernc.org/sqlite, no
// cgo, through database/sql) and PostgreSQL (github.com/jackc/pgx/v5 and
// its pgxpool pool). Every statement runs through one small interface,
// db (querier.go), written with "?" placeholders: on database/sql for
// SQLite and for the migration runner, natively on pgx for PostgreSQL's
// stores (measured faster per read than pgx's database/sql driver; see
// docs/decisions.md). A flavor holds what truly differs between the two
// databases: placeholders ("?" or $n), list columns (JSON text or
// text[]), error codes, locking, bulk insert and the migration runner's
// few statements, with one migrations directory per database.
//
// OpenSQLite opens a database file with the settings the store relies on:
// WAL journal, synchronous=FULL so that a crash or power loss loses no
// acknowledged write, foreign keys on, a 5 s busy timeout, and write
// transactions that begin IMMEDIATE so that read-modify-write
// transactions queue for the write lock instead of failing to upgrade a
// read lock. OpenPostgres opens a pool on a postgres:// URL; any number of
// Gatehouse instances may share one database. Either returns a Store,
// which implements store.UserStore, store.SessionStore, store.KeyStore,
// store.RefreshTokenStore, store.RevocationStore, store.ClientStore,
// store.AuthCodeStore, store.ConsentStore and store.LeaseStore; Migrate
// brings its schema up to date.
//
// # Storage format
//
// The two schemas mirror each other, version for version. Times are
// integer unix milliseconds, read back in UTC: they sort and compare as
// numbers, which the expiry sweeps rely on, and a millisecond is finer
// than any timeout Gatehouse uses. A time that is zero until something
// happens (a key's RetiredAt, a refresh token's RotatedAt) is NULL until
// then. Sub-millisecond digits are truncated, so an expiry check in SQL
// (expires_at <= now) may disagree with Session.Expired within that last
// millisecond. Hashes, sealed secrets and JWKs are BLOBs (bytea),
// returned byte for byte.
//
// On SQLite, user claims and session data are TEXT holding JSON, list
// fields (a client's lists, a grant's or a code's audiences, a consent's
// scopes) TEXT holding JSON arrays, and tables are STRICT. On PostgreSQL,
// claims and session data are jsonb: PostgreSQL validates them and may
// reorder keys and drop spaces, so session data round-trips as the same
// JSON value, not the same bytes, and jsonb refuses a string holding
// \u0000, which SQLite would keep. Lists are text[]. Identifiers and
// emails use the "C" collation, so they compare and sort byte by byte
// whatever the database's locale. Claims are decoded with encoding/json,
// so numbers come back as float64.
//
// # Concurrency
//
// On SQLite every transaction is IMMEDIATE and so runs alone among
// writers. On PostgreSQL statements run at READ COMMITTED; the atomic
// closures (UpdateUser, UpdateSessionData) read their row with SELECT …
// FOR UPDATE, RotateKey and AppendRevocations lock their table against
// other writers (not readers), so that rotations never leave two current
// keys and the revocation log's Seq order is commit order. Of concurrent
// rotations of one refresh token exactly one marks it rotated (UPDATE …
// WHERE rotated_at IS NULL) and the others return store.ErrConflict;
// authorization codes are redeemed the same way. The revocation log's
// seq is an AUTOINCREMENT key (an identity column), so a pruned event's
// Seq is never assigned again. Refresh tokens reference their grant
// without a foreign key, so the session store may live in another
// backend.
//
// Unique violations (SQLite's constraint codes, SQLSTATE 23505) are
// store.ErrConflict and a missing row is store.ErrNotFound; other errors
// are wrapped with the database's name and the operation, keeping the
// driver's error in the chain.
//
// # Migrations
//
// Each database's schema is a list of numbered files embedded from
// migrations/<flavor>/, named NNNN_description.sql and numbered 1, 2, 3…
// without gaps, the same numbers in both. Migrate applies each file not
// yet recorded in the schema_migrations table, in order, in its own
// transaction together with its schema_migrations row, so a file is
// either fully applied and recorded or not at all. On PostgreSQL it holds
// a session-level advisory lock (MigrationLockKey) from before it creates
// schema_migrations until it is done, so instances starting at once take
// turns; on SQLite the IMMEDIATE transactions do, and each re-checks what
// is applied. A later change is a new file in both directories; applied
// files are never edited. Migrate refuses, with ErrSchemaNewer, a database
// that a newer Gatehouse has migrated past what this one knows. Because
// every file runs inside a transaction, a SQLite migration must not change
// PRAGMA foreign_keys (a no-op in a transaction); table rebuilds use
// SQLite's documented twelve-step procedure with PRAGMA defer_foreign_keys
// instead.
//
// PostgreSQL tables are created and found through the connections'
// search_path: "public" unless the URL or the role sets another schema
// (the tests give each test a schema of its own this way; see package
// pgtest).
package sqlstore
