// Package clocktest provides a settable fake clock for tests, so expiry,
// lockout and rotation are exercised without sleeping.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a time source that moves only when a test moves it. It is safe
// for concurrent use, as code under test often reads the time from
// background goroutines while the test advances it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock that reads t until it is moved.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's current time; its method value is the
// `now func() time.Time` that Gatehouse constructors take.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d (backwards when d is negative).
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
