package shard

import (
	"strings"
	"sync/atomic"
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
// Registry; the zero value is not usable. Name, Tags, Kind and Ext never change after creation.
//
// Which cells are set depends on the kind and the Spec the registry's owner returned: a counter uses
// Counter, a gauge Gauge, a set Set, and histograms and distributions use whichever of Histogram,
// Buckets and Reservoir the Spec asked for.
type Series struct {
	Counter Counter
	// dead shares the counter's cache line: a by-name count reads it (Dead) and adds to the
	// counter, one line for both.
	dead atomic.Uint32
	// Lookup entries made for the series' spellings (see Registry.admit).
	aliases   atomic.Int32
	Gauge     Gauge
	Histogram *Histogram
	Buckets   *Buckets
	Reservoir *Reservoir
	Set       *Set

	// self is the lookup entry of the canonical spelling, kept in the series so that a lookup
	// finds the entry, the strings it compares and the series in one object.
	self entry
	ns   string
	name string
	tags string // the canonical tags joined by ',' (no canonical tag holds one; see Spec.Tags)
	ext  any
	next *Series // owned by the registry's mutex: the next series whose canonical key has the same hash

	aliasBytes atomic.Int32 // bytes of the spellings the entries keep (see Registry.admit)
	idle       int32        // owned by the flusher
	ntags      uint16       // how many tags are joined in tags
	kind       Kind
	overflow   bool
	removed    bool // owned by the registry's mutex
}

// Namespace returns the namespace the series was looked up in (LookupIn), "" for Lookup.
func (s *Series) Namespace() string { return s.ns }

// Kind returns the series' kind.
func (s *Series) Kind() Kind { return s.kind }

// Name returns the canonical metric name.
func (s *Series) Name() string { return s.name }

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

// Ext returns the owner's data attached by Spec.Ext at creation (e.g. pre-encoded tags).
func (s *Series) Ext() any { return s.ext }

// Overflow reports whether this is the overflow series of its name, which collects the values of
// keys that arrived after the registry reached Config.MaxSeries.
func (s *Series) Overflow() bool { return s.overflow }

// Dead reports whether the series was expired. A recorder that finds it dead after recording calls
// Registry.Revive, so the value it just recorded is flushed: checking after recording (not before)
// closes the race with expiry, since Flush marks the series dead before its last look at the cells.
func (s *Series) Dead() bool { return s.dead.Load() != 0 }
