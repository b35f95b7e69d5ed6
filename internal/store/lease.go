package store

import (
	"context"
	"time"
)

// LeaseStore grants named, expiring leases, so that a background job
// (expiry sweeps, scheduled key rotation) runs on one instance of a
// cluster at a time instead of on every one.
type LeaseStore interface {
	// AcquireLease gives the lease name to holder until now+ttl, and
	// reports true, if the lease is free, expired at now (its expiry is at
	// or before now), or already held by holder (a renewal). It reports
	// false, changing nothing, while another holder's lease is live.
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
}
