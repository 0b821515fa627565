package netio

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Defaults for ReaderConfig's zero fields.
const (
	DefaultRecvBuffer = 8 << 20
	DefaultSocketMode = 0o660
)

const ( // defaultMaxUDPDatagram is the largest UDP datagram there is (payload 65507 over IPv4,
	// 65527 over IPv6), so no UDP datagram is ever truncated by default.
	defaultMaxUDPDatagram = 65535
	// defaultMaxUnixDatagram is 8× DogStatsD's 8192-byte unixgram payload limit: clients may be
	// configured for larger payloads, and a Unix datagram is bounded only by its sender's
	// SO_SNDBUF. A big slot is cheap: the kernel touches only the pages a datagram fills.
	defaultMaxUnixDatagram = 8 * 8192

	// readerMaxBackoff bounds the pause after repeated read errors, so that an error the kernel
	// keeps returning costs a few calls per second instead of a spinning core.
	readerMaxBackoff = 100 * time.Millisecond
	readerCacheLine  = 64
)

// ReaderConfig configures a Reader. The zero value is ready to use: zero fields mean the
// documented defaults.
type ReaderConfig struct {
	// Readers is the number of reading goroutines. For UDP on Linux each has its own socket,
	// all bound to the same address with SO_REUSEPORT so the kernel spreads senders over them
	// by source address and port; for unixgram, and elsewhere than Linux, they share one socket.
	// Zero means GOMAXPROCS.
	Readers int
	// RecvBuffer is the SO_RCVBUF size, in bytes, asked for on each socket. Zero means DefaultRecvBuffer;
	// negative leaves the OS default. On Linux the reader first tries SO_RCVBUFFORCE, which
	// only a process with CAP_NET_ADMIN (root) may use, then SO_RCVBUF, which the kernel caps at
	// net.core.rmem_max. ReaderStats.RecvBuffer says what was granted. For unixgram the backlog
	// is bounded by net.unix.max_dgram_qlen and the senders' SO_SNDBUF, not by this buffer.
	RecvBuffer int
	// BatchSize is the most datagrams one recvmmsg(2) call receives on Linux. Zero means 64;
	// values above 1024 (UIO_MAXIOV) mean 1024. Unused elsewhere.
	BatchSize int
	// MaxDatagram is the size in bytes of each datagram buffer; a longer datagram is dropped
	// and counted in ReaderStats.Truncated. Zero means 65535 for UDP (no datagram is too long)
	// and 65536 for unixgram. Each reading goroutine holds BatchSize buffers of this size (4 MiB
	// by default), of which only the pages datagrams have filled become resident.
	MaxDatagram int
	// SocketMode is the permission of the unixgram socket file; senders need write permission.
	// Zero means DefaultSocketMode. Unused for UDP.
	SocketMode os.FileMode
}

func (c ReaderConfig) withDefaults(unixgram bool) ReaderConfig {
	if c.Readers <= 0 {
		c.Readers = runtime.GOMAXPROCS(0)
	}
	if c.RecvBuffer == 0 {
		c.RecvBuffer = DefaultRecvBuffer
	}
	if c.BatchSize <= 0 {
		c.BatchSize = defaultBatchSize
	}
	c.BatchSize = min(c.BatchSize, maxBatchSize)
	if c.MaxDatagram <= 0 {
		c.MaxDatagram = defaultMaxUDPDatagram
		if unixgram {
			c.MaxDatagram = defaultMaxUnixDatagram
		}
	}
	if c.SocketMode == 0 {
		c.SocketMode = DefaultSocketMode
	}
	return c
}

// Handler receives a batch of datagrams read by reading goroutine number reader (0 to
// Readers-1). The slices alias the reader's buffers and are valid only until the handler
// returns: copy what must outlive the call. The handler runs on the reading goroutine, so it
// must not block for long: while it runs, that goroutine reads nothing and the kernel queues,
// then drops, what arrives. A panic in the handler is recovered and counted.
type Handler func(reader int, datagrams [][]byte)

// ReaderStats is a snapshot of a Reader's counters, all totals since ListenReader.
type ReaderStats struct {
	// Datagrams and Bytes count what was handed to the handler; Syscalls counts receive system
	// calls (recvmmsg on Linux, one read per datagram elsewhere), including calls that found
	// nothing to read.
	Datagrams, Bytes, Syscalls uint64
	// Truncated counts datagrams longer than MaxDatagram, dropped without reaching the handler.
	Truncated uint64
	// KernelDrops counts datagrams the kernel dropped because a socket's receive buffer was
	// full, summed over sockets. Linux only; zero elsewhere. The kernel reports its running
	// count with each datagram it delivers (SO_RXQ_OVFL), and Stats and Close also ask for it
	// (SO_MEMINFO), so drops that no datagram followed are counted too.
	KernelDrops uint64
	// Panics counts handler panics recovered; the reading goroutine went on reading.
	Panics uint64
	// Errors counts failed receive calls other than those caused by Close; after each, the
	// goroutine pauses briefly (longer if they repeat, at most 100ms) and reads on.
	Errors uint64
	// RecvBuffer is the receive buffer size each socket got, as getsockopt(SO_RCVBUF) reports
	// it: Linux reports twice the size granted, the other half being its bookkeeping allowance.
	// Where the OS cannot say, it is the size last accepted.
	RecvBuffer int
	// Sockets is the number of sockets the Reader reads from.
	Sockets int
	// Drained counts the datagrams, among Datagrams, that Close read from sockets it had stopped
	// taking more: what closing them at once would have lost.
	Drained uint64
}

// Reader receives datagrams on a UDP address or a Unix datagram socket with several goroutines
// and hands them, in batches, to a Handler. The zero value is not usable: create one with
// ListenReader and stop it with Close. Its methods are safe from any goroutine.
//
// On Linux each goroutine receives up to BatchSize datagrams per recvmmsg(2) call through its
// socket's syscall.RawConn, into buffers allocated once: a batch costs one system call and no
// allocation, and Syscalls grows by about Datagrams/BatchSize when the sender outpaces the
// reader. Goroutines that share a socket (unixgram) take turns in receiving, so one runs the
// handler while another receives. Elsewhere each goroutine makes one Read per datagram into its own buffer and hands
// the handler batches of one; BatchSize and KernelDrops are then unused, and unixgram is
// unsupported on Windows.
type Reader struct {
	addr    Addr
	handler Handler
	socks   []*readerSocket
	workers []*readerWorker
	wg      sync.WaitGroup
	rcvbuf  int
	drained atomic.Uint64 // datagrams Close read from sealed sockets

	closing   atomic.Bool
	handedOff atomic.Bool // Handover gave the sockets to a successor
	pred      *Reader     // the Reader this one took over from (Handover), else nil
	closeOnce sync.Once
	closeErr  error
}

// readerSocket is one Reader's descriptor of a kernel socket, which Handover may share between
// a Reader and its successor, and the part of the socket's kernel drop count this Reader answers
// for: from from to until.
type readerSocket struct {
	conn net.PacketConn
	sh   *socketShare
	// from is sh.drops when this Reader began answering for the socket's drops.
	from uint64
	// until is 1 + sh.drops when this Reader stopped answering for them (it handed the socket
	// over, or abandoned a socket it was handed); 0 while it answers.
	until atomic.Uint64
	// prev is the predecessor's descriptor of a socket this Reader was handed, else nil.
	prev *readerSocket
}

// kernelDrops is the part of the socket's drop count this Reader reports.
func (s *readerSocket) kernelDrops() uint64 {
	d := s.sh.drops.Load()
	if u := s.until.Load(); u != 0 {
		d = min(d, u-1)
	}
	if d < s.from {
		return 0
	}
	return d - s.from
}

// socketShare is what every Reader holding a descriptor of one kernel socket shares.
type socketShare struct {
	// holders counts the open Readers with a descriptor of the socket; the last one to close
	// seals the socket, drains it and removes its file.
	holders atomic.Int32
	// drops extends the kernel's 32-bit running drop count of the socket to 64 bits.
	drops atomic.Uint64
	// unixPath and unixFile identify the socket file ListenReader created, so the last holder
	// removes it only while it is still that file.
	unixPath string
	unixFile os.FileInfo
}

func newSocket(c net.PacketConn) *readerSocket {
	s := &readerSocket{conn: c, sh: &socketShare{}}
	s.sh.holders.Store(1)
	return s
}

// refreshDrops asks the kernel for the socket's drop count now, rather than waiting for the
// next datagram to carry it (a drop after the last datagram read is otherwise never reported).
func (s *readerSocket) refreshDrops() {
	if v, ok := socketDrops(s.conn); ok {
		s.sh.observeDrops(v)
	}
}

// observeDrops folds in the kernel's running drop count v. Goroutines sharing a socket may
// observe counts out of order, so only a forward move (modulo 2^32) of less than 2^31 is taken:
// this keeps the largest count seen and survives the kernel counter's wrap-around. (A real jump
// of 2^31 drops between two delivered datagrams would read as a stale count.)
func (s *socketShare) observeDrops(v uint32) {
	for {
		old := s.drops.Load()
		d := v - uint32(old)
		if d == 0 || d >= 1<<31 {
			return
		}
		if s.drops.CompareAndSwap(old, old+uint64(d)) {
			return
		}
	}
}

// readerCounters are one goroutine's totals. The goroutine adds to them once per batch.
type readerCounters struct {
	datagrams, bytes, syscalls, truncated, panics, errors atomic.Uint64
}

// readerWorker is one reading goroutine's state. The counters are padded to their own cache
// lines so that Stats, and neighbouring heap objects, do not slow the goroutine's adds.
type readerWorker struct {
	_ [readerCacheLine]byte
	c readerCounters
	_ [readerCacheLine - unsafe.Sizeof(readerCounters{})%readerCacheLine]byte

	id   int
	r    *Reader
	sock *readerSocket
	recv receiver // platform receive state
}

// ListenReader binds a (udp, udp4, udp6 or unixgram) and starts cfg.Readers goroutines that
// pass what arrives to h. A udp Addr may use port 0, for a port the kernel picks (see Addr),
// and an empty host, for all interfaces.
//
// A UDP port already bound by any socket, even one of another Reader, is refused, because
// SO_REUSEPORT (which Linux sockets get, so that several share the port and a successor can
// join it, see Handover) would otherwise let two listeners of the same user silently split the
// traffic. A unixgram path is replaced only when it is a stale socket (nobody receives on it); a
// live socket or any other kind of file there is an error. The new socket file never has more
// permission than cfg.SocketMode, from the instant it exists, and then has exactly that.
func ListenReader(a Addr, cfg ReaderConfig, h Handler) (*Reader, error) {
	if h == nil {
		return nil, errors.New("netio: ListenReader: nil handler")
	}
	unixgram := a.Network == "unixgram"
	if err := checkListenAddr(a); err != nil {
		return nil, err
	}
	if unixgram && runtime.GOOS == "windows" {
		return nil, fmt.Errorf("netio: %s: unixgram sockets are not supported on windows", a)
	}
	cfg = cfg.withDefaults(unixgram)
	r := &Reader{addr: a, handler: h}
	var err error
	if unixgram {
		err = r.listenUnixgram(cfg)
	} else {
		err = r.listenUDP(cfg)
	}
	if err != nil {
		r.shutdown()
		return nil, err
	}
	if err := r.start(cfg); err != nil {
		return nil, err
	}
	return r, nil
}

// start configures the sockets and starts the reading goroutines.
func (r *Reader) start(cfg ReaderConfig) error {
	if err := r.configure(cfg); err != nil {
		r.shutdown()
		return err
	}
	for i := range cfg.Readers {
		w := &readerWorker{id: i, r: r, sock: r.socks[i%len(r.socks)]}
		if err := w.recv.init(w.sock.conn, cfg); err != nil {
			r.shutdown()
			return fmt.Errorf("netio: listen %s: %w", r.addr, err)
		}
		r.workers = append(r.workers, w)
	}
	r.wg.Add(len(r.workers))
	for _, w := range r.workers {
		go w.run()
	}
	return nil
}

// checkListenAddr validates a for listening: unlike a destination, a udp host may be empty and
// the port may be 0.
func checkListenAddr(a Addr) error {
	switch a.Network {
	case "unixgram":
		return a.check()
	case "udp", "udp4", "udp6":
	default:
		return a.check() // says what is wrong with the network
	}
	_, p, err := net.SplitHostPort(a.Address)
	if err != nil {
		return fmt.Errorf("netio: listen %s address %q: %w", a.Network, a.Address, err)
	}
	if _, err := strconv.ParseUint(p, 10, 16); err != nil {
		return fmt.Errorf("netio: listen %s address %q: port %q is not a number from 0 to 65535", a.Network, a.Address, p)
	}
	return nil
}

// listenUDP binds the UDP sockets: one per reader on Linux, one elsewhere.
func (r *Reader) listenUDP(cfg ReaderConfig) error {
	conns, err := listenUDPSockets(r.addr, cfg.Readers)
	for _, c := range conns {
		r.socks = append(r.socks, newSocket(c))
	}
	if err != nil {
		return err
	}
	r.addr.Address = conns[0].LocalAddr().String()
	return nil
}

// listenUnixgram binds the socket file, replacing a stale one, with its mode.
func (r *Reader) listenUnixgram(cfg ReaderConfig) error {
	path := r.addr.Address
	if err := removeStaleSocket(path); err != nil {
		return fmt.Errorf("netio: listen %s: %w", r.addr, err)
	}
	c, err := listenUnixgramMode(path, cfg.SocketMode)
	if err != nil {
		return fmt.Errorf("netio: listen %s: %w", r.addr, err)
	}
	s := newSocket(c)
	r.socks = append(r.socks, s)
	// Recorded before anything else can fail, so that shutdown removes the file we created.
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("netio: listen %s: %w", r.addr, err)
	}
	s.sh.unixPath, s.sh.unixFile = path, fi
	// The file was created with at most cfg.SocketMode, less what the umask removed; chmod on
	// the path gives it exactly that mode (fchmod on a bound socket does not change the file).
	if fi.Mode().Perm() != cfg.SocketMode.Perm() {
		if err := os.Chmod(path, cfg.SocketMode); err != nil {
			return fmt.Errorf("netio: listen %s: %w", r.addr, err)
		}
	}
	return nil
}

// removeStaleSocket makes path free to bind: absent is fine; a stale socket is removed;
// anything else is an error (see staleSocket).
func removeStaleSocket(path string) error {
	stale, err := staleSocket(path)
	if err != nil || !stale {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}

// configure sets the receive buffer (and on Linux the drop reporting) on every socket.
func (r *Reader) configure(cfg ReaderConfig) error {
	for _, s := range r.socks {
		n, err := configureSocket(s.conn, cfg.RecvBuffer)
		if err != nil {
			return fmt.Errorf("netio: listen %s: %w", r.addr, err)
		}
		r.rcvbuf = n
	}
	return nil
}

// Addr returns the address the Reader listens on: for udp, the bound address with the port
// the kernel chose when a asked for port 0.
func (r *Reader) Addr() Addr { return r.addr }

// Stats returns the Reader's counters. It is safe to call at any time, even after Close. While
// the Reader runs, it asks the kernel for each socket's drop count (on Linux), so KernelDrops is
// current even when no datagram has followed the drops.
func (r *Reader) Stats() ReaderStats {
	st := ReaderStats{RecvBuffer: r.rcvbuf, Sockets: len(r.socks), Drained: r.drained.Load()}
	for _, w := range r.workers {
		st.Datagrams += w.c.datagrams.Load()
		st.Bytes += w.c.bytes.Load()
		st.Syscalls += w.c.syscalls.Load()
		st.Truncated += w.c.truncated.Load()
		st.Panics += w.c.panics.Load()
		st.Errors += w.c.errors.Load()
	}
	for _, s := range r.socks {
		if !r.closing.Load() {
			s.refreshDrops()
		}
		st.KernelDrops += s.kernelDrops()
	}
	return st
}

// Close stops the Reader without losing what the kernel holds for it. For each socket no
// successor shares (see Handover), it first stops the socket taking more: a unixgram socket's
// file is removed and its receive side shut down (senders then get EPIPE, and the kernel takes
// nothing more); on Linux a UDP socket is connected to its own address, so the kernel gives it
// no more datagrams (senders then get ECONNREFUSED unless a successor shares the port). Close
// then waits for the reading goroutines (so for handler calls in progress), reads what the socket
// still holds and hands it to the handler (counted in Datagrams and in Drained), reads the
// kernel's final drop count and closes the socket. A socket a successor shares is left to it,
// unread. Elsewhere than Linux, a UDP socket cannot be sealed: Close reads until it has been
// quiet for a moment, and a datagram arriving after that is lost uncounted.
//
// Calling Close again returns the first call's result. Calling it from the handler deadlocks:
// Close would wait for the call it is part of.
func (r *Reader) Close() error {
	r.closeOnce.Do(func() { r.closeErr = r.shutdown() })
	return r.closeErr
}

func (r *Reader) shutdown() error {
	r.closing.Store(true)
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = fmt.Errorf("netio: close %s: %w", r.addr, err)
		}
	}
	if p := r.pred; p != nil && !r.handedOff.Load() && !p.closing.Load() {
		// Closed before its predecessor (Handover's caller gave up on it): the predecessor may
		// hand over again.
		defer p.handedOff.Store(false)
	}
	last := make([]bool, len(r.socks))
	for i, s := range r.socks {
		last[i] = s.sh.holders.Add(-1) == 0
		if !last[i] && s.prev != nil && !r.handedOff.Load() {
			// A successor closing before its predecessor (Handover's caller gave up on it):
			// the predecessor answers for the socket's drops again, all of them.
			s.until.Store(s.from + 1)
			s.prev.until.Store(0)
		}
		if !last[i] {
			continue
		}
		if s.sh.unixPath != "" {
			// Another process may have replaced a file it believed stale; that one is not ours.
			if fi, err := os.Lstat(s.sh.unixPath); err == nil && os.SameFile(fi, s.sh.unixFile) {
				if err := os.Remove(s.sh.unixPath); err != nil {
					keep(err)
				}
			}
		}
		// A socket that cannot be sealed is still drained; what arrives meanwhile is read too,
		// for a bounded time (drainFor).
		sealSocket(s.conn, r.addr.Network == "unixgram")
	}
	// Wake the goroutines waiting for data: a deadline in the past ends their waits without
	// closing the descriptor, which a drain still reads and a successor may share.
	for _, s := range r.socks {
		s.conn.SetReadDeadline(time.Unix(1, 0))
	}
	if testHookSealed != nil {
		testHookSealed(r)
	}
	r.wg.Wait()
	for i, s := range r.socks {
		if last[i] {
			for _, w := range r.workers {
				if w.sock == s {
					r.drained.Add(w.drain())
					break
				}
			}
			s.refreshDrops()
		}
		keep(s.conn.Close())
	}
	return first
}

// testHookSealed, if set by a test, runs when Close has sealed the sockets and ended the reading
// goroutines' waits, before it waits for them: a handler released then finds the rest for the
// drain.
var testHookSealed func(*Reader)

// drainFor bounds how long Close reads one socket: one sealed socket holds at most its
// receive buffer, which a reader empties in milliseconds.
const drainFor = 2 * time.Second

// drain reads what w's socket holds, without waiting for more, and hands it to the handler. It
// runs once the reading goroutines have ended, so w's receive state is free.
func (w *readerWorker) drain() uint64 {
	var n uint64
	end := time.Now().Add(drainFor)
	for time.Now().Before(end) {
		batch, t, empty, err := w.recv.receiveNow()
		w.add(&t)
		if t.dropsSeen {
			w.sock.sh.observeDrops(t.drops)
		}
		if err != nil || empty {
			break
		}
		if len(batch) > 0 {
			w.deliver(batch)
			n += uint64(len(batch))
		}
	}
	return n
}

// run is a reading goroutine: receive a batch, hand it over, count, until Close.
func (w *readerWorker) run() {
	defer w.r.wg.Done()
	var backoff time.Duration
	for {
		batch, t, err := w.recv.receive()
		w.add(&t)
		if err != nil {
			if w.r.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			w.c.errors.Add(1)
			backoff = min(max(2*backoff, time.Millisecond), readerMaxBackoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if t.dropsSeen {
			w.sock.sh.observeDrops(t.drops)
		}
		if len(batch) > 0 {
			w.deliver(batch)
		}
	}
}

// deliver calls the handler, recovering a panic so that one bad datagram cannot stop intake.
func (w *readerWorker) deliver(batch [][]byte) {
	defer func() {
		if recover() != nil {
			w.c.panics.Add(1)
		}
	}()
	w.r.handler(w.id, batch)
}

// readTally is what one receive call did.
type readTally struct {
	datagrams, bytes, syscalls, truncated uint64
	drops                                 uint32 // latest kernel running drop count seen
	dropsSeen                             bool
}

func (w *readerWorker) add(t *readTally) {
	if t.syscalls != 0 {
		w.c.syscalls.Add(t.syscalls)
	}
	if t.datagrams != 0 {
		w.c.datagrams.Add(t.datagrams)
		w.c.bytes.Add(t.bytes)
	}
	if t.truncated != 0 {
		w.c.truncated.Add(t.truncated)
	}
}
