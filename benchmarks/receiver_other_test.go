//go:build !linux

package benchmarks

import (
	"errors"
	"net"
)

// batchReader reads one datagram at a time where recvmmsg(2) is unavailable.
type batchReader struct {
	c   *net.UDPConn
	buf []byte
}

func newBatchReader(c *net.UDPConn, _, size int) (*batchReader, error) {
	return &batchReader{c: c, buf: make([]byte, size)}, nil
}

// read waits for a datagram and calls each with it. It returns net.ErrClosed once the socket is
// closed.
func (r *batchReader) read(each func([]byte)) error {
	n, err := r.c.Read(r.buf)
	if err != nil {
		return err
	}
	each(r.buf[:n])
	return nil
}

// raisePriority is Linux-only; elsewhere the receiver runs at the default priority.
func raisePriority() {}

// forceReadBuffer is Linux-only; elsewhere SetReadBuffer's limit applies.
func forceReadBuffer(*net.UDPConn, int) error { return errors.ErrUnsupported }

// udpDrops is Linux-only (/proc/net/udp); elsewhere receiver drops are reported as 0.
func udpDrops(int) (uint64, bool) { return 0, false }
