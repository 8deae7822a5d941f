package logbuf

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe to read while the flusher writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLinesWaitForTheTickThenAppearInOrder(t *testing.T) {
	out := &lockedBuffer{}
	ticks := make(chan time.Time)
	w := New(out, 4096, time.Second, func(time.Duration) (<-chan time.Time, func()) { return ticks, func() {} })
	w.Write([]byte("one\n"))
	w.Write([]byte("two\n"))
	if got := out.String(); got != "" {
		t.Fatalf("written before the tick: %q", got)
	}
	ticks <- time.Time{} // the flusher takes it...
	ticks <- time.Time{} // ...and has finished the first flush once it takes another
	if got := out.String(); got != "one\ntwo\n" {
		t.Fatalf("after a tick: %q", got)
	}
	w.Write([]byte("three\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "one\ntwo\nthree\n" {
		t.Fatalf("after Close: %q", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal("a second Close failed:", err)
	}
}

func TestFullBufferIsWrittenAtOnce(t *testing.T) {
	out := &lockedBuffer{}
	w := New(out, 16, time.Hour, nil)
	defer w.Close()
	w.Write([]byte("0123456789abcdef-overflow"))
	if out.String() == "" {
		t.Fatal("a write larger than the buffer waited for the timer")
	}
}
