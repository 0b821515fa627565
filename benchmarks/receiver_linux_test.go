package benchmarks

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// batchReader reads many datagrams per recvmmsg(2) call: the receiver must keep up with clients
// that send a datagram per value, and the syscall, not the tally, is its cost per datagram.
type batchReader struct {
	rc   syscall.RawConn
	bufs [][]byte
	iovs []syscall.Iovec
	msgs []mmsghdr
}

// mmsghdr is struct mmsghdr; Go pads it to the same size as C does.
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
}

func newBatchReader(c *net.UDPConn, batch, size int) (*batchReader, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &batchReader{rc: rc, bufs: make([][]byte, batch), iovs: make([]syscall.Iovec, batch), msgs: make([]mmsghdr, batch)}
	for i := range r.msgs {
		r.bufs[i] = make([]byte, size)
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(size)
		r.msgs[i].hdr.Iov = &r.iovs[i]
		r.msgs[i].hdr.Iovlen = 1
	}
	return r, nil
}

// read waits for datagrams and calls each for every one read by one recvmmsg call. It returns
// net.ErrClosed once the socket is closed.
func (r *batchReader) read(each func([]byte)) error {
	var got int
	var errno syscall.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		n, _, e := syscall.Syscall6(syscall.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.msgs[0])),
			uintptr(len(r.msgs)), syscall.MSG_DONTWAIT, 0, 0)
		if e == syscall.EAGAIN {
			return false // park in the netpoller until the socket is readable
		}
		got, errno = int(n), e
		return true
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	for i := range got {
		each(r.bufs[i][:r.msgs[i].n])
	}
	return nil
}

// raisePriority gives the receiver's threads nice -10 (root only; otherwise nothing changes), so
// that on a machine whose cores the benchmark keeps busy the receiver still runs as soon as
// datagrams arrive: what it loses should be what a client sent too fast, not what a starved
// receiver failed to read. Linux applies nice per thread; threads started later inherit it.
func raisePriority() {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return
	}
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			syscall.Setpriority(syscall.PRIO_PROCESS, tid, -10)
		}
	}
}

// forceReadBuffer sets the socket's receive buffer past net.core.rmem_max, which needs root.
func forceReadBuffer(c *net.UDPConn, n int) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n)
	}); err != nil {
		return err
	}
	return serr
}

// udpDrops returns the kernel's drop count of the IPv4 loopback UDP socket bound to port, from
// /proc/net/udp: datagrams lost because the receiver's buffer was full.
func udpDrops(port int) (uint64, bool) {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return 0, false
	}
	local := []byte(fmt.Sprintf("0100007F:%04X", port))
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		f := bytes.Fields(line)
		if len(f) < 13 || !bytes.Equal(f[1], local) {
			continue
		}
		d, err := strconv.ParseUint(string(f[len(f)-1]), 10, 64)
		return d, err == nil
	}
	return 0, false
}
