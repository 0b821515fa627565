package agent

import (
	"runtime"
	"strconv"
	"testing"
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
