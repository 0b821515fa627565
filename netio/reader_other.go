//go:build !linux

package netio

import (
	"errors"
	"fmt"
	"io"
	"net"
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
