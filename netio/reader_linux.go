package netio

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// readerOOBSpace is the control-message room per datagram: one SO_RXQ_OVFL count (a uint32).
var readerOOBSpace = unix.CmsgSpace(4)

// listenUDPSockets binds n UDP sockets to a. With more than one, they share the port through
// SO_REUSEPORT and the kernel spreads senders over them by a hash of the source address and
// port. It returns the sockets opened so far even on error, for the caller to close.
func listenUDPSockets(a Addr, n int) ([]net.PacketConn, error) {
	ctx := context.Background()
	if n == 1 {
		// No SO_REUSEPORT: nobody may share the port, by accident or otherwise.
		c, err := net.ListenPacket(a.Network, a.Address)
		if err != nil {
			return nil, fmt.Errorf("netio: listen %s: %w", a, err)
		}
		return []net.PacketConn{c}, nil
	}
	_, p, _ := net.SplitHostPort(a.Address) // checkListenAddr has validated it
	if port, _ := strconv.ParseUint(p, 10, 16); port != 0 {
		// SO_REUSEPORT lets any socket of the same user join the group, so binding straight
		// away would let a second agent on this port quietly take half the traffic. A plain
		// bind first fails if anybody holds the port. (A race in the moment between the two
		// binds remains possible; the common mistake is caught.)
		probe, err := net.ListenPacket(a.Network, a.Address)
		if err != nil {
			return nil, fmt.Errorf("netio: listen %s: %w", a, err)
		}
		probe.Close()
	}
	lc := net.ListenConfig{Control: reusePort}
	first, err := lc.ListenPacket(ctx, a.Network, a.Address)
	if err != nil {
		return nil, fmt.Errorf("netio: listen %s: %w", a, err)
	}
	conns := []net.PacketConn{first}
	// For port 0 the others must join the port the kernel chose for the first; the resolved
	// address also keeps a DNS name from binding the others elsewhere.
	bound := first.LocalAddr().String()
	for range n - 1 {
		c, err := lc.ListenPacket(ctx, a.Network, bound)
		if err != nil {
			return conns, fmt.Errorf("netio: listen %s: socket %d of %d: %w", a, len(conns)+1, n, err)
		}
		conns = append(conns, c)
	}
	return conns, nil
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
			r.n, r.errno = int(n), 0
			return true
		case unix.EINTR:
			// Data may be queued still; waiting in the edge-triggered poller could miss it.
			continue
		case unix.EAGAIN:
			return false
		default:
			r.n, r.errno = 0, e
			return true
		}
	}
}

// receive makes one recvmmsg call, waiting for data if none is queued, and returns the
// datagrams it got (aliasing r.buf) with what it did.
func (r *receiver) receive() (batch [][]byte, t readTally, err error) {
	for i := range r.used {
		// The kernel wrote the actual control length and flags back; give the room back.
		h := &r.msgs[i].Hdr
		h.SetControllen(readerOOBSpace)
		h.Flags = 0
	}
	r.used = 0
	err = r.raw.Read(r.call)
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
