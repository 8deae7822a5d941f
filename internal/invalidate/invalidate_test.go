package invalidate

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	var ids []string
	for i := range 2000 {
		ids = append(ids, strings.Repeat("x", 20)+string(rune('a'+i%26))+strings.Repeat("y", i%7))
	}
	payloads := Encode(ids)
	if len(payloads) < 2 {
		t.Fatalf("2000 ids of ~25 bytes fit in %d payloads; want them split", len(payloads))
	}
	var got []string
	for _, p := range payloads {
		if len(p) > MaxPayload {
			t.Fatalf("payload of %d bytes is over %d", len(p), MaxPayload)
		}
		got = append(got, Decode(p)...)
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("round trip lost or reordered ids: %d in, %d out", len(ids), len(got))
	}
}

func TestEncodeDropsUndecodableIDs(t *testing.T) {
	got := Encode([]string{"", "a,b", "ok", strings.Repeat("z", MaxPayload+1)})
	if !slices.Equal(got, []string{"ok"}) {
		t.Fatalf("Encode = %q, want only the valid id", got)
	}
	if Decode("") != nil {
		t.Fatal("an empty payload decodes to ids")
	}
}

func TestLocalFansOutUntilUnsubscribed(t *testing.T) {
	bus := NewLocal()
	ctx, cancel := context.WithCancel(context.Background())
	var a, b [][]string
	bus.Subscribe(ctx, func(ids []string) { a = append(a, ids) })
	bus.Subscribe(context.Background(), func(ids []string) { b = append(b, ids) })
	if err := bus.Publish(ctx, []string{"s1", "s2"}); err != nil {
		t.Fatal(err)
	}
	cancel()
	// AfterFunc runs in its own goroutine; yield until it has run (the
	// test's own timeout bounds a bug here).
	for {
		bus.mu.RLock()
		n := len(bus.subs)
		bus.mu.RUnlock()
		if n == 1 {
			break
		}
		waitTick()
	}
	if err := bus.Publish(context.Background(), []string{"s3"}); err != nil {
		t.Fatal(err)
	}
	if len(a) != 1 || !slices.Equal(a[0], []string{"s1", "s2"}) {
		t.Fatalf("cancelled subscriber got %q", a)
	}
	if len(b) != 2 {
		t.Fatalf("live subscriber got %d batches, want 2", len(b))
	}
	if err := bus.Publish(context.Background(), nil); err != nil || len(b) != 2 {
		t.Fatal("an empty publish reached subscribers")
	}
}

// waitTick yields to let the AfterFunc goroutine run.
func waitTick() { runtime.Gosched() }

func TestChangesShareTheBusWithSessions(t *testing.T) {
	changes := []store.Change{{Account: "acc_1"}, {Company: "acme"}, {Provider: "corp"}, {}}
	items := append([]string{"sessA", "sc.sessB"}, ChangeItems(changes)...)
	var got Batch
	for _, p := range Encode(items) {
		b := Sort(Decode(p))
		got.Sessions = append(got.Sessions, b.Sessions...)
		got.Changes = append(got.Changes, b.Changes...)
	}
	if !slices.Equal(got.Sessions, []string{"sessA", "sc.sessB"}) {
		t.Fatalf("sessions = %q", got.Sessions)
	}
	if want := changes[:3]; !slices.Equal(got.Changes, want) {
		t.Fatalf("changes = %+v, want %+v", got.Changes, want)
	}
}
