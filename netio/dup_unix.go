//go:build unix

package netio

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// dupConn returns a second descriptor of c's socket, as a connection of its own: reading one
// reads the same queue, and closing one leaves the socket open for the other. It duplicates the
// descriptor itself rather than through the connection's File method, whose os.File switches the
// shared socket to blocking mode (on Fd), under the reading goroutines' feet.
func dupConn(c net.PacketConn) (net.PacketConn, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("dup: %T has no descriptor", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var derr error
	if err := raw.Control(func(fd uintptr) {
		// Under ForkLock, so that no child started meanwhile inherits the descriptor before
		// it is close-on-exec.
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		if nfd, derr = syscall.Dup(int(fd)); derr == nil {
			syscall.CloseOnExec(nfd)
		}
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, fmt.Errorf("dup: %w", derr)
	}
	// The descriptor shares the socket's non-blocking mode, so os.NewFile keeps it, and Fd
	// (which FilePacketConn calls) leaves it non-blocking.
	f := os.NewFile(uintptr(nfd), "netio-dup")
	defer f.Close()
	pc, err := net.FilePacketConn(f)
	if err != nil {
		return nil, fmt.Errorf("dup: %w", err)
	}
	return pc, nil
}
