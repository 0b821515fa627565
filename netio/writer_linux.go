package netio

import (
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sender batches datagrams into sendmmsg(2) calls. Its message and iovec arrays are allocated
// once, by init, and reused by every write: each message has one iovec, and only the iovecs'
// base and length change per datagram, pointing straight at the caller's payload.
type sender struct {
	msgs     []unix.Mmsghdr
	iovs     []unix.Iovec
	unixgram bool
	raw      syscall.RawConn // of the current socket; set by attach

	// call is s.sendmmsg bound once, so handing it to RawConn.Write allocates nothing; the fields
	// after it are its arguments and results.
	call  func(fd uintptr) bool
	n     int           // messages to send from msgs[0]
	sent  int           // messages the last call sent
	errno syscall.Errno // error of the last call that sent nothing
	calls uint64        // sendmmsg calls made, EAGAIN ones included

	// testSendmmsg is a sender's one test seam: set by a test, it stands in for the system call,
	// so that error sequences the loopback kernel never produces on demand can be tested.
	testSendmmsg func(msgs []unix.Mmsghdr) (int, syscall.Errno)
}

func (s *sender) init(batchSize int, unixgram bool) {
	s.msgs = make([]unix.Mmsghdr, batchSize)
	s.iovs = make([]unix.Iovec, batchSize)
	for i := range s.msgs {
		s.msgs[i].Hdr.Iov = &s.iovs[i]
		s.msgs[i].Hdr.SetIovlen(1)
	}
	s.unixgram = unixgram
	s.call = s.sendmmsg
}

// attach points the sender at a newly dialled socket.
func (s *sender) attach(c net.Conn) error {
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return err
	}
	s.raw = raw
	return nil
}

// sendmmsg is the RawConn.Write callback. Returning false on EAGAIN hands the wait for
// writability to the runtime poller, which gives up at the write deadline Write set.
func (s *sender) sendmmsg(fd uintptr) bool {
	s.calls++
	var r uintptr
	var e syscall.Errno
	if s.testSendmmsg == nil {
		r, _, e = unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.msgs[0])), uintptr(s.n), 0, 0, 0)
	} else {
		n, errno := s.testSendmmsg(s.msgs[:s.n])
		r, e = uintptr(n), errno
	}
	if e == unix.EAGAIN {
		return false
	}
	s.sent, s.errno = int(r), e
	if e != 0 {
		s.sent = 0
	}
	return true
}

// write sends payloads in batches, counting into t, and reports whether the unix receiver is gone.
// Every pass of the loop either sends at least one datagram, drops at least one, or spends the
// one retry the current datagram gets, so no error, however persistent, can make it spin.
func (s *sender) write(payloads [][]byte, t *tally) (gone bool) {
	retried := false
	used := 0 // iovecs filled, cleared below
	for i := 0; i < len(payloads); {
		n := min(len(payloads)-i, len(s.msgs))
		for j, p := range payloads[i : i+n] {
			iov := &s.iovs[j]
			iov.Base = nil
			if len(p) > 0 {
				iov.Base = &p[0]
			}
			iov.SetLen(len(p))
		}
		used = max(used, n)
		s.n, s.sent, s.errno = n, 0, 0
		err := s.raw.Write(s.call)
		t.syscalls += s.calls
		s.calls = 0
		if err != nil {
			// The deadline passed while the buffer was full (or the socket closed under us).
			dropRest(t, len(payloads)-i, err)
			break
		}
		if s.sent > 0 {
			for _, p := range payloads[i : i+s.sent] {
				t.bytes += uint64(len(p))
			}
			t.datagrams += uint64(s.sent)
			i += s.sent
			retried = false
			continue
		}
		if s.errno == 0 {
			// sendmmsg sent nothing and said nothing: never seen, but progress must not depend on it.
			t.drop(other, 1)
			t.cause = errSilentSend
			i++
			continue
		}
		var lost bool
		i, retried, lost = t.failed(s.errno, s.unixgram, i, len(payloads), retried)
		gone = gone || lost
	}
	// Let go of the callers' buffers: the iovecs must not keep them reachable until the next Write.
	clear(s.iovs[:used])
	return gone
}
