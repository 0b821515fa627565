package netio

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"time"
)

// FrameHeader is the size of the length prefix before each payload on a Unix stream socket: a
// 4-byte little-endian unsigned integer, the payload's length in bytes, as the Datadog Agent's
// stream socket (dogstatsd_stream_socket) and datadog-go's unixstream:// transport frame them.
const FrameHeader = 4

const (
	// streamChunk is about the most bytes one write to a stream socket carries: frames are laid
	// out contiguously up to it, so a flush costs one write per chunk, not two per payload as a
	// header-then-payload writer makes.
	streamChunk = 256 << 10
	// streamMinBackoff and streamMaxBackoff bound the pause between dial attempts to a stream
	// socket that refuses them; it doubles on each failure and resets on success.
	streamMinBackoff = 100 * time.Millisecond
	streamMaxBackoff = 5 * time.Second
)

// streamState is a Writer's state for a unixstream Addr: the frame buffer and the dial backoff.
// The socket itself is the Writer's conn, so Close closes it as it closes a datagram socket. All
// of it is guarded by the Writer's mu.
type streamState struct {
	buf      []byte
	backoff  time.Duration
	nextDial time.Time
	// min and max are the dial backoff's bounds; tests shorten them.
	min, max time.Duration
}

func newStreamState() *streamState {
	return &streamState{min: streamMinBackoff, max: streamMaxBackoff}
}

// writeStream is Write for a unixstream Addr. Each payload goes as one frame, its length prefix
// then its bytes, frames packed contiguously so that a batch takes one write system call per
// streamChunk bytes. Every payload is counted once, sent or dropped by reason, as for datagrams:
//
//   - No connection (nothing listening, the path missing, the Writer closed): NoDestination.
//     Dialling backs off, from 100ms doubling to 5s, so a missing receiver costs a failed dial
//     per backoff step, not one per Write.
//   - The socket buffer stays full past WriteTimeout: what was not written is dropped as
//     WouldBlock.
//   - Any other write error (the receiver went away: EPIPE, ECONNRESET): NoDestination.
//
// After any write error the connection is closed, because a frame may have been cut: the receiver
// discards a frame it could not read whole, and the next Write dials again at once.
func (w *Writer) writeStream(payloads [][]byte) int {
	var t tally
	w.mu.Lock()
	if w.closed || !w.dialStream() {
		t.drop(noDestination, len(payloads))
	} else {
		w.sendFrames(payloads, &t)
	}
	w.mu.Unlock()
	w.stats.add(&t)
	return int(t.datagrams)
}

// dialStream makes sure w.conn is a connected stream socket, dialling when the backoff allows.
// Called with w.mu held.
func (w *Writer) dialStream() bool {
	if w.conn != nil {
		return true
	}
	s := w.stream
	now := time.Now()
	if now.Before(s.nextDial) {
		return false
	}
	c, err := net.DialTimeout("unix", w.addr.Address, w.cfg.WriteTimeout)
	if err != nil {
		s.backoff = min(max(2*s.backoff, s.min), s.max)
		s.nextDial = now.Add(s.backoff)
		return false
	}
	s.backoff, s.nextDial = 0, time.Time{}
	if w.cfg.SendBuffer > 0 {
		// Best effort, as for datagram sockets: a smaller buffer only means earlier WouldBlock.
		_ = c.(*net.UnixConn).SetWriteBuffer(w.cfg.SendBuffer)
	}
	w.conn = c
	w.stats.reconnects.Add(1)
	return true
}

// sendFrames writes payloads as frames in chunks, counting into t. Called with w.mu held and
// w.conn set.
func (w *Writer) sendFrames(payloads [][]byte, t *tally) {
	s := w.stream
	deadline := time.Now().Add(w.cfg.WriteTimeout)
	if err := w.conn.SetWriteDeadline(deadline); err != nil {
		t.drop(other, len(payloads))
		return
	}
	for i := 0; i < len(payloads); {
		// Lay out frames i..j-1; a payload larger than a chunk gets a chunk of its own.
		buf := s.buf[:0]
		j := i
		for j < len(payloads) && (j == i || len(buf)+FrameHeader+len(payloads[j]) <= streamChunk) {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(len(payloads[j])))
			buf = append(buf, payloads[j]...)
			j++
		}
		s.buf = buf
		n, err := w.conn.Write(buf)
		t.syscalls++
		// Count the frames written whole, even when the write stopped part way.
		for off := 0; i < j; i++ {
			end := off + FrameHeader + len(payloads[i])
			if end > n {
				break
			}
			t.datagrams++
			t.bytes += uint64(len(payloads[i]))
			off = end
		}
		if err != nil {
			r := noDestination
			if errors.Is(err, os.ErrDeadlineExceeded) {
				r = wouldBlock
			}
			t.drop(r, len(payloads)-i)
			w.conn.Close()
			w.conn = nil
			break
		}
	}
	// A burst of large payloads must not pin its buffer until the next Write.
	if cap(s.buf) > 2*streamChunk {
		s.buf = nil
	}
}
