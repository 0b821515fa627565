package agent

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statshard/statshard/wire/pb"
)

// BenchmarkStreamRecord: the cost the TCP exporter adds to a handle's Add, with the exporter off,
// on with no client (one atomic load), and on with one client reading (the event is queued).
func BenchmarkStreamRecord(b *testing.B) {
	b.Run("raw-atomic-add", benchRawAtomicAdd)
	b.Run("tcp-off", func(b *testing.B) {
		b.ReportAllocs()
		c := benchRecorder(b, Config{}).Counter("requests", "env:prod")
		for i := 0; i < b.N; i++ {
			c.Add(1)
		}
	})
	b.Run("tcp-on-no-client", func(b *testing.B) {
		b.ReportAllocs()
		c := benchRecorder(b, Config{TCP: TCPConfig{Enabled: true, Address: "127.0.0.1:0"}}).Counter("requests", "env:prod")
		for i := 0; i < b.N; i++ {
			c.Add(1)
		}
	})
	b.Run("tcp-on-1-client", func(b *testing.B) {
		b.ReportAllocs()
		r := benchRecorder(b, Config{TCP: TCPConfig{Enabled: true, Address: "127.0.0.1:0"}})
		stop := benchClients(b, r, 1, nil)
		defer stop()
		c := r.Counter("requests", "env:prod")
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c.Add(1)
		}
		b.StopTimer()
		st := r.Stats()
		b.ReportMetric(float64(st.TCP.DroppedIntake)/float64(b.N)*100, "%intake-dropped")
	})
}

// countFrames reads length-prefixed frames from c until it fails, counting them in n (if not nil).
func countFrames(c net.Conn, n *atomic.Int64) {
	br := bufio.NewReaderSize(c, 256<<10)
	for {
		l, err := binary.ReadUvarint(br)
		if err != nil {
			return
		}
		if _, err := br.Discard(int(l)); err != nil {
			return
		}
		if n != nil {
			n.Add(1)
		}
	}
}

// benchClients connects n clients that read and count frames as fast as they can.
func benchClients(b *testing.B, r *Recorder, n int, counts []atomic.Int64) (stop func()) {
	b.Helper()
	var wg sync.WaitGroup
	var conns []net.Conn
	before := r.Stats().TCP.Accepted
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", r.TCPAddr())
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		wg.Add(1)
		var n *atomic.Int64
		if counts != nil {
			n = &counts[i]
		}
		go func() {
			defer wg.Done()
			countFrames(c, n)
		}()
	}
	for r.Stats().TCP.Accepted < before+uint64(n) {
		time.Sleep(time.Millisecond)
	}
	return func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}
}

// BenchmarkStreamDelivery: events/s delivered to each of n clients reading as fast as they can,
// through the whole path (record, intake, encode once, shared batches, one writev per wake-up),
// against a baseline that encodes each event and writes it to every client with one Write per
// frame.
func BenchmarkStreamDelivery(b *testing.B) {
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("statshard/clients=%d", n), func(b *testing.B) {
			r := benchRecorder(b, Config{TCP: TCPConfig{Enabled: true, Address: "127.0.0.1:0", MaxClients: 64}})
			counts := make([]atomic.Int64, n)
			stop := benchClients(b, r, n, counts)
			defer stop()
			c := r.Counter("requests", "env:prod", "route:/api")
			slowest := func() int64 {
				m := counts[0].Load()
				for i := range counts {
					m = min(m, counts[i].Load())
				}
				return m
			}
			b.ResetTimer()
			start := time.Now()
			deadline := start.Add(60 * time.Second)
			// Record in chunks of half the intake and keep at most one intake's worth in flight to
			// the slowest client: this measures sustained delivery without loss, not how fast the
			// intake drops what a tight loop produces.
			const chunk = DefaultTCPBuffer / 2
			for sent := 0; sent < b.N && time.Now().Before(deadline); {
				k := min(chunk, b.N-sent)
				for j := 0; j < k; j++ {
					c.Add(1)
				}
				sent += k
				for slowest() < int64(sent-chunk) && time.Now().Before(deadline) {
					runtime.Gosched()
				}
			}
			for slowest() < int64(b.N)-int64(r.Stats().TCP.DroppedIntake) && time.Now().Before(deadline) {
				runtime.Gosched()
			}
			el := time.Since(start)
			b.StopTimer()
			st := r.Stats()
			b.ReportMetric(float64(slowest())/el.Seconds(), "events/s/client")
			b.ReportMetric(float64(st.TCP.Bytes)/float64(n)/el.Seconds(), "bytes/s/client")
			b.ReportMetric(float64(st.TCP.DroppedIntake+st.TCP.DroppedSlow), "dropped")
		})
		b.Run(fmt.Sprintf("baseline-write-per-frame/clients=%d", n), func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			var received atomic.Int64
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				wg.Add(1)
				go func() {
					defer wg.Done()
					countFrames(c, &received)
				}()
			}
			var servers []net.Conn
			for i := 0; i < n; i++ {
				s, err := ln.Accept()
				if err != nil {
					b.Fatal(err)
				}
				servers = append(servers, s)
			}
			m := pb.Metric{Name: "requests", Labels: []pb.Label{{Key: "env", Value: "prod"}, {Key: "route", Value: "/api"}},
				Op: pb.IncrementCounter, Uint: 1, ValidUTF8: true}
			var frame []byte
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				now := time.Now().UnixNano()
				m.Seconds, m.Nanos = now/1e9, int32(now%1e9)
				frame = pb.AppendMetricFrame(frame[:0], &m)
				for _, s := range servers {
					s.Write(frame)
				}
			}
			for received.Load() < int64(b.N*n) && time.Since(start) < 30*time.Second {
				time.Sleep(100 * time.Microsecond)
			}
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(received.Load())/float64(n)/el.Seconds(), "events/s/client")
			b.ReportMetric(float64(received.Load())/float64(n)/el.Seconds()*float64(len(frame)), "bytes/s/client")
			for _, s := range servers {
				s.Close()
			}
			wg.Wait()
		})
	}
}
