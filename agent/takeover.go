package agent

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"github.com/statshard/statshard/netio"
)

// takeover finds, among the readers of a running intake not taken yet, the one listening where a
// asks: the same unix socket path, or the same UDP network, port (a port of 0 takes any) and
// address (a name taking any address it resolves to; wildcards matching wildcards).
func takeover(readers []*netio.Reader, taken []bool, a netio.Addr) int {
	for i, rd := range readers {
		if !taken[i] && listensAt(rd.Addr(), a) {
			return i
		}
	}
	return -1
}

func listensAt(bound, want netio.Addr) bool {
	if bound.Network != want.Network {
		return false
	}
	if want.Network == "unixgram" {
		return samePath(bound.Address, want.Address)
	}
	bh, bp, err1 := net.SplitHostPort(bound.Address)
	wh, wp, err2 := net.SplitHostPort(want.Address)
	if err1 != nil || err2 != nil || wp != "0" && wp != bp {
		return false
	}
	bip, err := netip.ParseAddr(bh)
	if err != nil {
		return false
	}
	bip = bip.Unmap()
	if wh == "" {
		return bip.IsUnspecified()
	}
	ctx, cancel := context.WithTimeout(context.Background(), loopLookupTimeout)
	defer cancel()
	for _, ip := range lookupIPs(ctx, want.Network, wh) {
		if ip == bip || ip.IsUnspecified() && bip.IsUnspecified() {
			return true
		}
	}
	return false
}

// listenReader binds a, taking over from prev (a reader of the intake being replaced) when it
// is not nil. Where the system cannot share a socket (Windows), prev is closed first and a
// binds afresh: datagrams sent in that moment are refused.
func listenReader(prev *netio.Reader, a netio.Addr, cfg netio.ReaderConfig, h netio.Handler) (*netio.Reader, error) {
	if prev == nil {
		return netio.ListenReader(a, cfg, h)
	}
	rd, err := prev.Handover(cfg, h)
	if errors.Is(err, errors.ErrUnsupported) {
		prev.Close()
		return netio.ListenReader(a, cfg, h)
	}
	return rd, err
}
