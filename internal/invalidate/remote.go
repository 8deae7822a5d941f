package invalidate

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Notifier is what a shared store offers for messages between processes
// (PostgreSQL's LISTEN/NOTIFY in internal/store/postgres).
type Notifier interface {
	Notify(ctx context.Context, channel, payload string) error
	// Listen runs until ctx ends, calling fn with every payload and
	// connected after every (re)connection.
	Listen(ctx context.Context, channel string, fn func(payload string), connected func(), logger *slog.Logger)
}

// Remote is the bus between processes sharing a store.
type Remote struct {
	n       Notifier
	channel string
	logger  *slog.Logger
	// FirstListen bounds how long Subscribe waits for the first
	// connection before returning (it keeps trying in the background).
	FirstListen time.Duration
	// Resync, when set, is called after every reconnection but the first:
	// what was published while the connection was down never arrives, so
	// the subscriber should stop trusting what it cached meanwhile. Set it
	// before Subscribe.
	Resync func()
}

var _ Bus = (*Remote)(nil)

// NewRemote returns a bus on channel.
func NewRemote(n Notifier, channel string, logger *slog.Logger) *Remote {
	return &Remote{n: n, channel: channel, logger: logger, FirstListen: 5 * time.Second}
}

// Publish sends ids to every process, in as many messages as they need.
func (b *Remote) Publish(ctx context.Context, ids []string) error {
	var errs []error
	for _, p := range Encode(ids) {
		if err := b.n.Notify(ctx, b.channel, p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Subscribe listens in the background until ctx ends. It returns once
// the first connection listens (or FirstListen has passed), so a process
// that has finished starting hears every later Publish.
func (b *Remote) Subscribe(ctx context.Context, fn func([]string)) {
	ready := make(chan struct{})
	var once sync.Once
	go b.n.Listen(ctx, b.channel,
		func(p string) {
			if ids := Decode(p); len(ids) > 0 {
				fn(ids)
			}
		},
		func() {
			first := false
			once.Do(func() { first = true; close(ready) })
			if !first && b.Resync != nil {
				b.Resync()
			}
		},
		b.logger)
	t := time.NewTimer(b.FirstListen)
	defer t.Stop()
	select {
	case <-ready:
	case <-ctx.Done():
	case <-t.C:
		b.logger.Warn("invalidation bus not listening yet; continuing", "channel", b.channel)
	}
}
