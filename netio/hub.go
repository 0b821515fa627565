package netio

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/cpu"
)

// Defaults for HubConfig's zero fields.
const (
	DefaultHubAddr         = "127.0.0.1:5000"
	DefaultHubMaxClients   = 64
	DefaultHubQueue        = 1024
	DefaultHubWriteTimeout = 5 * time.Second
	DefaultHubCloseTimeout = 2 * time.Second
)

const (
	hubMinBackoff = 5 * time.Millisecond
	hubMaxBackoff = time.Second
)

// HubConfig configures a Hub. Its zero value is usable: zero fields mean the documented defaults.
type HubConfig struct {
	// Addr is the TCP address to listen on. Empty means "127.0.0.1:5000": loopback, because a
	// metrics stream is not for the whole network unless the user says so.
	Addr string
	// MaxClients is how many clients may be connected at once; further connections are accepted
	// and closed at once, counted in HubStats.Rejected, unless one evicts an idle client (see
	// EvictAfter). Zero means DefaultHubMaxClients.
	MaxClients int
	// ClientQueue is how many frames may wait for each client's writer; beyond it the oldest are
	// dropped (HubStats.DroppedSlow). The writer also holds the frames of the write in progress.
	// Zero means DefaultHubQueue. Negative means no limit: DANGER, a client that stops reading then pins
	// every frame broadcast until its write misses WriteTimeout, which may be a lot of memory.
	ClientQueue int
	// WriteTimeout is the deadline for every write to a client; a client whose write misses it
	// is disconnected (HubStats.TimedOut). Zero means DefaultHubWriteTimeout.
	WriteTimeout time.Duration
	// CloseTimeout is how long Close lets clients drain their queues before disconnecting them.
	// Zero means DefaultHubCloseTimeout.
	CloseTimeout time.Duration
	// EvictAfter lets a new connection in when MaxClients are connected: the client that has gone
	// longest without a completed write is disconnected to make room (HubStats.Evicted), if that
	// is longer than EvictAfter; otherwise the new connection is rejected. Without it, clients
	// that never read would hold every slot forever when nothing is broadcast, since no write
	// means no write deadline. A healthy client idle for lack of traffic is evicted the same way,
	// but only ever to admit another. Zero means WriteTimeout; negative never evicts.
	EvictAfter time.Duration
	// Greeting, if set, supplies frames every new client receives before any broadcast frame
	// (e.g. metadata), in the layout Broadcast takes; they do not count against ClientQueue.
	// It is called on the client's writer goroutine after the client is registered for
	// broadcasts, so an event broadcast meanwhile reaches the client in the greeting, after it,
	// or both, never neither. The hub only reads the slices, until the write ends: returning
	// the same immutable slices to every client is fine.
	Greeting func() (frames []byte, ends []int)
	// GreetingDone, if set, is called on the client's writer goroutine after every Greeting call,
	// with the slices it returned, once the hub no longer reads them: the greeting was written,
	// or the client went away. A caller sharing one encoding among clients learns from it when
	// the encoding is free, to bound the memory that greetings hold.
	GreetingDone func(frames []byte, ends []int)
	// Listener, if set, is used instead of listening on Addr; the hub owns it and closes it. Its
	// connections must support write deadlines: a client whose deadline cannot be set is
	// disconnected rather than risk a writer stuck forever.
	Listener net.Listener
}

func (c HubConfig) withDefaults() (HubConfig, error) {
	switch {
	case c.MaxClients < 0:
		return c, fmt.Errorf("netio: HubConfig.MaxClients %d is negative", c.MaxClients)
	case c.WriteTimeout < 0:
		return c, fmt.Errorf("netio: HubConfig.WriteTimeout %v is negative", c.WriteTimeout)
	case c.CloseTimeout < 0:
		return c, fmt.Errorf("netio: HubConfig.CloseTimeout %v is negative", c.CloseTimeout)
	}
	if c.Addr == "" {
		c.Addr = DefaultHubAddr
	}
	if c.MaxClients == 0 {
		c.MaxClients = DefaultHubMaxClients
	}
	if c.ClientQueue == 0 {
		c.ClientQueue = DefaultHubQueue
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultHubWriteTimeout
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = DefaultHubCloseTimeout
	}
	if c.EvictAfter == 0 {
		c.EvictAfter = c.WriteTimeout
	}
	return c, nil
}

// Hub streams frames to every connected TCP client: it fans out batches of pre-encoded frames,
// written once by the caller, without copying them, one vectored write per client wake-up. A
// client that reads too slowly loses its oldest frames and, past WriteTimeout, its connection;
// it never slows Broadcast or the other clients. The stream is one-way: what clients send is
// discarded.
//
// Create a Hub with ListenHub; the zero value is not usable. Close stops it and waits for all its
// goroutines (one accept loop, and a writer and a reader per client). All methods are safe for
// concurrent use.
type Hub struct {
	// clients is loaded by Active on every event the caller records; it sits alone on its cache
	// line so the counters writers update on every wake-up do not evict it from their caches.
	_       cpu.CacheLinePad
	clients atomic.Int64
	_       cpu.CacheLinePad

	cfg  HubConfig
	ln   net.Listener
	list atomic.Pointer[[]*hubClient] // copy-on-write, so Broadcast takes no hub-wide lock
	mu   sync.Mutex                   // serializes changes to list

	closed     atomic.Bool
	quit       chan struct{} // closed by Close: cuts the accept backoff short
	acceptDone chan struct{}
	wg         sync.WaitGroup // client goroutines
	closeOnce  sync.Once
	closeErr   error

	hubCounters
}

// ListenHub starts a Hub listening on cfg.Addr, or serving cfg.Listener.
func ListenHub(cfg HubConfig) (*Hub, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ln := cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			// The *net.OpError already reads "listen tcp <addr>: ...".
			return nil, fmt.Errorf("netio: %w", err)
		}
	}
	h := &Hub{
		cfg:        cfg,
		ln:         ln,
		quit:       make(chan struct{}),
		acceptDone: make(chan struct{}),
	}
	h.list.Store(new([]*hubClient))
	go h.acceptLoop()
	return h, nil
}

// Addr returns the address the hub listens on.
func (h *Hub) Addr() net.Addr { return h.ln.Addr() }

// Active reports whether at least one client is connected, with one atomic load: callers may
// check it on every event and skip encoding when nobody listens.
func (h *Hub) Active() bool { return h.clients.Load() > 0 }

// Broadcast queues a batch of whole frames for every connected client and returns at once; it
// never waits for a client. ends[i] is the end offset of frame i in frames, so frame i is
// frames[ends[i-1]:ends[i]] (frame 0 starts at 0); bytes after the last end are ignored. Broadcast
// panics if ends decrease or exceed len(frames).
//
// The hub takes ownership of both slices: clients write straight from them, possibly long after
// Broadcast returns, so the caller must not modify them again (the GC frees them once the last
// client is done). Batches that sit next to each other in one backing array are written as one
// range.
//
// Broadcast is safe for concurrent use, but batches broadcast concurrently may reach different
// clients in different orders: call it from one goroutine to keep one order. After Close it does
// nothing and counts nothing, as with no client connected.
func (h *Hub) Broadcast(frames []byte, ends []int) {
	hubCheckBatch("netio: Broadcast", frames, ends)
	if len(ends) == 0 || h.closed.Load() {
		return
	}
	limit := h.cfg.ClientQueue
	dropped := 0
	for _, c := range *h.list.Load() {
		dropped += c.enqueue(frames, ends, limit)
	}
	if dropped > 0 {
		h.droppedSlow.Add(uint64(dropped))
	}
}

// hubCheckBatch panics on a malformed batch. Broadcast checks on the caller's goroutine, once
// per batch, rather than letting a client's writer fail later where the culprit would be lost.
func hubCheckBatch(who string, frames []byte, ends []int) {
	prev := 0
	for _, e := range ends {
		if e < prev {
			panic(who + ": ends decrease")
		}
		prev = e
	}
	if prev > len(frames) {
		panic(who + ": ends exceed len(frames)")
	}
}

// Stats returns a snapshot of the hub's counters.
func (h *Hub) Stats() HubStats { return h.snapshot(h.clients.Load()) }

// Close stops accepting connections, lets every client drain its queue for up to CloseTimeout,
// disconnects them all and waits for the hub's goroutines. Frames broadcast before Close reach
// every client that keeps reading; a client that does not read holds Close for CloseTimeout at
// most, and its queue counts in DroppedGone. Each client is closed right after its last frame; one
// that sent bytes the hub had not read yet may see a reset instead, as the kernel resets
// connections closed with unread input. Close returns the listener's close error, if any;
// calling it again returns the same error.
func (h *Hub) Close() error {
	h.closeOnce.Do(func() {
		h.closed.Store(true)
		close(h.quit)
		if err := h.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			h.closeErr = fmt.Errorf("netio: close hub listener: %w", err)
		}
		<-h.acceptDone // no client is added after this
		list := *h.list.Load()
		for _, c := range list {
			c.signal() // a writer idle on an empty queue sees closed and leaves
		}
		deadline := time.NewTimer(h.cfg.CloseTimeout)
	drain:
		for _, c := range list {
			select {
			case <-c.done:
			case <-deadline.C:
				break drain
			}
		}
		deadline.Stop()
		for _, c := range list {
			c.shutdown(hubLeft) // unblocks writers still stuck in a write
		}
		h.wg.Wait()
	})
	return h.closeErr
}

// acceptLoop serves connections until Close. It survives accept errors such as EMFILE, ENFILE
// or ECONNABORTED, backing off so that a process out of file descriptors does not spin.
func (h *Hub) acceptLoop() {
	defer close(h.acceptDone)
	var backoff time.Duration
	for {
		conn, err := h.ln.Accept()
		if err != nil {
			select {
			case <-h.quit:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return // closed by its owner, not by Close: nothing more will come
			}
			h.acceptErrors.Add(1)
			backoff = hubNextBackoff(backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-h.quit:
				t.Stop()
				return
			}
			continue
		}
		backoff = 0
		h.serve(conn)
	}
}

// hubNextBackoff returns the pause after an accept error that followed a pause of d (zero after a
// success): 5ms, doubling up to 1s.
func hubNextBackoff(d time.Duration) time.Duration {
	if d < hubMinBackoff {
		return hubMinBackoff
	}
	return min(2*d, hubMaxBackoff)
}

func (h *Hub) serve(conn net.Conn) {
	// Only the accept loop adds clients, so the count cannot grow between check and add.
	if h.clients.Load() >= int64(h.cfg.MaxClients) && !h.evictIdle() {
		// Count before closing: a client that sees the close may read the stats at once.
		h.rejected.Add(1)
		conn.Close()
		return
	}
	// Go enables TCP_NODELAY by default; set it anyway because the hub relies on it. Frames are
	// already coalesced into one write per wake-up, so Nagle's algorithm would add nothing but
	// holding back the tail of a burst until the peer's (possibly delayed) ACK. An error only
	// costs latency, so it is ignored.
	if nd, ok := conn.(interface{ SetNoDelay(bool) error }); ok {
		_ = nd.SetNoDelay(true)
	}
	c := newHubClient(h, conn)
	h.add(c)
	h.accepted.Add(1)
	h.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
}

// evictIdle makes room for a new connection: it disconnects the client that has gone longest
// without a completed write, if that is longer than EvictAfter, and reports whether a slot is free.
func (h *Hub) evictIdle() bool {
	if h.cfg.EvictAfter < 0 {
		return false
	}
	var victim *hubClient
	oldest := time.Now().Add(-h.cfg.EvictAfter).UnixNano()
	for _, c := range *h.list.Load() {
		if w := c.lastWrite.Load(); w < oldest {
			victim, oldest = c, w
		}
	}
	if victim == nil {
		return false
	}
	// shutdown removes the client before it returns, unless it was already going away on its own:
	// then the slot may not be free yet, and the new connection is rejected as before.
	victim.shutdown(hubEvicted)
	return h.clients.Load() < int64(h.cfg.MaxClients)
}

func (h *Hub) add(c *hubClient) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := *h.list.Load()
	list := make([]*hubClient, len(old), len(old)+1)
	copy(list, old)
	list = append(list, c)
	h.list.Store(&list)
	h.clients.Add(1)
}

func (h *Hub) remove(c *hubClient) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := *h.list.Load()
	for i, x := range old {
		if x == c {
			list := make([]*hubClient, 0, len(old)-1)
			list = append(append(list, old[:i]...), old[i+1:]...)
			h.list.Store(&list)
			h.clients.Add(-1)
			return
		}
	}
}
