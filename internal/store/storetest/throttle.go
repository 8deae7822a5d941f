package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testThrottle(t *testing.T, s store.Store) {
	c := ctx(t)
	window := time.Minute
	count, reset, err := s.Count(c, "ip:1", t0)
	noErr(t, "Count(never hit)", err)
	if count != 0 || !reset.IsZero() {
		t.Fatalf("Count(never hit) = %d, %v", count, reset)
	}
	for i := 1; i <= 3; i++ {
		now := t0.Add(time.Duration(i-1) * 10 * time.Second)
		count, reset, err := s.Hit(c, "ip:1", window, now)
		noErr(t, "Hit", err)
		if count != i {
			t.Fatalf("hit %d counted %d", i, count)
		}
		// The window is fixed from the first hit.
		sameTime(t, "resetAt", reset, t0.Add(window))
	}
	count, reset, err = s.Count(c, "ip:1", t0.Add(30*time.Second))
	noErr(t, "Count", err)
	if count != 3 {
		t.Fatalf("Count = %d, want 3", count)
	}
	sameTime(t, "Count resetAt", reset, t0.Add(window))
	// Other keys are independent.
	count, _, err = s.Hit(c, "ip:2", window, t0.Add(30*time.Second))
	noErr(t, "Hit(other key)", err)
	if count != 1 {
		t.Fatalf("other key counted %d", count)
	}
	// At the end of the window it is over.
	count, _, err = s.Count(c, "ip:1", t0.Add(window))
	noErr(t, "Count(window over)", err)
	if count != 0 {
		t.Fatalf("Count after the window = %d, want 0", count)
	}
	later := t0.Add(window + 5*time.Second)
	count, reset, err = s.Hit(c, "ip:1", window, later)
	noErr(t, "Hit(new window)", err)
	if count != 1 {
		t.Fatalf("first hit of a new window counted %d", count)
	}
	sameTime(t, "new window resetAt", reset, later.Add(window))

	noErr(t, "ResetCounter", s.ResetCounter(c, "ip:1"))
	noErr(t, "ResetCounter(unknown)", s.ResetCounter(c, "nope"))
	count, _, err = s.Count(c, "ip:1", later)
	noErr(t, "Count(after reset)", err)
	if count != 0 {
		t.Fatalf("Count after reset = %d", count)
	}
	count, _, err = s.Hit(c, "ip:1", window, later)
	noErr(t, "Hit(after reset)", err)
	if count != 1 {
		t.Fatalf("first hit after reset counted %d", count)
	}
	count, _, err = s.Count(c, "ip:2", t0.Add(31*time.Second))
	noErr(t, "Count(ip:2)", err)
	if count != 1 {
		t.Fatalf("ResetCounter(ip:1) touched ip:2: count %d", count)
	}
	if _, _, err := s.Hit(c, "ip:3", 0, t0); err == nil {
		t.Fatal("Hit with a zero window succeeded")
	}
}

func testThrottleConcurrent(t *testing.T, s store.Store) {
	c := ctx(t)
	const n = 20
	var wg sync.WaitGroup
	counts := make(chan int, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			count, _, err := s.Hit(c, "login:u1", time.Hour, t0)
			if err != nil {
				errs <- err
				return
			}
			counts <- count
		}()
	}
	wg.Wait()
	close(counts)
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Hit: %v", err)
	}
	var got []int
	for v := range counts {
		got = append(got, v)
	}
	slices.Sort(got)
	for i, v := range got {
		if v != i+1 {
			t.Fatalf("concurrent hits counted %v, want 1..%d each once", got, n)
		}
	}
}
