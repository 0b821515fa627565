package netio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Addr is a datagram destination. The zero value is invalid; build one with ParseAddr or by
// filling both fields.
type Addr struct {
	// Network is "udp", "udp4", "udp6" or "unixgram".
	Network string
	// Address is "host:port" for the udp networks (host may be a DNS name, an IPv4 literal or a
	// bracketed IPv6 literal) and an absolute socket path for unixgram.
	Address string
}

// ParseAddr parses a destination URL:
//
//	udp://host:port, udp4://host:port, udp6://host:port
//	unixgram:///absolute/path
//	host:port  (no scheme: udp)
//
// Hosts may be DNS names or IP literals ("[::1]:8125"); they are not resolved here. Ports are
// numeric, 1 to 65535.
func ParseAddr(s string) (Addr, error) {
	a, err := parseURL(s)
	if err != nil {
		return a, err
	}
	return a, a.check()
}

// ParseListenAddr parses an address to listen on, in the forms ParseAddr takes; unlike a
// destination, a udp host may be empty ("udp://:8125", every interface) and the port may be 0
// (the kernel picks one; Reader.Addr tells which).
func ParseListenAddr(s string) (Addr, error) {
	a, err := parseURL(s)
	if err != nil {
		return a, err
	}
	return a, checkListenAddr(a)
}

// parseURL splits a URL into an Addr without validating host, port or path.
func parseURL(s string) (Addr, error) {
	if s == "" {
		return Addr{}, errors.New("netio: empty address")
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Addr{Network: "udp", Address: s}, nil
	}
	// Schemes are case-insensitive in URLs; an operator typing UDP:// means udp://.
	a := Addr{Network: strings.ToLower(scheme), Address: rest}
	switch a.Network {
	case "udp", "udp4", "udp6", "unixgram":
		return a, nil
	case "unix":
		return Addr{}, fmt.Errorf("netio: address %q: unix:// is a stream socket; use unixgram:// for datagrams", s)
	default:
		return Addr{}, fmt.Errorf("netio: address %q: unknown scheme %q (want udp, udp4, udp6 or unixgram)", s, scheme)
	}
}

// String returns a in the URL form ParseAddr accepts: "udp://host:port" or "unixgram:///path".
func (a Addr) String() string {
	return a.Network + "://" + a.Address
}

// check reports whether a can be dialled, with the reason if not.
func (a Addr) check() error {
	_, _, err := a.split()
	return err
}

// split validates a and returns, for the udp networks, its host and numeric port.
func (a Addr) split() (host string, port uint16, err error) {
	switch a.Network {
	case "unixgram":
		if a.Address == "" {
			return "", 0, errors.New("netio: unixgram address: empty socket path")
		}
		if !strings.HasPrefix(a.Address, "/") {
			return "", 0, fmt.Errorf("netio: unixgram address %q: socket path must be absolute (unixgram:///path)", a.Address)
		}
		return "", 0, nil
	case "udp", "udp4", "udp6":
	case "":
		return "", 0, errors.New("netio: invalid address: empty network")
	default:
		return "", 0, fmt.Errorf("netio: invalid address: unknown network %q", a.Network)
	}
	if a.Address == "" {
		return "", 0, fmt.Errorf("netio: %s address: empty host:port", a.Network)
	}
	host, p, err := net.SplitHostPort(a.Address)
	if err != nil {
		// SplitHostPort's messages ("missing port in address") are clear; keep them.
		return "", 0, fmt.Errorf("netio: %s address %q: %w", a.Network, a.Address, err)
	}
	if host == "" {
		return "", 0, fmt.Errorf("netio: %s address %q: missing host", a.Network, a.Address)
	}
	if p == "" {
		return "", 0, fmt.Errorf("netio: %s address %q: missing port", a.Network, a.Address)
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return "", 0, fmt.Errorf("netio: %s address %q: port %q is not a number from 1 to 65535", a.Network, a.Address, p)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		if a.Network == "udp4" && !ip.Is4() || a.Network == "udp6" && !ip.Is6() {
			return "", 0, fmt.Errorf("netio: %s address %q: IP %s is of the wrong family", a.Network, a.Address, host)
		}
	}
	return host, uint16(n), nil
}
