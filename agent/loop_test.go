package agent

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListenRefusesTheDefaultLoop: DefaultListen is DefaultStatsdAddress, so a recorder and an
// intake on their defaults would flush into themselves forever. Listen refuses, binding nothing.
func TestListenRefusesTheDefaultLoop(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	in, err := r.Listen(IntakeConfig{})
	if err == nil {
		in.Close()
		t.Fatal("Listen on the defaults succeeded: the recorder would flush into its own intake")
	}
	if !errors.Is(err, ErrLoop) || !strings.Contains(err.Error(), DefaultListen) {
		t.Errorf("got %v, want ErrLoop naming %s", err, DefaultListen)
	}
}

func TestCheckIntakeLoops(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "dsd.sock")
	link := filepath.Join(dir, "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	var hostIP string // a non-loopback address of this host, if it has one
	if ifs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range ifs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() {
				hostIP = p.Addr().String()
				break
			}
		}
	}
	tests := []struct {
		name     string
		upstream string
		listen   []string
		loop     bool
	}{
		{"defaults", "", nil, true},
		{"same address", "udp://127.0.0.1:9125", []string{"udp://127.0.0.1:9125"}, true},
		{"one of several", "udp://127.0.0.1:9125", []string{"udp://127.0.0.1:9000", "127.0.0.1:9125"}, true},
		{"a name for it", "udp://localhost:9125", []string{"udp://127.0.0.1:9125"}, true},
		{"empty host wildcard", "udp://127.0.0.1:9125", []string{"udp://:9125"}, true},
		{"IPv4 wildcard", "udp://127.0.0.1:9125", []string{"udp4://0.0.0.0:9125"}, true},
		{"IPv6 wildcard is dual-stack", "udp://127.0.0.1:9125", []string{"udp://[::]:9125"}, true},
		{"upstream unspecified", "udp://0.0.0.0:9125", []string{"udp://127.0.0.1:9125"}, true},
		{"IPv4 wildcard, IPv6 upstream", "udp://[::1]:9125", []string{"udp4://0.0.0.0:9125"}, false},
		{"udp6 wildcard, IPv4 upstream", "udp://127.0.0.1:9125", []string{"udp6://[::]:9125"}, false},
		{"other port", "udp://127.0.0.1:9125", []string{"udp://127.0.0.1:9126"}, false},
		{"other loopback address", "udp://127.0.0.2:9125", []string{"udp://127.0.0.1:9125"}, false},
		{"port 0 (checked once bound)", "udp://127.0.0.1:9125", []string{"udp://127.0.0.1:0"}, false},
		{"same unix path", "unixgram://" + sock, []string{"unixgram://" + sock}, true},
		{"same unix path spelled otherwise", "unixgram://" + sock, []string{"unixgram://" + dir + "/./dsd.sock"}, true},
		{"same unix path through a symlink", "unixgram://" + sock, []string{"unixgram://" + filepath.Join(link, "dsd.sock")}, true},
		{"other unix path", "unixgram://" + sock, []string{"unixgram://" + sock + "2"}, false},
		{"unix upstream, udp intake", "unixgram://" + sock, []string{"udp://127.0.0.1:9125"}, false},
		{"exporter off", "off", []string{DefaultListen}, false},
	}
	if hostIP != "" {
		tests = append(tests, struct {
			name     string
			upstream string
			listen   []string
			loop     bool
		}{"wildcard covering the host's address", "udp://" + hostIP + ":9125", []string{"udp://0.0.0.0:9125"}, true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckIntake(Config{Statsd: StatsdConfig{Address: tt.upstream}}, IntakeConfig{Listen: tt.listen})
			if got := errors.Is(err, ErrLoop); got != tt.loop {
				t.Errorf("upstream %q, listen %q: got %v, want loop %v", tt.upstream, tt.listen, err, tt.loop)
			}
		})
	}
	t.Run("writer", func(t *testing.T) {
		if err := CheckIntake(Config{Statsd: StatsdConfig{Writer: &sink{}}}, IntakeConfig{}); err != nil {
			t.Errorf("a recorder writing to Statsd.Writer: got %v, want no loop", err)
		}
	})
}

// TestListenRefusesBoundLoop: a listen port of 0 that the kernel happens to pick as the
// upstream's port is caught once bound.
func TestListenRefusesBoundLoop(t *testing.T) {
	// Bind first, then point a recorder's upstream at the bound port, then ask its intake for
	// a port-0 address on the same socket's address: the check runs on what was bound.
	r0, err := New(Config{Statsd: StatsdConfig{Address: "off"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r0.Close()
	in0, err := r0.Listen(IntakeConfig{Listen: []string{"udp://127.0.0.1:0"}, Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	bound := in0.Addrs()[0]
	r, err := New(Config{Statsd: StatsdConfig{Address: bound}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Taking the port-0 intake over keeps its port: the bound address is the upstream's.
	in, err := r.Listen(IntakeConfig{Listen: []string{"udp://127.0.0.1:0"}, Readers: 1, Takeover: in0})
	if err == nil {
		in.Close()
		t.Fatalf("Listen bound %s, the upstream's address", bound)
	}
	if !errors.Is(err, ErrLoop) {
		t.Errorf("got %v, want ErrLoop", err)
	}
	if got := in0.Addrs(); len(got) != 1 || got[0] != bound {
		t.Errorf("the intake taken over after the refusal: %v, want it still on %s", got, bound)
	}
	in0.Close()
}
