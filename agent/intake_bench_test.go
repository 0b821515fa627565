package agent

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statshard/statshard/netio"
)

// intakePayload is a 1432-byte-or-less datagram full of tagged counter lines over 100 series.
func intakePayload(i int) []byte {
	var b strings.Builder
	for n := 0; ; n++ {
		l := fmt.Sprintf("svc.requests:1|c|#env:prod,route:/api/v%d,code:200\n", (i+n)%100)
		if b.Len()+len(l) > 1432 {
			break
		}
		b.WriteString(l)
	}
	return []byte(strings.TrimSuffix(b.String(), "\n"))
}

// BenchmarkIntake compares the whole intake (receive + parse + aggregate) with a raw recvmmsg loop
// that only counts bytes, on the same socket setup and the same sender: the kernel ceiling. The
// sender blasts b.N datagrams with sendmmsg from another goroutine; both report lines/s received
// and the share the kernel dropped. Run with -benchtime 200000x or more.
func BenchmarkIntake(b *testing.B) {
	payloads := make([][]byte, 64)
	for i := range payloads {
		payloads[i] = intakePayload(i)
	}
	linesPer := strings.Count(string(payloads[0]), "\n") + 1
	for _, readers := range []int{1, 2} {
		b.Run(fmt.Sprintf("raw-recvmmsg/readers=%d", readers), func(b *testing.B) {
			var dgs atomic.Int64
			rd, err := netio.ListenReader(netio.Addr{Network: "udp", Address: "127.0.0.1:0"},
				netio.ReaderConfig{Readers: readers}, func(_ int, d [][]byte) {
					n := 0
					for _, x := range d {
						n += len(x)
					}
					if n > 0 {
						dgs.Add(int64(len(d)))
					}
				})
			if err != nil {
				b.Fatal(err)
			}
			defer rd.Close()
			blast(b, rd.Addr(), payloads, func() int64 { return dgs.Load() * int64(linesPer) },
				func() int64 { return int64(rd.Stats().KernelDrops) * int64(linesPer) }, linesPer)
		})
		b.Run(fmt.Sprintf("intake/readers=%d", readers), func(b *testing.B) {
			r := benchRecorder(b, Config{})
			in, err := r.Listen(IntakeConfig{Listen: []string{"udp://127.0.0.1:0"}, Readers: readers})
			if err != nil {
				b.Fatal(err)
			}
			defer in.Close()
			a, _ := netio.ParseListenAddr(in.Addrs()[0])
			blast(b, a, payloads, func() int64 { return int64(in.Stats().Lines) },
				func() int64 { return int64(in.Stats().KernelDrops) * int64(linesPer) }, linesPer)
		})
	}
}

// blast sends b.N datagrams to a and reports the lines/s the receiver got, the share lost, and
// the share lost that the receiver's kernel drop count does not explain.
func blast(b *testing.B, a netio.Addr, payloads [][]byte, received, dropped func() int64, linesPer int) {
	b.Helper()
	w, err := netio.NewWriter(a, netio.WriterConfig{SendBuffer: 4 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	b.ResetTimer()
	start := time.Now()
	for sent := 0; sent < b.N; {
		n := min(len(payloads), b.N-sent)
		w.Write(payloads[:n])
		sent += n
	}
	// Wait until the receiver stops getting anything new.
	last, lastChange := received(), time.Now()
	for time.Since(lastChange) < 50*time.Millisecond {
		time.Sleep(5 * time.Millisecond)
		if n := received(); n != last {
			last, lastChange = n, time.Now()
		}
	}
	el := lastChange.Sub(start)
	b.StopTimer()
	want := int64(b.N * linesPer)
	b.ReportMetric(float64(last)/el.Seconds(), "lines/s")
	b.ReportMetric(100*float64(want-last)/float64(want), "%lost")
	// The kernel reports drops with the next datagram it delivers: send one more to read them.
	w.Write(payloads[:1])
	time.Sleep(20 * time.Millisecond)
	b.ReportMetric(100*float64(want-(received()-int64(linesPer))-dropped())/float64(want), "%unexplained")
}

// BenchmarkIntakeSeries runs the intake's parse and aggregate step (what a reader goroutine does
// with each batch of datagrams, sockets left out: their cost does not depend on the series) over
// payloads of tagged counter lines spread over 100, 10,000 or 100,000 distinct series. The series
// are created in turn and then visited in the order they were created (order=created, where
// series made one after the other sit side by side in memory), or in a shuffled order
// (order=shuffled, as lines from many senders come). ns/line is the CPU cost per line on one
// goroutine; its inverse is lines per CPU-second.
func BenchmarkIntakeSeries(b *testing.B) {
	for _, series := range []int{100, 10_000, 100_000} {
		for _, order := range []string{"created", "shuffled"} {
			b.Run(fmt.Sprintf("series=%d/order=%s", series, order), func(b *testing.B) {
				benchIntakeSeries(b, series, order == "shuffled")
			})
		}
	}
}

func benchIntakeSeries(b *testing.B, series int, shuffled bool) {
	r := benchRecorder(b, Config{MaxSeries: -1})
	in, err := r.Listen(IntakeConfig{Listen: []string{"udp://127.0.0.1:0"}})
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	seq := make([]int, max(series, 64*26)) // the series of each line, in the order sent
	for i := range seq {
		seq[i] = i % series
	}
	const batch = 64
	p := new(lineParser)
	for _, dgs := range batchDatagrams(seq, batch) { // every series exists, as in an agent that has been running
		in.handle(p, dgs)
	}
	if shuffled {
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(seq), func(i, j int) { seq[i], seq[j] = seq[j], seq[i] })
	}
	batches := batchDatagrams(seq, batch)
	b.ReportAllocs()
	b.ResetTimer()
	done := 0
	for i := 0; done < b.N; i = (i + 1) % len(batches) {
		in.handle(p, batches[i])
		for _, d := range batches[i] {
			done += bytes.Count(d, []byte{'\n'}) + 1
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(done), "ns/line")
}

// batchDatagrams packs a tagged counter line for each series of seq, in order, into datagrams of
// at most 1432 bytes, and those into batches of n datagrams, as a reader receives them.
func batchDatagrams(seq []int, n int) [][][]byte {
	var dgs [][]byte
	var d []byte
	for _, j := range seq {
		l := fmt.Sprintf("svc.requests:1|c|#env:prod,route:/api/v%d,code:200", j)
		if len(d)+len(l)+1 > 1432 {
			dgs, d = append(dgs, d), nil
		}
		if len(d) > 0 {
			d = append(d, '\n')
		}
		d = append(d, l...)
	}
	dgs = append(dgs, d)
	var out [][][]byte
	for i := 0; i < len(dgs); i += n {
		out = append(out, dgs[i:min(i+n, len(dgs))])
	}
	return out
}
