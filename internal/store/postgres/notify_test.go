package postgres

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/invalidate"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestBusSurvivesDatabaseRestart restarts a real PostgreSQL server under
// a listening bus: the listener reconnects by itself, asks its subscriber
// to resync (what was published meanwhile is lost), and carries messages
// again.
func TestBusSurvivesDatabaseRestart(t *testing.T) {
	pg := storetest.NewCluster(t)
	s := open(t, pg.DSN)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	bus := invalidate.NewRemote(s, "gatehouse_test_bus", slog.New(slog.DiscardHandler))
	var resyncs atomic.Int32
	bus.Resync = func() { resyncs.Add(1) }
	var mu sync.Mutex
	var got []string
	bus.Subscribe(ctx, func(ids []string) {
		mu.Lock()
		got = append(got, ids...)
		mu.Unlock()
	})
	heard := func(id string) bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(got, id)
	}
	publishUntilHeard := func(id string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !heard(id) {
			if time.Now().After(deadline) {
				t.Fatalf("%s published but not heard within 15 s", id)
			}
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			_ = bus.Publish(pctx, []string{id}) // fails while the server is down
			cancel()
			time.Sleep(100 * time.Millisecond)
		}
	}
	publishUntilHeard("before")
	if n := resyncs.Load(); n != 0 {
		t.Fatalf("%d resyncs on the first connection, want 0", n)
	}

	pg.Stop()
	pg.Start()
	publishUntilHeard("after")
	if n := resyncs.Load(); n < 1 {
		t.Fatal("the listener reconnected without asking the subscriber to resync")
	}
}
