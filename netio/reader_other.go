//go:build !linux

package netio

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"
)

// minRecvBuffer is the smallest receive buffer configureSocket tries before leaving the OS
// default.
const minRecvBuffer = 64 << 10

// listenUDPSockets binds one UDP socket to a, whatever n: outside Linux, SO_REUSEPORT does
// not spread unicast datagrams over sockets, so the reading goroutines share this one.
func listenUDPSockets(a Addr, _ int) ([]net.PacketConn, error) {
	c, err := net.ListenPacket(a.Network, a.Address)
	if err != nil {
		return nil, fmt.Errorf("netio: listen %s: %w", a, err)
	}
	return []net.PacketConn{c}, nil
}

// joinUDPSockets is never asked for a socket outside Linux: there a UDP Reader has one socket,
// which a successor shares.
func joinUDPSockets(a Addr, _ int) ([]net.PacketConn, error) {
	return nil, fmt.Errorf("netio: listen %s: only one UDP socket per address outside Linux", a)
}

// udpSocketCount is how many UDP sockets a Reader binds: one, whatever the readers.
func udpSocketCount(int) int { return 1 }

// sealSocket cannot stop a UDP socket taking datagrams portably; Close drains it until quiet.
// A unixgram socket would need shutdown(2), which the portable API lacks: it is drained the same
// way, its file removed first so that no new sender finds it.
func sealSocket(net.PacketConn, bool) error { return nil }

// socketDrops: the kernel's drop count is not available outside Linux.
func socketDrops(net.PacketConn) (uint32, bool) { return 0, false }

// listenUnixgramMode binds a unixgram socket at path whose file has at most mode from the
// instant it exists: it binds in a new directory only this user can enter (mode 0700), sets the
// mode there and then links the file into place (link fails rather than replace a file that
// appeared meanwhile). Setting the umask instead would change it for every goroutine of the
// process. The bound name (getsockname) stays the private one, which nothing here uses.
func listenUnixgramMode(path string, mode os.FileMode) (net.PacketConn, error) {
	dir, err := os.MkdirTemp(filepath.Dir(path), ".ss")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "s")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: tmp, Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		c.Close()
		return nil, err
	}
	if err := os.Link(tmp, path); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// drainQuiet is how long a drain waits for a datagram before it takes the socket as empty.
const drainQuiet = 5 * time.Millisecond

// configureSocket asks for a receive buffer of size bytes, halving the request while the OS
// refuses it (macOS refuses sizes above kern.ipc.maxsockbuf rather than capping them), and
// returns the size it accepted: the OS offers no portable way to ask what it granted. Zero
// means the default was left alone.
func configureSocket(c net.PacketConn, size int) (int, error) {
	s, ok := c.(interface{ SetReadBuffer(int) error })
	if !ok || size <= 0 {
		return 0, nil
	}
	for n := size; n >= min(size, minRecvBuffer); n /= 2 {
		if s.SetReadBuffer(n) == nil {
			return n, nil
		}
	}
	return 0, nil
}

// receiver is the portable path: one Read per datagram into a buffer one byte longer than
// MaxDatagram, so that a datagram the OS truncated to fit shows as too long. Read, unlike
// ReadFrom, does not allocate the sender's address.
type receiver struct {
	conn  io.Reader
	buf   []byte
	views [][]byte
	max   int
}

func (r *receiver) init(c net.PacketConn, cfg ReaderConfig) error {
	rd, ok := c.(io.Reader)
	if !ok {
		return errors.New("socket does not support Read")
	}
	r.conn = rd
	r.max = cfg.MaxDatagram
	r.buf = make([]byte, cfg.MaxDatagram+1)
	r.views = make([][]byte, 1)
	return nil
}

// receiveNow reads one datagram if one comes within drainQuiet; empty says none did.
func (r *receiver) receiveNow() (batch [][]byte, t readTally, empty bool, err error) {
	d, ok := r.conn.(interface{ SetReadDeadline(time.Time) error })
	if !ok {
		return nil, t, true, nil
	}
	d.SetReadDeadline(time.Now().Add(drainQuiet))
	batch, t, err = r.receive()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil, t, true, nil
	}
	return batch, t, false, err
}

func (r *receiver) receive() (batch [][]byte, t readTally, err error) {
	t.syscalls = 1
	n, err := r.conn.Read(r.buf)
	if n > r.max {
		// Some systems (Windows) also report an error for a datagram longer than the buffer.
		t.truncated = 1
		return nil, t, nil
	}
	if err != nil {
		return nil, t, err
	}
	r.views[0] = r.buf[:n:n]
	t.datagrams, t.bytes = 1, uint64(n)
	return r.views, t, nil
}
