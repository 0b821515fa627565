package netio

import (
	"errors"
	"fmt"
	"os"
)

// Handover starts a Reader that takes over r's address without a gap, handing what arrives to
// h, with cfg's settings: the way to restart a listener (a new configuration, a new handler)
// without losing a datagram. The successor shares r's sockets: a descriptor of each, up to the
// number cfg asks for. On Linux, a UDP successor with more readers than r has sockets binds the
// others beside them on the port (SO_REUSEPORT); with fewer, the sockets it does not share stay
// r's alone. A unixgram successor shares r's one socket, and its file, which stays where it is.
//
// Until r is closed both read the shared sockets, each datagram reaching one of the two
// handlers. Then close r: it leaves the shared sockets to the successor and seals and drains only
// the sockets it holds alone (see Close), so every datagram the kernel took is handed to one
// handler or counted. Kernel drops are counted once: r's Stats stop counting a shared socket's
// drops at Handover, the successor's start there. Closing the successor before r gives the
// sockets back to r.
//
// Handover fails, leaving r as it was, if r is closed or was handed over already, or if the
// system cannot share a socket between two descriptors (errors.ErrUnsupported, on Windows).
// RecvBuffer applies to the shared sockets too; a unixgram socket's file is kept, and given
// cfg.SocketMode when its mode differs (a chmod can only take permission away from senders
// that have not opened it yet, never lose a datagram).
func (r *Reader) Handover(cfg ReaderConfig, h Handler) (*Reader, error) {
	if h == nil {
		return nil, errors.New("netio: Handover: nil handler")
	}
	if r.closing.Load() || !r.handedOff.CompareAndSwap(false, true) {
		return nil, fmt.Errorf("netio: Handover %s: the Reader is closed or was handed over", r.addr)
	}
	unixgram := r.addr.Network == "unixgram"
	cfg = cfg.withDefaults(unixgram)
	n := 1
	if !unixgram {
		n = udpSocketCount(cfg.Readers)
	}
	nr := &Reader{addr: r.addr, handler: h, pred: r}
	fail := func(err error) (*Reader, error) {
		nr.shutdown() // gives the shared sockets back to r, and lets r hand over again
		return nil, fmt.Errorf("netio: Handover %s: %w", r.addr, err)
	}
	for _, old := range r.socks[:min(n, len(r.socks))] {
		c, err := dupConn(old.conn)
		if err != nil {
			return fail(err)
		}
		old.sh.holders.Add(1)
		old.refreshDrops()
		b := old.sh.drops.Load()
		nr.socks = append(nr.socks, &readerSocket{conn: c, sh: old.sh, from: b, prev: old})
		old.until.Store(b + 1)
	}
	if unixgram {
		if fi, err := os.Stat(r.addr.Address); err == nil && fi.Mode().Perm() != cfg.SocketMode.Perm() {
			if err := os.Chmod(r.addr.Address, cfg.SocketMode); err != nil {
				return fail(err)
			}
		}
	}
	if more := n - len(nr.socks); more > 0 {
		conns, err := joinUDPSockets(r.addr, more)
		for _, c := range conns {
			nr.socks = append(nr.socks, newSocket(c))
		}
		if err != nil {
			return fail(err)
		}
	}
	if err := nr.start(cfg); err != nil {
		// start has closed nr, which gave everything back.
		return nil, fmt.Errorf("netio: Handover %s: %w", r.addr, err)
	}
	return nr, nil
}
