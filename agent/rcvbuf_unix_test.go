//go:build unix

package agent

import (
	"net"
	"syscall"
)

// smallRcvbuf is a dialer whose connections get a 4 KiB receive buffer, set before connecting, so
// a client that never reads cannot let the kernel absorb what the stream writes to it.
var smallRcvbuf = &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
	var err error
	c.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	return err
}}
