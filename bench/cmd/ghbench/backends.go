package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Default service URLs; the same variables as the main module's tests.
const (
	postgresEnv     = "GATEHOUSE_TEST_POSTGRES"
	postgresDefault = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	redisEnv        = "GATEHOUSE_TEST_REDIS"
	redisDefault    = "redis://127.0.0.1:6379/0"
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Services are the PostgreSQL database and Redis prefix made for one run,
// with the reason each is missing when it is.
type Services struct {
	PostgresURL, PostgresSkip string
	RedisURL, RedisSkip       string
	adminURL, dbName          string
	redis                     *redis.Client
	redisPrefix               string
	run                       string
	extraDBs, extraPrefixes   []string // made by NewDatabase and NewRedisURL
}

// OpenServices creates a fresh PostgreSQL database and picks a Redis key
// prefix, each only when its server answers.
func OpenServices(ctx context.Context) *Services {
	run := fmt.Sprintf("ghbench_%d", time.Now().UnixNano())
	s := &Services{run: run}
	s.adminURL = envOr(postgresEnv, postgresDefault)
	if conn, err := connectPG(ctx, s.adminURL); err != nil {
		s.PostgresSkip = fmt.Sprintf("PostgreSQL not reachable at %s (%v); set %s", redactURL(s.adminURL), firstLine(err), postgresEnv)
	} else {
		_, err := conn.Exec(ctx, "CREATE DATABASE "+run)
		conn.Close(ctx)
		if err != nil {
			s.PostgresSkip = fmt.Sprintf("could not create a database: %v", firstLine(err))
		} else {
			s.PostgresURL, s.dbName = s.databaseURL(run), run
		}
	}
	ru := envOr(redisEnv, redisDefault)
	opt, err := redis.ParseURL(ru)
	if err == nil {
		c := redis.NewClient(opt)
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = c.Ping(cctx).Err()
		cancel()
		if err == nil {
			s.redis, s.redisPrefix = c, run+":"
			s.RedisURL = withKeyPrefix(ru, s.redisPrefix)
		} else {
			c.Close()
		}
	}
	if s.RedisURL == "" {
		s.RedisSkip = fmt.Sprintf("Redis not reachable at %s (%v); set %s", redactURL(ru), firstLine(err), redisEnv)
	}
	if s.RedisURL != "" && s.PostgresURL == "" {
		s.RedisSkip = "Redis sessions need PostgreSQL for the rest (" + s.PostgresSkip + ")"
		s.RedisURL = ""
	}
	return s
}

func connectPG(ctx context.Context, u string) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return pgx.Connect(cctx, u)
}

// serviceEnv is the environment that points the main module's tests and
// benchmarks at the same PostgreSQL and Redis as this run.
func serviceEnv() []string {
	return []string{postgresEnv + "=" + envOr(postgresEnv, postgresDefault), redisEnv + "=" + envOr(redisEnv, redisDefault)}
}

// databaseURL is the admin URL with the database name replaced.
func (s *Services) databaseURL(name string) string {
	u, _ := url.Parse(s.adminURL)
	u.Path = "/" + name
	return u.String()
}

// withKeyPrefix returns the Redis URL raw with its key_prefix set.
func withKeyPrefix(raw, prefix string) string {
	u, _ := url.Parse(raw)
	q := u.Query()
	q.Set("key_prefix", prefix)
	u.RawQuery = q.Encode()
	return u.String()
}

// dropDatabase drops a database of the run, ignoring errors.
func (s *Services) dropDatabase(ctx context.Context, name string) {
	if conn, err := connectPG(ctx, s.adminURL); err == nil {
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		conn.Close(ctx)
	}
}

// Backends returns the backends this run can use.
func (s *Services) Backends() []Backend {
	bs := []Backend{{Name: "sqlite", Sessions: "db"}}
	if s.PostgresURL != "" {
		bs = append(bs, Backend{Name: "postgres", DB: s.PostgresURL, Sessions: "db"})
	}
	if s.RedisURL != "" {
		bs = append(bs, Backend{Name: "redis", DB: s.PostgresURL, Sessions: s.RedisURL})
	}
	return bs
}

// PostgresTableBytes returns pg_total_relation_size of a table in the
// run's database.
func (s *Services) PostgresTableBytes(ctx context.Context, table string) (int64, int64, error) {
	conn, err := connectPG(ctx, s.PostgresURL)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(ctx)
	var size, rows int64
	err = conn.QueryRow(ctx, fmt.Sprintf("SELECT pg_total_relation_size('%s'), (SELECT count(*) FROM %s)", table, table)).Scan(&size, &rows)
	return size, rows, err
}

// RedisSessionBytes returns the total MEMORY USAGE of the run's keys and
// their count.
func (s *Services) RedisSessionBytes(ctx context.Context) (int64, int64, error) {
	var total, n int64
	iter := s.redis.Scan(ctx, 0, s.redisPrefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		m, err := s.redis.MemoryUsage(ctx, iter.Val()).Result()
		if err != nil {
			return 0, 0, err
		}
		total += m
		n++
	}
	return total, n, iter.Err()
}

// NewDatabase creates another database of the run, named after the
// run and suffix (lower-case letters and digits), and returns its URL.
// Close drops it, unless DropDatabase did.
func (s *Services) NewDatabase(ctx context.Context, suffix string) (string, error) {
	if s.PostgresURL == "" {
		return "", errors.New("no PostgreSQL")
	}
	name := s.run + "_" + suffix
	conn, err := connectPG(ctx, s.adminURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	s.extraDBs = append(s.extraDBs, name)
	return s.databaseURL(name), nil
}

// DropDatabase drops a database made by NewDatabase, given its URL.
func (s *Services) DropDatabase(ctx context.Context, dbURL string) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return
	}
	name := strings.TrimPrefix(u.Path, "/")
	if !slices.Contains(s.extraDBs, name) {
		return
	}
	s.dropDatabase(ctx, name)
	s.extraDBs = slices.DeleteFunc(s.extraDBs, func(n string) bool { return n == name })
}

// NewRedisURL returns the Redis URL of the run with another key prefix,
// named after the run and suffix. Close deletes its keys, unless
// DeleteRedisPrefix did.
func (s *Services) NewRedisURL(suffix string) (string, error) {
	if s.RedisURL == "" {
		return "", errors.New("no Redis")
	}
	prefix := s.run + "_" + suffix + ":"
	s.extraPrefixes = append(s.extraPrefixes, prefix)
	return withKeyPrefix(s.RedisURL, prefix), nil
}

// DeleteRedisPrefix deletes the keys of a URL made by NewRedisURL.
func (s *Services) DeleteRedisPrefix(ctx context.Context, redisURL string) {
	u, err := url.Parse(redisURL)
	if err != nil {
		return
	}
	prefix := u.Query().Get("key_prefix")
	if !slices.Contains(s.extraPrefixes, prefix) {
		return
	}
	_ = deleteKeys(ctx, s.redis, prefix)
	s.extraPrefixes = slices.DeleteFunc(s.extraPrefixes, func(p string) bool { return p == prefix })
}

// deleteKeys deletes every key under prefix, a page of SCAN at a time
// with one UNLINK: a million keys take seconds, not minutes.
func deleteKeys(ctx context.Context, c *redis.Client, prefix string) error {
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, prefix+"*", 10_000).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := c.Unlink(ctx, keys...).Err(); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// Close drops the run's databases and deletes its Redis keys.
func (s *Services) Close(ctx context.Context) {
	for _, name := range append([]string{s.dbName}, s.extraDBs...) {
		if name != "" {
			s.dropDatabase(ctx, name)
		}
	}
	if s.redis != nil {
		for _, p := range append([]string{s.redisPrefix}, s.extraPrefixes...) {
			_ = deleteKeys(ctx, s.redis, p)
		}
		s.redis.Close()
	}
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func firstLine(err error) string {
	if err == nil {
		return ""
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
