package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/statshard/statshard/netio"
)

// ErrLoop is returned (wrapped) by Listen and CheckIntake for an intake address that would
// receive the recorder's own flushes: each flush would be ingested, aggregated and flushed again,
// forever.
var ErrLoop = errors.New("agent: the intake would receive the recorder's own flushes (a loop)")

// loopLookupTimeout bounds the DNS lookups of the loop check.
const loopLookupTimeout = 2 * time.Second

// CheckIntake reports whether Listen would refuse icfg for a recorder made with cfg, without
// binding anything: an invalid address, or one that would receive the recorder's own flushes
// (ErrLoop: the same unix socket path, or a UDP address that the upstream resolves to, counting a
// wildcard listen address as every local address). A listen port of 0 can only be checked by
// Listen, once the kernel has chosen it.
func CheckIntake(cfg Config, icfg IntakeConfig) error {
	rc, err := cfg.resolve()
	if err != nil {
		return err
	}
	addrs, err := parseListen(icfg.Listen)
	if err != nil {
		return err
	}
	return checkLoop(rc, addrs)
}

func parseListen(listen []string) ([]netio.Addr, error) {
	if len(listen) == 0 {
		listen = []string{DefaultListen}
	}
	var out []netio.Addr
	for _, s := range listen {
		a, err := netio.ParseListenAddr(s)
		if err != nil {
			return nil, fmt.Errorf("agent: intake: %w", err)
		}
		out = append(out, a)
	}
	return out, nil
}

// checkLoop returns ErrLoop, with both addresses, if one of listen receives what rc's exporter
// sends. A name that does not resolve is not a loop: the exporter itself retries and counts it.
func checkLoop(rc *resolved, listen []netio.Addr) error {
	up := rc.addr
	if rc.Statsd.Writer != nil || up.Network == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), loopLookupTimeout)
	defer cancel()
	var upIPs []netip.Addr
	var upPort string
	if up.Network != "unixgram" {
		host, port, err := net.SplitHostPort(up.Address)
		if err != nil {
			return nil
		}
		upPort = port
		upIPs = lookupIPs(ctx, up.Network, host)
	}
	var local []netip.Addr // the host's addresses, looked up once if a wildcard needs them
	for _, l := range listen {
		if l.Network == "unixgram" || up.Network == "unixgram" {
			if l.Network == up.Network && samePath(l.Address, up.Address) {
				return loopError(l, up)
			}
			continue
		}
		host, port, err := net.SplitHostPort(l.Address)
		if err != nil || port != upPort || port == "0" {
			continue
		}
		var lIPs []netip.Addr
		if host != "" {
			lIPs = lookupIPs(ctx, l.Network, host)
		}
		for _, u := range upIPs {
			if host == "" || len(lIPs) == 1 && lIPs[0].IsUnspecified() {
				// A wildcard: every local address of the families the socket takes.
				if local == nil {
					local = localIPs()
				}
				if covers(l.Network, lIPs, u) && isLocal(u, local) {
					return loopError(l, up)
				}
				continue
			}
			for _, li := range lIPs {
				if li == u || u.IsUnspecified() && isLocal(li, localIPsOnce(&local)) {
					return loopError(l, up)
				}
			}
		}
	}
	return nil
}

func loopError(l, up netio.Addr) error {
	return fmt.Errorf("%w: listen %s receives what the exporter sends to %s; listen elsewhere or send upstream elsewhere", ErrLoop, l, up)
}

// lookupIPs resolves host (an IP literal or a name) for network, unmapping IPv4-in-IPv6.
func lookupIPs(ctx context.Context, network, host string) []netip.Addr {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}
	}
	ipnet := "ip"
	switch network {
	case "udp4":
		ipnet = "ip4"
	case "udp6":
		ipnet = "ip6"
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, ipnet, host)
	if err != nil {
		return nil
	}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	return ips
}

// covers reports whether a wildcard listen socket of network receives datagrams sent to u: an
// IPv4 wildcard takes IPv4 only; udp6 takes IPv6 only; udp's IPv6 wildcard is dual-stack.
func covers(network string, lIPs []netip.Addr, u netip.Addr) bool {
	v4only := network == "udp4" || len(lIPs) == 1 && lIPs[0].Is4()
	switch {
	case v4only:
		return u.Is4()
	case network == "udp6":
		return u.Is6()
	}
	return true
}

// isLocal reports whether a datagram sent to u stays on this host: a loopback, unspecified (sent
// to, it means this host) or interface address.
func isLocal(u netip.Addr, local []netip.Addr) bool {
	if u.IsLoopback() || u.IsUnspecified() {
		return true
	}
	for _, a := range local {
		if a == u {
			return true
		}
	}
	return false
}

func localIPsOnce(local *[]netip.Addr) []netip.Addr {
	if *local == nil {
		*local = localIPs()
	}
	return *local
}

// localIPs returns the addresses of the host's interfaces (non-nil, possibly empty).
func localIPs() []netip.Addr {
	out := []netip.Addr{}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}

// samePath reports whether two socket paths name the same file: equal once cleaned and with
// their directories' symbolic links resolved.
func samePath(a, b string) bool {
	return canonicalPath(a) == canonicalPath(b)
}

func canonicalPath(p string) string {
	p = filepath.Clean(p)
	if dir, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
		return filepath.Join(dir, filepath.Base(p))
	}
	return p
}

// boundLoop checks the intake's bound addresses (with the ports the kernel chose for port 0).
func (r *Recorder) boundLoop(in *Intake) error {
	var bound []netio.Addr
	for _, rd := range in.readers {
		a := rd.Addr()
		if a.Network != "unixgram" {
			if _, p, err := net.SplitHostPort(a.Address); err != nil || p == "0" {
				continue
			}
		}
		bound = append(bound, a)
	}
	return checkLoop(r.cfg, bound)
}
