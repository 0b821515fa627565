package shard

import "unsafe"

// Test hooks: ways into the cells' internals that only tests take.

// stripeNow makes c striped as if goroutines had taken turns on it stripeAfterSwitches times, for
// tests.
func (c *Counter) stripeNow() {
	for c.striped.Load() == nil {
		c.contend()
	}
}

// stripeNow makes h striped as if it had met stripeAfter contended updates, for tests.
func (h *Histogram) stripeNow() {
	for h.striped.Load() == nil {
		h.contend(casFailWeight)
	}
}

// memBytes reports the heap h holds, by the same accounting as histMaxBytes.
func (h *Histogram) memBytes() int {
	n := h.ownBytes()
	if st := h.striped.Load(); st != nil {
		n += histStripesBytes + len(st.subs)*int(unsafe.Sizeof(histStripe{}))
		for i := range st.subs {
			n += st.subs[i].h.ownBytes() - histStructBytes
		}
	}
	return n
}

// ownBytes is memBytes without the stripes.
func (h *Histogram) ownBytes() int {
	n := histStructBytes
	for i := range h.sides {
		sd := h.sides[i].Load()
		if sd == nil {
			continue
		}
		n += histSideBytes
		for o := range sd.chunks {
			if sd.chunks[o].Load() != nil {
				n += histChunkBytes
			}
		}
	}
	return n
}

// stripeNow makes r striped as if it had met stripeAfter contended Observes, for tests.
func (r *Reservoir) stripeNow() {
	for r.striped.Load() == nil {
		r.contend()
	}
}
