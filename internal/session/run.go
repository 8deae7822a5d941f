package session

import (
	"context"
	"fmt"
	"time"
)

// finalFlushTimeout bounds the flush Run makes at shutdown, when its own
// context is already done.
const finalFlushTimeout = 5 * time.Second

// backgroundTimeout bounds each flush and purge, so a database that stops
// answering (a partition) cannot hold the flush lock until TCP gives up;
// the touches not written are kept for the next flush.
const backgroundTimeout = 10 * time.Second

// Run does the background work until ctx ends: it writes the sliding
// last-seen times every 5 s, purges expired sessions and refreshes the
// active count every minute, and flushes once more before returning.
func (m *Manager) Run(ctx context.Context) {
	m.purge(ctx)
	flush := time.NewTicker(m.flushInt)
	defer flush.Stop()
	purge := time.NewTicker(m.purgeInt)
	defer purge.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalFlushTimeout)
			if err := m.Flush(fctx); err != nil {
				m.log.Warn("session: final flush", "err", err)
			}
			cancel()
			return
		case <-flush.C:
			fctx, cancel := context.WithTimeout(ctx, backgroundTimeout)
			if err := m.Flush(fctx); err != nil {
				m.log.WarnContext(ctx, "session: flush last-seen times", "err", err)
			}
			cancel()
		case <-purge.C:
			pctx, cancel := context.WithTimeout(ctx, backgroundTimeout)
			m.purge(pctx)
			cancel()
		}
	}
}

// Flush writes every last-seen time recorded in memory to the store in one
// batch. Touches that fail to be written are kept for the next flush.
func (m *Manager) Flush(ctx context.Context) error {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	batch, marks := m.cache.touches()
	if len(batch) == 0 {
		return nil
	}
	err := m.st.TouchSessions(ctx, batch)
	m.cache.flushDone(batch, marks, err == nil)
	if err != nil {
		return fmt.Errorf("session: touch %d sessions: %w", len(batch), err)
	}
	return nil
}

// purge flushes first, so a session in use is never deleted for a stale
// last-seen time, then deletes expired sessions and refreshes the count.
func (m *Manager) purge(ctx context.Context) {
	if err := m.Flush(ctx); err != nil {
		m.log.WarnContext(ctx, "session: flush last-seen times", "err", err)
		// Purging now could delete sessions whose touches were not written.
		return
	}
	now := m.now()
	// Each record carries its own idle timeout; the default is for records
	// written without one.
	n, err := m.st.DeleteExpiredSessions(ctx, now, now.Add(-m.idle))
	if err != nil {
		m.log.WarnContext(ctx, "session: purge expired sessions", "err", err)
		return
	}
	if n > 0 {
		m.log.DebugContext(ctx, "session: purged expired sessions", "count", n)
	}
	m.cache.sweep(func(v view) bool { return m.expired(v.sess, v.idle, v.e.lastSeen.Load(), now) })
	count, err := m.st.CountSessions(ctx)
	if err != nil {
		m.log.WarnContext(ctx, "session: count sessions", "err", err)
		return
	}
	m.active.Store(int64(count))
}

// ActiveCount is the number of sessions in the store at the last purge,
// for a metrics gauge; it does no I/O.
func (m *Manager) ActiveCount() int { return int(m.active.Load()) }
