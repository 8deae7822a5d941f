package bodyrate

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

// clockedBody hands out step bytes per Read and advances the clock by wait
// during each, as a client sending at step/wait bytes a second would.
type clockedBody struct {
	left int
	step int
	wait time.Duration
	now  *time.Time
}

func (b *clockedBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.EOF
	}
	*b.now = b.now.Add(b.wait)
	n := min(b.step, b.left, len(p))
	b.left -= n
	return n, nil
}

func (b *clockedBody) Close() error { return nil }

type deadlines struct{ set []time.Time }

func (d *deadlines) SetReadDeadline(t time.Time) error {
	d.set = append(d.set, t)
	return nil
}

func TestTrickleIsCut(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	conn := &deadlines{}
	// One byte a second against a minimum of 1000 B/s over 10 s.
	r := New(&clockedBody{left: 1 << 20, step: 1, wait: time.Second, now: &now}, Rate{MinBytes: 1000, Window: 10 * time.Second}, conn, func() time.Time { return now })
	n, err := io.Copy(io.Discard, r)
	if !errors.Is(err, ErrTooSlow) || n > 10 {
		t.Fatalf("trickle: read %d bytes, err %v; want cut after one window", n, err)
	}
	if last := conn.set[len(conn.set)-1]; !last.Before(now) {
		t.Fatalf("cut left the connection's deadline at %v, want it in the past", last)
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, ErrTooSlow) {
		t.Fatalf("read after the cut: %v", err)
	}
}

func TestSteadyUploadPasses(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	conn := &deadlines{}
	// 64 MiB at a steady speed, far over the minimum, for minutes.
	body := &clockedBody{left: 64 << 20, step: 32 << 10, wait: time.Second / 32, now: &now}
	r := New(body, Rate{MinBytes: 4096, Window: 10 * time.Second}, conn, func() time.Time { return now })
	start := now
	n, err := io.Copy(io.Discard, r)
	if err != nil || n != 64<<20 {
		t.Fatalf("steady upload: %d bytes, %v", n, err)
	}
	if took := now.Sub(start); len(conn.set) > int(took/(5*time.Second))+2 {
		t.Fatalf("deadline set %d times in %v, want about once every 5 s", len(conn.set), took)
	}
	if last := conn.set[len(conn.set)-1]; !last.IsZero() {
		t.Fatalf("deadline left at %v after the body ended, want lifted", last)
	}
}

// A client that sends fast, then stalls and trickles, is cut in the first
// slow window: the rate is judged per window, not over the whole upload.
func TestFastThenTrickleIsCut(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	fast := &clockedBody{left: 8 << 20, step: 32 << 10, wait: time.Millisecond, now: &now}
	slow := &clockedBody{left: 1 << 20, step: 1, wait: time.Second, now: &now}
	r := New(io.NopCloser(io.MultiReader(fast, slow)), Rate{MinBytes: 1000, Window: 10 * time.Second}, nil, func() time.Time { return now })
	_, err := io.Copy(io.Discard, r)
	if !errors.Is(err, ErrTooSlow) {
		t.Fatalf("fast then trickle: %v, want cut", err)
	}
}

func TestDeadlineLiftedAtTheEnd(t *testing.T) {
	conn := &deadlines{}
	by := time.Unix(1_700_000_000, 0)
	b := Deadline(io.NopCloser(bytes.NewReader([]byte("email=a"))), conn, by)
	if _, err := io.ReadAll(b); err != nil {
		t.Fatal(err)
	}
	if len(conn.set) != 2 || !conn.set[0].Equal(by) || !conn.set[1].IsZero() {
		t.Fatalf("deadlines %v, want %v then lifted", conn.set, by)
	}
}
