package netio

import (
	"context"
	"fmt"
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// readerOOBSpace is the control-message room per datagram: one SO_RXQ_OVFL count (a uint32).
var readerOOBSpace = unix.CmsgSpace(4)

// listenUDPSockets binds n UDP sockets to a, all with SO_REUSEPORT: with more than one, the
// kernel spreads senders over them by a hash of the source address and port, and a successor
// (Handover) can join the port later. It returns the sockets opened so far even on error, for
// the caller to close.
func listenUDPSockets(a Addr, n int) ([]net.PacketConn, error) {
	// SO_REUSEPORT lets any socket of the same user join the group, so binding straight away
	// would let a second agent on this port quietly take part of the traffic. A plain bind
	// first fails if anybody holds the port; for port 0 it picks a port nobody holds, which the
	// sockets then bind (the kernel's own choice for a SO_REUSEPORT socket could be a port that
	// another group of this user holds). A race in the moment between the two binds remains
	// possible; the common mistake is caught.
	probe, err := net.ListenPacket(a.Network, a.Address)
	if err != nil {
		return nil, fmt.Errorf("netio: listen %s: %w", a, err)
	}
	bound := a
	if _, p, _ := net.SplitHostPort(a.Address); p == "0" {
		bound.Address = probe.LocalAddr().String()
	}
	probe.Close()
	conns, err := joinUDPSockets(bound, n)
	if err != nil {
		return conns, fmt.Errorf("netio: listen %s: %w", a, err)
	}
	return conns, nil
}

// joinUDPSockets binds n more SO_REUSEPORT sockets to a, without the check that nobody holds
// the port: for a Reader's own sockets, and a successor's. The first socket's bound address is
// used for the others, so that a DNS name cannot bind them elsewhere.
func joinUDPSockets(a Addr, n int) ([]net.PacketConn, error) {
	lc := net.ListenConfig{Control: reusePort}
	var conns []net.PacketConn
	for range n {
		c, err := lc.ListenPacket(context.Background(), a.Network, a.Address)
		if err != nil {
			return conns, fmt.Errorf("socket %d of %d: %w", len(conns)+1, n, err)
		}
		if len(conns) == 0 {
			a.Address = c.LocalAddr().String()
		}
		conns = append(conns, c)
	}
	return conns, nil
}

// udpSocketCount is how many UDP sockets a Reader with this many reading goroutines binds: one
// each.
func udpSocketCount(readers int) int { return readers }

// sealSocket stops the kernel from queueing more datagrams on c, keeping what it holds. A
// unixgram socket's receive side is shut down: senders get EPIPE. A UDP socket is connected to
// its own address (loopback for a wildcard): a connected socket receives only from its peer,
// here one that never sends, and Linux (since 5.4) leaves it out when it spreads datagrams over
// a SO_REUSEPORT group, so they go to the other sockets of the port or, when there are none,
// are refused (the sender sees ECONNREFUSED).
func sealSocket(c net.PacketConn, unixgram bool) error {
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	cerr := raw.Control(func(fd uintptr) {
		s := int(fd)
		if unixgram {
			serr = unix.Shutdown(s, unix.SHUT_RD)
			return
		}
		sa, err := unix.Getsockname(s)
		if err != nil {
			serr = err
			return
		}
		switch a := sa.(type) {
		case *unix.SockaddrInet4:
			if a.Addr == [4]byte{} {
				a.Addr = [4]byte{127, 0, 0, 1}
			}
			serr = unix.Connect(s, a)
		case *unix.SockaddrInet6:
			if a.Addr != [16]byte{} {
				serr = unix.Connect(s, a)
				return
			}
			// A wildcard IPv6 socket: ::1, or where IPv6 loopback is missing, IPv4 loopback
			// through the socket's dual stack.
			a.Addr = [16]byte{15: 1}
			if serr = unix.Connect(s, a); serr != nil {
				a.Addr = [16]byte{10: 0xff, 11: 0xff, 12: 127, 15: 1}
				serr = unix.Connect(s, a)
			}
		}
	})
	if cerr != nil {
		return cerr
	}
	return serr
}

// socketDrops returns the kernel's running count of datagrams dropped on c (SO_MEMINFO's
// SK_MEMINFO_DROPS, the count SO_RXQ_OVFL reports with each datagram).
func socketDrops(c net.PacketConn) (uint32, bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var mem [unix.SK_MEMINFO_VARS]uint32
	var e syscall.Errno
	if raw.Control(func(fd uintptr) {
		l := uint32(unsafe.Sizeof(mem))
		_, _, e = unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_MEMINFO,
			uintptr(unsafe.Pointer(&mem[0])), uintptr(unsafe.Pointer(&l)), 0)
	}) != nil || e != 0 {
		return 0, false
	}
	return mem[unix.SK_MEMINFO_DROPS], true
}

// listenUnixgramMode binds a unixgram socket at path whose file has at most mode from the
// instant it exists. Linux creates a socket file with the socket's own inode mode less the
// umask, and that mode can be set with fchmod before bind; unlike setting the process-wide
// umask, this leaves every other file the process creates meanwhile alone.
func listenUnixgramMode(path string, mode os.FileMode) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = unix.Fchmod(int(fd), uint32(mode.Perm())) }); err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("fchmod: %w", serr)
		}
		return nil
	}}
	return lc.ListenPacket(context.Background(), "unixgram", path)
}

func reusePort(_, _ string, rc syscall.RawConn) error {
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("SO_REUSEPORT: %w", serr)
	}
	return nil
}

// configureSocket asks for a receive buffer of size bytes (if positive), turns on drop
// reporting, and returns the buffer size getsockopt reports.
func configureSocket(c net.PacketConn, size int) (granted int, err error) {
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return 0, err
	}
	var serr error
	cerr := raw.Control(func(fd uintptr) {
		s := int(fd)
		if size > 0 {
			// SO_RCVBUFFORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN; without it
			// (EPERM), SO_RCVBUF gets as much as rmem_max allows, silently.
			if unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size) != nil {
				if e := unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RCVBUF, size); e != nil {
					serr = fmt.Errorf("SO_RCVBUF: %w", e)
					return
				}
			}
		}
		if e := unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1); e != nil {
			serr = fmt.Errorf("SO_RXQ_OVFL: %w", e)
			return
		}
		granted, serr = unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	if cerr != nil {
		return 0, cerr
	}
	return granted, serr
}

// receiver receives batches with recvmmsg(2). Everything it hands the kernel is allocated once
// by init: message i always points at iovec i, which points at slot i of buf, and at slot i of
// oob for its control message; a batch only resets the headers the last call filled.
type receiver struct {
	raw   syscall.RawConn
	msgs  []unix.Mmsghdr
	iovs  []unix.Iovec
	buf   []byte   // BatchSize slots of slot bytes
	oob   []byte   // BatchSize slots of readerOOBSpace bytes
	views [][]byte // what the handler gets; cap BatchSize
	slot  int
	used  int // messages the last call filled

	// call is r.recvmmsg bound once, so handing it to RawConn.Read allocates nothing; the
	// fields after it are its results.
	call  func(fd uintptr) bool
	n     int
	errno syscall.Errno
	empty bool // the last call found nothing queued (EAGAIN)
	calls uint64
}

func (r *receiver) init(c net.PacketConn, cfg ReaderConfig) error {
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return err
	}
	r.raw = raw
	b, slot := cfg.BatchSize, cfg.MaxDatagram
	r.msgs = make([]unix.Mmsghdr, b)
	r.iovs = make([]unix.Iovec, b)
	r.buf = make([]byte, b*slot)
	r.oob = make([]byte, b*readerOOBSpace)
	r.views = make([][]byte, 0, b)
	r.slot = slot
	for i := range r.msgs {
		r.iovs[i].Base = &r.buf[i*slot]
		r.iovs[i].SetLen(slot)
		h := &r.msgs[i].Hdr
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
		h.Control = &r.oob[i*readerOOBSpace]
		h.SetControllen(readerOOBSpace)
	}
	r.call = r.recvmmsg
	return nil
}

// recvmmsg is the RawConn.Read callback. Returning false on EAGAIN hands the wait for data to
// the runtime poller; Close ends that wait.
func (r *receiver) recvmmsg(fd uintptr) bool {
	for {
		r.calls++
		// The socket is non-blocking, so the call returns what is queued, up to len(r.msgs),
		// rather than waiting for a full batch. Source addresses are not asked for.
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.msgs[0])), uintptr(len(r.msgs)), 0, 0, 0)
		switch e {
		case 0:
			r.n, r.errno, r.empty = int(n), 0, false
			return true
		case unix.EINTR:
			// Data may be queued still; waiting in the edge-triggered poller could miss it.
			continue
		case unix.EAGAIN:
			r.n, r.errno, r.empty = 0, 0, true
			return false
		default:
			r.n, r.errno, r.empty = 0, e, false
			return true
		}
	}
}

// receive makes one recvmmsg call, waiting for data if none is queued, and returns the
// datagrams it got (aliasing r.buf) with what it did.
func (r *receiver) receive() (batch [][]byte, t readTally, err error) {
	r.reset()
	return r.collect(r.raw.Read(r.call))
}

// receiveNow makes one recvmmsg call without waiting; empty says nothing was queued. Close's
// drain uses it: RawConn.Control runs the call even past the read deadline that ended the
// reading goroutines' waits.
func (r *receiver) receiveNow() (batch [][]byte, t readTally, empty bool, err error) {
	r.reset()
	err = r.raw.Control(func(fd uintptr) { r.call(fd) })
	if err == nil && r.empty {
		t.syscalls, r.calls = r.calls, 0
		return nil, t, true, nil
	}
	batch, t, err = r.collect(err)
	return batch, t, false, err
}

func (r *receiver) reset() {
	for i := range r.used {
		// The kernel wrote the actual control length and flags back; give the room back.
		h := &r.msgs[i].Hdr
		h.SetControllen(readerOOBSpace)
		h.Flags = 0
	}
	r.used = 0
}

// collect turns the call's results into a batch.
func (r *receiver) collect(err error) (batch [][]byte, t readTally, _ error) {
	t.syscalls, r.calls = r.calls, 0
	if err != nil {
		return nil, t, err
	}
	if r.errno != 0 {
		return nil, t, fmt.Errorf("netio: recvmmsg: %w", r.errno)
	}
	r.used = r.n
	batch = r.views[:0]
	for i := range r.n {
		m := &r.msgs[i]
		if m.Hdr.Controllen != 0 {
			off := i * readerOOBSpace
			if v, ok := rxqOverflow(r.oob[off : off+min(int(m.Hdr.Controllen), readerOOBSpace)]); ok {
				// Later datagrams carry later counts; the last one in the batch is the newest.
				t.drops, t.dropsSeen = v, true
			}
		}
		if m.Hdr.Flags&unix.MSG_TRUNC != 0 {
			t.truncated++
			continue
		}
		off, n := i*r.slot, int(m.Len)
		// Capacity n, so a handler's append cannot write into the next datagram's slot.
		batch = append(batch, r.buf[off:off+n:off+n])
		t.bytes += uint64(n)
	}
	t.datagrams = uint64(len(batch))
	return batch, t, nil
}

// rxqOverflow finds the SO_RXQ_OVFL count, the socket's running total of datagrams dropped for
// want of buffer room, in one message's control data, without the allocations of
// unix.ParseSocketControlMessage.
func rxqOverflow(oob []byte) (uint32, bool) {
	const align = int(unsafe.Sizeof(uintptr(0)))
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(oob) {
			return 0, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && l >= unix.CmsgLen(4) {
			return *(*uint32)(unsafe.Pointer(&oob[unix.CmsgLen(0)])), true
		}
		oob = oob[min((l+align-1)&^(align-1), len(oob)):]
	}
	return 0, false
}
