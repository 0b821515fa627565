package shard

import (
	"errors"
	"math"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// Defaults for Config's zero fields.
const (
	DefaultMaxSeries   = 100_000
	DefaultMaxOverflow = 1_000
	DefaultExpiry      = 6
	DefaultShards      = 64
)

// OverflowTag is the tag of the overflow series that collects a metric's values past the cap.
const OverflowTag = "overflow:true"

// Config configures a Registry. Zero fields mean the documented defaults.
type Config struct {
	// MaxSeries caps the live series. Past it, a new key folds into the overflow series of its
	// metric name (tagged OverflowTag plus the owner's global tags), and each fold is counted.
	// The fold cache that keeps folded keys off the slow path grows to at most 2 slots per
	// series of the cap (see MaxFoldedKeys). Zero means DefaultMaxSeries; negative means no cap.
	MaxSeries int
	// MaxOverflow caps the overflow series themselves (one per metric name); a key that would need
	// one more is dropped and counted. Zero means DefaultMaxOverflow.
	MaxOverflow int
	// Expiry is the number of consecutive flushes a series may go untouched before it is removed
	// and its memory returned. Zero means DefaultExpiry; negative disables expiry.
	Expiry int
	// Shards is the number of lookup shards, rounded up to a power of two. Zero means DefaultShards.
	Shards int
	// MaxSetSize bounds the distinct values a set series keeps per interval. Zero means
	// DefaultMaxSetSize.
	MaxSetSize int
	// NewSeries, if set, allocates every series the registry makes, from the Spec of its key: it
	// returns a zero Series that is the first field of a struct of the owner's, which keeps its own
	// data about the series beside it, in one allocation, and finds it by converting the *Series
	// back to a pointer to that struct. It runs under the registry's lock, only for keys that are
	// new. Nil means the registry allocates plain Series.
	NewSeries func(Spec) *Series
}

// Spec is what the registry's owner decides for a new key: its canonical identity and its cells.
type Spec struct {
	Name string // canonical name
	// Canonical tags, sorted, no duplicate keys, none holding a ',' and at most MaxTags of them:
	// the registry keeps them joined by ',' in one string (Series.JoinedTags). A Spec that breaks
	// the last two rules is rejected like a Canonicalizer error.
	Tags []string
	// For histograms and distributions: which cells to allocate (any combination).
	Sketch    bool      // a Histogram sketch
	Bounds    []float64 // exact Buckets with these bounds, when non-empty
	Reservoir int       // a Reservoir of this capacity, when > 0
	// Owner is the owner's, passed to Config.NewSeries when the key is new and not kept.
	Owner any
}

// Canonicalizer turns a key as a caller spelled it into its canonical Spec. It runs on the slow path
// only (once per distinct spelling), on copies of the caller's strings. An error rejects the key:
// Lookup returns nil and the rejection is counted.
type Canonicalizer func(kind Kind, name string, tags []string) (Spec, error)

// Stats are the registry's counters.
type Stats struct {
	Series     int    // live series, overflow series included
	Overflow   int    // live overflow series
	Aliases    int    // lookup entries (distinct spellings of live series)
	AliasBytes int64  // bytes of the spellings those entries hold
	Uncached   uint64 // lookups of spellings refused an entry by the alias bounds (each took the slow path)
	Created    uint64 // series created
	Expired    uint64 // series removed for idleness
	Revived    uint64 // expired series brought back by a recording handle
	Folds      uint64 // lookups of new keys folded into an overflow series past MaxSeries
	Rejected   uint64 // keys the Canonicalizer rejected
	CapDropped uint64 // keys dropped because MaxOverflow overflow series exist
}

// Registry maps keys to series. Create it with New; the zero value is not usable.
type Registry struct {
	shards    []lookupShard
	shardMask uint64
	canon     Canonicalizer
	cfg       Config

	mu       sync.Mutex
	names    map[string]*nameRef // the live series' names, one copy each
	all      []*Series           // live series in creation order; the flush walks it
	overflow int                 // live overflow series
	created  uint64
	expired  uint64
	revived  uint64
	live     atomic.Int64

	calls      callCache
	folded     atomic.Pointer[foldCache] // made at the first fold; see foldCache
	aliasBytes atomic.Int64              // bytes held by lookup entries, all shards
	uncached   atomic.Uint64

	flushMu  sync.Mutex // serializes Flush
	folds    atomic.Uint64
	rejected atomic.Uint64
	capDrops atomic.Uint64
}

// New returns a registry that canonicalizes new keys with canon.
func New(cfg Config, canon Canonicalizer) *Registry {
	if cfg.MaxSeries == 0 {
		cfg.MaxSeries = DefaultMaxSeries
	}
	if cfg.MaxOverflow <= 0 {
		cfg.MaxOverflow = DefaultMaxOverflow
	}
	if cfg.Expiry == 0 {
		cfg.Expiry = DefaultExpiry
	}
	n := cfg.Shards
	if n <= 0 {
		n = DefaultShards
	}
	n = 1 << bits.Len(uint(n-1))
	r := &Registry{
		shards:    make([]lookupShard, n),
		shardMask: uint64(n - 1),
		canon:     canon,
		cfg:       cfg,
		names:     make(map[string]*nameRef),
	}
	for i := range r.shards {
		r.shards[i].t.Store(newTable(8))
	}
	return r
}

// Lookup returns the series for kind, name and tags, creating it on first use. It does not
// allocate and takes no lock when this spelling of the key was seen before. It returns nil when the
// key is rejected by the Canonicalizer or by the cardinality caps (both counted in Stats).
//
// tags is only read during the call; the registry copies what it keeps, so the strings may alias
// buffers the caller reuses afterwards.
func (r *Registry) Lookup(kind Kind, name string, tags []string) *Series {
	return r.LookupIn("", kind, name, tags)
}

// LookupIn is Lookup within a namespace: series of different namespaces are distinct even with the
// same name and tags. The agent uses the DogStatsD container ID as the namespace.
func (r *Registry) LookupIn(ns string, kind Kind, name string, tags []string) *Series {
	return r.LookupHashed(HashKey(ns, kind, name, tags), ns, kind, name, tags)
}

// LookupHashed is LookupIn for a key whose HashKey is h, for a caller that computed it already to
// Warm a batch of lookups. Given an h that is not the key's HashKey, it still returns the key's
// series, by the slow path (canonicalizing) each time, and an entry it adds for the spelling is
// filed under that h, where only lookups with the same wrong h look.
func (r *Registry) LookupHashed(h uint64, ns string, kind Kind, name string, tags []string) *Series {
	sh := &r.shards[h&r.shardMask]
	t := sh.t.Load()
	for i := (h >> 32) & t.mask; ; i = (i + 1) & t.mask {
		e := t.slots[i].Load()
		if e == nil {
			break
		}
		if e.hash == h && e.matches(ns, kind, name, tags) {
			return e.s
		}
	}
	return r.create(h, ns, kind, name, tags)
}

// warmBatch is how many lookups Warm overlaps at a time: enough to keep a core's outstanding misses
// busy (Zen and recent Intel cores track about 20 to 24), few enough that each stage's loads fit
// in its reorder window.
const warmBatch = 16

// Warm brings into the CPU caches what LookupHashed reads to find the keys hashed in hashes (by
// HashKey): each key's table slot, its entry, its series and the strings it compares. Called on a
// batch of keys before their lookups, it makes their cache misses overlap, where lookups one after
// the other each wait on their own misses in turn (at 100,000 series, a miss on the slot, then
// on the entry, then on the series and the spelling). Warm changes nothing and its effect is only
// on time: a key it misses, or a slot that changes meanwhile, costs its lookup the misses again.
func (r *Registry) Warm(hashes []uint64) {
	for len(hashes) > 0 {
		n := min(len(hashes), warmBatch)
		r.warm(hashes[:n])
		hashes = hashes[n:]
	}
}

// warm is Warm for at most warmBatch keys, in stages: each stage's loads depend on the stage
// before but not on each other, so the CPU has all of a stage's misses in flight at once. It
// returns a sum of what it loaded, and is not inlined, so that the compiler keeps the loads.
//
//go:noinline
func (r *Registry) warm(hashes []uint64) uintptr {
	var es [warmBatch]*entry
	for i, h := range hashes {
		t := r.shards[h&r.shardMask].t.Load()
		es[i] = t.slots[(h>>32)&t.mask].Load()
	}
	var ss [warmBatch]*Series
	for i, h := range hashes {
		e := es[i]
		if e != nil && e.hash != h {
			// Another key's entry is in the first slot (a third of lookups at a full table's
			// load of 1/2): probe on, as LookupHashed will.
			t := r.shards[h&r.shardMask].t.Load()
			for j := (h>>32 + 1) & t.mask; e != nil && e.hash != h; j = (j + 1) & t.mask {
				e = t.slots[j].Load()
			}
			es[i] = e
		}
		if e != nil {
			ss[i] = e.s
		}
	}
	var sum uintptr
	var joined [warmBatch]string
	for i := range hashes {
		s := ss[i]
		if s == nil {
			continue
		}
		sum += uintptr(s.kind) + uintptr(s.Counter.v.Load())
		if a := es[i].alias(); a != nil {
			sum += uintptr(a.key[0]) // never empty: every part ends in a NUL
		} else {
			joined[i] = s.tags
		}
	}
	for i := range hashes {
		if t := joined[i]; t != "" {
			sum += uintptr(t[0])
		}
	}
	return sum
}

// create is Lookup's slow path: canonicalize, find or create the canonical series, then add this
// spelling to the lookup table.
func (r *Registry) create(h uint64, ns string, kind Kind, name string, tags []string) *Series {
	if fc := r.folded.Load(); fc != nil {
		if s, ok := fc.find(h, ns, kind, name, tags); ok {
			if s == nil {
				r.capDrops.Add(1)
			} else {
				r.folds.Add(1)
			}
			return s
		}
	}
	// Copy what the caller lent us: the strings may alias reused buffers (the agent's parser), and
	// the slice must not escape Lookup, or every call would heap-allocate its variadic tags. One
	// copy of them all, which an alias entry keeps (see spelling) and the others are parts of.
	sp, spelt := spell(ns, name, tags)
	own := make([]string, len(tags))
	if spelt {
		ns, name = sp.parts(own)
	} else {
		// A part holding a NUL byte, which the packed form cannot hold: copies of their own.
		ns, name = strings.Clone(ns), strings.Clone(name)
		for i, t := range tags {
			own[i] = strings.Clone(t)
		}
	}
	spec, err := r.canon(kind, name, append([]string(nil), own...))
	if err == nil {
		err = checkTags(spec.Tags)
	}
	if err != nil {
		r.rejected.Add(1)
		return nil
	}
	key := HashKey(ns, kind, spec.Name, spec.Tags)

	r.mu.Lock()
	s := r.findLocked(key, ns, kind, spec.Name, spec.Tags)
	if s == nil {
		if r.cfg.MaxSeries > 0 && len(r.all)-r.overflow >= r.cfg.MaxSeries {
			var rejected bool
			s, rejected = r.overflowLocked(ns, kind, name)
			// No lookup entry for a folded key: that would let an unbounded key space grow the
			// table past the cap. The fold cache remembers it, in bounded memory, so that a
			// key folded again finds its outcome without canonicalizing or allocating. Under
			// r.mu, so that it cannot outlive the removal that makes room (see remove). Not a
			// key whose overflow series the Canonicalizer rejected: each of its samples is
			// counted as rejected, which a cached outcome would count as a cap drop.
			if spelt && !rejected {
				r.foldLocked(h, kind, sp, s)
			}
			r.mu.Unlock()
			if s != nil {
				r.folds.Add(1)
			}
			return s
		}
		s = r.newSeriesLocked(ns, kind, spec, key)
	}
	r.mu.Unlock()
	if s.spelled(ns, name, own) {
		return s // its entry is the series' own, in the table since the series was (see addLocked)
	}
	// Spelled otherwise than the canonical key: an entry of its own keeps the caller's spelling.
	if !spelt {
		r.uncached.Add(1)
		return s
	}
	a := newAliasEntry(h, s, sp)
	if r.admit(s, a.bytes()) {
		r.insert(h, &a.entry)
	} else {
		r.uncached.Add(1)
	}
	return s
}

// Bounds on lookup entries. One series can be spelled many ways (tag orders, names that sanitize
// alike, names past the length limit with different tails), and every spelling seen would
// otherwise keep an entry, with a copy of its strings, for as long as the series lives: hostile
// input could make one series hold any amount of memory. Past these bounds a spelling gets no
// entry: each lookup of it takes the slow path (canonicalize, then the canonical key), which costs
// time, not memory.
const (
	// MaxAliases is the most lookup entries one series gets.
	MaxAliases = 8
	// MaxAliasBytes is the most bytes of spellings one series' entries hold; a spelling longer
	// than that never gets an entry.
	MaxAliasBytes = 4 << 10
	// MaxTotalAliasBytes bounds the bytes of spellings all entries of a registry hold.
	MaxTotalAliasBytes = 64 << 20
)

// admit reports whether a spelling of s, keeping n bytes of strings, may get a lookup entry, and
// if so accounts for it.
func (r *Registry) admit(s *Series, n int64) bool {
	if n > MaxAliasBytes {
		return false
	}
	if s.aliases.Add(1) > MaxAliases {
		s.aliases.Add(-1)
		return false
	}
	if s.aliasBytes.Add(int32(n)) > MaxAliasBytes {
		s.aliasBytes.Add(-int32(n))
		s.aliases.Add(-1)
		return false
	}
	if r.aliasBytes.Add(n) > MaxTotalAliasBytes {
		r.aliasBytes.Add(-n)
		s.aliasBytes.Add(-int32(n))
		s.aliases.Add(-1)
		return false
	}
	return true
}

// overflowLocked returns the overflow series of a metric name, creating it within MaxOverflow, or
// nil past MaxOverflow; rejected reports that the Canonicalizer refused the overflow series' key.
// name is the name as the caller spelled it, canonicalized here like any other key, so that the
// owner's rules (a name prefix, a per-name export plan) apply to the overflow series exactly once.
func (r *Registry) overflowLocked(ns string, kind Kind, name string) (s *Series, rejected bool) {
	spec, err := r.canon(kind, name, []string{OverflowTag})
	if err == nil {
		err = checkTags(spec.Tags)
	}
	if err != nil {
		r.rejected.Add(1)
		return nil, true
	}
	key := HashKey(ns, kind, spec.Name, spec.Tags)
	if s := r.findLocked(key, ns, kind, spec.Name, spec.Tags); s != nil {
		return s, false
	}
	if r.overflow >= r.cfg.MaxOverflow {
		r.capDrops.Add(1)
		return nil, false
	}
	s = r.newSeriesLocked(ns, kind, spec, key)
	s.overflow = true
	r.overflow++
	return s, false
}

func (r *Registry) newSeriesLocked(ns string, kind Kind, spec Spec, key uint64) *Series {
	var s *Series
	if r.cfg.NewSeries != nil {
		s = r.cfg.NewSeries(spec)
	} else {
		s = new(Series)
	}
	s.ns, s.kind, s.name = r.internLocked(ns), kind, r.internLocked(spec.Name)
	s.tags, s.ntags = joinTags(spec.Tags), uint16(len(spec.Tags))
	s.self = entry{hash: key, s: s}
	switch kind {
	case KindSet:
		s.cells, s.cellKind = unsafe.Pointer(&Set{max: r.cfg.MaxSetSize}), cellsSet
	case KindHistogram, KindDistribution, KindTiming:
		var (
			h  *Histogram
			b  *Buckets
			rv *Reservoir
		)
		if spec.Sketch {
			h = new(Histogram)
		}
		if len(spec.Bounds) > 0 {
			// The owner validated the bounds; an error here is a programming error upstream.
			if nb, err := NewBuckets(spec.Bounds); err == nil {
				b = nb
			}
		}
		if spec.Reservoir > 0 {
			rv = &Reservoir{Cap: spec.Reservoir}
		}
		if h == nil && b == nil && rv == nil {
			h = new(Histogram)
		}
		s.setCells(h, b, rv)
	}
	r.addLocked(s)
	r.all = append(r.all, s)
	r.created++
	r.live.Store(int64(len(r.all)))
	return s
}

// insert adds a lookup entry unless an equal one is already there (a concurrent creator won).
func (r *Registry) insert(h uint64, e *entry) {
	sh := &r.shards[h&r.shardMask]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	t := sh.t.Load()
	i := (h >> 32) & t.mask
	for ; ; i = (i + 1) & t.mask {
		o := t.slots[i].Load()
		if o == nil {
			break
		}
		if o.hash == h && o.sameKey(e) {
			if o.s.Dead() && !e.s.Dead() {
				// A stale entry for an expired series that raced the table rebuild.
				t.slots[i].Store(e)
				r.release(o)
			} else {
				r.release(e)
			}
			return
		}
	}
	if (sh.n+1)*2 > len(t.slots) {
		// Keep the load factor at most 1/2 so probes stay short and always end at a nil slot.
		nt := newTable(len(t.slots) * 2)
		for j := range t.slots {
			if o := t.slots[j].Load(); o != nil {
				nt.put(o)
			}
		}
		nt.put(e)
		sh.t.Store(nt)
	} else {
		t.slots[i].Store(e)
	}
	sh.n++
}

// release gives back what admit accounted for an entry that is dropped.
func (r *Registry) release(e *entry) {
	n := e.bytes()
	r.aliasBytes.Add(-n)
	e.s.aliasBytes.Add(-int32(n))
	e.s.aliases.Add(-1)
}

// Revive brings an expired series back after a recorder found it dead (see Series.Dead and the
// package doc's recording contract), so what was recorded into it is flushed. If the key was re-created in the meantime, both series are
// flushed; that can only happen to a handle that outlived expiry while its key was also used by
// name, and counters still add up.
func (r *Registry) Revive(s *Series) {
	r.mu.Lock()
	if s.dead.Load() != 0 {
		// idle belongs to the flusher and is not reset here: the value just recorded makes the
		// next flush see the series active, which resets it.
		s.dead.Store(0)
		if s.removed {
			s.removed = false
			r.all = append(r.all, s)
			if s.overflow {
				r.overflow++
			}
			if r.findLocked(s.self.hash, s.ns.str(), s.kind, s.name.str(), s.Tags()) == nil {
				r.addLocked(s)
			}
			// Take the name's and namespace's references back without assigning s.name or
			// s.ns, which lookups read meanwhile: the interned copy has the series' string, or
			// becomes one that has it if none was left.
			r.refLocked(s.name.str(), false)
			r.refLocked(s.ns.str(), false)
			r.live.Store(int64(len(r.all)))
			r.revived++
		}
	}
	r.mu.Unlock()
}

// Len returns the number of live series.
func (r *Registry) Len() int { return int(r.live.Load()) }

// Stats returns the registry's counters.
func (r *Registry) Stats() Stats {
	r.mu.Lock()
	st := Stats{
		Series:   len(r.all),
		Overflow: r.overflow,
		Created:  r.created,
		Expired:  r.expired,
		Revived:  r.revived,
	}
	r.mu.Unlock()
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		st.Aliases += sh.n
		sh.mu.Unlock()
	}
	st.AliasBytes = r.aliasBytes.Load()
	st.Uncached = r.uncached.Load()
	st.Folds = r.folds.Load()
	st.Rejected = r.rejected.Load()
	st.CapDropped = r.capDrops.Load()
	return st
}

// Flush walks every live series for one interval, visiting each exactly once. visit snapshots the
// series' cells (with their Swap methods), emits what it wants, and reports whether anything was
// recorded since the last flush. A series that has been idle for Config.Expiry consecutive flushes
// when this visit finds it idle too is removed and its memory returned. Flushes are serialized;
// lookups and recording go on concurrently.
func (r *Registry) Flush(visit func(s *Series) (active bool)) {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()

	r.mu.Lock()
	list := r.all // Appends by creators don't disturb this prefix; removal below needs r.mu.
	r.mu.Unlock()

	var expired []*Series
	for _, s := range list {
		// A series this visit would expire is marked dead before it, not after: a recorder that
		// records after the visit's snapshot then sees the mark and revives the series
		// (Series.Dead), and the visit is still the only one, so a visitor that emits for an idle
		// series (a resent gauge) emits once per flush.
		dying := r.cfg.Expiry >= 0 && int(s.idle)+1 >= r.cfg.Expiry
		if dying {
			s.dead.Store(1)
		}
		if visit(s) {
			if dying {
				s.dead.Store(0)
			}
			s.idle = 0
			continue
		}
		if s.idle < math.MaxInt32 {
			s.idle++
		}
		if dying {
			expired = append(expired, s)
		}
	}
	if len(expired) > 0 {
		r.remove(expired)
	}
}

// remove drops expired series that no recorder revived, then rebuilds the lookup tables without
// entries that point at removed series.
func (r *Registry) remove(expired []*Series) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range expired {
		if s.dead.Load() == 0 {
			continue // revived between the walk and now
		}
		s.removed = true
		r.releaseNameLocked(s.name.str())
		r.releaseNameLocked(s.ns.str())
		if s.overflow {
			r.overflow--
		}
		n++
	}
	if n == 0 {
		return
	}
	if fc := r.folded.Load(); fc != nil {
		// Room under the caps again: a folded key may now get its own series, a dropped one an
		// overflow series, and an entry must not keep a removed overflow series.
		fc.clear()
	}
	r.expired += uint64(n)
	// A fresh slice, not compaction in place: a Flush or Stats caller may hold the old header.
	keep := make([]*Series, 0, len(r.all)-n)
	for _, s := range r.all {
		if !s.removed {
			keep = append(keep, s)
		}
	}
	r.all = keep
	r.live.Store(int64(len(keep)))
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		t := sh.t.Load()
		live := 0
		for j := range t.slots {
			if e := t.slots[j].Load(); e != nil && !e.s.removed {
				live++
			}
		}
		if live != sh.n {
			size := 8
			for live*2 > size {
				size *= 2
			}
			nt := newTable(size)
			for j := range t.slots {
				if e := t.slots[j].Load(); e != nil {
					if e.s.removed {
						r.release(e)
					} else {
						nt.put(e)
					}
				}
			}
			sh.t.Store(nt)
			sh.n = live
		}
		sh.mu.Unlock()
	}
}

// lookupShard is one shard of the lookup index. Readers only load t; mu serializes writers.
type lookupShard struct {
	mu sync.Mutex
	t  atomic.Pointer[table]
	n  int
	_  linePad
}

// table is an open-addressing hash table with linear probing. Slots are published with atomic
// stores, so readers need no lock; a full table is replaced, never resized in place.
type table struct {
	mask  uint64
	slots []atomic.Pointer[entry]
}

func newTable(size int) *table {
	return &table{mask: uint64(size - 1), slots: make([]atomic.Pointer[entry], size)}
}

// put adds e to a table not yet published.
func (t *table) put(e *entry) {
	for i := (e.hash >> 32) & t.mask; ; i = (i + 1) & t.mask {
		if t.slots[i].Load() == nil {
			t.slots[i].Store(e)
			return
		}
	}
}

// entry maps one spelling of a key to its series. The canonical spelling's entry is the series'
// own (Series.self), compared with the series' strings; every other entry is the first field of
// an aliasEntry, which keeps the spelling (see alias).
type entry struct {
	hash uint64
	s    *Series
}

// alias returns the spelling of an aliasEntry's entry, nil for a series' own. An entry that is not
// its series' self is always the first field of an aliasEntry (create makes no other kind), so
// the conversion reads the aliasEntry it was allocated as.
func (e *entry) alias() *spelling {
	if e == &e.s.self {
		return nil
	}
	return &(*aliasEntry)(unsafe.Pointer(e)).sp
}

// spelling is a key as a caller spelled it, when that is not the series' canonical key: its
// namespace, name and tags packed in one string, each part ended by a NUL byte. The entry keeps
// the string in its own allocation (newAliasEntry), and a lookup that compares them reads one
// string, where a spelling kept as strings and a slice of them was a cache miss per tag at
// 100,000 series.
type spelling struct {
	key   string
	ntags int
}

// aliasEntry is an entry with its spelling, in one allocation. entry must stay its first field
// (see entry.alias).
type aliasEntry struct {
	entry
	sp spelling
}

// aliasWith is an aliasEntry with room B (a byte array) for its spelling's key after it
// (newAliasEntry), so that a lookup finds the entry and the key it compares on one cache line or
// two side by side, one allocation rather than two. Each size used is 40 bytes of aliasEntry plus
// the array, a size class of the Go allocator.
type aliasWith[B any] struct {
	aliasEntry
	b B
}

// newAliasWith allocates an aliasWith[B] and returns its entry and the first n bytes of its room.
func newAliasWith[B any](n int) (*aliasEntry, []byte) {
	x := new(aliasWith[B])
	return &x.aliasEntry, unsafe.Slice((*byte)(unsafe.Pointer(&x.b)), n)
}

// newAliasEntry returns the entry of spelling sp for hash h and series s, with a copy of sp's key
// in the same allocation when it fits the largest of the sizes below (216 bytes), else sp's key
// itself.
func newAliasEntry(h uint64, s *Series, sp spelling) *aliasEntry {
	var a *aliasEntry
	var b []byte
	switch n := len(sp.key); {
	case n <= 24:
		a, b = newAliasWith[[24]byte](n) // 64-byte objects
	case n <= 56:
		a, b = newAliasWith[[56]byte](n) // 96
	case n <= 88:
		a, b = newAliasWith[[88]byte](n) // 128
	case n <= 136:
		a, b = newAliasWith[[136]byte](n) // 176
	case n <= 216:
		a, b = newAliasWith[[216]byte](n) // 256
	default:
		return &aliasEntry{entry: entry{hash: h, s: s}, sp: sp}
	}
	copy(b, sp.key) // never empty: every part ends in a NUL
	a.entry = entry{hash: h, s: s}
	a.sp = spelling{key: unsafe.String(&b[0], len(b)), ntags: sp.ntags}
	return a
}

// spell packs a spelling, copying its strings. It reports false when a part holds a NUL byte,
// which the packed form cannot tell from the end of the part.
func spell(ns, name string, tags []string) (spelling, bool) {
	n := len(ns) + len(name) + 2
	for _, t := range tags {
		n += len(t) + 1
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range [2]string{ns, name} {
		if strings.IndexByte(p, 0) >= 0 {
			return spelling{}, false
		}
		b.WriteString(p)
		b.WriteByte(0)
	}
	for _, t := range tags {
		if strings.IndexByte(t, 0) >= 0 {
			return spelling{}, false
		}
		b.WriteString(t)
		b.WriteByte(0)
	}
	return spelling{key: b.String(), ntags: len(tags)}, true
}

// parts returns the spelling's namespace and name and fills tags (len ntags) with its tags, all
// substrings of its key.
func (sp *spelling) parts(tags []string) (ns, name string) {
	k := sp.key
	next := func() string {
		i := strings.IndexByte(k, 0)
		p := k[:i]
		if i == 0 {
			p = "" // not k[:0], whose pointer would keep the whole key alive
		}
		k = k[i+1:]
		return p
	}
	ns, name = next(), next()
	for i := range tags {
		tags[i] = next()
	}
	return ns, name
}

// matches reports whether ns, name and tags are this spelling. Exact though parts are compared
// piece by piece: with as many parts on each side, each ended by a NUL, a part on the caller's
// side that held a NUL would leave a part unmatched.
func (sp *spelling) matches(ns, name string, tags []string) bool {
	if sp.ntags != len(tags) {
		return false
	}
	k, ok := cutPart(sp.key, ns)
	if ok {
		k, ok = cutPart(k, name)
	}
	for i := 0; ok && i < len(tags); i++ {
		k, ok = cutPart(k, tags[i])
	}
	return ok && len(k) == 0
}

// cutPart returns what follows p and its NUL at the start of k, if they are there.
func cutPart(k, p string) (string, bool) {
	if len(k) <= len(p) || k[len(p)] != 0 || k[:len(p)] != p {
		return k, false
	}
	return k[len(p)+1:], true
}

// bytes returns the bytes of strings the entry keeps of its own (admit's accounting).
func (e *entry) bytes() int64 {
	if a := e.alias(); a != nil {
		return int64(len(a.key))
	}
	return 0
}

// matches reports whether the entry stands for this spelling.
func (e *entry) matches(ns string, kind Kind, name string, tags []string) bool {
	if e.s.kind != kind {
		return false
	}
	if a := e.alias(); a != nil {
		return a.matches(ns, name, tags)
	}
	return e.s.spelled(ns, name, tags)
}

// sameKey reports whether e and o stand for the same spelling (insert's slow path).
func (e *entry) sameKey(o *entry) bool {
	if e.s.kind != o.s.kind {
		return false
	}
	a, b := e.alias(), o.alias()
	switch {
	case a != nil && b != nil:
		return a.ntags == b.ntags && a.key == b.key
	case a != nil:
		return a.matches(o.s.Namespace(), o.s.Name(), o.s.Tags())
	case b != nil:
		return b.matches(e.s.Namespace(), e.s.Name(), e.s.Tags())
	}
	s, c := e.s, o.s // both canonical spellings
	return s.Namespace() == c.Namespace() && s.Name() == c.Name() && s.ntags == c.ntags && s.tags == c.tags
}

// spelled reports whether ns, name and tags are the series' canonical key as it is.
func (s *Series) spelled(ns, name string, tags []string) bool {
	return s.name.str() == name && s.ns.str() == ns && equalJoined(s.tags, int(s.ntags), tags)
}

// equalJoined reports whether tags are the n tags joined (by ',') in joined. Exact because no
// canonical tag holds a ',': with as many tags on each side, joined has only its n-1 separators,
// so tags matching piece by piece hold none either.
func equalJoined(joined string, n int, tags []string) bool {
	if len(tags) != n {
		return false
	}
	for i, t := range tags {
		if len(joined) < len(t) || joined[:len(t)] != t {
			return false
		}
		joined = joined[len(t):]
		if i < n-1 {
			if len(joined) == 0 || joined[0] != ',' {
				return false
			}
			joined = joined[1:]
		}
	}
	return len(joined) == 0
}

// joinTags returns tags joined by ',' in a string of their own: one tag is copied, since it may
// be a part of a caller's whole spelling (see spell), which the series would keep alive.
func joinTags(tags []string) string {
	if len(tags) == 1 {
		return strings.Clone(tags[0])
	}
	return strings.Join(tags, ",")
}

// MaxTags is the most canonical tags a series may have.
const MaxTags = math.MaxUint16

// errTagComma and errTooManyTags reject a Spec whose tags could not be joined unambiguously.
var (
	errTagComma    = errors.New("shard: a canonical tag holds a ','")
	errTooManyTags = errors.New("shard: more than MaxTags canonical tags")
)

// checkTags checks a Spec's tags against the rules that let the registry keep them joined.
func checkTags(tags []string) error {
	if len(tags) > MaxTags {
		return errTooManyTags
	}
	for _, t := range tags {
		if strings.IndexByte(t, ',') >= 0 {
			return errTagComma
		}
	}
	return nil
}

// nameRef is one interned metric name or namespace and the live series that use it.
type nameRef struct {
	s string
	n int
}

// str returns the interned string, "" for nil.
func (n *nameRef) str() string {
	if n == nil {
		return ""
	}
	return n.s
}

// internLocked returns the registry's copy of a series name or namespace (nil for ""), so that
// the series of one metric, or of one namespace (a container's), share it: most of a registry's
// series differ in their tags. A string seen for the first time is copied, since the caller's may
// be part of a larger one (a spelling's key, see spell) that the copy would otherwise keep alive.
func (r *Registry) internLocked(name string) *nameRef { return r.refLocked(name, true) }

// refLocked takes a reference to an interned string, interning name (a copy of it if clone) when
// none is left.
func (r *Registry) refLocked(name string, clone bool) *nameRef {
	if name == "" {
		return nil
	}
	ref := r.names[name]
	if ref == nil {
		if clone {
			name = strings.Clone(name)
		}
		ref = &nameRef{s: name}
		r.names[name] = ref
	}
	ref.n++
	return ref
}

// releaseNameLocked gives back a removed series' use of its name or namespace.
func (r *Registry) releaseNameLocked(name string) {
	if ref := r.names[name]; ref != nil {
		if ref.n--; ref.n <= 0 {
			delete(r.names, name)
		}
	}
}

// findLocked returns the live series whose canonical key (hashed to key) is ns, kind, name and
// tags, or nil. The lookup tables are the canonical index: a live series' own entry is in them
// from its creation (addLocked) to its removal, both under r.mu, which the caller holds.
func (r *Registry) findLocked(key uint64, ns string, kind Kind, name string, tags []string) *Series {
	t := r.shards[key&r.shardMask].t.Load()
	for i := (key >> 32) & t.mask; ; i = (i + 1) & t.mask {
		e := t.slots[i].Load()
		if e == nil {
			return nil
		}
		if s := e.s; e.hash == key && e == &s.self && !s.removed && s.kind == kind && s.spelled(ns, name, tags) {
			return s
		}
	}
}

// addLocked puts a new or revived series' own entry in the lookup tables, which makes it the
// series findLocked finds for its canonical key. It is not bounded by MaxAliases: every live
// series has it.
func (r *Registry) addLocked(s *Series) {
	s.aliases.Add(1)
	r.insert(s.self.hash, &s.self)
}

const (
	prime1 = 0x9E3779B185EBCA87
	prime2 = 0xC2B2AE3D27D4EB4F
)

// HashKey hashes a key as spelled, for LookupHashed and Warm: xxhash of the name and of each tag,
// chained so that order and boundaries matter ("a","bc" differs from "ab","c"). Spellings that
// differ only in tag order get different entries that point at the same canonical series.
func HashKey(ns string, kind Kind, name string, tags []string) uint64 {
	h := xxhash.Sum64String(name) ^ uint64(kind)
	for _, t := range tags {
		h = bits.RotateLeft64(h*prime2, 31) ^ xxhash.Sum64String(t)
	}
	if ns != "" {
		h = bits.RotateLeft64(h*prime1, 27) ^ xxhash.Sum64String(ns)
	}
	// Final avalanche so both the shard bits (low) and the slot bits (high) are well mixed.
	h ^= h >> 33
	h *= prime2
	h ^= h >> 29
	return h
}

// Range calls fn for every live series, in creation order, until fn returns false. It sees the
// series live when it started; series created meanwhile may or may not be visited.
func (r *Registry) Range(fn func(s *Series) bool) {
	r.mu.Lock()
	list := r.all
	r.mu.Unlock()
	for _, s := range list {
		if !fn(s) {
			return
		}
	}
}
