package netio

import "sort"

// hubEntry is one queued batch: frames[start():end()] holds its frames lo..len(ends)-1 back to
// back. The slices belong to the caller of Broadcast and are shared by every client; an entry
// only ever reads them.
type hubEntry struct {
	frames []byte
	ends   []int
	lo     int // first frame not yet delivered or dropped
}

func (e *hubEntry) start() int {
	if e.lo == 0 {
		return 0
	}
	return e.ends[e.lo-1]
}

func (e *hubEntry) end() int { return e.ends[len(e.ends)-1] }

func (e *hubEntry) count() int { return len(e.ends) - e.lo }

// bytes returns the contiguous range that holds the entry's remaining frames.
func (e *hubEntry) bytes() []byte { return e.frames[e.start():e.end()] }

// whole returns how many of the entry's frames fit entirely in its first n bytes, and their size.
func (e *hubEntry) whole(n int) (frames, size int) {
	s := e.start()
	live := e.ends[e.lo:]
	k := sort.SearchInts(live, s+n+1) // frames whose end is <= s+n
	if k == 0 {
		return 0, 0
	}
	return k, live[k-1] - s
}

// hubRing is a FIFO of entries in a power-of-two ring, so dropping the oldest entry from a full
// queue is O(1) rather than a copy of the whole queue. Its zero value is an empty ring.
type hubRing struct {
	buf     []hubEntry
	head, n int
}

func (r *hubRing) at(i int) *hubEntry { return &r.buf[(r.head+i)&(len(r.buf)-1)] }

func (r *hubRing) push(e hubEntry) {
	if r.n == len(r.buf) {
		r.grow()
	}
	*r.at(r.n) = e
	r.n++
}

// grow doubles the ring. It allocates only until the ring reaches the size the queue limit allows
// (or the peak backlog for an unlimited queue), and the two rings of a client are swapped rather
// than freed, so a client in steady state allocates nothing.
func (r *hubRing) grow() {
	size := 2 * len(r.buf)
	if size == 0 {
		size = 8
	}
	buf := make([]hubEntry, size)
	for i := 0; i < r.n; i++ {
		buf[i] = *r.at(i)
	}
	r.buf, r.head = buf, 0
}

// dropFront removes the oldest entry, clearing it so the ring does not pin its batch.
func (r *hubRing) dropFront() {
	*r.at(0) = hubEntry{}
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
}

// reset empties the ring, clearing entries so it does not pin batches the GC could free.
func (r *hubRing) reset() {
	for i := 0; i < r.n; i++ {
		*r.at(i) = hubEntry{}
	}
	r.head, r.n = 0, 0
}

// frames counts the frames queued in the ring.
func (r *hubRing) frames() int {
	total := 0
	for i := 0; i < r.n; i++ {
		total += r.at(i).count()
	}
	return total
}
