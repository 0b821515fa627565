package shard

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fullRegistry returns a registry capped at max series, max of them live.
func fullRegistry(max int) *Registry {
	r := New(Config{MaxSeries: max}, testCanon)
	for _, k := range foldedKeys(max) {
		r.Lookup(KindCounter, "live", k)
	}
	return r
}

// skipAllocsUnderRace skips a test of allocation counts in a -race build.
func skipAllocsUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
}

// foldedKeys returns n tag lists, each a distinct key of one metric.
func foldedKeys(n int) [][]string {
	keys := make([][]string, n)
	for i := range keys {
		keys[i] = []string{"env:prod", fmt.Sprint("id:", i)} // in canonical order
	}
	return keys
}

// TestFoldedLookupsZeroAllocs: past MaxSeries, a key folded once is folded again without
// canonicalizing or allocating, and every sample of it is still counted as a fold. Before the
// fold cache each such lookup took 6 allocations.
func TestFoldedLookupsZeroAllocs(t *testing.T) {
	skipAllocsUnderRace(t)
	r := fullRegistry(10)
	keys := foldedKeys(300)
	o := r.Lookup(KindCounter, "m", keys[0])
	if o == nil || !o.Overflow() {
		t.Fatalf("past the cap: got %v, want the overflow series", o)
	}
	for _, k := range keys {
		r.Lookup(KindCounter, "m", k)
	}
	before := r.Stats().Folds
	runs := 0
	allocs := testing.AllocsPerRun(20, func() {
		runs++
		for _, k := range keys {
			if s := r.Lookup(KindCounter, "m", k); s != o {
				t.Fatalf("key %v folded into %v, want the overflow series %v", k, s, o)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per %d folded lookups, want 0", allocs, len(keys))
	}
	if got, want := r.Stats().Folds-before, uint64(runs*len(keys)); got != want {
		t.Errorf("Folds rose by %d over %d folded lookups", got, want)
	}
	if st := r.Stats(); st.Series != 11 || st.Aliases != 11 {
		t.Errorf("stats %+v: want 11 series (10 and the overflow) and 11 lookup entries", st)
	}
}

// TestDroppedLookupsZeroAllocs: past MaxOverflow, a dropped key is dropped again from the fold
// cache, still counted each time.
func TestDroppedLookupsZeroAllocs(t *testing.T) {
	skipAllocsUnderRace(t)
	r := New(Config{MaxSeries: 1, MaxOverflow: 1}, testCanon)
	r.Lookup(KindCounter, "live", nil)
	if o := r.Lookup(KindCounter, "a", nil); o == nil || !o.Overflow() {
		t.Fatalf("got %v, want a's overflow series", o)
	}
	if s := r.Lookup(KindCounter, "b", []string{"k:v"}); s != nil {
		t.Fatalf("got %v past MaxOverflow, want nil", s)
	}
	before := r.Stats().CapDropped
	runs := 0
	if allocs := testing.AllocsPerRun(100, func() {
		runs++
		if s := r.Lookup(KindCounter, "b", []string{"k:v"}); s != nil {
			t.Fatalf("got %v past MaxOverflow, want nil", s)
		}
	}); allocs != 0 {
		t.Errorf("%v allocations per dropped lookup, want 0", allocs)
	}
	if got := r.Stats().CapDropped - before; got != uint64(runs) {
		t.Errorf("CapDropped rose by %d over %d dropped lookups", got, runs)
	}
}

// TestFoldCacheForgetsOnRemoval: once expiry makes room, a key that was folded gets its own series,
// and a key that was dropped gets an overflow series: the cache never answers from the state
// before a removal.
func TestFoldCacheForgetsOnRemoval(t *testing.T) {
	r := New(Config{MaxSeries: 2, MaxOverflow: 1, Expiry: 1}, testCanon)
	x := r.Lookup(KindCounter, "x", nil)
	y := r.Lookup(KindCounter, "y", nil)
	folded := r.Lookup(KindCounter, "m", []string{"k:1"})
	if folded == nil || !folded.Overflow() {
		t.Fatalf("got %v, want the overflow series", folded)
	}
	if s := r.Lookup(KindGauge, "g", nil); s != nil {
		t.Fatalf("got %v past MaxOverflow, want nil", s)
	}
	// Keep x: the flush expires y and the overflow series, which nothing recorded into.
	x.Counter.Add(1)
	r.Flush(func(s *Series) bool { return s.Counter.Swap() != 0 })
	if !y.Dead() || !folded.Dead() {
		t.Fatalf("y dead %v, overflow dead %v: want both expired", y.Dead(), folded.Dead())
	}
	s := r.Lookup(KindCounter, "m", []string{"k:1"})
	if s == nil || s.Overflow() || s.Dead() {
		t.Fatalf("after room was made: got %v, want a series of the key's own", s)
	}
	g := r.Lookup(KindGauge, "g", nil)
	if g == nil || !g.Overflow() || g.Dead() {
		t.Fatalf("after room was made: got %v, want g's overflow series", g)
	}
}

// TestFoldCacheExact: the cache answers only for the spelling it holds: not for another spelling
// with the same hash, another kind, or a spelling that is a prefix or extension of it.
func TestFoldCacheExact(t *testing.T) {
	s := new(Series)
	fc := newFoldCache(foldFirst)
	sp, _ := spell("ns", "m", []string{"a:1", "b:2"})
	fc.put(&foldEntry{hash: 7, kind: KindCounter, s: s, sp: sp})
	if got, ok := fc.find(7, "ns", KindCounter, "m", []string{"a:1", "b:2"}); !ok || got != s {
		t.Fatalf("the spelling put: got %v %v", got, ok)
	}
	for _, c := range []struct {
		h    uint64
		ns   string
		kind Kind
		name string
		tags []string
	}{
		{8, "ns", KindCounter, "m", []string{"a:1", "b:2"}},
		{7, "ns", KindGauge, "m", []string{"a:1", "b:2"}},
		{7, "", KindCounter, "m", []string{"a:1", "b:2"}},
		{7, "ns", KindCounter, "m", []string{"a:1"}},
		{7, "ns", KindCounter, "m", []string{"a:1", "b:2", "c:3"}},
		{7, "ns", KindCounter, "m", []string{"b:2", "a:1"}},
		{7, "ns", KindCounter, "m", []string{"a:1,b:2"}},
	} {
		if got, ok := fc.find(c.h, c.ns, c.kind, c.name, c.tags); ok {
			t.Errorf("%+v: found %v, want no answer", c, got)
		}
	}
	r := New(Config{}, testCanon)
	long := []string{strings.Repeat("t", MaxFoldedSpelling)}
	sp, _ = spell("", "m", long)
	r.foldLocked(9, KindCounter, sp, s)
	if fc := r.folded.Load(); fc != nil {
		if _, ok := fc.find(9, "", KindCounter, "m", long); ok {
			t.Errorf("a spelling longer than MaxFoldedSpelling was kept")
		}
	}
}

// TestFoldCacheGrows: more folded keys than the first cache holds make it grow, until each is
// folded without allocating; its slots stay within the limit MaxSeries sets.
func TestFoldCacheGrows(t *testing.T) {
	skipAllocsUnderRace(t)
	r := fullRegistry(1000)
	keys := foldedKeys(600)
	pass := func() {
		for _, k := range keys {
			if s := r.Lookup(KindCounter, "m", k); s == nil || !s.Overflow() {
				t.Fatalf("key %v: got %v, want the overflow series", k, s)
			}
		}
	}
	for range 10 {
		pass()
	}
	if allocs := testing.AllocsPerRun(5, pass); allocs != 0 {
		t.Errorf("%v allocations per %d folded lookups, want 0", allocs, len(keys))
	}
	if n, limit := len(r.folded.Load().slots), 2048; n <= foldFirst || n > limit {
		t.Errorf("fold cache of %d slots, want it grown from %d, within the limit for MaxSeries 1000, %d", n, foldFirst, limit)
	}
}

// TestFoldCacheBounded: with MaxSeries 1 the fold cache stays at its first size however many keys
// fold, refusing those it has no room for.
func TestFoldCacheBounded(t *testing.T) {
	r := New(Config{MaxSeries: 1}, testCanon)
	r.Lookup(KindCounter, "live", nil)
	for i := range 5000 {
		r.Lookup(KindCounter, "m", []string{fmt.Sprint("id:", i)})
	}
	fc := r.folded.Load()
	held := 0
	for i := range fc.slots {
		if fc.slots[i].Load() != nil {
			held++
		}
	}
	if len(fc.slots) != foldFirst || held > foldFirst || fc.refused == 0 {
		t.Errorf("%d slots, %d held, %d refused: want the first cache's %d slots at most, full, refusing", len(fc.slots), held, fc.refused, foldFirst)
	}
	if st := r.Stats(); st.Folds != 5000 {
		t.Errorf("Folds = %d, want 5000: a key the cache refuses is still folded and counted", st.Folds)
	}
}

// TestFoldedRecordingRacesExpiry: keys past the cap recorded by name while flushes expire and
// revive series and clear the fold cache; every value recorded is flushed exactly once.
func TestFoldedRecordingRacesExpiry(t *testing.T) {
	r := New(Config{MaxSeries: 4, Expiry: 1}, testCanon)
	keys := foldedKeys(50)
	const n = 20000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			s := r.Lookup(KindCounter, "m", keys[i%len(keys)])
			if s == nil {
				t.Errorf("lookup %d dropped, with MaxOverflow's room for it", i)
				return
			}
			s.Counter.Add(1)
			if s.Dead() {
				r.Revive(s)
			}
		}
	}()
	flushUntil(t, r, done, n)
	st := r.Stats()
	t.Logf("folds %d, expired %d, revived %d", st.Folds, st.Expired, st.Revived)
}

// TestFoldCacheGrowsUnderLookups: goroutines folding keys while the cache grows under them (a
// -race test) all get the overflow series, and every fold is counted once.
func TestFoldCacheGrowsUnderLookups(t *testing.T) {
	r := fullRegistry(1000)
	keys := foldedKeys(1500) // past the first cache's 1,024 slots: it grows meanwhile
	o := r.Lookup(KindCounter, "m", keys[0])
	before := r.Stats().Folds
	const goroutines, rounds = 4, 3
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				for i := range keys {
					k := keys[(i+g*len(keys)/goroutines)%len(keys)]
					if s := r.Lookup(KindCounter, "m", k); s != o {
						t.Errorf("key %v folded into %v, want %v", k, s, o)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if got, want := r.Stats().Folds-before, uint64(goroutines*rounds*len(keys)); got != want {
		t.Errorf("Folds rose by %d, want %d", got, want)
	}
	if n := len(r.folded.Load().slots); n <= foldFirst {
		t.Errorf("fold cache of %d slots: it did not grow", n)
	}
}

// TestFoldCacheKeepsRejectionsCounted: a key whose overflow series the Canonicalizer rejects is
// counted as rejected at every sample, not cached as a cap drop.
func TestFoldCacheKeepsRejectionsCounted(t *testing.T) {
	noOverflow := func(kind Kind, name string, tags []string) (Spec, error) {
		if slices.Contains(tags, OverflowTag) {
			return Spec{}, errors.New("no overflow series here")
		}
		return testCanon(kind, name, tags)
	}
	r := New(Config{MaxSeries: 1}, noOverflow)
	r.Lookup(KindCounter, "live", nil)
	for range 5 {
		if s := r.Lookup(KindCounter, "m", []string{"k:1"}); s != nil {
			t.Fatalf("got %v, want nil: the overflow series is rejected", s)
		}
	}
	if st := r.Stats(); st.Rejected != 5 || st.CapDropped != 0 {
		t.Errorf("Rejected %d, CapDropped %d: want 5 and 0", st.Rejected, st.CapDropped)
	}
}
