//go:build !linux

package netio

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// sender is the portable path: one conn.Write per datagram. The runtime poller waits on a full
// buffer inside conn.Write, bounded by the write deadline Write set.
type sender struct {
	conn     net.Conn
	unixgram bool
}

func (s *sender) init(_ int, unixgram bool) { s.unixgram = unixgram }

func (s *sender) attach(c net.Conn) error {
	s.conn = c
	return nil
}

// write sends payloads one by one, counting into t, and reports whether the unix receiver is
// gone. Every pass either sends one datagram, drops at least one, or spends the one retry the
// current datagram gets.
func (s *sender) write(payloads [][]byte, t *tally) (gone bool) {
	retried := false
	for i := 0; i < len(payloads); {
		t.syscalls++
		_, err := s.conn.Write(payloads[i])
		if err == nil {
			t.datagrams++
			t.bytes += uint64(len(payloads[i]))
			i++
			retried = false
			continue
		}
		var errno syscall.Errno
		if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) || !errors.As(err, &errno) {
			dropRest(t, len(payloads)-i, err)
			return false
		}
		var gone bool
		if i, retried, gone = t.failed(errno, s.unixgram, i, len(payloads), retried); gone {
			return true
		}
	}
	return false
}
