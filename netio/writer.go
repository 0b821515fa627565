package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Defaults for WriterConfig's zero fields.
const (
	DefaultResolveInterval = 30 * time.Second
	DefaultWriteTimeout    = time.Second
)

const (
	defaultBatchSize = 64
	// maxBatchSize is Linux's UIO_MAXIOV: sendmmsg silently caps vlen there.
	maxBatchSize = 1024
	// redialPacing spaces dial attempts to a missing destination, so a Writer whose unix socket
	// path is absent costs one failed dial per 100 ms at most, not one per Write.
	redialPacing = 100 * time.Millisecond
	// lookupTimeout bounds one background DNS lookup; Close cancels it sooner.
	lookupTimeout = 5 * time.Second
)

// WriterConfig configures a Writer. The zero value is ready to use: zero fields mean the
// documented defaults.
type WriterConfig struct {
	// ResolveInterval is how often a DNS name is re-resolved, on a goroutine of the Writer and
	// never on the write path. Zero means DefaultResolveInterval. Negative disables the goroutine: Write then resolves
	// the name itself until a lookup succeeds, and keeps that address. Unused for IP literals and
	// unixgram.
	ResolveInterval time.Duration
	// WriteTimeout is how long one Write may wait for room in a full socket buffer (EAGAIN)
	// before it drops whatever it has not sent. Zero means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// BatchSize is the most datagrams one sendmmsg call carries on Linux. Zero means 64; values
	// above 1024 (the kernel's UIO_MAXIOV) mean 1024. Unused elsewhere.
	BatchSize int
	// SendBuffer is the socket's SO_SNDBUF in bytes. Zero leaves the OS default.
	SendBuffer int
}

func (c WriterConfig) withDefaults() WriterConfig {
	if c.ResolveInterval == 0 {
		c.ResolveInterval = DefaultResolveInterval
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.BatchSize <= 0 {
		c.BatchSize = defaultBatchSize
	}
	c.BatchSize = min(c.BatchSize, maxBatchSize)
	return c
}

// lookupFunc is net.Resolver.LookupNetIP's shape; tests inject their own.
type lookupFunc func(ctx context.Context, network, host string) ([]netip.Addr, error)

// Writer sends datagrams to one Addr over a connected socket. The zero value is not usable;
// create one with NewWriter and release it with Close.
//
// Write is meant for one goroutine at a time (an exporter's flush); concurrent calls are
// serialized. Stats and Close are safe from any goroutine.
//
// Platforms differ only in how datagrams reach the kernel. On Linux, Write hands the kernel up
// to BatchSize datagrams per sendmmsg(2) call through the socket's syscall.RawConn, with iovecs
// pointing straight at the callers' payloads: no copy and no allocation, and Syscalls grows by
// about len(payloads)/BatchSize. Elsewhere Write makes one conn.Write per datagram, so Syscalls
// grows by len(payloads) and BatchSize is unused. Error handling, drop reasons, timeouts, DNS
// re-resolution and reconnection are the same everywhere; unixgram is unsupported on Windows.
//
// For a unixstream Addr the Writer carries each payload as one frame on a Unix stream socket: its
// length as a 4-byte little-endian integer (FrameHeader), then its bytes, frames laid out
// contiguously so that one write system call carries many of them. The counters keep their
// meaning, a frame counting as a datagram (Bytes leaves the prefixes out); a refused or broken
// connection is redialled with a backoff from 100ms to 5s, its payloads counted as NoDestination
// meanwhile.
type Writer struct {
	addr     Addr
	host     string // DNS name to resolve; empty for IP literals and unixgram
	port     uint16
	unixgram bool
	cfg      WriterConfig
	lookup   lookupFunc

	// ctx is cancelled by Close to stop the resolver goroutine and abort any lookup in flight.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the resolver goroutine returns; nil without one
	// resolverRun says the resolver goroutine exists, so Write leaves retrying lookups to it.
	resolverRun bool

	// mu is taken by Write (for the whole call) and by the resolver to swap sockets, so a Write
	// never sends on a socket the resolver just closed.
	mu        sync.Mutex
	conn      net.Conn       // nil until connected, and after the unix receiver went away
	dest      netip.AddrPort // udp: last good address; invalid until resolved
	lastDial  time.Time      // last dial attempt, for redialPacing
	lookedUp  bool           // Write made its one synchronous lookup
	closed    bool
	send      sender       // platform send state; owns no socket
	stream    *streamState // unixstream only (see writeStream); nil for datagrams
	stats     stats
	errMu     sync.Mutex
	lastErr   error // why a datagram last could not be sent or delivered (Err)
	closeOnce sync.Once
	closeErr  error
}

// NewWriter returns a Writer for a. It fails only for an invalid Addr (or unixgram on Windows):
// an unreachable destination, such as a DNS name that does not resolve yet or a missing unix
// socket path, is not an error here. The Writer connects at the first Write, counts datagrams it
// cannot send as NoDestination, and tries again on later Writes.
//
// For a DNS name, NewWriter starts a goroutine that re-resolves it every ResolveInterval and
// moves to the new address when it changes; Close stops it.
func NewWriter(a Addr, cfg WriterConfig) (*Writer, error) {
	return newWriter(a, cfg, net.DefaultResolver.LookupNetIP)
}

func newWriter(a Addr, cfg WriterConfig, lookup lookupFunc) (*Writer, error) {
	host, port, err := a.split()
	if err != nil {
		return nil, err
	}
	w := &Writer{addr: a, port: port, unixgram: a.Network == "unixgram", cfg: cfg.withDefaults(), lookup: lookup}
	if w.unixgram && runtime.GOOS == "windows" {
		return nil, fmt.Errorf("netio: %s: unixgram sockets are not supported on windows", a)
	}
	if a.Network == "unixstream" {
		w.stream = newStreamState()
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.send.init(w.cfg.BatchSize, w.unixgram)
	if !w.unixgram {
		if ip, err := netip.ParseAddr(host); err == nil {
			w.dest = netip.AddrPortFrom(ip.Unmap(), port)
		} else {
			w.host = host
		}
	}
	if w.host != "" && w.cfg.ResolveInterval > 0 {
		w.resolverRun = true
		w.done = make(chan struct{})
		go w.resolveLoop(w.cfg.ResolveInterval)
	}
	return w, nil
}

// Addr returns the destination the Writer was created for.
func (w *Writer) Addr() Addr { return w.addr }

// Write sends each payload as one datagram, in order, and returns how many the kernel accepted.
// It never returns an error: each datagram not sent is counted in Stats under its reason. It
// waits at most WriteTimeout for room in a full socket buffer, then drops what is left. The
// first Write to a DNS name also waits for its lookup, which WriteTimeout bounds as well.
//
// Write does not keep payloads after it returns; on Linux it allocates nothing once connected.
func (w *Writer) Write(payloads [][]byte) (sent int) {
	if len(payloads) == 0 {
		return 0
	}
	if w.stream != nil {
		return w.writeStream(payloads)
	}
	var t tally
	w.mu.Lock()
	if w.closed || !w.connect() {
		t.drop(noDestination, len(payloads))
	} else if err := w.conn.SetWriteDeadline(time.Now().Add(w.cfg.WriteTimeout)); err != nil {
		// Only a closed socket refuses a deadline, and Close holds mu before closing: unreachable,
		// but counted rather than ignored.
		t.drop(other, len(payloads))
	} else if gone := w.send.write(payloads, &t); gone {
		// The unix receiver went away. A new socket connects to whoever binds the path next.
		w.conn.Close()
		w.conn = nil
	}
	w.mu.Unlock()
	w.stats.add(&t)
	if t.cause != nil {
		w.setErr(sendError{w.addr, t.cause})
	}
	return int(t.datagrams)
}

// Stats returns the Writer's counters. It is safe to call at any time, even after Close.
func (w *Writer) Stats() WriterStats { return w.stats.snapshot() }

// Close stops the resolver goroutine and closes the socket. It waits for a Write in progress,
// which WriteTimeout bounds. Writes after Close send nothing and count NoDestination. Calling
// Close again returns the first call's result.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() {
		w.cancel()
		if w.done != nil {
			<-w.done
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.closed = true
		if w.conn != nil {
			if err := w.conn.Close(); err != nil {
				w.closeErr = fmt.Errorf("netio: close %s: %w", w.addr, err)
			}
			w.conn = nil
		}
	})
	return w.closeErr
}

// connect makes sure w.conn is set, dialling if needed, and reports whether it is. Failed
// attempts are paced by redialPacing; the caller counts the datagrams it then cannot send.
// Called with w.mu held.
func (w *Writer) connect() bool {
	if w.conn != nil {
		return true
	}
	now := time.Now()
	if !w.lastDial.IsZero() && now.Sub(w.lastDial) < redialPacing {
		return false
	}
	w.lastDial = now
	if !w.unixgram && !w.dest.IsValid() {
		// Resolve on the write path only once (the resolver goroutine retries off it), or every
		// time when there is no goroutine. Bounded by WriteTimeout so a dead DNS server cannot
		// stall a flush for the resolver's full timeout.
		if w.lookedUp && w.resolverRun {
			return false
		}
		w.lookedUp = true
		dest, err := w.resolve(w.cfg.WriteTimeout)
		if err != nil {
			w.setErr(err)
			return false
		}
		w.dest = dest
	}
	c, err := w.dial(w.dest)
	if err != nil {
		w.setErr(err)
		return false
	}
	w.conn = c
	return true
}

// dial connects a new socket to dest (udp) or to the socket path (unixgram) and points the
// platform sender at it.
func (w *Writer) dial(dest netip.AddrPort) (net.Conn, error) {
	var c net.Conn
	var err error
	if w.unixgram {
		c, err = net.DialUnix("unixgram", nil, &net.UnixAddr{Name: w.addr.Address, Net: "unixgram"})
	} else {
		c, err = net.DialUDP(w.addr.Network, nil, net.UDPAddrFromAddrPort(dest))
	}
	if err != nil {
		return nil, fmt.Errorf("netio: dial %s: %w", w.addr, err)
	}
	if w.cfg.SendBuffer > 0 {
		// Best effort: the kernel clamps to net.core.wmem_max anyway, and a smaller buffer only
		// means earlier WouldBlock drops, which are counted.
		_ = c.(interface{ SetWriteBuffer(int) error }).SetWriteBuffer(w.cfg.SendBuffer)
	}
	if err := w.send.attach(c); err != nil {
		c.Close()
		return nil, fmt.Errorf("netio: dial %s: %w", w.addr, err)
	}
	w.stats.reconnects.Add(1)
	return c, nil
}

// judge says what a send error means for the datagram it refers to: drop it for reason r,
// retry it once first (retry), or drop it and everything after it because the unix receiver is
// gone and the socket must be redialled (gone).
func judge(errno syscall.Errno, unixgram bool) (r reason, retry, gone bool) {
	switch errno {
	case syscall.ECONNREFUSED:
		if unixgram {
			return noDestination, false, true
		}
		// On a connected UDP socket this is an ICMP port-unreachable caused by an earlier
		// datagram; this one may well get through.
		return refused, true, false
	case syscall.ENOTCONN, syscall.ENOENT, syscall.ECONNRESET, syscall.EPIPE:
		if unixgram {
			return noDestination, false, true
		}
		return other, false, false
	case syscall.EINTR:
		return other, true, false
	case syscall.EAGAIN, syscall.ENOBUFS:
		return wouldBlock, false, false
	case syscall.EMSGSIZE:
		return tooLarge, false, false
	default:
		return other, false, false
	}
}

// dropRest counts payloads[i:] as dropped after the socket wait ended with err.
func dropRest(t *tally, n int, err error) {
	t.cause = err
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, os.ErrDeadlineExceeded) {
		t.drop(wouldBlock, n)
		return
	}
	t.drop(other, n)
}
