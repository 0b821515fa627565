package shard

import (
	"strings"
	"sync"
)

// DefaultMaxSetSize is the number of distinct values a Set keeps per interval when
// Config.MaxSetSize is zero.
const DefaultMaxSetSize = 1024

// Set collects the distinct string values recorded in one interval, up to a bound. The zero value is
// ready to use and keeps DefaultMaxSetSize values; values beyond the bound are dropped and counted.
// It is guarded by a small mutex: sets are rare on hot paths and need a map anyway.
type Set struct {
	mu      sync.Mutex
	max     int
	vals    map[string]struct{}
	dropped uint64
}

func (s *Set) limit() int {
	if s.max > 0 {
		return s.max
	}
	return DefaultMaxSetSize
}

// Add records v. A value already present costs a map lookup and no allocation; a new value is copied.
func (s *Set) Add(v string) {
	s.mu.Lock()
	if _, ok := s.vals[v]; !ok {
		if s.vals == nil {
			s.vals = make(map[string]struct{})
		}
		if len(s.vals) < s.limit() {
			// Clone: v may alias a reused receive buffer, and the map keeps it past the call.
			s.vals[strings.Clone(v)] = struct{}{}
		} else {
			s.dropped++
		}
	}
	s.mu.Unlock()
}

// Swap appends the distinct values recorded since the last Swap to dst (in no particular order),
// returns them with the number of values dropped for the bound, and resets the set. The map is
// cleared and reused, so a steady set allocates only for values it has not seen in this interval.
func (s *Set) Swap(dst []string) (vals []string, dropped uint64) {
	s.mu.Lock()
	for v := range s.vals {
		dst = append(dst, v)
	}
	clear(s.vals)
	dropped, s.dropped = s.dropped, 0
	s.mu.Unlock()
	return dst, dropped
}
