package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/statshard/statshard/netio"
)

// maxUDPPayload is DogStatsD's payload limit for UDP: 1432 bytes fit a 1500-byte MTU.
const maxUDPPayload = 1432

// load is the datagrams a load generator sends, with the number of lines in each.
type load struct {
	payloads [][]byte
	lines    []int
	total    int // lines in all payloads
}

// newLoad builds n datagrams of at most 1432 bytes full of tagged counter lines over 100 series,
// the payload of the agent's own intake benchmark, so figures compare with docs/perf.md.
func newLoad(n int) load {
	var l load
	for i := 0; i < n; i++ {
		var b strings.Builder
		lines := 0
		for k := 0; ; k++ {
			line := fmt.Sprintf("svc.requests:1|c|#env:prod,route:/api/v%d,code:200", (i+k)%100)
			if b.Len()+len(line)+1 > maxUDPPayload {
				break
			}
			if k > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(line)
			lines++
		}
		l.payloads = append(l.payloads, []byte(b.String()))
		l.lines = append(l.lines, lines)
		l.total += lines
	}
	return l
}

// linesPer returns the mean number of lines per datagram.
func (l load) linesPer() float64 { return float64(l.total) / float64(len(l.payloads)) }

// sent is what a sender handed the kernel.
type sent struct {
	Datagrams, Lines, Dropped int64
	Wall                      time.Duration
}

// send writes l's datagrams round-robin through w at rate lines/s (rate <= 0: as fast as
// possible) for d, in sendmmsg batches of at most 64, and stops early when stop is closed. The
// pacing sleeps between batches, so a datagram is never more than about a millisecond late and
// the burst a receiver sees is at most what that millisecond owes.
func send(w *netio.Writer, l load, rate float64, d time.Duration, stop <-chan struct{}) sent {
	const batch = 64
	var s sent
	perDatagram := l.linesPer()
	start := time.Now()
	var attempted int64
	i := 0
	for {
		el := time.Since(start)
		if el >= d {
			break
		}
		select {
		case <-stop:
			s.Wall = time.Since(start)
			return s
		default:
		}
		due := int64(batch)
		if rate > 0 {
			due = int64(el.Seconds()*rate/perDatagram) + 1 - attempted
		}
		for due > 0 {
			n := min(int(due), batch, len(l.payloads)-i)
			k := w.Write(l.payloads[i : i+n])
			for _, c := range l.lines[i : i+k] {
				s.Lines += int64(c)
			}
			s.Datagrams += int64(k)
			s.Dropped += int64(n - k)
			attempted += int64(n)
			due -= int64(n)
			i = (i + n) % len(l.payloads)
			if time.Since(start) >= d {
				break
			}
		}
		if rate > 0 {
			time.Sleep(200 * time.Microsecond)
		}
	}
	s.Wall = time.Since(start)
	return s
}
