package shard

import (
	"strings"
	"testing"
)

func TestLookupCall(t *testing.T) {
	r := New(Config{Expiry: 1}, testCanon)
	want := r.Lookup(KindCounter, "m", []string{"a:1", "b:2"})
	for i := 0; i < 3; i++ {
		if got := r.LookupCall(KindCounter, "m", []string{"a:1", "b:2"}); got != want {
			t.Fatalf("call %d: LookupCall found another series than Lookup", i)
		}
	}
	// The same bytes at other addresses: a different identity, the same series.
	name := strings.Clone("m")
	tags := []string{strings.Clone("a:1"), strings.Clone("b:2")}
	if got := r.LookupCall(KindCounter, name, tags); got != want {
		t.Error("cloned strings found another series")
	}
	// A substring shares its parent's pointer but not its length.
	full := "mm"
	if got := r.LookupCall(KindCounter, full[:1], nil); got == r.LookupCall(KindCounter, full, nil) {
		t.Error("a prefix and its parent string share a series")
	}
	// Kind is part of the identity.
	if r.LookupCall(KindGauge, "m", []string{"a:1", "b:2"}) == want {
		t.Error("kind ignored")
	}
}

func TestLookupCallSkipsExpired(t *testing.T) {
	r := New(Config{Expiry: 1}, testCanon)
	first := r.LookupCall(KindCounter, "gone", nil)
	r.LookupCall(KindCounter, "gone", nil) // now cached
	r.Flush(func(s *Series) bool { return false })
	if !first.Dead() {
		t.Fatal("series not expired")
	}
	again := r.LookupCall(KindCounter, "gone", nil)
	if again == first || again == nil || again.Dead() {
		t.Errorf("LookupCall returned the expired series (or none) instead of a live one")
	}
}

func TestLookupCallNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	r := New(Config{}, testCanon)
	tags := []string{"env:prod", "service:api", "region:eu"}
	r.LookupCall(KindCounter, "literal", tags)
	r.LookupCall(KindCounter, "literal", tags)
	if got := testing.AllocsPerRun(1000, func() { r.LookupCall(KindCounter, "literal", tags) }); got != 0 {
		t.Errorf("cached lookup: %v allocs, want 0", got)
	}
	// Strings whose identity changes on every call (built per call in real code) never get an
	// entry, so they cost no allocation in the cache either.
	a := []string{strings.Clone("env:prod")}
	b := []string{strings.Clone("env:prod")}
	r.LookupCall(KindCounter, "dyn", a)
	i := 0
	if got := testing.AllocsPerRun(1000, func() {
		i++
		if i%2 == 0 {
			r.LookupCall(KindCounter, "dyn", a)
		} else {
			r.LookupCall(KindCounter, "dyn", b)
		}
	}); got != 0 {
		t.Errorf("alternating identities: %v allocs, want 0", got)
	}
}
