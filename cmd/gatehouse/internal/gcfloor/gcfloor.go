// Package gcfloor keeps the Go garbage collector from running more often
// than a small heap needs.
//
// A gateway keeps little live data (a few MiB: templates, caches,
// connection buffers) but allocates several KiB on every request it
// forwards. With the default pacing (GOGC=100) the collector runs whenever
// the heap doubles, so with a 5 MiB live heap it runs every 5 MiB of
// garbage, a hundred times a second under load, and each run marks the
// whole live heap. That costs more per request than anything the gateway
// itself does.
//
// A floor changes the heap goal from Go's default (the live heap, plus as
// much again as the live heap and the GC roots, stacks and globals, hold)
// to that default or the floor, whichever is larger: a small heap is
// collected less often, at a memory cost bounded by the floor, and a heap
// whose default goal already passes the floor is paced exactly as before.
package gcfloor

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// Bounds of the GC percentage the floor sets.
const (
	minPercent = 100  // never collect more often than the default
	maxPercent = 1000 // a nearly empty heap must not mean "never collect"
)

// Floor adjusts the GC percentage after every collection.
type Floor struct {
	floor   uint64
	stopped atomic.Bool

	mu      sync.Mutex
	percent int // the percentage last set
	before  int // the percentage to restore on Stop
	sample  []metrics.Sample
}

// Start keeps the heap goal at no less than floor bytes, from the next
// collection on. It does nothing and returns nil when floor is 0 or the
// GOGC environment variable is set: an operator's explicit choice wins.
func Start(floor uint64) *Floor {
	if floor == 0 || os.Getenv("GOGC") != "" {
		return nil
	}
	f := &Floor{floor: floor, sample: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"},
	}}
	f.before = debug.SetGCPercent(minPercent)
	f.percent = minPercent
	f.arm()
	return f
}

// Stop ends the adjustments and restores the percentage in force before
// Start. It is safe on a nil Floor.
func (f *Floor) Stop() {
	if f == nil || f.stopped.Swap(true) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	debug.SetGCPercent(f.before)
}

// Percent is the GC percentage the floor set last.
func (f *Floor) Percent() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.percent
}

// sentinel is allocated to be collected: its cleanup runs after the
// collection that found it unreachable, which is when the live heap has
// just been measured. It has a pointer field so the allocator never packs
// it into a shared tiny block, whose other tenants would keep it alive.
type sentinel struct{ _ *byte }

func (f *Floor) arm() {
	runtime.AddCleanup(new(sentinel), (*Floor).collected, f)
}

func (f *Floor) collected() {
	if f.stopped.Load() {
		return
	}
	f.adjust()
	f.arm()
}

func (f *Floor) adjust() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped.Load() {
		return
	}
	metrics.Read(f.sample)
	var v [3]uint64
	for i, s := range f.sample {
		if s.Value.Kind() != metrics.KindUint64 {
			return
		}
		v[i] = s.Value.Uint64()
	}
	p := percentFor(f.floor, v[0], v[1]+v[2])
	// Small changes are not worth a call into the runtime's pacer.
	if diff := p - f.percent; diff > f.percent/10 || -diff > f.percent/10 {
		debug.SetGCPercent(p)
		f.percent = p
	}
}

// percentFor is the GC percentage that makes the heap goal equal to the
// floor, within [minPercent, maxPercent]. The runtime's goal is
// live + (live + roots) × percent/100, roots being the stacks and globals
// it scans (the GC guide's formula), so
// percent = (floor - live) × 100 / (live + roots).
func percentFor(floor, live, roots uint64) int {
	if live >= floor {
		return minPercent
	}
	if live+roots == 0 || floor-live > math.MaxUint64/100 {
		return maxPercent
	}
	p := int64((floor - live) * 100 / (live + roots))
	return int(min(max(p, minPercent), maxPercent))
}
