//go:build !unix

package netio

import (
	"net"
	"testing"
)

// hubDialSmall connects a client to h. Elsewhere than on Unix the receive buffer keeps its
// default size: the slow-client tests still hold, with more data buffered before drops start.
func hubDialSmall(t *testing.T, h *Hub, _ int) *net.TCPConn { return hubDial(t, h) }
