package netio

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
)

// maxSocketPath is the longest unix socket path the platform's socket address holds (sun_path
// less its terminating NUL: 107 bytes on Linux, 103 on the BSDs and macOS).
var maxSocketPath = len(syscall.RawSockaddrUnix{}.Path) - 1

// CheckListen reports whether ListenReader could bind a now, without keeping anything bound: a
// udp address is bound for an instant and released, as ListenReader's own first bind does (so a
// port that any socket holds is refused, as it would be); for a unixgram path, the path must fit
// a socket address, its directory must exist and let this process create the socket, and the
// path must be free or a stale socket (one ListenReader would replace): a live socket or another
// kind of file is refused. Nothing is created or removed. The answer is a moment's: another
// process may take the address before ListenReader runs.
func CheckListen(a Addr) error {
	if err := checkListenAddr(a); err != nil {
		return err
	}
	if a.Network != "unixgram" {
		c, err := net.ListenPacket(a.Network, a.Address)
		if err != nil {
			var op *net.OpError
			if errors.As(err, &op) {
				err = op.Err // "bind: address already in use", without the address again
			}
			return fmt.Errorf("netio: listen %s: %w", a, err)
		}
		return c.Close()
	}
	path := a.Address
	if len(path) > maxSocketPath {
		return fmt.Errorf("netio: listen %s: the path is %d bytes, longer than the %d a unix socket address holds", a, len(path), maxSocketPath)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("netio: listen %s: %w", a, missingDir(dir))
	case err != nil:
		return fmt.Errorf("netio: listen %s: %w", a, err)
	case !fi.IsDir():
		return fmt.Errorf("netio: listen %s: %s is not a directory", a, dir)
	}
	if err := canCreateIn(dir); err != nil {
		return fmt.Errorf("netio: listen %s: %w", a, &fs.PathError{Op: "create a socket in", Path: dir, Err: err})
	}
	if _, err := staleSocket(path); err != nil {
		return fmt.Errorf("netio: listen %s: %w", a, err)
	}
	return nil
}

// missingDir is a socket's directory that does not exist (errors.Is fs.ErrNotExist).
type missingDir string

func (d missingDir) Error() string        { return "the socket's directory " + string(d) + " does not exist" }
func (d missingDir) Is(target error) bool { return target == fs.ErrNotExist }

// staleSocket says whether path may be bound: absent (false, nil), a socket nobody receives on,
// left by a process that died (true, nil), or neither, with the reason: a live socket, or
// anything that is not a socket, since removing it would steal another process's traffic or
// destroy a user's file.
func staleSocket(path string) (stale bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return false, fmt.Errorf("%s exists and is not a socket (mode %v); not removing it", path, fi.Mode())
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err == nil {
		c.Close()
		return false, fmt.Errorf("%s is in use: another process receives on it", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		// EPROTOTYPE (a live stream socket), EACCES, ...: not provably stale, so not ours to remove.
		return false, fmt.Errorf("%s exists and may be in use: %w", path, err)
	}
	return true, nil
}
