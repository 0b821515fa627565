package shard

import (
	"sync/atomic"
	"unsafe"
)

// Call cache sizes, in slots. The cache starts at minCallSlots and doubles while the live series
// outnumber a quarter of its slots, up to maxCallSlots (past 1 M series). A slot costs 24 bytes
// (its hash, series and entry pointers) and 4 of miss stamps; entries are 128 bytes each. A cache
// smaller than the keys its callers cycle through misses on most calls (with 4,096 direct-mapped
// slots and 10,000 series recorded in turn, nearly every one), and each miss pays the xxhash path.
const (
	minCallSlots = 1 << 12
	maxCallSlots = 1 << 22
)

// callWays is the cache's associativity: the slots of a set, one of which an identity may take.
// Four, so that with four slots per series few sets are wanted by more keys than they hold (a
// set gets five or more of them with a probability of 0.4 %); two-way pairs left 1.5-3.5 % of
// the keys uncached at 1k-100k series (TestLookupCallScales), each call of them a slow lookup.
const callWays = 4

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
// The cache is set-associative (callWays). A set keeps its slots' identity hashes and series
// pointers on one cache line and their entries' pointers beside it, so that a hit reads that line
// and then, at once rather than one after the other, the entry it checks and the series it
// returns: at 100,000 series each of those is a cache miss, and an entry that led to its series
// made them three in a row. Only a spelling whose identity misses twice in a row at its set is
// cached: literals repeat their pointers on every call and get cached on the second, while strings
// built per call (whose pointers change every time) never allocate an entry here.
type callCache struct {
	t atomic.Pointer[callTable]
}

// callTable is one size of the cache; growing replaces it with an empty one twice as large.
type callTable struct {
	mask    uint64 // of set indexes
	sets    []callSet
	entries []atomic.Pointer[callEntry] // callWays per set: the entries of its slots
	last    []atomic.Uint64             // ghosts/4 per set: the stamps of its last missing identities (see missed)
}

// callSet is the hot part of one set: 64 bytes, one cache line (large slices are page-aligned).
// A slot is in use when its hash is not zero; its series and entry are stored before its hash,
// and a reader checks that the entry it loaded is the hash's and leads to the series it loaded.
type callSet struct {
	hash [callWays]atomic.Uint64
	s    [callWays]atomic.Pointer[Series]
}

func newCallTable(slots int) *callTable {
	n := slots / callWays
	return &callTable{mask: uint64(n - 1), sets: make([]callSet, n),
		entries: make([]atomic.Pointer[callEntry], n*callWays), last: make([]atomic.Uint64, n*ghosts/4)}
}

// slots returns how many slots the table has.
func (t *callTable) slots() int { return len(t.entries) }

// put stores e in slot i of set, for its series.
func (t *callTable) put(set uint64, i int, e *callEntry) {
	st := &t.sets[set]
	st.hash[i].Store(0) // a reader meanwhile sees no slot rather than a mix of two
	t.entries[set*callWays+uint64(i)].Store(e)
	st.s[i].Store(e.s)
	st.hash[i].Store(e.hash)
}

// table returns the current table, creating the first one.
func (c *callCache) table() *callTable {
	if t := c.t.Load(); t != nil {
		return t
	}
	c.t.CompareAndSwap(nil, newCallTable(minCallSlots))
	return c.t.Load()
}

// fit grows the cache to hold at least four slots per live series, at which few sets are wanted
// by more keys than they hold. The new table starts empty: the keys in use are cached again on
// their next two calls each.
func (c *callCache) fit(live int) {
	t := c.table()
	n := t.slots()
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
	h := identityHash(kind, name, tags) | 1 // never 0, the hash of an empty slot
	t := r.calls.table()
	set := h >> 1 & t.mask // not bit 0, which is always set
	st := &t.sets[set]
	for i := range callWays {
		if st.hash[i].Load() != h {
			continue
		}
		s := st.s[i].Load()
		if e := t.entries[set*callWays+uint64(i)].Load(); e != nil && e.hash == h && e.s == s && e.same(kind, name, tags) && !s.Dead() {
			return s
		}
	}
	s := r.Lookup(kind, name, tags)
	if live := int(r.live.Load()); live*4 > t.slots() && t.slots() < maxCallSlots {
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
	misses := t.missed(set, h)
	if misses == 0 {
		return s
	}
	// Into an empty slot or one whose series expired; over a live entry (the slot the hash picks)
	// only after missMask misses in a row, so that a key wanting a full set takes its turn
	// rarely, not on every other call, each time allocating an entry.
	for i := range callWays {
		if st.hash[i].Load() == 0 {
			t.put(set, i, newCallEntry(h, kind, name, tags, s))
			return s
		}
		if x := st.s[i].Load(); x == nil || x.Dead() {
			t.put(set, i, newCallEntry(h, kind, name, tags, s))
			return s
		}
	}
	if misses == missMask {
		t.put(set, int(h>>62), newCallEntry(h, kind, name, tags, s))
		t.forget(set, h)
	}
	return s
}

// Miss stamps. A set keeps the stamps of the last ghosts identities that missed there, 16 bits
// each, four to a word: the top 12 bits of the identity hash and, in the low bits (missMask), how
// many misses in a row it had. As many stamps as twice the set's slots, so that the keys that
// share a set and are called by turns (none cached yet) each find their own, rather than pushing
// each other's out forever: with four, a set wanted by five keys cached none of them. A stamp that
// matches another identity by chance only caches that one a call early.
const (
	ghosts   = 2 * callWays
	missMask = 15
)

// missed records a miss of identity h at a set and returns how many times in a row before this
// one it missed there (0 for the first). Concurrent misses at one set may lose a stamp, which
// only delays caching that identity.
func (t *callTable) missed(set, h uint64) uint64 {
	w := t.last[set*ghosts/4 : set*ghosts/4+ghosts/4 : set*ghosts/4+ghosts/4]
	var g [ghosts]uint16
	for i := range g {
		g[i] = uint16(w[i/4].Load() >> (16 * (i % 4)))
	}
	id := uint16(h>>48) &^ missMask
	n, at := uint16(0), ghosts-1
	for i, v := range g {
		if v&^missMask == id {
			n, at = min(v&missMask+1, missMask), i
			break
		}
	}
	copy(g[1:at+1], g[:at]) // most recent first
	g[0] = id | n
	for i := range w {
		w[i].Store(uint64(g[4*i]) | uint64(g[4*i+1])<<16 | uint64(g[4*i+2])<<32 | uint64(g[4*i+3])<<48)
	}
	return uint64(n)
}

// forget resets h's miss count at a set, after it took a slot from another key.
func (t *callTable) forget(set, h uint64) {
	w := &t.last[set*ghosts/4]
	w.Store(w.Load()&^0xffff | uint64(uint16(h>>48)&^missMask))
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

// identityHash mixes the strings' data pointers and lengths and the kind. Each string's word is
// multiplied by a constant of its position and the products are summed, so that the multiplies
// do not wait on each other as a chain of mixes did (by-name counting at 1 series spent half its
// time here); the finalizer (MurmurHash3's fmix64) then spreads every bit over the whole hash.
// The sum is order-sensitive but linear, so identities can share a hash by chance more easily
// than with a chained mix; a shared hash only shares a set, since a hit is checked against the
// entry's strings.
//
// Not inlined: inlined into LookupCall, it made a by-name count at 100k series 20–27 % dearer in
// the peer benchmark (old and new binaries alternated), though no cheaper to call at 1 series.
//
//go:noinline
func identityHash(kind Kind, name string, tags []string) uint64 {
	h := uint64(kind)*prime2 + identityWord(name)*prime1
	for i, t := range tags {
		h += identityWord(t) * identityMul[i&(len(identityMul)-1)]
	}
	h ^= h >> 33
	h *= 0xFF51AFD7ED558CCD
	h ^= h >> 33
	h *= 0xC4CEB9FE1A85EC53
	h ^= h >> 33
	return h
}

// identityMul are the odd constants identityHash multiplies tags by, by position (a power of two
// of them: a 9th tag shares the 1st tag's).
var identityMul = [8]uint64{
	0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5,
	0xD6E8FEB86659FD93, 0xA0761D6478BD642F, 0xE7037ED1A0B428DB, 0x8EBC6AF09C88C6E3,
}

// identityWord is a string's data pointer and length in one word.
func identityWord(s string) uint64 {
	return uint64(uintptr(unsafe.Pointer(unsafe.StringData(s)))) ^ uint64(len(s))*0x9FB21C651E98DF25
}
