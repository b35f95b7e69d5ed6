package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
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
}

// OpenServices creates a fresh PostgreSQL database and picks a Redis key
// prefix, each only when its server answers.
func OpenServices(ctx context.Context) *Services {
	s := &Services{}
	run := fmt.Sprintf("ghbench_%d", time.Now().UnixNano())
	s.adminURL = envOr(postgresEnv, postgresDefault)
	if conn, err := connectPG(ctx, s.adminURL); err != nil {
		s.PostgresSkip = fmt.Sprintf("PostgreSQL not reachable at %s (%v); set %s", redactURL(s.adminURL), firstLine(err), postgresEnv)
	} else {
		_, err := conn.Exec(ctx, "CREATE DATABASE "+run)
		conn.Close(ctx)
		if err != nil {
			s.PostgresSkip = fmt.Sprintf("could not create a database: %v", firstLine(err))
		} else {
			u, _ := url.Parse(s.adminURL)
			u.Path = "/" + run
			s.PostgresURL, s.dbName = u.String(), run
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
			u, _ := url.Parse(ru)
			q := u.Query()
			q.Set("key_prefix", s.redisPrefix)
			u.RawQuery = q.Encode()
			s.RedisURL = u.String()
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

// Close drops the run's database and deletes its Redis keys.
func (s *Services) Close(ctx context.Context) {
	if s.dbName != "" {
		if conn, err := connectPG(ctx, s.adminURL); err == nil {
			_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+s.dbName+" WITH (FORCE)")
			conn.Close(ctx)
		}
	}
	if s.redis != nil {
		iter := s.redis.Scan(ctx, 0, s.redisPrefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			s.redis.Del(ctx, iter.Val())
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
