package shard

import (
	"sync/atomic"
	"unsafe"
)

// callCacheSize is the number of slots of a registry's call cache: 4096 slots of two words, 64 KiB.
const callCacheSize = 4096

// callCache is a direct-mapped cache in front of the lookup tables for callers that pass ordinary
// Go strings, such as the by-name API called with literals. It is keyed by the identity of the
// strings (data pointer and length), not their bytes: hashing a few pointers costs a fraction of
// hashing the bytes with xxhash, which is half the cost of a by-name lookup otherwise.
//
// Identity implies equality because Go strings are immutable and an entry holds the strings it was
// made from, so their bytes cannot be freed and reused while it is cached. Strings that alias
// mutable memory (unsafe.String over a reused buffer, as in the agent's intake) break that and must
// use Lookup or LookupIn, which compare bytes.
//
// Only a spelling whose identity misses twice in a row at its slot is cached: literals repeat their
// pointers on every call and get cached on the second, while strings built per call (whose pointers
// change every time) never allocate an entry here.
type callCache struct {
	slots [callCacheSize]atomic.Pointer[callEntry]
	last  [callCacheSize]atomic.Uint64 // identity hash of the slot's last miss
}

type callEntry struct {
	hash uint64
	kind Kind
	name string
	tags []string
	s    *Series
}

// LookupCall is Lookup for callers passing Go strings whose bytes are never modified, notably
// string literals. A repeated call with the same strings finds its series without hashing their
// bytes. It falls back to Lookup, so the result is always the one Lookup would give, except that a
// series expired since it was cached is looked up again rather than returned.
func (r *Registry) LookupCall(kind Kind, name string, tags []string) *Series {
	h := identityHash(kind, name, tags)
	slot := h & (callCacheSize - 1)
	if e := r.calls.slots[slot].Load(); e != nil && e.hash == h && e.same(kind, name, tags) && !e.s.Dead() {
		return e.s
	}
	s := r.Lookup(kind, name, tags)
	if s != nil && r.calls.last[slot].Swap(h) == h {
		r.calls.slots[slot].Store(&callEntry{hash: h, kind: kind, name: name, tags: append([]string(nil), tags...), s: s})
	}
	return s
}

func (e *callEntry) same(kind Kind, name string, tags []string) bool {
	if e.kind != kind || len(e.tags) != len(tags) || !sameString(e.name, name) {
		return false
	}
	for i, t := range tags {
		if !sameString(e.tags[i], t) {
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
