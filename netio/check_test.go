//go:build unix

package netio

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCheckListen: CheckListen refuses what ListenReader would refuse, and leaves no trace.
func TestCheckListen(t *testing.T) {
	busy := listenUDP(t, "udp", "127.0.0.1:0").LocalAddr().String()
	dir := t.TempDir()
	live := filepath.Join(dir, "live.sock")
	listenUnixgram(t, live)
	stale := filepath.Join(dir, "stale.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: stale, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	regular := filepath.Join(dir, "file")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	long := "/" + strings.Repeat("d", maxSocketPath)
	tests := []struct {
		name string
		addr Addr
		want string // "" for no error
		is   error
	}{
		{"free udp port", Addr{"udp", "127.0.0.1:0"}, "", nil},
		{"busy udp port", Addr{"udp", busy}, "address already in use", syscall.EADDRINUSE},
		{"udp without port", Addr{"udp", "127.0.0.1"}, "missing port", nil},
		{"free unix path", Addr{"unixgram", filepath.Join(dir, "new.sock")}, "", nil},
		{"stale unix socket", Addr{"unixgram", stale}, "", nil},
		{"missing directory", Addr{"unixgram", filepath.Join(dir, "nope", "dsd.sock")}, "the socket's directory " + filepath.Join(dir, "nope") + " does not exist", fs.ErrNotExist},
		{"directory is a file", Addr{"unixgram", filepath.Join(regular, "dsd.sock")}, "is not a directory", nil},
		{"live unix socket", Addr{"unixgram", live}, "in use", nil},
		{"regular file", Addr{"unixgram", regular}, "is not a socket", nil},
		{"path too long", Addr{"unixgram", long}, "longer than the", nil},
		{"relative path", Addr{"unixgram", "dsd.sock"}, "absolute", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckListen(tt.addr)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CheckListen(%v) = %v, want nil", tt.addr, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("CheckListen(%v) = %v, want an error containing %q", tt.addr, err, tt.want)
			case tt.is != nil && !errors.Is(err, tt.is):
				t.Fatalf("CheckListen(%v) = %v, want errors.Is %v", tt.addr, err, tt.is)
			}
		})
	}
	// Nothing created, nothing removed.
	if _, err := os.Stat(filepath.Join(dir, "new.sock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CheckListen created the socket file: %v", err)
	}
	for _, p := range []string{stale, live, regular} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s after CheckListen: %v", p, err)
		}
	}
	// The port checked free is free again: ListenReader binds it.
	r, err := ListenReader(Addr{"udp", "127.0.0.1:0"}, ReaderConfig{Readers: 1}, func(int, [][]byte) {})
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckListen(r.Addr()); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("CheckListen of a running Reader's address = %v, want EADDRINUSE", err)
	}
	r.Close()
}
