package shard

import (
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// TestStripeAfterContention: a cell stripes at the stripeAfter-th contended update of one
// interval, and Swap starts the count again.
func TestStripeAfterContention(t *testing.T) {
	var h, hs Histogram
	var r Reservoir
	for range stripeAfter - 1 {
		h.contend(casFailWeight)
		r.contend()
	}
	for range stripeAfterSwitches - 1 {
		hs.contend(1)
	}
	var s HistogramSnapshot
	h.Swap(&s)
	hs.Swap(&s)
	r.swapValues(nil)
	for range stripeAfter - 1 {
		h.contend(casFailWeight)
		r.contend()
	}
	for range stripeAfterSwitches - 1 {
		hs.contend(1)
	}
	if h.striped.Load() != nil || hs.striped.Load() != nil || r.striped.Load() != nil {
		t.Fatalf("striped one short of the threshold in each of two intervals, want only when it is reached in one")
	}
	h.contend(casFailWeight)
	hs.contend(1)
	r.contend()
	if h.striped.Load() == nil || hs.striped.Load() == nil || r.striped.Load() == nil {
		t.Fatalf("striped at the threshold: histogram (failed CAS) %v, histogram (switches) %v, reservoir %v; want all",
			h.striped.Load() != nil, hs.striped.Load() != nil, r.striped.Load() != nil)
	}
	if got, want := len(h.striped.Load().subs), stripeCount(); got != want {
		t.Errorf("histogram stripes: got %d, want %d", got, want)
	}
}

// TestHistogramOneGoroutineStaysPlain: a histogram observed from one goroutine, however often,
// does not stripe.
func TestHistogramOneGoroutineStaysPlain(t *testing.T) {
	var h Histogram
	var s HistogramSnapshot
	for i := range 100_000 {
		h.Observe(float64(i))
	}
	// The first observation finds no owner yet: that one change is all.
	if h.striped.Load() != nil || h.contended.Load() != 1 {
		t.Errorf("after 100,000 observations from one goroutine: striped %v, contended %d; want plain, 1",
			h.striped.Load() != nil, h.contended.Load())
	}
	h.Swap(&s)
}

// TestStripeUnderRealContention: goroutines observing one histogram and one reservoir at the same
// time make both stripe. Skipped on one CPU, where goroutines never overlap.
func TestStripeUnderRealContention(t *testing.T) {
	if runtime.NumCPU() < 2 || runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs 2 CPUs for goroutines to contend")
	}
	var h Histogram
	r := Reservoir{Cap: 64}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				h.Observe(float64(g*7 + i&15))
				r.Observe(1)
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for (h.striped.Load() == nil || r.striped.Load() == nil) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if h.striped.Load() == nil || r.striped.Load() == nil {
		t.Errorf("after 10 s of 2 goroutines observing: histogram striped %v, reservoir striped %v; want both",
			h.striped.Load() != nil, r.striped.Load() != nil)
	}
}

// TestHistogramStripedExact: a striped histogram under concurrent Observe and Swap loses and
// duplicates nothing: the merged snapshots equal one histogram fed the same values alone.
func TestHistogramStripedExact(t *testing.T) {
	const writers, perWriter = 8, 20_000
	var h Histogram
	h.stripeNow()
	var total HistogramSnapshot
	var done atomic.Bool
	swapped := make(chan struct{})
	go func() {
		defer close(swapped)
		var s HistogramSnapshot
		for !done.Load() {
			h.Swap(&s)
			total.Merge(&s)
			time.Sleep(100 * time.Microsecond)
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				h.Observe(float64(w*perWriter + i)) // integers: the sum is exact in float64
			}
		})
	}
	wg.Wait()
	done.Store(true)
	<-swapped
	var s HistogramSnapshot
	h.Swap(&s)
	total.Merge(&s)

	var ref Histogram
	for v := range writers * perWriter {
		ref.Observe(float64(v))
	}
	var want HistogramSnapshot
	ref.Swap(&want)
	if total.Count != want.Count || total.Sum != want.Sum || total.Min != want.Min || total.Max != want.Max {
		t.Errorf("count, sum, min, max: got %d, %v, %v, %v; want %d, %v, %v, %v",
			total.Count, total.Sum, total.Min, total.Max, want.Count, want.Sum, want.Min, want.Max)
	}
	if !slices.Equal(total.bins, want.bins) {
		t.Errorf("bins differ from a single histogram fed the same values: got %d bins, want %d", len(total.bins), len(want.bins))
	}
	if mem := h.memBytes(); mem <= ref.memBytes() {
		t.Errorf("memBytes of the striped histogram %d, want more than the plain one's %d", mem, ref.memBytes())
	}
}

// TestReservoirStripedExact: below Cap, a striped reservoir returns every value exactly once.
func TestReservoirStripedExact(t *testing.T) {
	const writers, perWriter = 4, 100
	r := Reservoir{Cap: writers * perWriter}
	r.Observe(-1) // kept by r itself, before it stripes
	r.stripeNow()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				r.Observe(float64(w*perWriter + i))
			}
			r.Observe(math.NaN())
		})
	}
	wg.Wait()
	got, count, invalid := r.swapValues([]float64{-2})
	if got[0] != -2 {
		t.Fatalf("Swap overwrote dst: got %v first, want -2", got[0])
	}
	got = got[1:]
	slices.Sort(got)
	want := []float64{-1}
	for v := range writers * perWriter {
		want = append(want, float64(v))
	}
	// Cap is one less than the values, so exactly one is subsampled away.
	if count != uint64(len(want)) || invalid != writers || len(got) != r.Cap {
		t.Fatalf("got %d samples, count %d, invalid %d; want %d samples (Cap), count %d, invalid %d",
			len(got), count, invalid, r.Cap, len(want), writers)
	}
	for _, v := range got {
		if _, found := slices.BinarySearch(want, v); !found {
			t.Fatalf("sample %v was never observed", v)
		}
	}
	if c := slices.Compact(slices.Clone(got)); len(c) != len(got) {
		t.Errorf("got %d samples but %d distinct values, want each value once", len(got), len(c))
	}
}

// TestReservoirStripedUnbiased: stripes saw very different volumes; the merged sample, weighted by
// the rate len(samples)/count, still estimates each stripe's total.
func TestReservoirStripedUnbiased(t *testing.T) {
	const trials = 40
	volumes := []int{500, 9000, 1000} // r itself, stripe 0, stripe 1; each observes its index
	est := make([]float64, len(volumes))
	for range trials {
		r := Reservoir{Cap: 1024}
		r.stripeNow()
		st := r.striped.Load()
		cells := []*Reservoir{&r, &st.subs[0].r, &st.subs[1].r}
		for i, n := range volumes {
			for range n {
				cells[i].keep(float64(i), 1) // straight into the cell: the stripe is chosen by the test
			}
		}
		got, count, _ := r.swapValues(nil)
		if len(got) > r.Cap {
			t.Fatalf("got %d samples, want at most Cap %d", len(got), r.Cap)
		}
		rate := float64(len(got)) / float64(count)
		for _, v := range got {
			est[int(v)] += 1 / rate / trials
		}
	}
	for i, n := range volumes {
		if math.Abs(est[i]-float64(n)) > 0.1*float64(n) {
			t.Errorf("cell %d: estimated %.0f values from the weighted sample, want %d ± 10%%", i, est[i], n)
		}
	}
}

// TestStripedAllocs: recording into a striped cell allocates nothing once its stripe is warm.
func TestStripedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	var h Histogram
	h.stripeNow()
	r := Reservoir{Cap: 64}
	r.stripeNow()
	for i := range 100 {
		h.Observe(float64(i))
		r.Observe(float64(i))
	}
	var s HistogramSnapshot
	h.Swap(&s)
	var rs ReservoirSnapshot
	r.Swap(&rs)
	for range 100 { // the reservoir's second buffer
		r.Observe(1)
	}
	r.Swap(&rs)
	i := 0
	if got := testing.AllocsPerRun(1000, func() { h.Observe(float64(i & 63)); i++ }); got != 0 {
		t.Errorf("striped Histogram.Observe: got %v allocs, want 0", got)
	}
	if got := testing.AllocsPerRun(1000, func() { r.Observe(float64(i)); i++ }); got != 0 {
		t.Errorf("striped Reservoir.Observe: got %v allocs, want 0", got)
	}
}

// TestCounterStripedExact: a striped counter under concurrent AddShared, Add and Swap counts every
// add exactly once.
func TestCounterStripedExact(t *testing.T) {
	const writers, perWriter = 8, 50_000
	var c Counter
	c.AddShared(1) // into the plain word, before it stripes
	c.stripeNow()
	var total atomic.Int64
	var done atomic.Bool
	swapped := make(chan struct{})
	go func() {
		defer close(swapped)
		for !done.Load() {
			total.Add(c.Swap())
			time.Sleep(50 * time.Microsecond)
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				if (w+i)%2 == 0 {
					c.AddShared(2)
				} else {
					c.Add(2) // a handle's add, into the plain word
				}
			}
		})
	}
	wg.Wait()
	done.Store(true)
	<-swapped
	total.Add(c.Swap())
	if got, want := total.Load(), int64(1+2*writers*perWriter); got != want {
		t.Errorf("total of the Swaps: got %d, want %d", got, want)
	}
	if got := c.Load(); got != 0 {
		t.Errorf("Load after the last Swap: got %d, want 0", got)
	}
}

// TestCounterStripes: AddShared stripes after stripeAfterSwitches changes of goroutine in one
// interval, not after adds from one goroutine; Add never stripes.
func TestCounterStripes(t *testing.T) {
	var one, handle, shared Counter
	for range 10 * stripeAfterSwitches {
		one.AddShared(1)
	}
	var wg sync.WaitGroup
	for range stripeAfterSwitches {
		wg.Go(func() { handle.Add(1) })
	}
	wg.Wait()
	if one.striped.Load() != nil || handle.striped.Load() != nil {
		t.Fatalf("striped: one goroutine's AddShared %v, handle Add %v; want neither", one.striped.Load() != nil, handle.striped.Load() != nil)
	}
	for range stripeAfterSwitches - 1 {
		shared.contend()
	}
	shared.Swap()
	for range stripeAfterSwitches - 1 {
		shared.contend()
	}
	if shared.striped.Load() != nil {
		t.Fatalf("striped one change short of the threshold in each of two intervals, want plain")
	}
	shared.contend()
	if shared.striped.Load() == nil {
		t.Fatalf("not striped at the threshold, want striped")
	}
	if got := one.Swap() + handle.Swap(); got != 11*stripeAfterSwitches {
		t.Errorf("Swap: got %d, want %d", got, 11*stripeAfterSwitches)
	}
}

func TestCounterStripedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	var c Counter
	c.stripeNow()
	if got := testing.AllocsPerRun(1000, func() { c.AddShared(1) }); got != 0 {
		t.Errorf("striped AddShared: got %v allocs, want 0", got)
	}
	if got := testing.AllocsPerRun(100, func() { c.Swap() }); got != 0 {
		t.Errorf("striped Swap: got %v allocs, want 0", got)
	}
}

// TestPickerResaltsBounded: colliding stripes move every goroutine at most maxResalts times an
// interval.
func TestPickerResaltsBounded(t *testing.T) {
	p := newStripePicker(8)
	for range 10 * maxResalts * resaltAfter {
		p.collided()
	}
	if got := p.salt.Load(); got != maxResalts {
		t.Fatalf("salt after %d collisions in one interval: got %d, want %d", 10*maxResalts*resaltAfter, got, maxResalts)
	}
	p.interval()
	for range resaltAfter {
		p.collided()
	}
	if got := p.salt.Load(); got != maxResalts+1 {
		t.Errorf("salt after a new interval's %d collisions: got %d, want %d", resaltAfter, got, maxResalts+1)
	}
	if i := p.pick(); i < 0 || i >= 8 {
		t.Errorf("pick: got %d, want in [0, 8)", i)
	}
}

// TestPaddedStrides: every array of cells that different cores update has a stride of at least
// the cell's size plus one pad, so no two cells share a cache line (or an adjacent-line prefetch
// pair) wherever the array starts.
func TestPaddedStrides(t *testing.T) {
	pad := unsafe.Sizeof(linePad{})
	if line := unsafe.Sizeof(cpu.CacheLinePad{}); pad < 2*line {
		t.Errorf("linePad is %d bytes, want two cache lines (%d each)", pad, line)
	}
	for _, tc := range []struct {
		name         string
		stride, cell uintptr
	}{
		{"counterStripe", unsafe.Sizeof(counterStripe{}), unsafe.Sizeof(counterStripe{}.v) + unsafe.Sizeof(counterStripe{}.owner)},
		{"histStripe", unsafe.Sizeof(histStripe{}), unsafe.Sizeof(Histogram{})},
		{"resStripe", unsafe.Sizeof(resStripe{}), unsafe.Sizeof(Reservoir{})},
		{"lookupShard", unsafe.Sizeof(lookupShard{}), unsafe.Offsetof(lookupShard{}.n) + unsafe.Sizeof(lookupShard{}.n)},
	} {
		if tc.stride < tc.cell+pad {
			t.Errorf("%s: stride %d bytes, want at least its %d-byte cell + %d", tc.name, tc.stride, tc.cell, pad)
		}
	}
}
