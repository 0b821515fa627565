package netio

import (
	"sync/atomic"
	"syscall"
)

// WriterStats is a snapshot of a Writer's counters, all totals since NewWriter. Every datagram
// passed to Write ends up counted exactly once: in Datagrams or in one drop reason. On a
// unixstream Writer a datagram is a frame: Datagrams counts frames written whole, Bytes their
// payloads without the length prefixes, and Syscalls the write calls.
type WriterStats struct {
	// Datagrams and Bytes count what the kernel accepted; Syscalls counts send system calls made
	// (sendmmsg on Linux, one write per datagram elsewhere), including calls that sent nothing.
	Datagrams, Bytes, Syscalls uint64
	// Dropped is the number of datagrams not sent, for any reason: the sum of the five reasons
	// below.
	Dropped uint64
	// Refused: a connected UDP socket reported ECONNREFUSED (no listener) twice for the datagram.
	// WouldBlock: the socket buffer stayed full past WriteTimeout, or the kernel said ENOBUFS.
	// NoDestination: no socket to send on (DNS never resolved, unix socket path missing or its
	// receiver gone, Writer closed).
	// TooLarge: EMSGSIZE. Other: any other send error.
	Refused, WouldBlock, NoDestination, TooLarge, Other uint64
	// Resolves counts DNS lookups made (at the first Write and by the re-resolution goroutine);
	// ResolveErrors counts those that failed or returned no address.
	Resolves, ResolveErrors uint64
	// Reconnects counts sockets connected, the first one included.
	Reconnects uint64
	// Unreachable counts ICMP port-unreachable reports on a UDP socket: ECONNREFUSED returned by a
	// send for an EARLIER datagram, which was counted in Datagrams (the kernel took it) but that
	// nobody received. The kernel rate-limits these reports, so this is a lower bound on such
	// losses; any growth means the upstream is not listening.
	Unreachable uint64
}

// reason is why a datagram was dropped; it indexes tally.drops and stats.drops.
type reason uint8

const (
	refused reason = iota
	wouldBlock
	noDestination
	tooLarge
	other
	numReasons
)

// tally is what one Write did. Write fills a tally on its stack and folds it into the shared
// atomics once at the end, so a Write of 64 datagrams costs a handful of atomic adds, not 64.
type tally struct {
	datagrams, bytes, syscalls uint64
	drops                      [numReasons]uint64
	unreachable                uint64
	cause                      error // the last send error, for Writer.Err
}

func (t *tally) drop(r reason, n int) { t.drops[r] += uint64(n) }

// failed accounts for a send error errno on payload i of n, the tail that every sender shares: it
// returns the index to go on from, whether the next attempt at it is a retry, and whether the
// destination is gone (the rest were dropped). retried says whether payload i was retried already:
// a retryable error gets one more try, then the payload is dropped.
func (t *tally) failed(errno syscall.Errno, unixgram bool, i, n int, retried bool) (next int, retry, gone bool) {
	r, again, lost := judge(errno, unixgram)
	t.cause = errno
	if errno == syscall.ECONNREFUSED && !unixgram {
		t.unreachable++
	}
	switch {
	case lost:
		t.drop(r, n-i)
		return n, false, true
	case again && !retried:
		return i, true, false
	default:
		t.drop(r, 1)
		return i + 1, false, false
	}
}

// stats holds a Writer's counters; Stats may read them while Write and the resolver add to them.
type stats struct {
	datagrams, bytes, syscalls atomic.Uint64
	drops                      [numReasons]atomic.Uint64
	resolves, resolveErrors    atomic.Uint64
	reconnects                 atomic.Uint64
	unreachable                atomic.Uint64
}

func (s *stats) add(t *tally) {
	if t.datagrams != 0 {
		s.datagrams.Add(t.datagrams)
		s.bytes.Add(t.bytes)
	}
	if t.syscalls != 0 {
		s.syscalls.Add(t.syscalls)
	}
	if t.unreachable != 0 {
		s.unreachable.Add(t.unreachable)
	}
	for r, n := range t.drops {
		if n != 0 {
			s.drops[r].Add(n)
		}
	}
}

func (s *stats) snapshot() WriterStats {
	st := WriterStats{
		Datagrams:     s.datagrams.Load(),
		Bytes:         s.bytes.Load(),
		Syscalls:      s.syscalls.Load(),
		Refused:       s.drops[refused].Load(),
		WouldBlock:    s.drops[wouldBlock].Load(),
		NoDestination: s.drops[noDestination].Load(),
		TooLarge:      s.drops[tooLarge].Load(),
		Other:         s.drops[other].Load(),
		Resolves:      s.resolves.Load(),
		ResolveErrors: s.resolveErrors.Load(),
		Reconnects:    s.reconnects.Load(),
		Unreachable:   s.unreachable.Load(),
	}
	// Summed here rather than counted separately so that Dropped always equals its parts.
	st.Dropped = st.Refused + st.WouldBlock + st.NoDestination + st.TooLarge + st.Other
	return st
}
