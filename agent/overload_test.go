package agent

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestCardinalityFlood records 1,000,000 distinct tag sets against a cap of 10,000: memory stays
// bounded, the overflow series carries every value past the cap, and every fold is counted.
func TestCardinalityFlood(t *testing.T) {
	n := 1_000_000
	if raceEnabled || testing.Short() {
		n = 100_000 // the race detector makes the slow path ~10x slower
	}
	const limit = 10_000
	r, s := newTestRecorder(t, Config{MaxSeries: limit, Tags: []string{"env:test"}})
	base := heapAlloc()
	var atCap uint64
	buf := make([]byte, 0, 32)
	for i := 0; i < n; i++ {
		buf = strconv.AppendInt(append(buf[:0], "user:"...), int64(i), 10)
		r.Count("logins", 1, string(buf))
		if i == 2*limit {
			atCap = heapAlloc()
		}
	}
	end := heapAlloc()
	t.Logf("heap: %d KiB before, %d KiB just past the cap, %d KiB after %d tag sets", base>>10, atCap>>10, end>>10, n)
	// Past the cap nothing new is kept: the heap does not grow with the number of tag sets.
	if end > atCap+4<<20 {
		t.Errorf("heap grew from %d to %d KiB after the cap: not bounded", atCap>>10, end>>10)
	}
	st := r.Stats()
	if st.Series != limit+1 {
		t.Errorf("Series = %d, want %d + 1 overflow", st.Series, limit)
	}
	if st.Folds != uint64(n-limit) {
		t.Errorf("Folds = %d, want %d", st.Folds, n-limit)
	}
	r.Flush()
	if got := sumCounter(t, s.take(), "logins:"); got != int64(n) {
		t.Errorf("flushed total %d, want %d: values lost", got, n)
	}
}

// TestSpellingFlood: one series spelled 8,000 ways in 30 KB names (long names with unique tails
// cut to the same 200 bytes, and bytes that sanitize alike) and 8,000 oversized set members keep
// the heap flat: lookup entries are bounded per series and in total, and a member that can never
// be sent is refused at intake. Every value still reaches its one series.
func TestSpellingFlood(t *testing.T) {
	n := 8_000
	if raceEnabled || testing.Short() {
		n = 1_000
	}
	r, s, in := newIntake(t, Config{})
	base := heapAlloc()
	tail := make([]byte, 30_000)
	for i := range n {
		for j := range tail {
			tail[j] = "abc!@"[(i+j)%5] // '!' and '@' sanitize to '_'
		}
		name := "x" + strings.Repeat("a", 199) + string(tail) + strconv.Itoa(i)
		feed(in, name+":1|c\nset:"+string(tail)+"|s")
	}
	end := heapAlloc()
	t.Logf("heap: %d KiB before, %d KiB after %d spellings of 30 KB", base>>10, end>>10, n)
	if end > base+8<<20 {
		t.Errorf("heap grew from %d to %d KiB: spellings or members kept", base>>10, end>>10)
	}
	st := r.Stats()
	if st.Series != 2 {
		t.Errorf("Series = %d, want 2 (the counter, and the set that holds none of the refused members)", st.Series)
	}
	if st.Statsd.DroppedTooLong != uint64(n) {
		t.Errorf("DroppedTooLong = %d, want %d (each oversized member)", st.Statsd.DroppedTooLong, n)
	}
	r.Flush()
	if got := sumCounter(t, s.take(), "x"+strings.Repeat("a", 199)+":"); got != int64(n) {
		t.Errorf("flushed total %d, want %d", got, n)
	}
}

// TestMemoryPerSeries bounds the live heap one series costs at 100,000 series of each kind, as
// the capacity command measures it (docs/perf.md has the figures and where the bytes go): a
// ratchet, so that a change that makes series fatter fails here rather than in a user's memory
// graph.
func TestMemoryPerSeries(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("heap figures are not meaningful under -race; slow with -short")
	}
	five := [...]float64{0.001, 0.01, 0.02, 0.1, 1.5}
	for _, k := range []struct {
		name  string
		limit float64
		make  func(r *Recorder, tag string)
	}{
		{"counter", 200, func(r *Recorder, tag string) { r.Counter("capacity.mem", tag).Add(1) }},
		{"gauge", 200, func(r *Recorder, tag string) { r.Gauge("capacity.mem", tag).Set(1) }},
		// Tags out of canonical order, as most callers pass them (or any spelling once global
		// tags are added): the series and a lookup entry for the spelling, its key in the same
		// allocation (678 B per series before tags and spellings were packed into one string
		// each, 418 before the key moved into the entry's allocation).
		{"counter, 3 tags out of order", 350, func(r *Recorder, tag string) {
			r.Counter("capacity.mem", "service:checkout", tag, "env:prod").Add(1)
		}},
		// A histogram counts each interval's first 16 distinct bins in its own struct (208 B):
		// 5 or 12 values need no chunk table (896 B) and no chunk (320 B per octave).
		{"histogram (5 values)", 410, func(r *Recorder, tag string) {
			h := r.Histogram("capacity.mem", tag)
			for _, v := range five {
				h.Observe(v)
			}
		}},
		{"histogram (12 values)", 410, func(r *Recorder, tag string) {
			h := r.Histogram("capacity.mem", tag)
			for i := range 12 {
				h.Observe(float64(2*i) + 0.5) // the spread of the peer benchmarks' values
			}
		}},
		{"distribution (5 values)", 460, func(r *Recorder, tag string) {
			h := r.Distribution("capacity.mem", tag)
			for _, v := range five {
				h.Observe(v)
			}
		}},
	} {
		const n = 100_000
		r, err := New(Config{Interval: time.Hour, MaxSeries: -1, Expiry: -1, Statsd: StatsdConfig{Address: "off"}})
		if err != nil {
			t.Fatal(err)
		}
		h0 := heapAlloc()
		for i := range n {
			k.make(r, "id:"+strconv.Itoa(i))
		}
		per := (float64(heapAlloc()) - float64(h0)) / n
		runtime.KeepAlive(r)
		r.Close()
		t.Logf("%s: %.0f B per series", k.name, per)
		if per > k.limit {
			t.Errorf("%s: %.0f B of heap per series, want ≤ %.0f", k.name, per, k.limit)
		}
	}
}

// TestSeriesExtPacked: the recorder's series, the registry's Series and its own data in one
// object, stays in its 144-byte size class (every series is one; a field added to seriesExt
// costs 16 bytes a series: what only some series need goes in seriesRare).
func TestSeriesExtPacked(t *testing.T) {
	if n := unsafe.Sizeof(series{}); n > 144 {
		t.Errorf("series is %d bytes, want ≤ 144", n)
	}
}

// lineCounter is a Statsd.Writer that counts lines and keeps nothing.
type lineCounter struct{ lines int }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

// TestFlushMemoryBounded: a flush of 400,000 distribution lines (14 MiB) holds a few chunks of
// payloads at a time, not every line it sends (a single buffer grew to hold them all: 63 MiB
// allocated with its copies), and sends every line.
func TestFlushMemoryBounded(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("slow under -race; -short")
	}
	const series, per = 1000, 400
	w := &lineCounter{}
	r, err := New(Config{Interval: time.Hour, Statsd: StatsdConfig{Writer: w}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range series * per {
		r.ObserveDistribution("flush.mem", float64(i), "id:"+strconv.Itoa(i%series))
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r.Flush()
	runtime.ReadMemStats(&after)
	if w.lines != series*per {
		t.Errorf("sent %d lines, want %d", w.lines, series*per)
	}
	// The first flush grows its first chunk (kept for the next flush) and allocates the others,
	// 640 KiB each with 8 KiB payloads: about 3 MiB for 14 MiB of lines.
	if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
		t.Errorf("the flush allocated %d KiB, want ≤ 4 MiB: its buffer grows with the lines", got>>10)
	}
}
