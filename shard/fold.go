package shard

import (
	"math/bits"
	"sync/atomic"
)

// Bounds on the fold cache, which remembers what became of keys past the caps: past MaxSeries a
// new key folds into its name's overflow series, and past MaxOverflow it is dropped, but it gets
// no lookup entry (that would let an unbounded key space grow the table), so without the cache
// every sample of it would canonicalize again and allocate, exactly when cardinality runs away.
// A key the cache does not hold is still folded or dropped, and counted, by that slow path.
const (
	// MaxFoldedKeys bounds the slots of a registry's fold cache, which starts at 1,024 and
	// doubles while keys find no room, up to twice MaxSeries (rounded up to a power of two)
	// or MaxFoldedKeys, whichever is less. A key that finds no room there takes the slow path
	// at each sample: the cache keeps the keys it holds until series are removed.
	MaxFoldedKeys = 1 << 18
	// MaxFoldedBytes bounds the bytes of spellings the fold cache holds.
	MaxFoldedBytes = 16 << 20
	// MaxFoldedSpelling is the longest spelling (namespace, name and tags, a byte apart) the fold
	// cache keeps.
	MaxFoldedSpelling = 256
)

// foldCache is a set-associative cache from folded spellings to their outcome, foldWays slots per
// set. An entry stays until the next clear: a key that finds its set full is refused, not put over
// another, so that two keys never take turns evicting each other at every sample. Readers take no
// lock; writers hold the registry's mu, as does the clear that follows every removal of series
// (Registry.remove), so that no entry outlives the state it was decided in.
type foldCache struct {
	mask  uint64 // of set numbers
	slots []atomic.Pointer[foldEntry]
	// Under the registry's mu:
	bytes   int // of the spellings held
	refused int // keys that found no room since the cache was made
}

const (
	foldWays      = 8       // slots of a set: one 64-byte cache line of pointers
	foldFirst     = 1 << 10 // slots of a registry's first fold cache
	foldGrowAfter = 8       // keys refused by a full set before the cache grows
	foldEntryCost = 64      // a foldEntry's bytes beside its spelling, as MaxFoldedBytes counts them
)

// foldEntry is one folded spelling and its outcome: its overflow series, or nil when the key was
// dropped by MaxOverflow.
type foldEntry struct {
	hash uint64
	kind Kind
	s    *Series
	sp   spelling
}

func newFoldCache(slots int) *foldCache {
	return &foldCache{mask: uint64(slots/foldWays - 1), slots: make([]atomic.Pointer[foldEntry], slots)}
}

// set returns a key's set, picked by hash bits that neither the lookup shard (the low bits) nor the
// table slot (from bit 32) uses.
func (fc *foldCache) set(h uint64) []atomic.Pointer[foldEntry] {
	i := (h >> 16) & fc.mask * foldWays
	return fc.slots[i : i+foldWays : i+foldWays]
}

// find returns the outcome cached for a spelling, and whether there was one.
func (fc *foldCache) find(h uint64, ns string, kind Kind, name string, tags []string) (*Series, bool) {
	set := fc.set(h)
	for i := range set {
		e := set[i].Load()
		if e != nil && e.hash == h && e.kind == kind && e.sp.matches(ns, name, tags) {
			return e.s, true
		}
	}
	return nil, false
}

// foldLocked caches the outcome s of folded spelling sp, whose key is the caller's own copy, kept
// as it is. r.mu is held.
func (r *Registry) foldLocked(h uint64, kind Kind, sp spelling, s *Series) {
	if len(sp.key) > MaxFoldedSpelling {
		return
	}
	fc := r.folded.Load()
	if fc == nil {
		fc = newFoldCache(foldFirst)
		r.folded.Store(fc)
	} else if fc.refused >= foldGrowAfter && len(fc.slots) < r.foldLimit() {
		// Keys enough to fill sets: twice the sets, the entries moved over. Lookups go on
		// reading the old cache until they load the new one.
		nc := newFoldCache(2 * len(fc.slots))
		for i := range fc.slots {
			if e := fc.slots[i].Load(); e != nil {
				nc.put(e)
			}
		}
		fc = nc
		r.folded.Store(fc)
	}
	fc.put(&foldEntry{hash: h, kind: kind, s: s, sp: sp})
}

// foldLimit is the most slots the registry's fold cache grows to.
func (r *Registry) foldLimit() int {
	n := foldFirst
	if r.cfg.MaxSeries > 0 {
		n = max(n, 2<<bits.Len(uint(r.cfg.MaxSeries-1)))
	}
	return min(n, MaxFoldedKeys)
}

// put adds e in an empty slot of its set, within MaxFoldedBytes, and counts it refused if there is
// none.
func (fc *foldCache) put(e *foldEntry) {
	if fc.bytes+len(e.sp.key)+foldEntryCost > MaxFoldedBytes {
		fc.refused++
		return
	}
	set := fc.set(e.hash)
	for i := range set {
		if set[i].Load() == nil {
			fc.bytes += len(e.sp.key) + foldEntryCost
			set[i].Store(e)
			return
		}
	}
	fc.refused++
}

// clear forgets every folded spelling. The registry's mu is held.
func (fc *foldCache) clear() {
	for i := range fc.slots {
		fc.slots[i].Store(nil)
	}
	fc.bytes, fc.refused = 0, 0
}
