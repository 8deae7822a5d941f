package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"
)

// The fast access line must say what slog's JSON handler would say.
func TestAccessLogMatchesSlog(t *testing.T) {
	e := accessEntry{
		start: time.Date(2026, 11, 24, 10, 0, 0, 123456789, time.UTC), id: "ab12-7", method: "GET",
		path: "/a\"b\\c\x00\n\u2028é\xff/", route: "app", status: 200, bytes: 1234,
		duration: 1500 * time.Microsecond, remote: "127.0.0.1:5555",
	}
	var fast, ref bytes.Buffer
	newAccessLog(&fast).write(e)
	slog.New(slog.NewJSONHandler(&ref, nil)).LogAttrs(t.Context(), slog.LevelInfo, "request",
		slog.String("request_id", e.id), slog.String("method", e.method), slog.String("path", e.path),
		slog.String("route", e.route), slog.Int("status", e.status), slog.Int64("bytes", e.bytes),
		slog.Duration("duration", e.duration), slog.String("remote", e.remote))
	var got, want map[string]any
	if err := json.Unmarshal(fast.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, fast.String())
	}
	if err := json.Unmarshal(ref.Bytes(), &want); err != nil {
		t.Fatal(err)
	}
	delete(want, "time")
	if got["time"] != "2026-11-24T10:00:00.123456789Z" {
		t.Errorf("time = %v", got["time"])
	}
	delete(got, "time")
	if len(got) != len(want) {
		t.Fatalf("fields: got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if bytes.Count(fast.Bytes(), []byte("\n")) != 1 {
		t.Error("a line must not be split by what the client sent")
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "/plain", "\"\\", "\x00\x1f\x7f", "é\xff\xfe", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var out string
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%q gives invalid JSON %s: %v", s, b, err)
		}
		if bytes.ContainsAny(b, "\n\r") {
			t.Fatalf("raw line break in %s", b)
		}
	})
}

func BenchmarkAccessLog(b *testing.B) {
	a := newAccessLog(discard{})
	e := accessEntry{start: time.Now(), id: "ab12-7", method: "GET", path: "/reports/2026", route: "app", status: 200, bytes: 1234, duration: time.Millisecond, remote: "127.0.0.1:5555"}
	b.ReportAllocs()
	for b.Loop() {
		a.write(e)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
