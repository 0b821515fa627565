package netio

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// hubJunkBuf is the read buffer of a client's reader. Clients have nothing to say, so it only
// needs to be big enough that a chatty client costs few reads.
const hubJunkBuf = 512

// hubClient is one connected client: a queue that Broadcast fills, a writer goroutine that
// empties it, and a reader goroutine that only notices the peer leaving. Create it with
// newHubClient.
type hubClient struct {
	hub  *Hub
	conn net.Conn
	wake chan struct{} // capacity 1: one pending wake-up covers any number of batches
	done chan struct{} // closed when the writer returns

	mu     sync.Mutex
	q      hubRing // batches waiting for the writer
	queued int     // frames in q
	closed bool    // set once by shutdown; Broadcast then skips the client

	// lastWrite is when the last write completed (or the client connected), in unix nanoseconds:
	// the writer stores it, the accept loop reads it to pick a client to evict.
	lastWrite atomic.Int64

	// Owned by the writer goroutine. out holds the batches of one write; it swaps with q rather
	// than copying, so take holds mu for a few words only.
	out hubRing
	vec [][]byte    // backing array of nb, kept because WriteTo consumes nb
	nb  net.Buffers // a field, not a local, so that WriteTo(&nb) does not allocate
}

func newHubClient(h *Hub, conn net.Conn) *hubClient {
	c := &hubClient{
		hub:  h,
		conn: conn,
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	c.lastWrite.Store(time.Now().UnixNano())
	return c
}

// hubReason is why a client is shut down, for the counters.
type hubReason uint8

const (
	hubLeft     hubReason = iota // the peer left, a write failed, or the hub closed
	hubTimedOut                  // a write missed WriteTimeout
	hubEvicted                   // idle past EvictAfter when a new connection needed the slot
)

// signal wakes the writer without ever blocking: if a wake-up is pending it covers this one too.
func (c *hubClient) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// enqueue queues a batch, then drops the oldest queued frames beyond limit (none if limit is
// negative), frame by frame, so an old batch may lose only its first frames. It returns how many
// frames it dropped; frames for a closed client are ignored, not dropped.
func (c *hubClient) enqueue(frames []byte, ends []int, limit int) (dropped int) {
	e := hubEntry{frames: frames, ends: ends}
	if limit >= 0 && len(ends) > limit {
		e.lo = len(ends) - limit // the batch alone overflows the queue: keep its newest frames
	}
	k := e.count()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0
	}
	dropped = e.lo
	if limit >= 0 {
		for c.queued+k > limit {
			old := c.q.at(0)
			excess := c.queued + k - limit
			n := old.count()
			if n > excess {
				old.lo += excess
				n = excess
			} else {
				c.q.dropFront()
			}
			c.queued -= n
			dropped += n
		}
	}
	if k > 0 {
		c.q.push(e)
		c.queued += k
	}
	c.mu.Unlock()
	c.signal()
	return dropped
}

// take moves everything queued into c.out, which must be empty, and reports whether the client
// is still open.
func (c *hubClient) take() (open bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.q, c.out = c.out, c.q
	c.queued = 0
	return true
}

// writeLoop sends the greeting, then on each wake-up everything queued, until the client goes
// away or the hub closes and the queue is empty.
func (c *hubClient) writeLoop() {
	h := c.hub
	defer h.wg.Done()
	defer close(c.done)
	if h.cfg.Greeting != nil {
		frames, ends := h.cfg.Greeting()
		hubCheckBatch("netio: HubConfig.Greeting", frames, ends)
		ok := true
		if len(ends) > 0 {
			c.out.push(hubEntry{frames: frames, ends: ends})
			ok = c.flush() // which clears c.out: the hub holds the slices no longer
		}
		if h.cfg.GreetingDone != nil {
			h.cfg.GreetingDone(frames, ends)
		}
		if !ok {
			return
		}
	}
	for {
		if !c.take() {
			return
		}
		if c.out.n == 0 {
			if h.closed.Load() {
				c.shutdown(hubLeft) // drained
				return
			}
			<-c.wake
			continue
		}
		if !c.flush() {
			return
		}
	}
}

// flush writes everything in c.out with one vectored write under a fresh deadline. On failure it
// counts what did not go out and shuts the client down, and reports false.
func (c *hubClient) flush() bool {
	h := c.hub
	vec := c.vec[:0]
	frames, size := 0, 0
	for i := 0; i < c.out.n; i++ {
		e := c.out.at(i)
		p := e.bytes()
		frames += e.count()
		size += len(p)
		switch {
		case len(p) == 0:
		case len(vec) > 0 && hubAdjacent(vec[len(vec)-1], p):
			last := vec[len(vec)-1]
			vec[len(vec)-1] = last[:len(last)+len(p)]
		default:
			vec = append(vec, p)
		}
	}
	c.vec = vec
	c.nb = vec
	err := c.conn.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
	if err == nil {
		var n int64
		n, err = c.nb.WriteTo(c.conn)
		h.writes.Add(1)
		if err == nil {
			c.lastWrite.Store(time.Now().UnixNano())
		}
		if err != nil {
			total := frames
			frames, size = c.out.delivered(int(n))
			h.droppedGone.Add(uint64(total - frames))
		}
	} else {
		h.droppedGone.Add(uint64(frames))
		frames, size = 0, 0
	}
	if frames > 0 {
		h.frames.Add(uint64(frames))
		h.bytes.Add(uint64(size))
	}
	clear(vec) // WriteTo clears what it wrote; this drops the rest after an error
	c.out.reset()
	if err != nil {
		reason := hubLeft
		if errors.Is(err, os.ErrDeadlineExceeded) {
			reason = hubTimedOut
		}
		c.shutdown(reason)
		return false
	}
	return true
}

// hubAdjacent reports whether b starts where a ends in the same backing array, so that the two can
// be written as one range.
func hubAdjacent(a, b []byte) bool {
	rest := a[len(a):cap(a)]
	return len(b) > 0 && len(b) <= len(rest) && &rest[0] == &b[0]
}

// delivered returns how many whole frames, and their bytes, the first n bytes of the ring's
// batches hold.
func (r *hubRing) delivered(n int) (frames, size int) {
	for i := 0; i < r.n; i++ {
		e := r.at(i)
		b := e.end() - e.start()
		if n < b {
			f, s := e.whole(n)
			return frames + f, size + s
		}
		frames += e.count()
		size += b
		n -= b
	}
	return frames, size
}

// readLoop discards whatever the client sends, and shuts the client down when the peer closes
// the connection or it fails.
func (c *hubClient) readLoop() {
	defer c.hub.wg.Done()
	buf := make([]byte, hubJunkBuf)
	for {
		n, err := c.conn.Read(buf)
		if n > 0 {
			c.hub.junk.Add(uint64(n))
		}
		if err != nil {
			c.shutdown(hubLeft)
			return
		}
	}
}

// shutdown disconnects the client once, whoever calls first: the reader (peer gone), the writer
// (write failed, or queue drained at Close) or Close (drain time over). Closing the connection
// unblocks the other goroutine.
func (c *hubClient) shutdown(reason hubReason) {
	h := c.hub
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	// Counted before closed is set, under mu: once a Broadcast has seen the client closed, Stats
	// already shows it disconnected and its queue dropped.
	h.droppedGone.Add(uint64(c.queued))
	h.disconnected.Add(1)
	switch reason {
	case hubTimedOut:
		h.timedOut.Add(1)
	case hubEvicted:
		h.evicted.Add(1)
	}
	c.closed = true
	c.q.reset()
	c.queued = 0
	c.mu.Unlock()
	// Removed, so no longer in Stats.Clients, before the close: a peer that sees the close may read
	// the stats at once.
	h.remove(c)
	c.conn.Close()
	c.signal()
}
