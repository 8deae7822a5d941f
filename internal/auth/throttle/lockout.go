package throttle

import (
	"context"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth/device"
)

// The lockout follows OWASP's device cookies. Failures are counted per
// class: a browser holding a valid device cookie for the account (it
// signed in before) is a class of its own, and every other client of the
// account shares the untrusted class. MaxFailures within Window lock only
// the class that made them, so an attacker who hammers an email locks out
// untrusted clients while the owner's browsers keep signing in. Guessing
// still slows down per account: each further lock of a run lasts twice as
// long (up to MaxLock), and HardLockAfter consecutive failures (NIST SP
// 800-63B 5.2.2: at most 100) lock the class until a successful sign-in.

// runMemory is how long a run of consecutive failures is remembered after
// it began, when no sign-in ends it earlier.
const runMemory = 30 * 24 * time.Hour

// class names the store counters of one class of clients.
type class struct {
	fail string // failures within Window
	lock string // the current timed lock
	run  string // consecutive failures, for the hard lock and the doubling
}

// untrusted keeps the counter names of the lockout before device cookies,
// so a lock in force during an upgrade stays in force.
func untrusted(login string) class {
	return class{fail: "login:acct:" + login, lock: "login:lock:" + login, run: "login:run:" + login}
}

func trustedDevice(id string) class {
	p := "login:dev:" + id + ":"
	return class{fail: p + "fail", lock: p + "lock", run: p + "run"}
}

// classOf returns the class r belongs to for email, and whether it is a
// trusted device.
func (g *Guard) classOf(r *http.Request, email string) (class, bool) {
	login := device.Normalise(email)
	if g.opts.Devices != nil {
		if id := g.opts.Devices.ID(r, login); id != "" {
			return trustedDevice(id), true
		}
	}
	return untrusted(login), false
}

// Allow reports whether a password attempt may be checked. Over the IP
// rate it answers false with the wait; for a locked class false with 0.
// A store failure lets the attempt through: argon2 still bounds the rate,
// and refusing every login while the store hiccups would be worse.
func (g *Guard) Allow(ctx context.Context, r *http.Request, email string) (bool, time.Duration) {
	if ok, retry := g.LimitIP(ctx, r, BucketLogin); !ok {
		return false, retry
	}
	c, _ := g.classOf(r, email)
	now := g.now()
	locked, _, err := g.st.Count(ctx, c.lock, now)
	if err != nil {
		g.log.Warn("throttle: reading lock", "err", err)
		return true, 0
	}
	run, _, err := g.st.Count(ctx, c.run, now)
	if err != nil {
		g.log.Warn("throttle: reading failures", "err", err)
		return true, 0
	}
	return locked == 0 && run < g.opts.HardLockAfter, 0
}

// Failed counts a failed attempt against r's class; the MaxFailures-th
// within Window locks that class.
func (g *Guard) Failed(ctx context.Context, r *http.Request, email string) {
	c, _ := g.classOf(r, email)
	now := g.now()
	run, _, err := g.st.Hit(ctx, c.run, runMemory, now)
	if err != nil {
		g.log.Warn("throttle: counting failure", "err", err)
		return
	}
	n, _, err := g.st.Hit(ctx, c.fail, g.opts.Window, now)
	if err != nil {
		g.log.Warn("throttle: counting failure", "err", err)
		return
	}
	if n < g.opts.MaxFailures {
		return
	}
	if _, _, err := g.st.Hit(ctx, c.lock, g.lockFor(run), now); err != nil {
		g.log.Warn("throttle: locking", "err", err)
		return
	}
	// The next lock needs MaxFailures new failures.
	if err := g.st.ResetCounter(ctx, c.fail); err != nil {
		g.log.Warn("throttle: resetting", "err", err)
	}
}

// lockFor is how long the lock after run consecutive failures lasts:
// Window for the first lock of a run, twice as long for each one after,
// at most MaxLock.
func (g *Guard) lockFor(run int) time.Duration {
	d := g.opts.Window
	for range run/g.opts.MaxFailures - 1 {
		if d >= g.opts.MaxLock/2 {
			return g.opts.MaxLock
		}
		d *= 2
	}
	return min(d, g.opts.MaxLock)
}

// Succeeded ends the run of failures of r's class and gives the browser a
// new device cookie for the account. A success on a trusted device also
// ends the untrusted class's run: the owner has shown up, so the failures
// before are no longer consecutive (a timed lock in force stays).
func (g *Guard) Succeeded(ctx context.Context, w http.ResponseWriter, r *http.Request, email string) {
	c, trusted := g.classOf(r, email)
	keys := []string{c.fail, c.run}
	if trusted {
		keys = append(keys, untrusted(device.Normalise(email)).run)
	}
	for _, k := range keys {
		if err := g.st.ResetCounter(ctx, k); err != nil {
			g.log.Warn("throttle: resetting", "err", err)
		}
	}
	if g.opts.Devices != nil {
		if err := g.opts.Devices.Issue(w, email); err != nil {
			g.log.Warn("throttle: issuing device cookie", "err", err)
		}
	}
}
