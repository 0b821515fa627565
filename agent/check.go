package agent

import (
	"fmt"

	"github.com/statshard/statshard/netio"
)

// CheckListen reports whether Listen could bind the intake address addr now, without keeping
// anything bound (see netio.CheckListen): the address is valid, a UDP port is free (it is bound
// for an instant and released), a unixgram socket's directory exists and lets this process create
// the socket, and the path is free or a stale socket. CheckIntake checks a configuration without
// binding anything; CheckListen is for a process about to start, so that an address in use is
// named before anything runs. Errors wrap the system's (errors.Is(err, syscall.EADDRINUSE),
// fs.ErrNotExist for a missing directory).
func CheckListen(addr string) error {
	a, err := netio.ParseListenAddr(addr)
	if err == nil {
		err = netio.CheckListen(a)
	}
	if err != nil {
		return fmt.Errorf("agent: intake: %w", err)
	}
	return nil
}
