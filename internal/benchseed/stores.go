package benchseed

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	redisstore "github.com/gatehouse-auth/gatehouse/internal/store/redisstore"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
)

// Target names the stores to seed as "gatehouse serve" names them.
type Target struct {
	// DB is --db: a SQLite file path (optionally "sqlite://path") or a
	// postgres:// URL. Unlike --db it may not be empty: the seeder has no
	// data directory, so give the server's <data-dir>/gatehouse.db.
	DB string
	// Sessions is --sessions: "db" (or empty) for the database, or a
	// redis:// URL, with key_prefix as the server reads it. Only a single
	// Redis server is supported, not Sentinel or Cluster URLs.
	Sessions string
}

// SessionStore is a session store that can also store records in bulk:
// the SQLite, PostgreSQL and Redis stores.
type SessionStore interface {
	store.SessionStore
	CreateSessions(ctx context.Context, ss []store.Session) error
}

// RefreshTokenStore is a refresh-token store that can also store tokens in
// bulk: the SQLite and PostgreSQL stores.
type RefreshTokenStore interface {
	store.RefreshTokenStore
	CreateRefreshTokens(ctx context.Context, ts []store.RefreshToken) error
}

// Stores are the stores of one Target, opened as the server opens them.
type Stores struct {
	// Backend is "sqlite", "postgres" or "redis" (sessions in Redis, the
	// rest in PostgreSQL or SQLite).
	Backend  string
	Users    store.UserStore
	Sessions SessionStore
	Refresh  RefreshTokenStore

	// Batch and Workers are the defaults for this backend: records per
	// bulk call, and bulk calls at once.
	Batch, Workers int

	sqlDB    *sql.DB
	sqlPath  string
	pg       *pgxpool.Pool
	redis    *redis.Client
	closeAll []func()
}

// Open opens and migrates the target's database, and opens its session
// store. Close releases them.
func Open(ctx context.Context, t Target) (*Stores, error) {
	st := &Stores{}
	if err := st.openDB(ctx, t.DB); err != nil {
		st.Close()
		return nil, err
	}
	if t.Sessions != "" && t.Sessions != "db" {
		if err := st.openRedis(ctx, t.Sessions); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

func (st *Stores) openDB(ctx context.Context, db string) error {
	switch {
	case db == "" || db == "sqlite":
		return errors.New("benchseed: the database must be named (a SQLite file path or a postgres:// URL)")
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		s, err := sqlstore.OpenPostgres(ctx, db)
		if err != nil {
			return fmt.Errorf("benchseed: open PostgreSQL: %w", err)
		}
		st.pg = s.PgxPool()
		st.closeAll = append(st.closeAll, func() { s.Close() })
		if err := s.Migrate(ctx); err != nil {
			return fmt.Errorf("benchseed: migrate PostgreSQL: %w", err)
		}
		st.Backend, st.Users, st.Sessions, st.Refresh = "postgres", s, s, s
		// COPY batches: two at once keep the server busy while the next
		// batch is encoded.
		st.Batch, st.Workers = 10_000, 2
		return nil
	}
	path := strings.TrimPrefix(db, "sqlite://")
	s, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		return fmt.Errorf("benchseed: %w", err)
	}
	sdb := s.DB()
	st.sqlDB, st.sqlPath = sdb, path
	st.closeAll = append(st.closeAll, func() { s.Close() })
	// One connection, whose page cache holds the indexes that random
	// keys (ids, secret hashes) spread inserts over: with the default
	// 2 MiB, a million inserts read and write each index page many times.
	sdb.SetMaxOpenConns(1)
	if _, err := sdb.ExecContext(ctx, "PRAGMA cache_size = -1048576; PRAGMA synchronous = NORMAL"); err != nil {
		return fmt.Errorf("benchseed: cache_size: %w", err)
	}
	if err := s.Migrate(ctx); err != nil {
		return fmt.Errorf("benchseed: migrate SQLite: %w", err)
	}
	st.Backend, st.Users, st.Sessions, st.Refresh = "sqlite", s, s, s
	// One writer at a time: more would only wait for the lock. A batch
	// of 5000 holds it for a few tens of milliseconds.
	st.Batch, st.Workers = 20_000, 1
	return nil
}

// openRedis opens the Redis session store of a --sessions URL.
func (st *Stores) openRedis(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		return errors.New("benchseed: --sessions must be \"db\" or a redis:// URL")
	}
	q := u.Query()
	prefix := q.Get("key_prefix")
	q.Del("key_prefix")
	if q.Has("addr") || q.Has("master_name") {
		return errors.New("benchseed: Redis Sentinel and Cluster URLs are not supported")
	}
	u.RawQuery = q.Encode()
	opts, err := redis.ParseURL(u.String())
	if err != nil {
		return fmt.Errorf("benchseed: Redis URL: %w", err)
	}
	// Bulk pipelines of 1,000 creates can take longer than go-redis's
	// default 3 s read timeout on a busy machine, and a retried pipeline
	// would find its own records and report their ids as taken: no
	// retries, and time to answer.
	opts.MaxRetries = -1
	opts.ReadTimeout = 2 * time.Minute
	c := redis.NewClient(opts)
	st.closeAll = append(st.closeAll, func() { c.Close() })
	if err := c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("benchseed: connect to Redis at %s: %w", u.Redacted(), err)
	}
	st.redis = c
	st.Backend, st.Sessions = "redis", redisstore.New(c, redisstore.Options{KeyPrefix: prefix})
	// Pipelines of 1000 scripts, four at once: Redis runs one at a time,
	// the others are on the wire or being encoded.
	st.Batch, st.Workers = 1000, 4
	return nil
}

// Close closes what Open opened.
func (st *Stores) Close() {
	for i := len(st.closeAll) - 1; i >= 0; i-- {
		st.closeAll[i]()
	}
	st.closeAll = nil
}

// Usage is what the stores hold, as their backends count it.
type Usage struct {
	// Live is how many session records (cookie sessions and grants) are
	// not expired.
	Live int `json:"live"`
	// SessionBytes is the space of the session records: on SQLite the
	// pages of the sessions table and its indexes (dbstat); on PostgreSQL
	// pg_total_relation_size('sessions') (table, indexes, TOAST); with
	// Redis sessions, Redis's used_memory (the whole server).
	SessionBytes int64 `json:"session_bytes"`
	// RefreshBytes is the space of the refresh tokens, in the database:
	// the pages of refresh_tokens and its indexes on SQLite,
	// pg_total_relation_size('refresh_tokens') on PostgreSQL.
	RefreshBytes int64 `json:"refresh_bytes"`
	// FileBytes is, on SQLite, the size of the database file after a
	// wal_checkpoint(TRUNCATE) (every table, and free pages); 0 elsewhere.
	FileBytes int64 `json:"file_bytes,omitempty"`
}

// Settle lets the database finish the work a bulk load leaves behind
// before anything is measured against it. On PostgreSQL it vacuums and
// analyzes the tables the seeder wrote and checkpoints, as pgbench does
// after loading its tables: without it, the first reads after seeding a
// million sessions ran while autovacuum and the checkpoint of half a
// gigabyte of WAL were busy on the same cores (docs/benchmark-notes.md,
// *Sixth pass*, has what it changed and what it did not). A role that
// may not CHECKPOINT skips it. SQLite's equivalent, a WAL checkpoint, is
// part of Measure; Redis has nothing to settle.
func (st *Stores) Settle(ctx context.Context) error {
	if st.pg == nil {
		return nil
	}
	if _, err := st.pg.Exec(ctx, "VACUUM (ANALYZE) sessions, refresh_tokens, users"); err != nil {
		return fmt.Errorf("benchseed: vacuum: %w", err)
	}
	if _, err := st.pg.Exec(ctx, "CHECKPOINT"); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" { // insufficient_privilege
			return nil
		}
		return fmt.Errorf("benchseed: checkpoint: %w", err)
	}
	return nil
}

// Measure reads the stores' usage.
func (st *Stores) Measure(ctx context.Context) (Usage, error) {
	var u Usage
	n, err := st.Sessions.CountSessions(ctx, time.Now())
	if err != nil {
		return u, fmt.Errorf("benchseed: count sessions: %w", err)
	}
	u.Live = n
	switch {
	case st.sqlDB != nil:
		by, err := sqliteTableBytes(ctx, st.sqlDB)
		if err != nil {
			return u, err
		}
		u.SessionBytes, u.RefreshBytes = by["sessions"], by["refresh_tokens"]
		// A checkpoint that other connections keep from finishing is not
		// an error: the file is then measured as it is.
		if _, err := st.sqlDB.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return u, fmt.Errorf("benchseed: checkpoint: %w", err)
		}
		fi, err := os.Stat(st.sqlPath)
		if err != nil {
			return u, fmt.Errorf("benchseed: %w", err)
		}
		u.FileBytes = fi.Size()
	case st.pg != nil:
		err := st.pg.QueryRow(ctx, `SELECT pg_total_relation_size('sessions'), pg_total_relation_size('refresh_tokens')`).Scan(&u.SessionBytes, &u.RefreshBytes)
		if err != nil {
			return u, fmt.Errorf("benchseed: relation sizes: %w", err)
		}
	}
	if st.redis != nil {
		info, err := st.redis.Info(ctx, "memory").Result()
		if err != nil {
			return u, fmt.Errorf("benchseed: INFO memory: %w", err)
		}
		if u.SessionBytes, err = infoField(info, "used_memory"); err != nil {
			return u, err
		}
	}
	return u, nil
}

// sqliteTableBytes returns the bytes of the pages of each table and its
// indexes, by table name.
func sqliteTableBytes(ctx context.Context, db *sql.DB) (map[string]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT s.tbl_name, SUM(d.pgsize) FROM dbstat AS d
		JOIN sqlite_schema AS s ON s.name = d.name GROUP BY s.tbl_name`)
	if err != nil {
		return nil, fmt.Errorf("benchseed: dbstat: %w", err)
	}
	defer rows.Close()
	by := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, fmt.Errorf("benchseed: dbstat: %w", err)
		}
		by[name] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("benchseed: dbstat: %w", err)
	}
	return by, nil
}

// infoField returns the integer field name of an INFO reply.
func infoField(info, name string) (int64, error) {
	for line := range strings.Lines(info) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && k == name {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("benchseed: INFO %s: %w", name, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("benchseed: INFO has no %s", name)
}
