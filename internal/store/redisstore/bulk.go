package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// CreateSessions stores many new records, each as CreateSession stores
// one (the same script), in one pipeline: one round trip for the batch
// instead of one per record. It is for bulk loading (the benchmark
// seeder, imports), not part of store.SessionStore.
//
// Unlike the SQL stores' CreateSessions it is not all or none: every
// record is stored or refused on its own, so when it returns an error
// (store.ErrConflict for the first record whose id or secret hash is
// taken) the others of the batch may have been stored.
func (s *Store) CreateSessions(ctx context.Context, ss []store.Session) error {
	if len(ss) == 0 {
		return nil
	}
	if err := s.scripts.create.Load(ctx, s.client).Err(); err != nil {
		return fmt.Errorf("redisstore: create sessions: load script: %w", err)
	}
	cmds := make([]*redis.Cmd, len(ss))
	pipe := s.client.Pipeline()
	for i, r := range ss {
		args, err := s.createArgs(r)
		if err != nil {
			return fmt.Errorf("redisstore: create sessions: record %d: %w", i, err)
		}
		if err := s.addClientRoute(ctx, r); err != nil {
			return fmt.Errorf("redisstore: create sessions: record %d: %w", i, err)
		}
		cmds[i] = s.scripts.create.EvalSha(ctx, pipe, []string{recordKey(s.baseOf(r.ID), r.ID)}, args...)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		// Exec returns the first command's error; the loop below names
		// the record.
		for i, c := range cmds {
			if c.Err() != nil {
				return fmt.Errorf("redisstore: create sessions: record %d: %w", i, c.Err())
			}
		}
		return fmt.Errorf("redisstore: create sessions: %w", err)
	}
	for i, c := range cmds {
		switch res, _ := c.Text(); res {
		case "ok":
		case "id":
			return fmt.Errorf("redisstore: create sessions: record %d: id taken: %w", i, store.ErrConflict)
		case "hash":
			return fmt.Errorf("redisstore: create sessions: record %d: secret hash taken: %w", i, store.ErrConflict)
		default:
			return fmt.Errorf("redisstore: create sessions: record %d: unexpected reply %q", i, res)
		}
	}
	return nil
}
