// Package clocktest is the one fake clock of the module's tests: a clock
// that stands still until the test moves it, so that expiry, grace periods
// and rate limits are tested without sleeping. Code under test takes its
// Now method as its `now func() time.Time`.
package clocktest

import (
	"sync"
	"time"
)

// Epoch is a fixed instant for tests that need no particular start, so
// that failures reproduce.
var Epoch = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

// Clock is a clock the test moves by hand. It is safe for concurrent use:
// servers under test read it from their own goroutines.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a Clock showing start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// Set moves the clock to t, forward or back.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
