package shard

import (
	"strings"
	"testing"
)

func TestLookupCall(t *testing.T) {
	r := New(Config{Expiry: 1}, testCanon)
	want := r.Lookup(KindCounter, "m", 0, []string{"a:1", "b:2"})
	for i := 0; i < 3; i++ {
		if got := r.LookupCall(KindCounter, "m", 0, []string{"a:1", "b:2"}); got != want {
			t.Fatalf("call %d: LookupCall found another series than Lookup", i)
		}
	}
	// The same bytes at other addresses: a different identity, the same series.
	name := strings.Clone("m")
	tags := []string{strings.Clone("a:1"), strings.Clone("b:2")}
	if got := r.LookupCall(KindCounter, name, 0, tags); got != want {
		t.Error("cloned strings found another series")
	}
	// A substring shares its parent's pointer but not its length.
	full := "mm"
	if got := r.LookupCall(KindCounter, full[:1], 0, nil); got == r.LookupCall(KindCounter, full, 0, nil) {
		t.Error("a prefix and its parent string share a series")
	}
	// Kind and rate are part of the identity.
	if r.LookupCall(KindGauge, "m", 0, []string{"a:1", "b:2"}) == want || r.LookupCall(KindCounter, "m", 0.5, []string{"a:1", "b:2"}) == want {
		t.Error("kind or rate ignored")
	}
}

func TestLookupCallSkipsExpired(t *testing.T) {
	r := New(Config{Expiry: 1}, testCanon)
	first := r.LookupCall(KindCounter, "gone", 0, nil)
	r.LookupCall(KindCounter, "gone", 0, nil) // now cached
	r.Flush(func(s *Series) bool { return false })
	if !first.Dead() {
		t.Fatal("series not expired")
	}
	again := r.LookupCall(KindCounter, "gone", 0, nil)
	if again == first || again == nil || again.Dead() {
		t.Errorf("LookupCall returned the expired series (or none) instead of a live one")
	}
}

func TestLookupCallNoAllocs(t *testing.T) {
	if histRaceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	r := New(Config{}, testCanon)
	tags := []string{"env:prod", "service:api", "region:eu"}
	r.LookupCall(KindCounter, "literal", 0, tags)
	r.LookupCall(KindCounter, "literal", 0, tags)
	if got := testing.AllocsPerRun(1000, func() { r.LookupCall(KindCounter, "literal", 0, tags) }); got != 0 {
		t.Errorf("cached lookup: %v allocs, want 0", got)
	}
	// Strings whose identity changes on every call (built per call in real code) never get an
	// entry, so they cost no allocation in the cache either.
	a := []string{strings.Clone("env:prod")}
	b := []string{strings.Clone("env:prod")}
	r.LookupCall(KindCounter, "dyn", 0, a)
	i := 0
	if got := testing.AllocsPerRun(1000, func() {
		i++
		if i%2 == 0 {
			r.LookupCall(KindCounter, "dyn", 0, a)
		} else {
			r.LookupCall(KindCounter, "dyn", 0, b)
		}
	}); got != 0 {
		t.Errorf("alternating identities: %v allocs, want 0", got)
	}
}
