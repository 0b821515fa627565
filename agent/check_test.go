//go:build unix

package agent

import (
	"errors"
	"io/fs"
	"net"
	"path/filepath"
	"syscall"
	"testing"
)

func TestCheckListen(t *testing.T) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tt := range []struct {
		addr string
		is   error // nil: no error wanted
	}{
		{"udp://127.0.0.1:0", nil},
		{"udp://" + c.LocalAddr().String(), syscall.EADDRINUSE},
		{"unixgram://" + filepath.Join(t.TempDir(), "missing", "dsd.sock"), fs.ErrNotExist},
	} {
		err := CheckListen(tt.addr)
		if tt.is == nil && err != nil || tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("CheckListen(%q) = %v, want %v", tt.addr, err, tt.is)
		}
	}
	if err := CheckListen("bogus://x"); err == nil {
		t.Error(`CheckListen("bogus://x") = nil, want an error`)
	}
}
