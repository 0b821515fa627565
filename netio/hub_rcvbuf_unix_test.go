//go:build unix

package netio

import (
	"net"
	"syscall"
	"testing"
)

// hubDialSmall connects a client to h with a receive buffer of about size bytes, set before
// connecting: shrinking it on a live connection makes Linux drop segments it already advertised
// room for, and the retransmission backoff then stalls the stream for seconds.
func hubDialSmall(t *testing.T, h *Hub, size int) *net.TCPConn {
	t.Helper()
	d := net.Dialer{Timeout: hubWait, Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	c, err := d.Dial("tcp", h.Addr().String())
	if err != nil {
		t.Fatalf("dial hub: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}
