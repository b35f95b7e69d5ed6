package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// AcquireLease implements store.LeaseStore with one upsert that takes the
// lease only when it is free, expired, or already the holder's.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	var got string
	err := s.db.QueryRowContext(ctx, `
		INSERT INTO job_leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE job_leases.expires_at <= ? OR job_leases.holder = excluded.holder
		RETURNING holder`,
		name, holder, millis(now.Add(ttl)), millis(now)).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // the conflicting row was not updated: held by another
	}
	if err != nil {
		return false, s.wrapErr("acquire lease", err)
	}
	return got == holder, nil
}
