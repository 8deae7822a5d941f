// Package throttle slows password guessing down: a lockout per account that
// spares the owner's devices (lockout.go) and a sliding-window rate per
// client IP, counted in the store so replicas share them.
package throttle

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth/device"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Defaults, matching the documented configuration defaults.
const (
	DefaultMaxFailures = 5
	MaxMaxFailures     = 100
	DefaultWindow      = 15 * time.Minute
	// DefaultMaxLock caps the growing lock durations.
	DefaultMaxLock = 24 * time.Hour
	// MaxHardLockAfter is NIST SP 800-63B 5.2.2's ceiling on consecutive
	// failed attempts before an account stops accepting guesses.
	MaxHardLockAfter = 100
	DefaultIPLimit   = 30
	DefaultIPWindow  = time.Minute
)

// Buckets of the per-IP limit.
const (
	BucketLogin  = "login"
	BucketForgot = "forgot"
)

// Options set the limits. Zero values take the defaults.
type Options struct {
	// MaxFailures failed logins within Window lock their client class
	// (every untrusted client of the account, or one device) for Window,
	// doubling with each further lock of the same run up to MaxLock.
	MaxFailures int
	Window      time.Duration
	MaxLock     time.Duration
	// HardLockAfter consecutive failures of a class lock it until a
	// successful sign-in (see lockout.go); at most MaxHardLockAfter.
	HardLockAfter int
	// Devices recognises browsers that have signed in before; nil trusts
	// no device, so every client is in the untrusted class.
	Devices *device.Cookies
	// IPLimit requests per IPWindow per client IP and bucket.
	IPLimit  int
	IPWindow time.Duration
}

// OptionsFrom reads the password.lockout config.
func OptionsFrom(l config.Lockout) Options {
	return Options{MaxFailures: l.MaxFailures, Window: l.Window.D(), MaxLock: l.MaxLock.D(),
		HardLockAfter: l.HardLockAfter, IPLimit: l.IPLimit, IPWindow: l.IPWindow.D()}
}

// Guard implements login.Guard on a store.Throttle.
type Guard struct {
	st       store.Throttle
	opts     Options
	clientIP func(*http.Request) string
	now      func() time.Time
	log      *slog.Logger
}

// New returns a Guard. clientIP must know the trusted proxies. A nil now or
// logger means the real clock and a discarding logger.
func New(st store.Throttle, opts Options, clientIP func(*http.Request) string, now func() time.Time, logger *slog.Logger) *Guard {
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = DefaultMaxFailures
	}
	opts.MaxFailures = min(opts.MaxFailures, MaxMaxFailures)
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.MaxLock <= 0 {
		opts.MaxLock = DefaultMaxLock
	}
	opts.MaxLock = max(opts.MaxLock, opts.Window)
	if opts.HardLockAfter <= 0 {
		opts.HardLockAfter = MaxHardLockAfter
	}
	opts.HardLockAfter = min(opts.HardLockAfter, MaxHardLockAfter)
	if opts.IPLimit <= 0 {
		opts.IPLimit = DefaultIPLimit
	}
	if opts.IPWindow <= 0 {
		opts.IPWindow = DefaultIPWindow
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Guard{st: st, opts: opts, clientIP: clientIP, now: now, log: logger}
}

// LimitIP counts one request of the client in bucket and reports whether
// it is within IPLimit per IPWindow, else how long to wait.
//
// The window slides: the store's counters are fixed windows, so two are
// kept (this period and the previous one) and the previous one is weighed
// by how much of it still overlaps the sliding window. A burst at a period
// boundary therefore cannot get twice the limit through.
func (g *Guard) LimitIP(ctx context.Context, r *http.Request, bucket string) (bool, time.Duration) {
	ip := g.clientIP(r)
	if ip == "" {
		ip = "unknown"
	}
	now := g.now()
	w := g.opts.IPWindow
	period := now.UnixNano() / int64(w)
	periodStart := time.Unix(0, period*int64(w))
	prefix := bucket + ":ip:" + ip + ":"
	// Counters live two periods so the next period can still read this one.
	cur, _, err := g.st.Hit(ctx, prefix+strconv.FormatInt(period, 10), 2*w, now)
	if err != nil {
		g.log.Warn("throttle: counting request", "err", err)
		return true, 0
	}
	prev, _, err := g.st.Count(ctx, prefix+strconv.FormatInt(period-1, 10), now)
	if err != nil {
		g.log.Warn("throttle: reading count", "err", err)
		return true, 0
	}
	elapsed := now.Sub(periodStart)
	weight := float64(w-elapsed) / float64(w)
	if float64(prev)*weight+float64(cur) <= float64(g.opts.IPLimit) {
		return true, 0
	}
	return false, max(waitFor(now, w, prev, cur, g.opts.IPLimit), time.Second)
}

// waitFor finds, in steps of 1/120 of the window, how long until one more
// request would be within limit, assuming none is made meanwhile.
func waitFor(now time.Time, w time.Duration, prev, cur, limit int) time.Duration {
	period := now.UnixNano() / int64(w)
	const steps = 120
	for i := 1; i <= 2*steps; i++ {
		t := w * time.Duration(i) / steps
		at := now.Add(t)
		p := at.UnixNano() / int64(w)
		weight := float64(w-at.Sub(time.Unix(0, p*int64(w)))) / float64(w)
		est := 1.0
		switch p {
		case period:
			est += float64(prev)*weight + float64(cur)
		case period + 1:
			est += float64(cur) * weight
		}
		if est <= float64(limit) {
			return t
		}
	}
	return 2 * w
}
