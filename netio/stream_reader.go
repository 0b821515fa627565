package netio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults for StreamConfig's zero fields.
const (
	DefaultStreamMaxConns = 256
	DefaultStreamMaxFrame = 64 << 10
	defaultStreamBuffer   = 16 << 10
)

// StreamConfig configures a StreamReader. The zero value is ready to use: zero fields mean the
// documented defaults.
type StreamConfig struct {
	// MaxConns caps the connections served at once. A connection past it is closed as soon as it
	// is accepted and counted in StreamStats.Rejected; its sender sees the connection end and
	// counts its own drops. Zero means DefaultStreamMaxConns (256).
	MaxConns int
	// MaxFrame is the longest frame payload a connection may send, in bytes. A longer frame is
	// read and discarded without being buffered, and counted in StreamStats.Truncated; the frames
	// after it are read as usual. Zero means DefaultStreamMaxFrame (65536, 8× DogStatsD's 8192-byte
	// Unix payloads).
	MaxFrame int
	// BatchSize is the most frames handed to the handler in one call. Zero means 64.
	BatchSize int
	// SocketMode is the permission of the socket file: connecting to a Unix stream socket needs
	// write permission on it. Zero means 0660.
	SocketMode os.FileMode
}

func (c StreamConfig) withDefaults() StreamConfig {
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultStreamMaxConns
	}
	if c.MaxFrame <= 0 {
		c.MaxFrame = DefaultStreamMaxFrame
	}
	if c.BatchSize <= 0 {
		c.BatchSize = defaultBatchSize
	}
	if c.SocketMode == 0 {
		c.SocketMode = DefaultSocketMode
	}
	return c
}

// StreamStats is a snapshot of a StreamReader's counters, totals since ListenStream except Conns.
type StreamStats struct {
	// Conns is the number of connections served now.
	Conns int
	// Accepted counts connections served; Rejected those closed at once because MaxConns were
	// being served.
	Accepted, Rejected uint64
	// Frames and Bytes count the frames handed to the handler and their payload bytes (length
	// prefixes left out); Reads counts read system calls.
	Frames, Bytes, Reads uint64
	// Truncated counts frames longer than MaxFrame, skipped unread.
	Truncated uint64
	// Cut counts connections that ended inside a frame: the part of that frame already received
	// is dropped (a sender's write that timed out, or a sender that died, leaves one).
	Cut uint64
	// Panics counts handler panics recovered; the connection went on being read.
	Panics uint64
	// Errors counts failed accept and read calls other than those Close caused.
	Errors uint64
}

// StreamReader serves a Unix stream socket whose senders frame each payload with its length as a
// 4-byte little-endian integer (FrameHeader), as datadog-go's unixstream:// transport and the
// Datadog Agent's dogstatsd_stream_socket do, and hands the payloads, in batches, to a Handler.
// The zero value is not usable: create one with ListenStream and stop it with Close. Its methods
// are safe from any goroutine.
//
// Each connection has a goroutine and a read buffer of its own. The buffer starts at 16 KiB and
// grows, only when a frame announces it needs to, to at most MaxFrame plus the prefix, so memory is
// bounded by MaxConns × (MaxFrame + FrameHeader) whatever the senders do. A connection's frames
// go to the handler with a reader index, from 0 to MaxConns-1, that no other connection uses while
// this one lasts: per-index state (a parser) needs no lock.
type StreamReader struct {
	addr    Addr
	cfg     StreamConfig
	handler Handler
	l       *net.UnixListener
	file    os.FileInfo // the socket file ListenStream created, so Close removes only that one

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	free  []int // reader indexes not in use
	wg    sync.WaitGroup

	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error

	accepted, rejected, frames, bytes, reads, truncated, cut, panics, errs atomic.Uint64
}

// ListenStream binds the Unix stream socket at a's path (a.Network "unixstream") and serves
// connections until Close, passing what arrives to h. As for a unixgram Reader, the path is
// replaced only when it is a stale socket (nobody accepts on it); a live socket or any other kind
// of file there is an error. The socket file gets cfg.SocketMode.
func ListenStream(a Addr, cfg StreamConfig, h Handler) (*StreamReader, error) {
	if h == nil {
		return nil, errors.New("netio: ListenStream: nil handler")
	}
	if a.Network != "unixstream" {
		return nil, fmt.Errorf("netio: ListenStream %s: want a unixstream:///path address", a)
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	path := a.Address
	if err := removeStaleStream(path); err != nil {
		return nil, fmt.Errorf("netio: listen %s: %w", a, err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("netio: listen %s: %w", a, err)
	}
	// Close removes the file itself, and only if it is still ours (see Reader.Close).
	l.SetUnlinkOnClose(false)
	s := &StreamReader{addr: a, cfg: cfg, handler: h, l: l, conns: map[net.Conn]struct{}{}}
	fi, err := os.Lstat(path)
	if err == nil {
		s.file = fi
		// The socket briefly has the umask's mode; chmod on the path is the portable way to set it.
		err = os.Chmod(path, cfg.SocketMode)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("netio: listen %s: %w", a, err)
	}
	for i := cfg.MaxConns - 1; i >= 0; i-- {
		s.free = append(s.free, i)
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// removeStaleStream makes path free to bind, with the rules of removeStaleSocket for a stream
// socket: absent is fine; a socket nobody accepts on is removed; anything else is an error.
func removeStaleStream(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket (mode %v); not removing it", path, fi.Mode())
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("%s is in use: another process accepts on it", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		// EPROTOTYPE (a live datagram socket), EACCES, ...: not provably stale.
		return fmt.Errorf("%s exists and may be in use: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}

// Addr returns the address the StreamReader listens on.
func (s *StreamReader) Addr() Addr { return s.addr }

// Stats returns the StreamReader's counters. It is safe to call at any time, even after Close.
func (s *StreamReader) Stats() StreamStats {
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	return StreamStats{
		Conns:     n,
		Accepted:  s.accepted.Load(),
		Rejected:  s.rejected.Load(),
		Frames:    s.frames.Load(),
		Bytes:     s.bytes.Load(),
		Reads:     s.reads.Load(),
		Truncated: s.truncated.Load(),
		Cut:       s.cut.Load(),
		Panics:    s.panics.Load(),
		Errors:    s.errs.Load(),
	}
}

// Close stops accepting, closes every connection (which ends the reads in progress), waits for
// the goroutines, so for handler calls in progress, and removes the socket file if it is still
// the one ListenStream created. Calling Close again returns the first call's result. Calling it
// from the handler deadlocks.
func (s *StreamReader) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		if err := s.l.Close(); err != nil {
			s.closeErr = fmt.Errorf("netio: close %s: %w", s.addr, err)
		}
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
		if s.file != nil {
			if fi, err := os.Lstat(s.addr.Address); err == nil && os.SameFile(fi, s.file) {
				if err := os.Remove(s.addr.Address); err != nil && s.closeErr == nil {
					s.closeErr = fmt.Errorf("netio: close %s: %w", s.addr, err)
				}
			}
		}
	})
	return s.closeErr
}

// accept serves new connections until Close.
func (s *StreamReader) accept() {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		c, err := s.l.Accept()
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and the like: pause, longer if it repeats, rather than spin.
			s.errs.Add(1)
			backoff = min(max(2*backoff, time.Millisecond), readerMaxBackoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.mu.Lock()
		if s.closing.Load() || len(s.free) == 0 {
			s.mu.Unlock()
			// Counted before the close, so that a client that sees its connection closed
			// also sees it in Stats.
			if !s.closing.Load() {
				s.rejected.Add(1)
			}
			c.Close()
			continue
		}
		id := s.free[len(s.free)-1]
		s.free = s.free[:len(s.free)-1]
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.accepted.Add(1)
		go s.serve(c, id)
	}
}

// serve reads one connection's frames until it ends.
func (s *StreamReader) serve(c net.Conn, id int) {
	defer s.wg.Done()
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.free = append(s.free, id)
		s.mu.Unlock()
	}()
	limit := s.cfg.MaxFrame + FrameHeader
	buf := make([]byte, min(defaultStreamBuffer, limit))
	batch := make([][]byte, 0, s.cfg.BatchSize)
	n := 0    // bytes in buf
	skip := 0 // bytes still to discard of a frame longer than MaxFrame
	for {
		m, err := c.Read(buf[n:])
		s.reads.Add(1)
		n += m
		off, need := 0, 0
		var frames, bytes uint64
		for {
			if skip > 0 {
				d := min(skip, n-off)
				skip -= d
				off += d
				if skip > 0 {
					break
				}
			}
			if n-off < FrameHeader {
				break
			}
			l := int(binary.LittleEndian.Uint32(buf[off:]))
			if l > s.cfg.MaxFrame {
				s.truncated.Add(1)
				off += FrameHeader
				skip = l
				continue
			}
			if n-off-FrameHeader < l {
				need = FrameHeader + l
				break
			}
			if l > 0 { // an empty frame carries nothing: skipped
				end := off + FrameHeader + l
				batch = append(batch, buf[off+FrameHeader:end:end])
				frames++
				bytes += uint64(l)
			}
			off += FrameHeader + l
			if len(batch) == cap(batch) {
				s.deliver(id, batch)
				batch = batch[:0]
			}
		}
		if len(batch) > 0 {
			s.deliver(id, batch)
			batch = batch[:0]
		}
		clear(batch[:cap(batch)]) // the frames alias buf, which moves on
		if frames > 0 {
			s.frames.Add(frames)
			s.bytes.Add(bytes)
		}
		n = copy(buf, buf[off:n])
		if need > len(buf) {
			// Grow to the frame announced (at most limit), keeping the part already received.
			nb := make([]byte, min(max(need, 2*len(buf)), limit))
			copy(nb, buf[:n])
			buf = nb
		}
		if err != nil {
			if n > 0 || skip > 0 {
				s.cut.Add(1)
			}
			if !errors.Is(err, io.EOF) && !s.closing.Load() && !errors.Is(err, net.ErrClosed) {
				s.errs.Add(1)
			}
			return
		}
	}
}

// deliver calls the handler, recovering a panic so that one bad frame cannot stop a connection.
func (s *StreamReader) deliver(id int, batch [][]byte) {
	defer func() {
		if recover() != nil {
			s.panics.Add(1)
		}
	}()
	s.handler(id, batch)
}
