package benchmarks

import (
	"net"
	"testing"
)

func TestUDPDrops(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	port := c.LocalAddr().(*net.UDPAddr).Port
	if d, ok := udpDrops(port); !ok || d != 0 {
		t.Fatalf("fresh socket: got drops %d (found %v), want 0 (found true)", d, ok)
	}
	c.SetReadBuffer(1) // the kernel's minimum: a few datagrams fit
	w, err := net.Dial("udp", c.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for range 200 {
		w.Write(make([]byte, 512))
	}
	if d, ok := udpDrops(port); !ok || d == 0 {
		t.Fatalf("overflowed socket: got drops %d (found %v), want > 0", d, ok)
	}
}
