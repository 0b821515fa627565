package netio

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRead measures how many 1432-byte datagrams per second one goroutine receives from
// the same flooding sender (two goroutines, each a Writer sending sendmmsg batches of 64), through
// a Reader and, as the baseline, one ReadFromUDPAddrPort call per datagram (the allocation-free
// ReadFrom). Both sockets get the same receive buffer. With the sender outpacing the receiver, the
// kernel drops what the receiver cannot take, so datagrams/s is the receiver's capacity.
//
//	go test -run '^$' -bench 'BenchmarkRead$' -count 10 ./netio/
func BenchmarkRead(b *testing.B) {
	const size = 1432

	b.Run("baseline=ReadFromUDPAddrPort", func(b *testing.B) {
		c := listenUDP(b, "udp4", "127.0.0.1:0")
		if _, err := configureSocket(c, DefaultRecvBuffer); err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, defaultMaxUDPDatagram)
		b.ReportAllocs()
		b.ResetTimer()
		stop := floodUDP(b, udpAddr(c), size)
		for range b.N {
			if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		stop()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "datagrams/s")
		b.ReportMetric(1, "syscalls/datagram")
	})

	b.Run("reader=recvmmsg", func(b *testing.B) {
		var got atomic.Int64
		target := int64(b.N)
		done := make(chan struct{})
		var once sync.Once
		r, err := ListenReader(readerBenchAddr, ReaderConfig{Readers: 1}, func(_ int, ds [][]byte) {
			if got.Add(int64(len(ds))) >= target {
				once.Do(func() { close(done) })
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		b.ReportAllocs()
		b.ResetTimer()
		stop := floodUDP(b, r.Addr(), size)
		select {
		case <-done:
		case <-time.After(time.Minute):
			b.Fatalf("received %d of %d datagrams in a minute", got.Load(), b.N)
		}
		b.StopTimer()
		stop()
		st := r.Stats()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "datagrams/s")
		b.ReportMetric(float64(st.Syscalls)/float64(st.Datagrams), "syscalls/datagram")
		b.ReportMetric(float64(st.Datagrams)/float64(st.Syscalls), "datagrams/syscall")
	})
}

var readerBenchAddr = Addr{Network: "udp4", Address: "127.0.0.1:0"}

// floodUDP starts two goroutines that send size-byte datagrams to a as fast as they can, until
// the returned stop is called. Two, because one sendmmsg sender is not much faster than a
// recvmmsg receiver, and the receiver must be the bottleneck.
func floodUDP(b *testing.B, a Addr, size int) (stop func()) {
	b.Helper()
	ps := payloads(64, size)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		w, err := NewWriter(a, WriterConfig{})
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.Close()
			for {
				select {
				case <-quit:
					return
				default:
				}
				w.Write(ps)
			}
		}()
	}
	return func() {
		close(quit)
		wg.Wait()
	}
}

// BenchmarkReadDrain times draining a full receive queue, so that neither sender nor scheduler
// takes part in the figure: each iteration queues 512 datagrams of 1432 bytes while the receiver
// is held, then times how long the receiver takes to read them all. A Reader (recvmmsg batches)
// is compared with one ReadFromUDPAddrPort per datagram in the same run.
//
//	go test -run '^$' -bench 'BenchmarkReadDrain$' -count 10 ./netio/
func BenchmarkReadDrain(b *testing.B) {
	const size, queued = 1432, 512
	ps := payloads(queued, size)

	b.Run("baseline=ReadFromUDPAddrPort", func(b *testing.B) {
		c := listenUDP(b, "udp4", "127.0.0.1:0")
		if _, err := configureSocket(c, DefaultRecvBuffer); err != nil {
			b.Fatal(err)
		}
		w := benchWriter(b, udpAddr(c))
		buf := make([]byte, defaultMaxUDPDatagram)
		b.ReportAllocs()
		var drain time.Duration
		for b.Loop() {
			fill(b, w, ps)
			t0 := time.Now()
			for range queued {
				if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
					b.Fatal(err)
				}
			}
			drain += time.Since(t0)
		}
		reportDrain(b, drain, queued, float64(b.N*queued))
	})

	b.Run("reader=recvmmsg", func(b *testing.B) {
		gate := make(chan struct{})
		drained := make(chan struct{})
		var got atomic.Int64
		r, err := ListenReader(readerBenchAddr, ReaderConfig{Readers: 1}, func(_ int, ds [][]byte) {
			if got.Add(int64(len(ds))) >= queued {
				got.Add(-queued)
				drained <- struct{}{}
				<-gate // hold the receiver while the next round is queued
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		w := benchWriter(b, r.Addr())
		// Prime: the receiver then waits at the gate, its socket empty.
		fill(b, w, ps)
		<-drained
		before := r.Stats()
		b.ReportAllocs()
		var drain time.Duration
		for b.Loop() {
			fill(b, w, ps)
			t0 := time.Now()
			gate <- struct{}{}
			<-drained
			drain += time.Since(t0)
		}
		st := r.Stats()
		if st.KernelDrops != 0 {
			b.Fatalf("kernel dropped %d datagrams: the measurement needs a full, lossless queue", st.KernelDrops)
		}
		reportDrain(b, drain, queued, float64(st.Syscalls-before.Syscalls))
		gate <- struct{}{} // let the goroutine reach Close
	})
}

func benchWriter(b *testing.B, a Addr) *Writer {
	b.Helper()
	w, err := NewWriter(a, WriterConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	return w
}

// fill queues ps on the receiver's socket; it fails the benchmark unless all were sent.
func fill(b *testing.B, w *Writer, ps [][]byte) {
	if n := w.Write(ps); n != len(ps) {
		b.Fatalf("sent %d of %d datagrams: %+v", n, len(ps), w.Stats())
	}
}

func reportDrain(b *testing.B, drain time.Duration, queued int, syscalls float64) {
	n := float64(b.N * queued)
	b.ReportMetric(float64(drain.Nanoseconds())/n, "drain-ns/datagram")
	b.ReportMetric(n/drain.Seconds(), "datagrams/s")
	b.ReportMetric(syscalls/n, "syscalls/datagram")
}
