package session

import (
	"context"
	"testing"
)

func BenchmarkLookupHit(b *testing.B) {
	h := newHarness(b, Options{})
	_, c := h.start(alice)
	r := h.request(c)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.m.Lookup(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookupMiss measures a lookup the cache cannot answer: cookie
// verification, a (fake, in-memory) store read and the cache insert.
func BenchmarkLookupMiss(b *testing.B) {
	h := newHarness(b, Options{})
	s, c := h.start(alice)
	r := h.request(c)
	ctx := context.Background()
	ids := []string{s.ID}
	b.ReportAllocs()
	for b.Loop() {
		h.m.Forget(ids)
		if _, err := h.m.Lookup(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookupHitParallel(b *testing.B) {
	h := newHarness(b, Options{})
	_, c := h.start(alice)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := h.request(c)
		for pb.Next() {
			if _, err := h.m.Lookup(ctx, r); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
