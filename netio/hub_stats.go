package netio

import "sync/atomic"

// HubStats is a snapshot of a Hub's counters, totals since ListenHub except Clients. Every frame
// the hub takes on for a client (a broadcast frame while the client is connected, or a greeting
// frame) ends up counted exactly once: in Frames, DroppedSlow or DroppedGone. Counters are read
// one by one, so a snapshot taken while clients come and go may be off by the events in flight.
// The zero value is an empty snapshot.
type HubStats struct {
	// Clients is the number of clients connected now.
	Clients uint64
	// Accepted counts connections served; Rejected counts connections closed at once because
	// MaxClients were connected. Every accepted client is either connected or Disconnected:
	// Accepted == Clients + Disconnected once the hub is idle.
	Accepted, Rejected uint64
	// Disconnected counts clients gone for any reason: closed by the peer, a write error, a
	// missed write deadline, or Close.
	Disconnected uint64
	// TimedOut counts the Disconnected clients whose write missed WriteTimeout.
	TimedOut uint64
	// Evicted counts the Disconnected clients evicted to let a new connection in: MaxClients
	// were connected and this one had gone longest without a completed write, longer than
	// HubConfig.EvictAfter.
	Evicted uint64
	// Frames and Bytes count whole frames written to clients' sockets, summed over clients; a
	// frame cut short by a failed write counts in DroppedGone instead. Writes counts the
	// vectored write calls made, one per writer wake-up; the kernel may take several system
	// calls for one of them when a socket buffer fills.
	Frames, Bytes, Writes uint64
	// DroppedSlow counts frames dropped, oldest first, from full client queues.
	DroppedSlow uint64
	// DroppedGone counts frames queued for a client, or cut short in a write, when it went away.
	DroppedGone uint64
	// AcceptErrors counts accept errors the hub backed off from and survived.
	AcceptErrors uint64
	// JunkBytes counts bytes clients sent; the stream is one-way, so they are read and discarded.
	JunkBytes uint64
}

// hubCounters holds a Hub's counters. Writers add to frames, bytes and writes once per wake-up,
// not per frame, and Broadcast adds drops once per batch, so contention stays off the hot path.
type hubCounters struct {
	accepted, rejected, disconnected, timedOut atomic.Uint64
	evicted                                    atomic.Uint64
	frames, bytes, writes                      atomic.Uint64
	droppedSlow, droppedGone                   atomic.Uint64
	acceptErrors, junk                         atomic.Uint64
}

func (s *hubCounters) snapshot(clients int64) HubStats {
	return HubStats{
		Clients:      uint64(clients),
		Accepted:     s.accepted.Load(),
		Rejected:     s.rejected.Load(),
		Disconnected: s.disconnected.Load(),
		TimedOut:     s.timedOut.Load(),
		Evicted:      s.evicted.Load(),
		Frames:       s.frames.Load(),
		Bytes:        s.bytes.Load(),
		Writes:       s.writes.Load(),
		DroppedSlow:  s.droppedSlow.Load(),
		DroppedGone:  s.droppedGone.Load(),
		AcceptErrors: s.acceptErrors.Load(),
		JunkBytes:    s.junk.Load(),
	}
}
