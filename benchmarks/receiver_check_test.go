package benchmarks

import (
	"net"
	"testing"
)

func TestReceiverSession(t *testing.T) {
	tests := []struct {
		name       string
		dgrams     []string
		wantLines  uint64
		wantEvents float64
	}{
		{"nothing", nil, 0, 0},
		{"one per datagram", []string{"bench.requests:1|c", "bench.requests:1|c|#a:b"}, 2, 2},
		{"packed and aggregated", []string{"bench.requests:40|c\nbench.requests:2|c\nother:9|c"}, 3, 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openSession(t, "bench.requests")
			c, err := net.Dial("udp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range tt.dgrams {
				if _, err := c.Write([]byte(d)); err != nil {
					t.Fatal(err)
				}
			}
			c.Close()
			r := s.close(t)
			checkEq(t, "dgrams", r.dgrams, uint64(len(tt.dgrams)))
			checkEq(t, "lines", r.lines, tt.wantLines)
			checkEq(t, "events", r.events, tt.wantEvents)
			checkEq(t, "drops", r.drops, 0)
		})
	}
}
