// Package logbuf batches log output: lines are collected in memory and
// written out every interval (or when the buffer fills), not one syscall each.
package logbuf

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// Writer is a buffered, concurrency-safe writer that flushes on a timer.
// An access log then costs a memory copy per request instead of a write
// system call; at most one interval of lines is lost if the process is
// killed outright (Close flushes on a clean shutdown).
type Writer struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// New wraps w, flushing at least every interval. tick is the timer source
// (nil: time.NewTicker) so tests drive flushes without sleeping.
func New(w io.Writer, size int, interval time.Duration, tick func(time.Duration) (<-chan time.Time, func())) *Writer {
	if tick == nil {
		tick = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	lw := &Writer{buf: bufio.NewWriterSize(w, size), stop: make(chan struct{}), done: make(chan struct{})}
	c, stopTick := tick(interval)
	go func() {
		defer close(lw.done)
		defer stopTick()
		for {
			select {
			case <-c:
				_ = lw.Flush()
			case <-lw.stop:
				return
			}
		}
	}()
	return lw
}

// Write buffers p; a full buffer is written out at once.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Flush()
}

// Close stops the timer and flushes; the Writer still accepts writes
// afterwards, written out only by Flush or a full buffer.
func (w *Writer) Close() error {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	return w.Flush()
}
