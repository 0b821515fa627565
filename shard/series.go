package shard

import (
	"strings"
	"sync/atomic"
	"unsafe"
)

// Kind is the kind of a series: what it records and how it is exported.
type Kind uint8

// The kinds of series.
const (
	KindCounter Kind = iota + 1
	KindGauge
	KindHistogram
	KindDistribution
	KindSet
	// KindTiming records durations in milliseconds, with the cells of a histogram; a kind of its
	// own so that a timing and a histogram of one name never share a series (or a unit).
	KindTiming
)

var kindNames = [...]string{"", "counter", "gauge", "histogram", "distribution", "set", "timing"}

// String returns "counter", "gauge", "histogram", "distribution", "set" or "timing".
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "unknown"
}

// Series is one metric series: its canonical identity and its value cells. Series are created by a
// Registry (in memory of its owner's, with Config.NewSeries); a Series not made by a Registry is
// not usable. Name, Tags and Kind never change after creation.
//
// Which cells a series has depends on its kind and the Spec the registry's owner returned: a
// counter has Counter, a gauge Gauge, a set Set, and histograms, distributions and timings
// whichever of Histogram, Buckets and Reservoir the Spec asked for. A series has one kind, so the
// cells share memory: a gauge lives in its counter's first words, and the cells of the other kinds
// hang from one pointer. (A field for each cost a counter series 48 bytes it never used.) Only
// the cells of the series' kind may be used: a gauge series' Counter is its Gauge.
type Series struct {
	Counter Counter
	// dead shares the counter's cache line: a by-name count reads it (Dead) and adds to the
	// counter, one line for both.
	dead atomic.Uint32
	// Lookup entries made for the series' spellings (see Registry.admit).
	aliases atomic.Int32
	cells   unsafe.Pointer // what cellKind says, for sets and histogram kinds; nil otherwise

	cellKind   cellKind
	kind       Kind
	overflow   bool
	removed    bool         // owned by the registry's mutex
	ntags      uint16       // how many tags are joined in tags
	idle       int32        // owned by the flusher
	aliasBytes atomic.Int32 // bytes of the spellings the entries keep (see Registry.admit)

	// self is the lookup entry of the canonical spelling, kept in the series so that a lookup
	// finds the entry, the strings it compares and the series in one object.
	self entry
	// The namespace and the name, interned: the registry's one copy of each, shared by its series,
	// held by a pointer (half a string's header); ns is nil for "".
	ns   *nameRef
	name *nameRef
	tags string // the canonical tags joined by ',' (no canonical tag holds one; see Spec.Tags)
}

// cellKind says what Series.cells points to.
type cellKind uint8

const (
	cellsNone      cellKind = iota
	cellsSet                // *Set
	cellsHistogram          // *Histogram
	cellsBuckets            // *Buckets
	cellsReservoir          // *Reservoir
	cellsMany               // *manyCells: more than one of the three
)

// manyCells are the cells of a histogram series whose Spec asked for more than one kind.
type manyCells struct {
	h *Histogram
	b *Buckets
	r *Reservoir
}

// A gauge lives in its counter's first words, which hold no pointers (see Series); this fails to
// compile if a Gauge would reach the counter's stripes pointer.
var _ [unsafe.Offsetof(Counter{}.striped) - unsafe.Sizeof(Gauge{})]struct{}

// Gauge returns the gauge of a gauge series, in the memory of its Counter.
func (s *Series) Gauge() *Gauge { return (*Gauge)(unsafe.Pointer(&s.Counter)) }

// Set returns the set of a set series, nil for other kinds.
func (s *Series) Set() *Set {
	if s.cellKind == cellsSet {
		return (*Set)(s.cells)
	}
	return nil
}

// Histogram returns the sketch of a histogram, distribution or timing series whose Spec asked for
// one, nil otherwise.
func (s *Series) Histogram() *Histogram {
	switch s.cellKind {
	case cellsHistogram:
		return (*Histogram)(s.cells)
	case cellsMany:
		return (*manyCells)(s.cells).h
	}
	return nil
}

// Buckets returns the exact buckets of a series whose Spec gave bounds, nil otherwise.
func (s *Series) Buckets() *Buckets {
	switch s.cellKind {
	case cellsBuckets:
		return (*Buckets)(s.cells)
	case cellsMany:
		return (*manyCells)(s.cells).b
	}
	return nil
}

// Reservoir returns the reservoir of a series whose Spec asked for one, nil otherwise.
func (s *Series) Reservoir() *Reservoir {
	switch s.cellKind {
	case cellsReservoir:
		return (*Reservoir)(s.cells)
	case cellsMany:
		return (*manyCells)(s.cells).r
	}
	return nil
}

// setCells sets a histogram kind's cells, any of which may be nil.
func (s *Series) setCells(h *Histogram, b *Buckets, r *Reservoir) {
	switch {
	case b == nil && r == nil:
		s.cells, s.cellKind = unsafe.Pointer(h), cellsHistogram
	case h == nil && r == nil:
		s.cells, s.cellKind = unsafe.Pointer(b), cellsBuckets
	case h == nil && b == nil:
		s.cells, s.cellKind = unsafe.Pointer(r), cellsReservoir
	default:
		s.cells, s.cellKind = unsafe.Pointer(&manyCells{h, b, r}), cellsMany
	}
}

// Namespace returns the namespace the series was looked up in (LookupIn), "" for Lookup.
func (s *Series) Namespace() string { return s.ns.str() }

// Kind returns the series' kind.
func (s *Series) Kind() Kind { return s.kind }

// Name returns the canonical metric name.
func (s *Series) Name() string { return s.name.str() }

// Tags returns the canonical tags, sorted, in a new slice. JoinedTags has them without allocating.
func (s *Series) Tags() []string {
	if s.ntags == 0 {
		return nil
	}
	return strings.SplitN(s.tags, ",", int(s.ntags))
}

// JoinedTags returns the canonical tags, sorted and joined by ',' as DogStatsD sends them: one
// string, kept in the series in place of a slice of them ("" without tags).
func (s *Series) JoinedTags() string { return s.tags }

// Overflow reports whether this is the overflow series of its name, which collects the values of
// keys that arrived after the registry reached Config.MaxSeries.
func (s *Series) Overflow() bool { return s.overflow }

// Dead reports whether the series was expired. A recorder that finds it dead after recording calls
// Registry.Revive, so the value it just recorded is flushed: checking after recording (not before)
// closes the race with expiry, since Flush marks the series dead before its last look at the cells.
func (s *Series) Dead() bool { return s.dead.Load() != 0 }
