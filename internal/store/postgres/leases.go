package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

var _ store.LeaseStore = (*Store)(nil)

// AcquireLease implements store.LeaseStore with one upsert that takes the
// lease only when it is free, expired, or already the holder's.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	var got string
	err := s.pool.QueryRow(ctx, `
		INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE job_leases.expires_at <= $4 OR job_leases.holder = excluded.holder
		RETURNING holder`,
		name, holder, millis(now.Add(ttl)), millis(now)).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // the conflicting row was not updated: held by another
	}
	if err != nil {
		return false, wrapErr("acquire lease", err)
	}
	return got == holder, nil
}
