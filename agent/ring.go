package agent

import (
	"sync/atomic"

	"golang.org/x/sys/cpu"

	"github.com/statshard/statshard/shard"
	"github.com/statshard/statshard/wire/pb"
)

// event is one recorded value on its way to the TCP stream.
type event struct {
	s  *shard.Series
	op pb.Op
	// frac marks an IncrementCounter whose bits are a float64 that may be fractional (an intake
	// line like "0.5|c" or "1|c|@0.3"): the drain carries the fraction and sends whole increments.
	frac bool
	bits uint64 // the value: a uint64 for counter ops (unless frac), float64 bits otherwise
	now  uint64 // gauge adds: float64 bits of the gauge's value right after the add
	ts   int64  // unix nanoseconds, from the stream's coarse clock
}

// ring is a bounded lock-free multi-producer, single-consumer queue of events (Vyukov's bounded
// queue). A producer claims a slot with one CAS on tail; when the ring is full push fails at once,
// so recording never blocks: the newest event is the one dropped, and the caller counts it.
// The zero value is not usable; see newRing.
type ring struct {
	slots []ringSlot
	mask  uint64
	_     cpu.CacheLinePad
	tail  atomic.Uint64 // next position to claim, shared by producers
	_     cpu.CacheLinePad
	head  uint64 // next position to read; the consumer's alone
}

type ringSlot struct {
	// seq == pos: free for the producer of pos; seq == pos+1: holds the event of pos.
	seq atomic.Uint64
	ev  event
}

func newRing(size int) *ring {
	n := 1
	for n < size {
		n <<= 1
	}
	r := &ring{slots: make([]ringSlot, n), mask: uint64(n - 1)}
	for i := range r.slots {
		r.slots[i].seq.Store(uint64(i))
	}
	return r
}

// push adds e at position pos, or reports false when the ring is full.
func (r *ring) push(e event) (pos uint64, ok bool) {
	pos = r.tail.Load()
	for {
		s := &r.slots[pos&r.mask]
		seq := s.seq.Load()
		switch d := int64(seq - pos); {
		case d == 0:
			if r.tail.CompareAndSwap(pos, pos+1) {
				s.ev = e
				s.seq.Store(pos + 1) // publishes ev to the consumer
				return pos, true
			}
			pos = r.tail.Load()
		case d < 0:
			return pos, false // the slot still holds an event from one lap ago: full
		default:
			pos = r.tail.Load() // another producer claimed pos; catch up
		}
	}
}

// pop removes the oldest event. Only the consumer calls it.
func (r *ring) pop() (event, bool) {
	s := &r.slots[r.head&r.mask]
	if s.seq.Load() != r.head+1 {
		return event{}, false
	}
	e := s.ev
	s.ev = event{}                   // drop the series reference
	s.seq.Store(r.head + r.mask + 1) // free for the producer one lap later
	r.head++
	return e, true
}
