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

// manyTags returns n distinct tag sets, as a service's routes or customers would be.
func manyTags(n int) [][]string {
	out := make([][]string, n)
	for j := range out {
		out[j] = []string{"env:prod", "service:checkout", "route:/r" + strings.Repeat("x", j%7) + string(rune('a'+j%26)) + itoa(j)}
	}
	return out
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

// cachedShare returns the share of keys a call finds in the call cache.
func cachedShare(r *Registry, kind Kind, name string, tags [][]string) float64 {
	t := r.calls.table()
	hits := 0
	for _, tg := range tags {
		h := identityHash(kind, name, tg) | 1
		set := h >> 1 & t.mask
		for i := range callWays {
			if e := t.entries[set*callWays+uint64(i)].Load(); t.sets[set].hash[i].Load() == h &&
				e != nil && e.hash == h && e.same(kind, name, tg) && t.sets[set].s[i].Load() == e.s {
				hits++
			}
		}
	}
	return float64(hits) / float64(len(tags))
}

// TestLookupCallScales: at every cardinality, keys recorded in turn end up cached, the cache
// grows with the live series, and keeping them cached allocates nothing. (With a fixed
// 4,096-slot direct-mapped cache, 10,000 keys in turn missed on nearly every call, and two keys
// sharing a slot by turns were never cached at all.)
func TestLookupCallScales(t *testing.T) {
	for _, n := range []int{100, 1_000, 10_000, 100_000} {
		r := New(Config{MaxSeries: -1}, testCanon)
		tags := manyTags(n)
		for range 3 {
			for _, tg := range tags {
				r.LookupCall(KindCounter, "m", tg)
			}
		}
		got := cachedShare(r, KindCounter, "m", tags)
		t.Logf("%d keys: %.2f%% cached", n, got*100)
		if got < 0.98 {
			t.Errorf("%d keys: %.1f%% cached after 3 rounds, want ≥ 98%%", n, got*100)
		}
		if slots := r.calls.table().slots(); slots < 4*n && slots < maxCallSlots {
			t.Errorf("%d keys: %d slots, want ≥ 4 per key", n, slots)
		}
		if raceEnabled || n > 10_000 {
			continue
		}
		allocs := testing.AllocsPerRun(5, func() {
			for _, tg := range tags {
				r.LookupCall(KindCounter, "m", tg)
			}
		})
		// Keys that find every slot of their set taken take turns once every missMask rounds.
		if perCall := allocs / float64(n); perCall > 0.01 {
			t.Errorf("%d keys: %.4f allocations per call in steady state, want ≤ 0.01", n, perCall)
		}
	}
}
