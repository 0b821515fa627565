package netio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Addr is a destination or a listening address. The zero value is invalid; build one with
// ParseAddr or by filling both fields.
type Addr struct {
	// Network is "udp", "udp4", "udp6", "unixgram" (a Unix datagram socket) or "unixstream" (a Unix
	// stream socket carrying length-prefixed payloads, see NewWriter and ListenStream).
	Network string
	// Address is "host:port" for the udp networks (host may be a DNS name, an IPv4 literal or a
	// bracketed IPv6 literal) and an absolute socket path for the unix ones.
	Address string
}

// DefaultPort is the DogStatsD port, used when an address names a host without one.
const DefaultPort = "8125"

// addrForms names the forms ParseAddr takes, for error messages.
const addrForms = "udp://host[:port], host[:port], [ipv6]:port, unix:///path, unixgram:///path or unixstream:///path"

// ParseAddr parses a destination URL, in the forms the Datadog tools use (DD_DOGSTATSD_URL,
// DD_AGENT_HOST):
//
//	udp://host:port, udp4://host:port, udp6://host:port
//	udp://host                (port 8125)
//	host:port, host           (no scheme: udp; port 8125 when absent)
//	[::1]:8125, udp://[::1]   (IPv6 literals in brackets)
//	unix:///absolute/path     (a Unix datagram socket, as datadog-go reads unix://)
//	unixgram:///absolute/path
//	unixstream:///absolute/path (a Unix stream socket, each payload length-prefixed)
//
// Hosts may be DNS names or IP literals; they are not resolved here. Ports are numeric, 1 to
// 65535. An IPv6 literal without brackets ("::1") is refused rather than guessed at: in
// "::1:8125" the port cannot be told from the address. Anything else is an error that names these
// forms.
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

// parseURL splits a URL into an Addr, supplying the default port, without validating host, port
// or path.
func parseURL(s string) (Addr, error) {
	if s == "" {
		return Addr{}, errors.New("netio: empty address")
	}
	if strings.HasPrefix(s, `\\.\pipe\`) {
		return Addr{}, fmt.Errorf("netio: address %q: Windows named pipes are not supported (want %s)", s, addrForms)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		a := Addr{Network: "udp", Address: s}
		return a, a.defaultPort(s)
	}
	// Schemes are case-insensitive in URLs; an operator typing UDP:// means udp://.
	a := Addr{Network: strings.ToLower(scheme), Address: rest}
	switch a.Network {
	case "udp", "udp4", "udp6":
		return a, a.defaultPort(s)
	case "unixgram", "unixstream":
		return a, nil
	case "unix":
		// datadog-go and the Datadog Agent's documentation use unix:// for the datagram socket.
		a.Network = "unixgram"
		return a, nil
	default:
		return Addr{}, fmt.Errorf("netio: address %q: unknown scheme %q (want %s)", s, scheme, addrForms)
	}
}

// defaultPort appends DefaultPort to a udp address that names a host without a port, and refuses
// an IPv6 literal without brackets. s is the whole input, for the error.
func (a *Addr) defaultPort(s string) error {
	h := a.Address
	switch {
	case h == "":
		return nil // split says what is missing
	case strings.HasPrefix(h, "["):
		if strings.HasSuffix(h, "]") {
			a.Address = h + ":" + DefaultPort
		}
	case strings.Count(h, ":") > 1:
		return fmt.Errorf("netio: address %q: an IPv6 address needs brackets, as in [::1]:%s (want %s)", s, DefaultPort, addrForms)
	case !strings.Contains(h, ":"):
		a.Address = h + ":" + DefaultPort
	}
	return nil
}

// String returns a in the URL form ParseAddr accepts: "udp://host:port", "unixgram:///path" or
// "unixstream:///path".
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
	case "unixgram", "unixstream":
		if a.Address == "" {
			return "", 0, fmt.Errorf("netio: %s address: empty socket path", a.Network)
		}
		if !strings.HasPrefix(a.Address, "/") {
			return "", 0, fmt.Errorf("netio: %s address %q: socket path must be absolute (%s:///path)", a.Network, a.Address, a.Network)
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
	} else if !hostName(host) {
		return "", 0, fmt.Errorf("netio: %s address %q: host %q is neither an IP address nor a DNS name (want %s)", a.Network, a.Address, host, addrForms)
	}
	return host, uint16(n), nil
}

// hostName reports whether s can be a DNS name: letters, digits, '-', '_' and '.', as resolvers
// accept them. It keeps a mistyped URL ("unix:/path" read as a host, a path, a pipe name) from
// becoming a lookup that fails later, far from the mistake.
func hostName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return s != ""
}
