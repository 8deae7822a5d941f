package gcfloor

import (
	"math"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercentFor(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		floor, live, roots uint64
		want               int
	}{
		{16 * mib, 4 * mib, 0, 300},          // goal 4 + 4 × 3 = the floor
		{16 * mib, 4 * mib, 2 * mib, 200},    // 4 + (4 + 2) × 2: roots count as the runtime counts them
		{16 * mib, 5 * mib, 0, 220},          // 5 + 5 × 2.2
		{16 * mib, 6 * mib, 2 * mib, 125},    // 6 + 8 × 1.25
		{16 * mib, 7 * mib, 2 * mib, 100},    // the default goal, 7 + 9, already reaches the floor
		{16 * mib, 64 * mib, 1 * mib, 100},   // past the floor: never below the default
		{16 * mib, 1 * mib, 0, 1000},         // tiny heap: capped
		{16 * mib, 0, 0, 1000},               // nothing measured yet
		{160 * mib, 40 * mib, 0, 300},        // scales with the floor
		{160 * mib, 20 * mib, 20 * mib, 350}, // 20 + 40 × 3.5
		{math.MaxUint64, 4 * mib, 0, 1000},   // no overflow into a small percentage
	}
	for _, c := range cases {
		if got := percentFor(c.floor, c.live, c.roots); got != c.want {
			t.Errorf("percentFor(%d MiB, %d MiB, %d MiB) = %d, want %d", c.floor/mib, c.live/mib, c.roots/mib, got, c.want)
		}
	}
}

func gogc(t *testing.T) int {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// collectUntil runs collections until cond holds, as the floor adjusts
// after a collection, on the runtime's cleanup goroutine.
func collectUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached after collections for 5s")
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

func TestFloorRaisesThePercentageOfASmallHeapAndStopRestoresIt(t *testing.T) {
	t.Setenv("GOGC", "")
	before := gogc(t)
	f := Start(1 << 30) // far above this test's live heap
	if f == nil {
		t.Fatal("Start returned nil")
	}
	collectUntil(t, func() bool { return f.Percent() == maxPercent })
	if got := gogc(t); got != maxPercent {
		t.Errorf("runtime GOGC = %d, want %d", got, maxPercent)
	}
	f.Stop()
	if got := gogc(t); got != before {
		t.Errorf("after Stop GOGC = %d, want %d as before Start", got, before)
	}
	// No adjustment after Stop, even when collections go on.
	for range 3 {
		runtime.GC()
	}
	time.Sleep(10 * time.Millisecond)
	if got := gogc(t); got != before {
		t.Errorf("GOGC changed to %d after Stop", got)
	}
	f.Stop() // twice is fine
}

func TestFloorLeavesALargeHeapAtTheDefault(t *testing.T) {
	t.Setenv("GOGC", "")
	live := make([][]byte, 16)
	for i := range live {
		live[i] = make([]byte, 1<<20)
	}
	f := Start(4 << 20) // a quarter of what stays live
	defer f.Stop()
	for range 3 {
		runtime.GC()
	}
	time.Sleep(10 * time.Millisecond)
	if got := f.Percent(); got != minPercent {
		t.Errorf("percent = %d for a live heap 4× the floor, want %d", got, minPercent)
	}
	runtime.KeepAlive(live)
}

func TestOperatorChoiceWins(t *testing.T) {
	t.Setenv("GOGC", "50")
	if f := Start(1 << 30); f != nil {
		f.Stop()
		t.Error("Start tuned the collector although GOGC is set")
	}
	t.Setenv("GOGC", "")
	if f := Start(0); f != nil {
		f.Stop()
		t.Error("Start tuned the collector with a zero floor")
	}
	var f *Floor
	f.Stop() // a nil Floor stops quietly
}
