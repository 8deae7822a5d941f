package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testSecrets(t *testing.T, s store.Store) {
	c := ctx(t)
	got, err := s.EnsureSecret(c, "cookie", []byte("first"))
	noErr(t, "EnsureSecret", err)
	if string(got) != "first" {
		t.Fatalf("EnsureSecret(new) = %q", got)
	}
	got, err = s.EnsureSecret(c, "cookie", []byte("second"))
	noErr(t, "EnsureSecret(again)", err)
	if string(got) != "first" {
		t.Fatalf("EnsureSecret(existing) = %q, want the first value", got)
	}
	got, err = s.EnsureSecret(c, "csrf", []byte{0, 1, 2, 255})
	noErr(t, "EnsureSecret(binary)", err)
	if !bytes.Equal(got, []byte{0, 1, 2, 255}) {
		t.Fatalf("EnsureSecret(binary) = %v", got)
	}

	// Replicas racing at start-up all end with one value.
	var wg sync.WaitGroup
	vals := make([][]byte, 6)
	errs := make([]error, 6)
	for i := range vals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vals[i], errs[i] = s.EnsureSecret(c, "race", []byte(fmt.Sprint("v", i)))
		}()
	}
	wg.Wait()
	for i := range vals {
		noErr(t, "EnsureSecret(race)", errs[i])
		if !bytes.Equal(vals[i], vals[0]) {
			t.Fatalf("racing EnsureSecret returned %q and %q", vals[0], vals[i])
		}
	}
}
