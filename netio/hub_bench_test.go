package netio

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/cpu"
)

const (
	hubBenchBatch  = 64   // frames per Broadcast, as the agent's drain goroutine hands them over
	hubBenchQueue  = 4096 // ClientQueue
	hubBenchWindow = 2048 // frames the broadcaster may run ahead of the slowest client
)

// BenchmarkHub measures delivered frames/s to loopback clients that read as fast as they can:
// 51-byte frames in batches of 64, one op being one batch sent to every client. "naive" is the
// baseline: one goroutine doing one conn.Write per frame per client.
//
//	go test -run XXX -bench Hub -benchtime 2s ./netio/
func BenchmarkHub(b *testing.B) {
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("clients=%d/naive", n), func(b *testing.B) { hubBenchNaive(b, n) })
		b.Run(fmt.Sprintf("clients=%d/hub", n), func(b *testing.B) { hubBenchHub(b, n) })
	}
}

// hubBenchBatches returns distinct batches, each in its own allocation like the agent's, so the
// hub gets no help from adjacent batches being written as one range.
func hubBenchBatches() (frames [][]byte, ends []int) {
	for i := range 64 {
		f, e := hubBatch(i*hubBenchBatch, hubBenchBatch, hubFixed)
		frames, ends = append(frames, f), e
	}
	return frames, ends
}

// hubBenchReaders reads from each conn on its own goroutine and counts the bytes.
type hubBenchReaders struct {
	got []struct {
		n atomic.Int64
		_ cpu.CacheLinePad // each reader writes its own cache line
	}
	wg sync.WaitGroup
}

func hubStartReaders(conns []net.Conn) *hubBenchReaders {
	r := &hubBenchReaders{}
	r.got = make([]struct {
		n atomic.Int64
		_ cpu.CacheLinePad
	}, len(conns))
	for i, c := range conns {
		r.wg.Go(func() {
			buf := make([]byte, 256<<10)
			for {
				n, err := c.Read(buf)
				r.got[i].n.Add(int64(n))
				if err != nil {
					return
				}
			}
		})
	}
	return r
}

func (r *hubBenchReaders) min() int64 {
	m := r.got[0].n.Load()
	for i := range r.got {
		m = min(m, r.got[i].n.Load())
	}
	return m
}

func (r *hubBenchReaders) total() int64 {
	var t int64
	for i := range r.got {
		t += r.got[i].n.Load()
	}
	return t
}

// waitFor polls cond, failing the benchmark if it does not hold within hubWait.
func hubBenchWait(b *testing.B, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(hubWait)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Microsecond)
	}
}

func hubBenchDial(b *testing.B, addr string, n int) []net.Conn {
	b.Helper()
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatalf("dial: %v", err)
		}
		conns[i] = c
	}
	return conns
}

func hubBenchHub(b *testing.B, n int) {
	h, err := ListenHub(HubConfig{Addr: "127.0.0.1:0", MaxClients: n, ClientQueue: hubBenchQueue})
	if err != nil {
		b.Fatalf("ListenHub: %v", err)
	}
	conns := hubBenchDial(b, h.Addr().String(), n)
	readers := hubStartReaders(conns)
	hubBenchWait(b, "clients", func() bool { return h.Stats().Clients == uint64(n) })
	batches, ends := hubBenchBatches()

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		// Keep to the slowest client's pace, as a real stream's rate would: racing ahead only
		// measures drops. Sleep, not Gosched, so that the idle P polls the network.
		sent := int64(i * hubBenchBatch)
		for sent-readers.min()/hubFrameSize > hubBenchWindow {
			time.Sleep(20 * time.Microsecond)
		}
		h.Broadcast(batches[i%len(batches)], ends)
	}
	want := uint64(b.N * hubBenchBatch * n)
	hubBenchWait(b, "delivery", func() bool {
		st := h.Stats()
		return st.Frames+st.DroppedSlow+st.DroppedGone == want && readers.total() == int64(st.Bytes)
	})
	elapsed := time.Since(start)
	b.StopTimer()

	st := h.Stats()
	b.ReportMetric(float64(st.Frames)/elapsed.Seconds(), "frames/s")
	b.ReportMetric(float64(st.Bytes)/elapsed.Seconds(), "B/s")
	b.ReportMetric(float64(st.DroppedSlow+st.DroppedGone)/float64(b.N), "drops/op")
	b.ReportMetric(float64(st.Frames)/float64(st.Writes), "frames/write")
	h.Close()
	readers.wg.Wait()
	for _, c := range conns {
		c.Close()
	}
}

func hubBenchNaive(b *testing.B, n int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	conns := hubBenchDial(b, ln.Addr().String(), n)
	readers := hubStartReaders(conns)
	servers := make([]net.Conn, n)
	for i := range servers {
		if servers[i], err = ln.Accept(); err != nil {
			b.Fatalf("accept: %v", err)
		}
	}
	batches, ends := hubBenchBatches()

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		frames := batches[i%len(batches)]
		for _, c := range servers {
			prev := 0
			for _, end := range ends {
				if _, err := c.Write(frames[prev:end]); err != nil {
					b.Fatalf("write: %v", err)
				}
				prev = end
			}
		}
	}
	want := int64(b.N * hubBenchBatch * hubFrameSize * n)
	hubBenchWait(b, "delivery", func() bool { return readers.total() == want })
	elapsed := time.Since(start)
	b.StopTimer()

	frames := float64(b.N * hubBenchBatch * n)
	b.ReportMetric(frames/elapsed.Seconds(), "frames/s")
	b.ReportMetric(frames*hubFrameSize/elapsed.Seconds(), "B/s")
	for _, c := range servers {
		c.Close()
	}
	readers.wg.Wait()
	for _, c := range conns {
		c.Close()
	}
}
