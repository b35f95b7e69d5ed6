package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	redislimit "github.com/gatehouse-auth/gatehouse/internal/ratelimit/redislimit"
	redisstore "github.com/gatehouse-auth/gatehouse/internal/store/redisstore"
)

// redisKeyPrefixParam is the query parameter of a --sessions URL that sets
// the prefix of every key Gatehouse writes to Redis (default
// redisstore.DefaultKeyPrefix), so that deployments can share a server.
const redisKeyPrefixParam = "key_prefix"

// redisWaitReplicasParam and redisWaitTimeoutParam are the query
// parameters of a --sessions URL that set redisstore.Options.WaitReplicas
// and WaitTimeout: creating and revoking a session then waits for that
// many replicas to have the write (see "Redis Sentinel" in
// docs/deploy.md).
const (
	redisWaitReplicasParam = "wait_replicas"
	redisWaitTimeoutParam  = "wait_timeout"
)

// redisPingTimeout bounds the first PING at start-up.
const redisPingTimeout = 10 * time.Second

// redisBackend is the Redis server that --sessions names.
type redisBackend struct {
	client redis.UniversalClient
	prefix string
	// waitReplicas and waitTimeout are the session store's
	// Options.WaitReplicas and WaitTimeout.
	waitReplicas int
	waitTimeout  time.Duration
}

// openRedis connects to the Redis server of a --sessions URL and pings it.
// The URL is what redis.ParseURL reads (redis:// or rediss://, user,
// password, database number, and client options such as dial_timeout as
// query parameters), plus key_prefix. Errors show the URL without its
// password.
func openRedis(ctx context.Context, rawURL string) (*redisBackend, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the URL, password included: say less.
		return nil, errors.New("--sessions: malformed Redis URL")
	}
	q := u.Query()
	prefix := q.Get(redisKeyPrefixParam)
	q.Del(redisKeyPrefixParam)
	waitReplicas, waitTimeout, err := redisWaitParams(q)
	if err != nil {
		return nil, fmt.Errorf("--sessions: %w", err)
	}
	q.Del(redisWaitReplicasParam)
	q.Del(redisWaitTimeoutParam)
	if waitReplicas > 0 && q.Has("addr") && !q.Has("master_name") {
		return nil, fmt.Errorf("--sessions: %s is not supported with Redis Cluster", redisWaitReplicasParam)
	}
	u.RawQuery = q.Encode()
	client, err := newRedisClient(u.String(), q)
	if err != nil {
		return nil, fmt.Errorf("--sessions %s: %w", config.RedactURL(u.String()), err)
	}
	pctx, cancel := context.WithTimeout(ctx, redisPingTimeout)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("connect to Redis at %s: %w", config.RedactURL(u.String()), err)
	}
	return &redisBackend{client: client, prefix: prefix, waitReplicas: waitReplicas, waitTimeout: waitTimeout}, nil
}

// redisWaitParams reads wait_replicas (a number of replicas, 0 to 16) and
// wait_timeout (a duration up to a minute) from a --sessions URL's query.
func redisWaitParams(q url.Values) (int, time.Duration, error) {
	n := 0
	if v := q.Get(redisWaitReplicasParam); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 || n > 16 {
			return 0, 0, fmt.Errorf("%s=%q: want a number of replicas from 0 to 16", redisWaitReplicasParam, v)
		}
	}
	var d time.Duration
	if v := q.Get(redisWaitTimeoutParam); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d <= 0 || d > time.Minute {
			return 0, 0, fmt.Errorf("%s=%q: want a duration such as 100ms, at most 1m", redisWaitTimeoutParam, v)
		}
	}
	return n, d, nil
}

// newRedisClient opens the client a --sessions URL describes: Redis
// Sentinel when it has a master_name parameter (the sentinels are its host
// and any addr parameters), Redis Cluster when it has addr parameters (the
// seed nodes), and a single server otherwise. The URL syntax is
// go-redis's ParseFailoverURL, ParseClusterURL and ParseURL.
func newRedisClient(rawURL string, q url.Values) (redis.UniversalClient, error) {
	switch {
	case q.Has("master_name"):
		opts, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, err
		}
		return redis.NewFailoverClient(opts), nil
	case q.Has("addr"):
		opts, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, err
		}
		return redis.NewClusterClient(opts), nil
	}
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return redis.NewClient(opts), nil
}

// useRedis, when --sessions names a Redis server, connects to it and moves
// the session store there; the login limiters follow (see newLimiter).
// Readiness then needs both the database and Redis.
func (a *App) useRedis(ctx context.Context, stores *Stores) error {
	if a.Config.Sessions == "db" {
		return nil
	}
	rb, err := openRedis(ctx, a.Config.Sessions)
	if err != nil {
		return err
	}
	a.closers = append(a.closers, rb.client.Close)
	a.redis = rb
	stores.Sessions = redisstore.New(rb.client, redisstore.Options{KeyPrefix: rb.prefix, WaitReplicas: rb.waitReplicas, WaitTimeout: rb.waitTimeout})
	dbPing := stores.Ping
	stores.Ping = func(ctx context.Context) error {
		var errs []error
		if dbPing != nil {
			errs = append(errs, dbPing(ctx))
		}
		if err := rb.client.Ping(ctx).Err(); err != nil {
			errs = append(errs, fmt.Errorf("redis: %w", err))
		}
		return errors.Join(errs...)
	}
	return nil
}

// limiter returns a limiter whose state is shared through Redis by every
// instance.
func (rb *redisBackend) limiter(limit ratelimit.Limit, now func() time.Time) (ratelimit.Limiter, error) {
	l, err := redislimit.New(rb.client, limit, redislimit.Options{KeyPrefix: rb.prefix, Now: now})
	if err != nil {
		return nil, err
	}
	return l, nil
}
