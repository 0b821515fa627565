//go:build !unix

package agent

import "net"

// smallRcvbuf is a plain dialer where SO_RCVBUF cannot be set before connecting the same way:
// the tests that use it expect a client's backlog to show, which the OS default buffer may hide.
var smallRcvbuf = &net.Dialer{}
