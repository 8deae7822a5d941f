package sqlstore

import (
	"testing"
	"testing/fstest"
	"time"
)

func TestMigrationsOrderAndNames(t *testing.T) {
	fsys := fstest.MapFS{
		"0002_b.sql":   {Data: []byte("B")},
		"0010_c.sql":   {Data: []byte("C")},
		"0001_a.sql":   {Data: []byte("A")},
		"README.md":    {Data: []byte("ignored")},
		"sub/0003.sql": {Data: []byte("ignored: not at the root")},
	}
	migs, err := Migrations(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, m := range migs {
		got = append(got, m.Version)
	}
	if len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 10 || migs[0].SQL != "A" {
		t.Fatalf("Migrations = %+v", migs)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"duplicate version": {"0001_a.sql": {}, "1_b.sql": {}},
		"no version":        {"init.sql": {}},
		"zero version":      {"0000_init.sql": {}},
	} {
		if _, err := Migrations(fsys); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestLikeEscape(t *testing.T) {
	if got := likeEscape(`50%_off\`); got != `50\%\_off\\` {
		t.Fatalf("likeEscape = %q", got)
	}
}

func TestMicrosRoundTrip(t *testing.T) {
	if micros(time.Time{}) != 0 || !fromMicros(0).IsZero() {
		t.Fatal("the zero time must map to 0 and back")
	}
	in := time.Date(2025, 1, 2, 3, 4, 5, 6007008, time.FixedZone("x", 7200))
	out := fromMicros(micros(in))
	if !out.Equal(in.Truncate(time.Microsecond)) || out.Location() != time.UTC {
		t.Fatalf("round trip of %v = %v", in, out)
	}
}

func TestClampLimit(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{0, 50}, {-3, 50}, {7, 7}, {1000, 1000}, {1001, 1000}} {
		if got := clampLimit(tc.in, 50, 1000); got != tc.want {
			t.Errorf("clampLimit(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
