//go:build !unix

package netio

import (
	"errors"
	"fmt"
	"net"
)

// dupConn cannot share a socket between two connections here: Handover reports it.
func dupConn(net.PacketConn) (net.PacketConn, error) {
	return nil, fmt.Errorf("sharing a socket: %w", errors.ErrUnsupported)
}
