package shard

import (
	"sync/atomic"
	"unsafe"
)

// Call cache sizes, in entry pointers. The cache starts at minCallSlots (32 KiB, and as much of
// miss stamps) and doubles while the live series outnumber a quarter of its slots, up to
// maxCallSlots (32 MiB and 32 MiB, past 1 M series); entries are 128 bytes each. A direct-mapped
// cache smaller than the keys its callers cycle through misses on most calls (with 4,096 slots and
// 10,000 series recorded in turn, nearly every one), and each miss pays the xxhash path.
const (
	minCallSlots = 1 << 12
	maxCallSlots = 1 << 22
)

// callInline is how many tags a call entry holds without a second allocation.
const callInline = 4

// callCache is a cache in front of the lookup tables for callers that pass ordinary Go strings,
// such as the by-name API called with literals. It is keyed by the identity of the strings (data
// pointer and length), not their bytes: hashing a few pointers costs a fraction of hashing the
// bytes with xxhash, which is half the cost of a by-name lookup otherwise.
//
// Identity implies equality because Go strings are immutable and an entry holds the strings it was
// made from, so their bytes cannot be freed and reused while it is cached. Strings that alias
// mutable memory (unsafe.String over a reused buffer, as in the agent's intake) break that and must
// use Lookup or LookupIn, which compare bytes.
//
// The cache is two-way set-associative: an identity has two slots, side by side on one cache
// line, so two keys whose identities pick the same pair do not evict each other on every call, as
// they would in a direct-mapped cache (and re-allocate their entries each time). Only a spelling
// whose identity misses twice in a row at its pair is cached: literals repeat their pointers on
// every call and get cached on the second, while strings built per call (whose pointers change
// every time) never allocate an entry here.
type callCache struct {
	t atomic.Pointer[callTable]
}

// callTable is one size of the cache; growing replaces it with an empty one twice as large.
type callTable struct {
	mask  uint64 // of pair indexes
	slots []atomic.Pointer[callEntry]
	last  []atomic.Uint32 // per pair, the stamps of its last missing identities (see missed)
}

func newCallTable(n int) *callTable {
	return &callTable{mask: uint64(n/2 - 1), slots: make([]atomic.Pointer[callEntry], n), last: make([]atomic.Uint32, n/2*ghosts)}
}

// table returns the current table, creating the first one.
func (c *callCache) table() *callTable {
	if t := c.t.Load(); t != nil {
		return t
	}
	c.t.CompareAndSwap(nil, newCallTable(minCallSlots))
	return c.t.Load()
}

// fit grows the cache to hold at least four slots per live series (two pairs per key),
// at which few pairs are wanted by three keys at once. The new table starts empty: the keys in
// use are cached again on their next two calls each.
func (c *callCache) fit(live int) {
	t := c.table()
	n := len(t.slots)
	if live*4 <= n || n >= maxCallSlots {
		return
	}
	for live*4 > n && n < maxCallSlots {
		n *= 2
	}
	c.t.CompareAndSwap(t, newCallTable(n))
}

// callEntry is one cached call: its identity, and the strings it was made from, kept alive so
// that the identity stays unique. Up to callInline tags live in the entry itself, so that a hit
// reads one object besides the series: 128 bytes, a size class whose objects are aligned to 128, so
// the entry is the pair of cache lines that CPUs fetch together.
type callEntry struct {
	hash   uint64
	s      *Series
	kind   Kind
	ntags  uint32
	name   string
	inline [callInline]string
	more   []string // all the tags, when there are more than callInline
}

func newCallEntry(h uint64, kind Kind, name string, tags []string, s *Series) *callEntry {
	e := &callEntry{hash: h, s: s, kind: kind, ntags: uint32(len(tags)), name: name}
	if len(tags) <= callInline {
		copy(e.inline[:], tags)
	} else {
		e.more = append([]string(nil), tags...)
	}
	return e
}

// LookupCall is Lookup for callers passing Go strings whose bytes are never modified, notably
// string literals. A repeated call with the same strings finds its series without hashing their
// bytes. It falls back to Lookup, so the result is always the one Lookup would give, except that a
// series expired since it was cached is looked up again rather than returned.
func (r *Registry) LookupCall(kind Kind, name string, tags []string) *Series {
	h := identityHash(kind, name, tags)
	t := r.calls.table()
	pair := h & t.mask
	way := t.slots[2*pair : 2*pair+2 : 2*pair+2]
	for i := range way {
		if e := way[i].Load(); e != nil && e.hash == h && e.same(kind, name, tags) && !e.s.Dead() {
			return e.s
		}
	}
	s := r.Lookup(kind, name, tags)
	if live := int(r.live.Load()); live*4 > len(t.slots) && len(t.slots) < maxCallSlots {
		// Grown here, on a miss, not as series are created: a registry used through handles
		// alone never needs more than the first table.
		r.calls.fit(live)
	}
	if s == nil || s.overflow {
		// A key folded past MaxSeries is one of an unbounded key space: caching it would only
		// fill the cache (as large as four slots per series) with entries for spellings that
		// come once, and keep their strings alive.
		return s
	}
	misses := t.missed(pair, h)
	if misses == 0 {
		return s
	}
	// Into an empty slot or one whose series expired; over a live entry (the slot the hash picks)
	// only after missMask misses in a row, so that a third key wanting a full pair takes its
	// turn rarely, not on every other call, each time allocating an entry.
	for j := range way {
		if e := way[j].Load(); e == nil || e.s.Dead() {
			way[j].Store(newCallEntry(h, kind, name, tags, s))
			return s
		}
	}
	if misses == missMask {
		way[h>>63].Store(newCallEntry(h, kind, name, tags, s))
		t.forget(pair, h)
	}
	return s
}

// Miss stamps. A pair keeps the stamps of the last ghosts identities that missed there, each the
// high 28 bits of the identity hash and, in the low bits (missMask), how many misses in a row it
// had. Several stamps, so that up to ghosts keys that share a pair and are called by turns (none
// cached yet) each find their own, rather than pushing each other's out forever. A stamp that
// matches another identity by chance only caches that one a call early.
const (
	ghosts   = 4
	missMask = 15
)

// missed records a miss of identity h at a pair and returns how many times in a row before this
// one it missed there (0 for the first).
func (t *callTable) missed(pair, h uint64) uint64 {
	id := uint32(h>>32) &^ missMask
	g := t.last[ghosts*pair : ghosts*pair+ghosts : ghosts*pair+ghosts]
	n, at := uint32(0), ghosts-1
	for i := range g {
		if v := g[i].Load(); v&^missMask == id {
			n, at = min(v&missMask+1, missMask), i
			break
		}
	}
	for i := at; i > 0; i-- {
		g[i].Store(g[i-1].Load())
	}
	g[0].Store(id | n)
	return uint64(n)
}

// forget resets h's miss count at a pair, after it took a slot from another key.
func (t *callTable) forget(pair, h uint64) {
	t.last[ghosts*pair].Store(uint32(h>>32) &^ missMask)
}

func (e *callEntry) same(kind Kind, name string, tags []string) bool {
	if e.kind != kind || int(e.ntags) != len(tags) || !sameString(e.name, name) {
		return false
	}
	mine := e.more
	if mine == nil {
		mine = e.inline[:len(tags)]
	}
	for i, t := range tags {
		if !sameString(mine[i], t) {
			return false
		}
	}
	return true
}

// sameString reports whether a and b are the same bytes in memory (and so equal).
func sameString(a, b string) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.StringData(a) == unsafe.StringData(b))
}

// identityHash mixes the strings' data pointers and lengths and the kind.
func identityHash(kind Kind, name string, tags []string) uint64 {
	h := uint64(kind) * prime1
	h = mixIdentity(h, name)
	for _, t := range tags {
		h = mixIdentity(h, t)
	}
	h ^= h >> 29
	h *= prime2
	h ^= h >> 32
	return h
}

func mixIdentity(h uint64, s string) uint64 {
	h ^= uint64(uintptr(unsafe.Pointer(unsafe.StringData(s))))
	h *= prime2
	h ^= uint64(len(s)) + h>>31
	return h * prime1
}
