// Package bodyrate cuts a request body that arrives slower than a minimum
// rate, so a client trickling an upload cannot hold a connection, a
// goroutine and an upstream connection for as long as it likes, while an
// upload of any size at a normal speed passes.
package bodyrate

import (
	"errors"
	"io"
	"sync/atomic"
	"time"
)

// ErrTooSlow is the read error of a body that fell below the rate.
var ErrTooSlow = errors.New("the request body arrives too slowly")

// Rate is the minimum: MinBytes a second over each Window of time spent
// waiting for the client. The first window is the grace period: a client
// that has not yet sent a full window's worth is not judged.
type Rate struct {
	MinBytes int
	Window   time.Duration
}

// Conn is what a Reader needs of the connection (http.ResponseController
// is one): a deadline for the next reads, so a client that sends nothing
// at all is cut too.
type Conn interface {
	SetReadDeadline(time.Time) error
}

// Reader wraps a request body. Only the time spent inside Read counts: the
// upstream reading slowly, which stalls the caller between reads, is not
// held against the client.
type Reader struct {
	body io.ReadCloser
	rate Rate
	conn Conn
	now  func() time.Time

	waited   time.Duration // time inside Read in the current window
	got      int64         // bytes read in the current window
	deadline time.Time     // the connection's read deadline as last set
	err      error
	// stopped: the handler has returned and the connection may already
	// serve the next request, whose deadlines are not this body's to set.
	stopped atomic.Bool
}

// New wraps body. now is the clock (time.Now in production); conn may be
// nil when there is no connection to put a deadline on (then a client that
// sends nothing at all is left to the server's own timeouts).
func New(body io.ReadCloser, rate Rate, conn Conn, now func() time.Time) *Reader {
	return &Reader{body: body, rate: rate, conn: conn, now: now}
}

// Read reads from the body, failing with ErrTooSlow once a window's bytes
// fall short of the rate, and then for good.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	start := r.now()
	// A client that sends nothing returns from no Read: the deadline cuts
	// it. It is pushed a window ahead only once half of it is used, so a
	// fast upload does not pay for it on every read.
	if r.conn != nil && r.deadline.Sub(start) < r.rate.Window/2 && !r.stopped.Load() {
		r.deadline = start.Add(r.rate.Window)
		_ = r.conn.SetReadDeadline(r.deadline)
	}
	n, err := r.body.Read(p)
	r.waited += r.now().Sub(start)
	r.got += int64(n)
	if r.waited >= r.rate.Window {
		if float64(r.got) < float64(r.rate.MinBytes)*r.waited.Seconds() {
			r.cut()
			return n, r.err
		}
		r.waited, r.got = 0, 0
	}
	if err != nil && !errors.Is(err, io.EOF) && r.conn != nil && !r.deadline.IsZero() && !r.now().Before(r.deadline) {
		// The deadline fired: the client sent nothing for a window.
		r.cut()
		return n, r.err
	}
	if errors.Is(err, io.EOF) {
		r.done()
	}
	return n, err
}

// cut fails this body and every later read of the connection at once, so
// the server closes it rather than wait for the rest.
func (r *Reader) cut() {
	r.err = ErrTooSlow
	if r.conn != nil && !r.stopped.Load() {
		_ = r.conn.SetReadDeadline(time.Unix(1, 0))
	}
}

// done lifts the deadline once the body is complete: the server then
// watches the idle connection for the client hanging up, and a deadline
// firing there would cancel a request still waiting on its upstream.
func (r *Reader) done() {
	if r.conn != nil && !r.deadline.IsZero() && !r.stopped.Load() {
		_ = r.conn.SetReadDeadline(time.Time{})
		r.deadline = time.Time{}
	}
}

// Stop tells the reader its handler has returned: it touches the
// connection no more, however late a transport still reads from it.
func (r *Reader) Stop() { r.stopped.Store(true) }

// Close closes the body.
func (r *Reader) Close() error { return r.body.Close() }

// Deadline wraps a body that must arrive completely by the given time: the
// connection's read deadline is set to it, and lifted once the body has
// been read to its end (see Reader.done for why).
func Deadline(body io.ReadCloser, conn Conn, by time.Time) io.ReadCloser {
	_ = conn.SetReadDeadline(by)
	return &deadlineBody{body: body, conn: conn}
}

type deadlineBody struct {
	body   io.ReadCloser
	conn   Conn
	lifted bool
}

func (d *deadlineBody) Read(p []byte) (int, error) {
	n, err := d.body.Read(p)
	if errors.Is(err, io.EOF) && !d.lifted {
		d.lifted = true
		_ = d.conn.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (d *deadlineBody) Close() error { return d.body.Close() }
