package netio

import (
	"net"
	"testing"
	"time"
)

// BenchmarkWrite sends 64 payloads of 1400 bytes per op to a loopback UDP listener that does not
// read (so the receiver's cost, a queue and then kernel drops, is the same for both), through a
// Writer and, as the baseline, one conn.Write per payload on a connected UDP socket.
//
//	go test -run '^$' -bench 'BenchmarkWrite$' -count 10 ./netio/
func BenchmarkWrite(b *testing.B) {
	const batch = 64
	ps := payloads(batch, 1400)

	b.Run("baseline=conn.Write", func(b *testing.B) {
		l := listenUDP(b, "udp4", "127.0.0.1:0")
		c, err := net.DialUDP("udp4", nil, l.LocalAddr().(*net.UDPAddr))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.ReportAllocs()
		b.SetBytes(batch * 1400)
		var failed int
		cpu0 := cpuTime()
		for b.Loop() {
			for _, p := range ps {
				if _, err := c.Write(p); err != nil {
					failed++
				}
			}
		}
		if failed > 0 {
			b.Fatalf("%d writes failed", failed)
		}
		report(b, uint64(b.N*batch), uint64(b.N*batch), cpuTime()-cpu0)
	})

	b.Run("writer", func(b *testing.B) {
		l := listenUDP(b, "udp4", "127.0.0.1:0")
		w, err := NewWriter(udpAddr(l), WriterConfig{BatchSize: batch})
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		w.Write(ps[:1]) // connect outside the timed loop
		before := w.Stats()
		b.ReportAllocs()
		b.SetBytes(batch * 1400)
		cpu0 := cpuTime()
		for b.Loop() {
			w.Write(ps)
		}
		cpu := cpuTime() - cpu0
		st := w.Stats()
		if st.Dropped != before.Dropped {
			b.Fatalf("%d datagrams dropped: %+v", st.Dropped-before.Dropped, st)
		}
		report(b, st.Datagrams-before.Datagrams, st.Syscalls-before.Syscalls, cpu)
	})
}

// report adds the per-datagram figures: throughput, system calls and, where the platform tells,
// CPU time (user+system, whole process), which other load on the machine disturbs less than
// wall time.
// BenchmarkWritePaired alternates the two paths of BenchmarkWrite within every iteration, so
// that load from elsewhere on a shared machine falls on both alike, and reports each path's time
// per datagram and their ratio. Prefer its ratio to one taken between separate sub-benchmarks.
func BenchmarkWritePaired(b *testing.B) {
	const batch = 64
	ps := payloads(batch, 1400)
	l := listenUDP(b, "udp4", "127.0.0.1:0")
	c, err := net.DialUDP("udp4", nil, l.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	w, err := NewWriter(udpAddr(l), WriterConfig{BatchSize: batch})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	w.Write(ps[:1])
	b.ReportAllocs()
	var base, writer time.Duration
	for b.Loop() {
		t0 := time.Now()
		for _, p := range ps {
			c.Write(p)
		}
		t1 := time.Now()
		w.Write(ps)
		writer += time.Since(t1)
		base += t1.Sub(t0)
	}
	if st := w.Stats(); st.Dropped != 0 {
		b.Fatalf("%d datagrams dropped: %+v", st.Dropped, st)
	}
	n := float64(b.N * batch)
	b.ReportMetric(float64(base.Nanoseconds())/n, "baseline-ns/datagram")
	b.ReportMetric(float64(writer.Nanoseconds())/n, "writer-ns/datagram")
	b.ReportMetric(float64(base)/float64(writer), "speedup")
}

func report(b *testing.B, datagrams, syscalls uint64, cpu time.Duration) {
	b.ReportMetric(float64(datagrams)/b.Elapsed().Seconds(), "datagrams/s")
	b.ReportMetric(float64(syscalls)/float64(datagrams), "syscalls/datagram")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(datagrams), "cpu-ns/datagram")
	}
}
