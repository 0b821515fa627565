package netio

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// resolveLoop re-resolves w.host every interval until Close, moving the Writer to a new address
// when the name's first address changes. Lookups run here, never under w.mu, so a slow DNS server
// delays nothing but this goroutine.
func (w *Writer) resolveLoop(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-t.C:
		}
		dest, err := w.resolve(lookupTimeout)
		if err != nil {
			// Counted in ResolveErrors; the last good address stays in use.
			continue
		}
		w.swap(dest)
	}
}

// swap points the Writer at dest. A new socket is dialled before the old one closes, so a failed
// dial leaves the old, last good, destination in use; the next tick tries again.
func (w *Writer) swap(dest netip.AddrPort) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || dest == w.dest {
		return
	}
	if w.conn == nil {
		// Nothing to move; Write dials the new address when it next needs a socket.
		w.dest = dest
		return
	}
	c, err := w.dial(dest)
	if err != nil {
		return
	}
	w.conn.Close()
	w.conn, w.dest = c, dest
}

// resolve looks w.host up once, bounded by timeout and by Close, and returns the first address
// the resolver gives: resolvers order addresses by preference (RFC 6724), so the first one is
// what a plain net.Dial would try first.
func (w *Writer) resolve(timeout time.Duration) (netip.AddrPort, error) {
	ctx, cancel := context.WithTimeout(w.ctx, timeout)
	defer cancel()
	network := "ip"
	switch w.addr.Network {
	case "udp4":
		network = "ip4"
	case "udp6":
		network = "ip6"
	}
	ips, err := w.lookup(ctx, network, w.host)
	w.stats.resolves.Add(1)
	if err == nil && len(ips) == 0 {
		err = fmt.Errorf("netio: resolve %s: no %s address", w.host, network)
	} else if err != nil {
		err = fmt.Errorf("netio: resolve %s: %w", w.host, err)
	}
	if err != nil {
		w.stats.resolveErrors.Add(1)
		return netip.AddrPort{}, err
	}
	ip := ips[0]
	if network != "ip6" {
		// The resolver may hand back IPv4 as ::ffff:a.b.c.d; a udp socket wants the plain form.
		ip = ip.Unmap()
	}
	return netip.AddrPortFrom(ip, w.port), nil
}
