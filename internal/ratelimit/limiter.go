package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrInvalidLimit reports a Limit that cannot be applied; see Limit.
var ErrInvalidLimit = errors.New("ratelimit: invalid limit")

// Limiter counts failed attempts per key and decides when a key may try
// again. It applies one Limit to all keys; callers that need different
// limits for different kinds of key (accounts, addresses) hold one Limiter
// per kind and prefix their keys by kind anyway, so that backends can share
// storage.
//
// A key that has never failed, or whose failures have all been forgotten, is
// allowed: that is the normal "not found" case, never an error. The error
// result reports backend failures only (a Memory never fails); whether to
// let a login through when the limiter is down is the caller's decision.
//
// Implementations must be safe for concurrent use, and each method must be
// atomic for its key: concurrent Fails are all counted. The suite in package
// ratelimittest checks these rules.
type Limiter interface {
	// Allow reports whether key may attempt now. It records nothing.
	Allow(ctx context.Context, key string) (Decision, error)
	// Fail records one failed attempt for key and returns the decision for
	// its next attempt, so that the response to the failure that exhausts
	// the budget can already carry Retry-After. Failures recorded while
	// the key is refused do not push its wait beyond one Interval.
	Fail(ctx context.Context, key string) (Decision, error)
	// Reset forgets the failures of key. Resetting a key without failures
	// is not an error.
	Reset(ctx context.Context, key string) error
}

// Decision is a Limiter's answer for one key at one time.
type Decision struct {
	// Allowed reports whether the key may attempt now.
	Allowed bool
	// RetryAfter is how long to wait before the key is allowed again: zero
	// when Allowed, positive otherwise. A Retry-After header carries it
	// rounded up to whole seconds.
	RetryAfter time.Duration
}

// Limit is the budget of failures of one key: at most Max in a burst, one
// more every Interval (Window/Max) after that, and the whole budget back at
// most Window after the last failure.
type Limit struct {
	// Max is the number of failures allowed in a burst. It must be at
	// least 1.
	Max int
	// Window is the time in which Max failures are forgotten. It must be
	// positive and at least Max nanoseconds, so that Interval is not zero.
	Window time.Duration
}

// DefaultAccountLimit returns the default budget of an account key: 10
// failures per 15 minutes, so one more guess every 90 seconds after a
// burst of 10.
func DefaultAccountLimit() Limit { return Limit{Max: 10, Window: 15 * time.Minute} }

// DefaultIPLimit returns the default budget of a client address key: 100
// failures per 15 minutes, room for a shared address (an office behind NAT)
// while still stopping one host from spraying guesses across accounts.
func DefaultIPLimit() Limit { return Limit{Max: 100, Window: 15 * time.Minute} }

// Interval returns the time after which one failure is forgotten:
// Window/Max, rounded down to the nanosecond.
func (l Limit) Interval() time.Duration {
	if l.Max < 1 {
		return 0
	}
	return l.Window / time.Duration(l.Max)
}

// Validate returns an error wrapping ErrInvalidLimit if l cannot be
// applied.
func (l Limit) Validate() error {
	switch {
	case l.Max < 1:
		return fmt.Errorf("%w: max %d is less than 1", ErrInvalidLimit, l.Max)
	case l.Window <= 0:
		return fmt.Errorf("%w: window %v is not positive", ErrInvalidLimit, l.Window)
	case l.Interval() <= 0:
		return fmt.Errorf("%w: window %v is shorter than max %d nanoseconds", ErrInvalidLimit, l.Window, l.Max)
	}
	return nil
}

// The GCRA arithmetic. A key's state is its theoretical arrival time tat:
// the time at which all its recorded failures are forgotten (a key without
// state has tat <= now). Each failure adds one Interval; the key is
// refused while more than Max-1 intervals remain.

// decide returns the decision at now for a key whose state is tat.
func (l Limit) decide(tat, now time.Time) Decision {
	if !tat.After(now) {
		// Checked first: tat.Sub(now) saturates for a zero tat.
		return Decision{Allowed: true}
	}
	over := tat.Sub(now) - time.Duration(l.Max-1)*l.Interval()
	if over <= 0 {
		return Decision{Allowed: true}
	}
	return Decision{RetryAfter: over}
}

// fail returns the state after a failure at now of a key whose state is
// tat. The result is at most now + Max intervals, so failures recorded
// while refused do not lengthen the wait.
func (l Limit) fail(tat, now time.Time) time.Time {
	if tat.Before(now) {
		tat = now
	}
	tat = tat.Add(l.Interval())
	if ceiling := now.Add(time.Duration(l.Max) * l.Interval()); tat.After(ceiling) {
		tat = ceiling
	}
	return tat
}
