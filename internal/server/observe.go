package server

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// statusWriter remembers the status and size of a response. Unwrap lets
// http.ResponseController reach Flush and Hijack, so streams and WebSocket
// upgrades pass through it.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	route  string // the route that took the request, for metrics and the log
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestIDs makes short unique request ids cheaply: a random prefix per
// process and a counter.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &requestIDs{prefix: hex.EncodeToString(b)}
}

func (g *requestIDs) next() string {
	var buf [24]byte
	out := append(buf[:0], g.prefix...)
	out = append(out, '-')
	out = strconv.AppendUint(out, g.n.Add(1), 16)
	return string(out)
}

// observe gives every request an id (sent upstream as X-Request-Id),
// counts it by route and status, and writes one access-log line. The log
// never carries cookies, tokens or query strings, which may hold secrets.
func (s *Server) observe(next http.Handler) http.Handler {
	ids := newRequestIDs()
	access := s.cfg.Log.Access
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := ids.next()
		r.Header.Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w, route: "gatehouse"}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.Metrics.Request(sw.route, sw.status)
		if !access {
			return
		}
		e := accessEntry{start: start, id: id, method: r.Method, path: r.URL.Path, route: sw.route,
			status: sw.status, bytes: sw.bytes, duration: time.Since(start), remote: r.RemoteAddr}
		if s.accessLog != nil {
			s.accessLog.write(e)
			return
		}
		s.logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", e.id),
			slog.String("method", e.method),
			slog.String("path", e.path),
			slog.String("route", e.route),
			slog.Int("status", e.status),
			slog.Int64("bytes", e.bytes),
			slog.Duration("duration", e.duration),
			slog.String("remote", e.remote),
		)
	})
}
