//go:build unix

package netio

import "golang.org/x/sys/unix"

// canCreateIn reports whether this process may create a file in dir (write and search
// permission, as bind(2) needs for a socket file).
func canCreateIn(dir string) error {
	return unix.Access(dir, unix.W_OK|unix.X_OK)
}
